/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the commands of the llmos tool share: option parsing helpers,
 * error reporting, timing, and model/session setup.
 */
#ifndef LLMOS_CLI_H
#define LLMOS_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "llmos/llmos.h"

int cmd_run(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_bench_load(int argc, char **argv);
int cmd_mkmodel(int argc, char **argv);
int cmd_bench_sched(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_imatrix(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_prune(int argc, char **argv);

struct llmos_imatrix;
/* An importance matrix of model over a text in chunks of ctx (cmd_imatrix.c); prints why (1). */
int cli_collect_imatrix(const char *cmd, const char *model, const char *text, long ctx,
			long max_chunks, long threads, struct llmos_imatrix **out);

/* Print "llmos CMD: what: <strerror>: <detail>" to stderr; returns 1. */
int cli_error(const char *cmd, const char *what, int err);
/* Parse a whole number in [min, max] or a float; print an error and return -1 if bad. */
int cli_int(const char *cmd, const char *opt, const char *s, long min, long max, long *out);
int cli_float(const char *cmd, const char *opt, const char *s, float *out);
double cli_now(void); /* seconds, monotonic */

/* Load a model; warn on stderr when ctx is beyond the model's training context. */
int cli_load(const char *cmd, const char *path, struct llmos_model **m);
int cli_session(const char *cmd, struct llmos_model *m, uint32_t n_ctx, uint32_t n_threads,
		uint32_t n_batch, struct llmos_session **s);
/* The same on a device (LLMOS_DEVICE_*). */
int cli_session_on(const char *cmd, struct llmos_model *m, uint32_t n_ctx, uint32_t n_threads,
		   uint32_t n_batch, uint32_t device, struct llmos_session **s);
/* Parse --device cpu|npu (LLMOS_DEVICE_*); print an error and return -1 if bad. */
int cli_device(const char *cmd, const char *s, uint32_t *out);
/* "cpu" or "npu". */
const char *cli_device_name(uint32_t device);
/* With the NPU, what it ran, as one line on stderr. */
void cli_device_report(const char *cmd, const struct llmos_session *s);
/* The --help lines of --device. */
#define CLI_DEVICE_HELP \
	"      --device DEV        where matmuls run: cpu (default), or npu: those with\n" \
	"                          q8_0/q4_0 weights on llmos.ko's NPU, the rest here\n"
/* Parse --class NAME (LLMOS_CLASS_*); print an error and return -1 if bad. */
int cli_class(const char *cmd, const char *s, int *out);
/* Put the session in a scheduling class; with class -2 (unset) and weight 0, nothing. */
int cli_sched(const char *cmd, struct llmos_session *s, int sched_class, long weight);
#define CLI_CLASS_UNSET (-2)
/* Token ids of a text file, with BOS as the model adds it; prints why on failure (1). */
int cli_tokenize_file(const char *cmd, const struct llmos_model *m, const char *path,
		      int32_t **ids, int *n);
/* Read a whole file into a NUL-terminated buffer. */
int cli_read_file(const char *cmd, const char *path, char **buf, size_t *len);

#endif /* LLMOS_CLI_H */
