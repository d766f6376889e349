/* SPDX-License-Identifier: MIT */
/*
 * cmd_load.c - `llmosctl load NAME FILE.gguf`: check the file, copy it into
 * the module's pinned memory under NAME and seal it, with a progress bar
 * when stderr is a terminal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <numa.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define BAR_WIDTH 30

static void usage(FILE *out)
{
	fprintf(out,
		"usage: llmosctl load NAME FILE.gguf [--node N|local|any] [--mode MODE]\n"
		"\n"
		"Check FILE.gguf completely, copy it into llmos.ko's pinned memory under NAME\n"
		"and seal it read-only.  Applications then use it as the model 'llmos:NAME'\n"
		"(llmos run -m llmos:NAME); every process shares the one copy.  A file that\n"
		"fails the check is refused before any memory is taken.  Needs root.\n"
		"\n"
		"NAME is 1 to 63 of A-Z a-z 0-9 . _ - and does not start with '.'.\n"
		"\n"
		"options:\n"
		"  --node N     allocate on NUMA node N; 'local': the node of the CPU this runs\n"
		"               on; 'any' (default): wherever the kernel finds memory\n"
		"  --mode MODE  octal permission bits for opening it, like a file's (default\n"
		"               0644: everyone may use it); the owner is the caller\n"
		"  -h, --help   this help\n"
		"\n"
		"A progress bar goes to stderr when it is a terminal; the last line is\n"
		"'loaded NAME: N MB, sealed'.  Exit status: 0 loaded, 1 failed, 2 bad usage.\n");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct progress {
	const char *name;
	double start, last;
};

static int show_progress(uint64_t done, uint64_t total, void *arg)
{
	struct progress *pr = arg;
	double t = now(), secs = t - pr->start;
	int pct = total ? (int)(done * 100 / total) : 100, fill = pct * BAR_WIDTH / 100;

	if (done < total && t - pr->last < 0.1)
		return 0;
	pr->last = t;
	fprintf(stderr, "\r%s [%.*s%*s] %3d%% %8.1f MB/s", pr->name, fill,
		"##############################", BAR_WIDTH - fill, "", pct,
		secs > 0 ? ctl_mb(done) / secs : 0.0);
	if (done == total)
		fputc('\n', stderr);
	return 0;
}

/* --node: a number, "any", or "local" (the node of the CPU we run on). */
static int parse_node(const char *s, int32_t *node)
{
	char *end;
	long v;

	if (!strcmp(s, "any")) {
		*node = LLMOS_STORE_NODE_ANY;
		return 0;
	}
	if (!strcmp(s, "local")) {
		int cpu = sched_getcpu();

		*node = LLMOS_STORE_NODE_ANY;
		if (numa_available() >= 0 && cpu >= 0 && numa_node_of_cpu(cpu) >= 0)
			*node = numa_node_of_cpu(cpu);
		return 0;
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 4095)
		return -1;
	*node = (int32_t)v;
	return 0;
}

static int parse_mode(const char *s, uint32_t *mode)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno || end == s || *end || v > 0777)
		return -1;
	*mode = (uint32_t)v;
	return 0;
}

static int parse_options(int argc, char **argv, struct llmos_store_params *p)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_node(optarg, &p->numa_node))
				return ctl_usage("load", "--node wants a node number, 'local' or "
						 "'any', not '%s'", optarg);
			break;
		case 'm':
			if (parse_mode(optarg, &p->mode))
				return ctl_usage("load", "--mode wants octal bits up to 0777, not "
						 "'%s'", optarg);
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			return ctl_usage("load", "unknown or incomplete option '%s'",
					 argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return ctl_usage("load", "wants NAME and FILE.gguf");
	return 0;
}

static unsigned long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (unsigned long long)st.st_size;
}

static int report_failure(const char *name, int err)
{
	char hint[160];

	switch (err) {
	case -EEXIST:
		snprintf(hint, sizeof(hint), "llmosctl unload %s first", name);
		return ctl_error("load", err, hint);
	case -ENOSPC:
		return ctl_error("load", err, "unload a model, or reload llmos.ko with a larger "
				 "max_pinned_mb");
	default:
		return ctl_error("load", err, NULL);
	}
}

int cmd_load(int argc, char **argv)
{
	struct llmos_store_params p;
	struct progress pr = { 0 };
	const char *name, *path;
	struct llmos *h;
	int ret;

	llmos_store_default_params(&p);
	ret = parse_options(argc, argv, &p);
	if (ret)
		return ret < 0 ? 0 : ret;
	name = argv[optind];
	path = argv[optind + 1];
	/* Not REQUIRE_MODULE: the name and the file are checked before the module. */
	ret = llmos_open(&h, 0);
	if (ret < 0)
		return ctl_error("load", ret, NULL);
	pr.name = name;
	pr.start = now();
	ret = llmos_store_load(h, name, path, &p, isatty(STDERR_FILENO) ? show_progress : NULL,
			       &pr);
	if (ret < 0) {
		llmos_close(h);
		return report_failure(name, ret);
	}
	printf("loaded %s: %.1f MB, sealed\n", name, ctl_mb(file_size(path)));
	llmos_close(h);
	return 0;
}
