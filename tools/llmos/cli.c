/* SPDX-License-Identifier: MIT */
/*
 * cli.c - helpers shared by the llmos tool's commands.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

int cli_error(const char *cmd, const char *what, int err)
{
	const char *detail = llmos_last_error();

	fprintf(stderr, "llmos %s: %s: %s%s%s\n", cmd, what, llmos_strerror(err),
		*detail ? ": " : "", detail);
	return 1;
}

int cli_int(const char *cmd, const char *opt, const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "llmos %s: %s wants a whole number from %ld to %ld, not '%s'\n",
			cmd, opt, min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

int cli_float(const char *cmd, const char *opt, const char *s, float *out)
{
	char *end;
	float v;

	errno = 0;
	v = strtof(s, &end);
	if (errno || end == s || *end || !isfinite(v)) {
		fprintf(stderr, "llmos %s: %s wants a number, not '%s'\n", cmd, opt, s);
		return -1;
	}
	*out = v;
	return 0;
}

double cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int cli_load(const char *cmd, const char *path, struct llmos_model **m)
{
	int ret = llmos_model_load(m, path);

	if (ret < 0) {
		char what[512];

		snprintf(what, sizeof(what), "cannot load '%s'", path);
		return cli_error(cmd, what, ret);
	}
	return 0;
}

int cli_session(const char *cmd, struct llmos_model *m, uint32_t n_ctx, uint32_t n_threads,
		uint32_t n_batch, struct llmos_session **s)
{
	return cli_session_on(cmd, m, n_ctx, n_threads, n_batch, LLMOS_DEVICE_CPU, s);
}

int cli_device(const char *cmd, const char *s, uint32_t *out)
{
	if (!strcmp(s, "cpu"))
		*out = LLMOS_DEVICE_CPU;
	else if (!strcmp(s, "npu"))
		*out = LLMOS_DEVICE_NPU;
	else {
		fprintf(stderr, "llmos %s: --device wants cpu or npu, not '%s'\n", cmd, s);
		return -1;
	}
	return 0;
}

const char *cli_device_name(uint32_t device)
{
	return device == LLMOS_DEVICE_NPU ? "npu" : "cpu";
}

void cli_device_report(const char *cmd, const struct llmos_session *s)
{
	struct llmos_session_device_info di;

	llmos_session_device_info(s, &di);
	if (di.device != LLMOS_DEVICE_NPU)
		return;
	fprintf(stderr, "llmos %s: npu: %u weight matrices on the NPU, %u on the CPU; %llu jobs "
			"of %llu matmuls, %.1f ms\n", cmd, di.npu_weights, di.cpu_weights,
		(unsigned long long)di.npu_jobs, (unsigned long long)di.npu_ops,
		(double)di.npu_ns / 1e6);
}

int cli_session_on(const char *cmd, struct llmos_model *m, uint32_t n_ctx, uint32_t n_threads,
		   uint32_t n_batch, uint32_t device, struct llmos_session **s)
{
	struct llmos_session_params p = { n_ctx, n_threads, n_batch, device };
	struct llmos_model_desc d;
	int ret;

	llmos_model_describe(m, &d);
	if (n_ctx > d.n_ctx_train)
		fprintf(stderr, "llmos %s: warning: context %u is larger than the %u positions the "
				"model's metadata gives; quality may suffer past them\n",
			cmd, n_ctx, d.n_ctx_train);
	ret = llmos_session_create(s, m, &p);
	if (ret < 0)
		return cli_error(cmd, device == LLMOS_DEVICE_NPU ?
				 "cannot create a session on the npu" : "cannot create a session",
				 ret);
	if (device == LLMOS_DEVICE_NPU && !getenv("LLMOS_QUIET")) {
		struct llmos_session_device_info di;

		llmos_session_device_info(*s, &di);
		if (!di.npu_weights)
			fprintf(stderr, "llmos %s: warning: no weights of the NPU's types (q8_0, "
					"q4_0): everything runs on the CPU\n", cmd);
	}
	return 0;
}

int cli_class(const char *cmd, const char *s, int *out)
{
	int c = llmos_sched_class_parse(s);

	if (c < 0 && c != LLMOS_CLASS_NONE) {
		fprintf(stderr, "llmos %s: --class wants realtime, interactive, normal, background "
				"or none, not '%s'\n", cmd, s);
		return -1;
	}
	*out = c;
	return 0;
}

int cli_sched(const char *cmd, struct llmos_session *s, int sched_class, long weight)
{
	int ret;

	if (sched_class == CLI_CLASS_UNSET && !weight)
		return 0;
	if (sched_class == CLI_CLASS_UNSET)
		sched_class = LLMOS_CLASS_NORMAL;
	ret = llmos_session_set_sched(s, sched_class, (uint32_t)weight);
	if (ret < 0)
		return cli_error(cmd, "cannot set the scheduling class", ret);
	return 0;
}

int cli_read_file(const char *cmd, const char *path, char **buf, size_t *len)
{
	size_t cap = 1 << 16, n = 0, got;
	FILE *f = fopen(path, "rb");
	char *p = NULL, *q;

	if (!f) {
		fprintf(stderr, "llmos %s: cannot open '%s': %s\n", cmd, path, strerror(errno));
		return 1;
	}
	do {
		q = realloc(p, cap + 1);
		if (!q) {
			fprintf(stderr, "llmos %s: out of memory reading '%s'\n", cmd, path);
			free(p);
			fclose(f);
			return 1;
		}
		p = q;
		got = fread(p + n, 1, cap - n, f);
		n += got;
		if (n == cap)
			cap *= 2;
	} while (got > 0);
	if (ferror(f)) {
		fprintf(stderr, "llmos %s: error reading '%s'\n", cmd, path);
		free(p);
		fclose(f);
		return 1;
	}
	fclose(f);
	p[n] = '\0';
	*buf = p;
	*len = n;
	return 0;
}

int cli_tokenize_file(const char *cmd, const struct llmos_model *m, const char *path,
		      int32_t **ids, int *n)
{
	struct llmos_model_desc d;
	size_t len, cap;
	char *text;

	*ids = NULL;
	if (cli_read_file(cmd, path, &text, &len))
		return 1;
	llmos_model_describe(m, &d);
	cap = llmos_tokenize_bound(len);
	*ids = malloc(cap * sizeof(**ids));
	*n = *ids ? llmos_model_tokenize(m, text, len, d.add_bos ? LLMOS_TOKENIZE_BOS : 0, *ids, cap)
		  : -ENOMEM;
	free(text);
	if (*n < 0) {
		free(*ids);
		*ids = NULL;
		return cli_error(cmd, "cannot tokenize the text", *n);
	}
	return 0;
}
