/* SPDX-License-Identifier: MIT */
/*
 * ctl.h - what the commands of llmosctl share: opening the module, error
 * messages that say what to do, option helpers.  Exit codes: 0 success,
 * 1 failure, 2 bad usage.
 */
#ifndef LLMOSCTL_CTL_H
#define LLMOSCTL_CTL_H

#include <stdio.h>

#include "llmos/llmos.h"

#define CTL_EXIT_FAIL 1
#define CTL_EXIT_USAGE 2

int cmd_info(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_unload(int argc, char **argv);
int cmd_prio(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_top(int argc, char **argv);

/* Open /dev/llmos (the module is required); on failure print why, return 1. */
int ctl_open(const char *cmd, struct llmos **h);
/*
 * Print "llmosctl CMD: <detail of err>[: hint]" to stderr and return 1.
 * A missing module or missing privilege gets its standard hint when hint
 * is NULL.
 */
int ctl_error(const char *cmd, int err, const char *hint);
/* Print "llmosctl CMD: <message>" and a pointer to --help; return 2. */
int ctl_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "-h" or "--help". */
int ctl_is_help(const char *arg);
double ctl_mb(unsigned long long bytes);
/* s as a JSON string, quoted and escaped, to stdout. */
void ctl_print_json_string(const char *s);

/* The scheduler's counters at one moment (cmd_stats.c; used by top too). */
struct stats_snapshot {
	struct llmos_sched_summary sum;
	struct llmos_sched_counters *procs;
	int n_procs;
};
/* 0, or a negative error code (the detail in llmos_last_error()). */
int stats_fetch(struct llmos *h, struct stats_snapshot *snap);
void stats_free(struct stats_snapshot *snap);
/* Average wait in microseconds, 0 if none was measured. */
uint64_t stats_avg_wait_us(const struct llmos_sched_counters *c);
/* The tables; with prev (taken dt seconds before) grants per second too. */
void stats_print_table(const struct stats_snapshot *snap, const struct stats_snapshot *prev,
		       double dt);

#endif /* LLMOSCTL_CTL_H */
