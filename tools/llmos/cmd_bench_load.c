/* SPDX-License-Identifier: MIT */
/*
 * cmd_bench_load.c - `llmos bench-load`: how long a new process takes to
 * open, map and validate a model (a file, or llmos:NAME from the kernel
 * module), and what that process's memory looks like once it has computed
 * one token.  It measures and prints; it judges nothing.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void bl_usage(FILE *out)
{
	fprintf(out, "usage: llmos bench-load -m MODEL [-r N] [--hold SECONDS] [--ready FILE]\n"
		     "\n"
		     "Time loading MODEL (a GGUF path, or llmos:NAME) N times (median, min, max),\n"
		     "then load it once more, compute one token, and print this process's memory\n"
		     "from /proc/self/smaps_rollup.\n"
		     "\n"
		     "  -m, --model MODEL   GGUF file or llmos:NAME\n"
		     "  -r, --repetitions N loads to time (default 20)\n"
		     "      --hold S        then stay alive S seconds holding the model\n"
		     "      --ready FILE    create FILE once the model is loaded and used\n"
		     "  -h, --help          this help\n");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void print_rollup(void)
{
	static const char *const fields[] = { "Rss:", "Pss:", "Private_Clean:", "Private_Dirty:",
					      "Anonymous:" };
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	size_t i;

	if (!f)
		return;
	printf("memory after one token:");
	while (fgets(line, sizeof(line), f))
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (!strncmp(line, fields[i], strlen(fields[i])))
				printf(" %s%ld kB", fields[i], strtol(line + strlen(fields[i]), NULL,
								  10));
	printf("\n");
	fclose(f);
}

static int time_loads(const char *model, long reps)
{
	double *t = calloc(reps, sizeof(double));
	struct llmos_model *m;
	long i;
	int ret = 0;

	for (i = 0; t && i < reps && !ret; i++) {
		double t0 = cli_now();

		ret = cli_load("bench-load", model, &m);
		t[i] = (cli_now() - t0) * 1e3;
		if (!ret)
			llmos_model_free(m);
	}
	if (!t || ret) {
		free(t);
		return 1;
	}
	qsort(t, reps, sizeof(double), cmp_double);
	printf("open+map+validate %s: median %.3f ms, min %.3f, max %.3f (%ld loads)\n", model,
	       t[reps / 2], t[0], t[reps - 1], reps);
	free(t);
	return 0;
}

/* Load once more, compute one token (touching every weight), report memory. */
static int use_and_hold(const char *model, long hold, const char *ready)
{
	struct llmos_session *s = NULL;
	struct llmos_model *m;
	int32_t bos = 1;
	int ret;

	if (cli_load("bench-load", model, &m))
		return 1;
	ret = cli_session("bench-load", m, 8, 1, 0, &s);
	if (!ret && (ret = llmos_session_eval(s, &bos, 1, 0)))
		ret = cli_error("bench-load", "evaluation failed", ret);
	if (!ret) {
		print_rollup();
		fflush(stdout);
		if (ready)
			fclose(fopen(ready, "w"));
		if (hold > 0)
			sleep((unsigned int)hold);
	}
	llmos_session_free(s);
	llmos_model_free(m);
	return ret;
}

int cmd_bench_load(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "model", 1, NULL, 'm' }, { "repetitions", 1, NULL, 'r' }, { "hold", 1, NULL, 1 },
		{ "ready", 1, NULL, 2 },   { "help", 0, NULL, 'h' },	    { NULL, 0, NULL, 0 },
	};
	const char *model = NULL, *ready = NULL;
	long reps = 20, hold = 0;
	int c;

	while ((c = getopt_long(argc, argv, "m:r:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 'r': if (cli_int("bench-load", "-r", optarg, 1, 100000, &reps)) return 2; break;
		case 1: if (cli_int("bench-load", "--hold", optarg, 0, 86400, &hold)) return 2; break;
		case 2: ready = optarg; break;
		case 'h': bl_usage(stdout); return 0;
		default: bl_usage(stderr); return 2;
		}
	}
	if (!model || optind != argc) {
		fprintf(stderr, "llmos bench-load: -m MODEL is required\n");
		bl_usage(stderr);
		return 2;
	}
	if (time_loads(model, reps))
		return 1;
	return use_and_hold(model, hold, ready);
}
