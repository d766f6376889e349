/* SPDX-License-Identifier: MIT */
/*
 * cmd_prio.c - `llmosctl prio PID CLASS [--weight W]`: the highest
 * scheduling class a process's jobs may use, and its share inside a class.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: llmosctl prio PID CLASS [--weight W]\n"
		"\n"
		"Set the scheduling ceiling of process PID in llmos.ko: the highest class its\n"
		"inference steps may use (realtime, interactive, normal, background), and its\n"
		"weight, its share of the compute among processes of the same class.  A\n"
		"process starts at normal, weight 100.  Classes are strictly ordered: a step\n"
		"of a higher class always runs first; a step waiting too long is served anyway.\n"
		"Raising a process above normal, or changing another user's, needs\n"
		"CAP_SYS_NICE (root).\n"
		"\n"
		"options:\n"
		"  --weight W  1..10000 (default 100)\n"
		"  -h, --help  this help\n"
		"\n"
		"Exit status: 0 set, 1 failed, 2 bad usage.\n");
}

static int parse_pid(const char *s, int *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 0x3fffffff)
		return -1;
	*pid = (int)v;
	return 0;
}

static int parse_weight(const char *s, unsigned int *weight)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > LLMOS_SCHED_WEIGHT_MAX)
		return -1;
	*weight = (unsigned int)v;
	return 0;
}

static int report_failure(int err)
{
	if (err == -EPERM || err == -EACCES)
		return ctl_error("prio", err, "run as root");
	return ctl_error("prio", err, NULL); /* -ESRCH: "no such process PID" */
}

int cmd_prio(int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL };
	unsigned int weight = 100;
	int i, n = 0, pid, sched_class, ret;
	struct llmos *h;

	for (i = 1; i < argc; i++) {
		if (ctl_is_help(argv[i])) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--weight") && i + 1 < argc) {
			if (parse_weight(argv[++i], &weight))
				return ctl_usage("prio", "--weight wants 1..%d, not '%s'",
						 LLMOS_SCHED_WEIGHT_MAX, argv[i]);
		} else if (argv[i][0] == '-') {
			return ctl_usage("prio", "unknown option '%s'", argv[i]);
		} else if (n == 2) {
			return ctl_usage("prio", "unexpected argument '%s'", argv[i]);
		} else {
			pos[n++] = argv[i];
		}
	}
	if (n < 2)
		return ctl_usage("prio", "wants a PID and a CLASS");
	if (parse_pid(pos[0], &pid))
		return ctl_usage("prio", "PID wants a process id, not '%s'", pos[0]);
	sched_class = llmos_sched_class_parse(pos[1]);
	if (sched_class < 0)
		return ctl_usage("prio", "CLASS wants realtime, interactive, normal or background, "
				 "not '%s'", pos[1]);
	if (ctl_open("prio", &h))
		return CTL_EXIT_FAIL;
	ret = llmos_sched_set_prio(h, pid, sched_class, weight);
	llmos_close(h);
	if (ret < 0)
		return report_failure(ret);
	printf("pid %d: class %s, weight %u\n", pid, llmos_sched_class_name(sched_class), weight);
	return 0;
}
