/* SPDX-License-Identifier: MIT */
/*
 * test_model.c - the forward pass on the real stories260K model: the
 * reference greedy ids, batched prefill against token-by-token decode,
 * thread and batch counts, context limits, and models with a bad tensor
 * or a bad hyperparameter.  Skips where the model file is absent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "llmos/llmos.h"

#define MODEL_FILE "stories260K-f32.gguf"
#define IDS_FILE "stories260K-greedy.ids"

static char model_path[4096], ids_path[4096];

static int find_models(void)
{
	const char *dir = getenv("LLMOS_TEST_MODELS");

	if (!dir || !*dir)
		dir = "../shared/models";
	snprintf(model_path, sizeof(model_path), "%s/%s", dir, MODEL_FILE);
	snprintf(ids_path, sizeof(ids_path), "%s/%s", dir, IDS_FILE);
	if (access(model_path, R_OK)) {
		printf("SKIP: %s not found (set LLMOS_TEST_MODELS)\n", model_path);
		return -1;
	}
	return 0;
}

static struct llmos_model *load(void)
{
	struct llmos_model *m;

	if (find_models())
		return NULL;
	assert_int_equal(0, llmos_model_load(&m, model_path));
	return m;
}

static struct llmos_session *session(struct llmos_model *m, uint32_t ctx, uint32_t threads,
				     uint32_t batch)
{
	struct llmos_session_params p = { ctx, threads, batch, LLMOS_DEVICE_CPU };
	struct llmos_session *s;

	assert_int_equal(0, llmos_session_create(&s, m, &p));
	return s;
}

static int argmax(const float *x, int n)
{
	int i, best = 0;

	for (i = 1; i < n; i++)
		if (x[i] > x[best])
			best = i;
	return best;
}

/* Read the ids after "label:" on a line of the reference file. */
static int read_ids(const char *label, int32_t *ids, int cap)
{
	char line[8192], *p, *end;
	FILE *f = fopen(ids_path, "r");
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, label, strlen(label)))
			continue;
		for (p = line + strlen(label); n < cap; p = end) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			ids[n++] = (int32_t)v;
		}
	}
	fclose(f);
	return n;
}

static void greedy_reproduces_reference_ids(void **state)
{
	int32_t prompt[16], next[512], tok;
	struct llmos_model *m = load();
	struct llmos_session *s;
	int n_prompt, n_next, i;

	(void)state;
	if (!m)
		skip();
	n_prompt = read_ids("prompt_ids:", prompt, 16);
	n_next = read_ids("next_ids:", next, 512);
	assert_int_equal(5, n_prompt);
	assert_int_equal(256, n_next);
	s = session(m, 256, 2, 0);
	assert_int_equal(0, llmos_session_eval(s, prompt, n_prompt, 0));
	for (i = n_prompt - 1; i < n_next; i++) {
		tok = argmax(llmos_session_logits(s, -1), 512);
		if (tok != next[i])
			fail_msg("position %d: got id %d, reference %d", i + 1, tok, next[i]);
		if (i + 1 < n_next)
			assert_int_equal(0, llmos_session_eval(s, &tok, 1, 0));
	}
	llmos_session_free(s);
	llmos_model_free(m);
}

static double max_rel_diff(const float *a, const float *b, int n)
{
	double diff = 0, scale = 1e-6;
	int i;

	/* plain comparisons: gcc 12 for aarch64 fails to vectorize two fmax reductions */
	for (i = 0; i < n; i++) {
		double d = fabs((double)a[i] - b[i]), s = fabs((double)b[i]);

		if (d > diff)
			diff = d;
		if (s > scale)
			scale = s;
	}
	return diff / scale;
}

/*
 * The same 60 tokens as one batch (split by n_batch) and one by one.  They
 * agree to rounding, not bit for bit: as in llama.cpp, a batch of two or
 * more tokens sums attention in its GEMM's order, one token in vec_dot's.
 */
static void compare_prefill(struct llmos_model *m, uint32_t batch, uint32_t threads)
{
	struct llmos_session *a = session(m, 128, threads, batch), *b = session(m, 128, 1, 0);
	int32_t ids[60];
	int i;

	for (i = 0; i < 60; i++)
		ids[i] = i ? (i * 37 + 11) % 512 : 1;
	assert_int_equal(0, llmos_session_eval(a, ids, 60, LLMOS_EVAL_ALL_LOGITS));
	for (i = 0; i < 60; i++) {
		assert_int_equal(0, llmos_session_eval(b, &ids[i], 1, 0));
		double d = max_rel_diff(llmos_session_logits(a, i), llmos_session_logits(b, 0), 512);
		if (d > 5e-4)
			fail_msg("batch %u threads %u: token %d differs by %g", batch, threads, i, d);
	}
	assert_int_equal(60, llmos_session_pos(a));
	llmos_session_free(a);
	llmos_session_free(b);
}

static void batched_prefill_matches_incremental_decode(void **state)
{
	struct llmos_model *m = load();

	(void)state;
	if (!m)
		skip();
	compare_prefill(m, 64, 1);
	compare_prefill(m, 7, 2);
	compare_prefill(m, 1, 2);
	llmos_model_free(m);
}

static void prompt_longer_than_context_is_refused(void **state)
{
	struct llmos_model *m = load();
	struct llmos_session *s;
	int32_t ids[17];
	int i;

	(void)state;
	if (!m)
		skip();
	for (i = 0; i < 17; i++)
		ids[i] = 1 + i;
	s = session(m, 16, 1, 0);
	assert_int_equal(-LLMOS_ECONTEXT, llmos_session_eval(s, ids, 17, 0));
	assert_non_null(strstr(llmos_last_error(), "context of 16"));
	assert_int_equal(0, llmos_session_pos(s));
	assert_int_equal(0, llmos_session_eval(s, ids, 16, 0));
	assert_int_equal(-LLMOS_ECONTEXT, llmos_session_eval(s, ids, 1, 0));
	assert_int_equal(16, llmos_session_pos(s));
	ids[0] = 512;
	llmos_session_reset(s);
	assert_int_equal(-EINVAL, llmos_session_eval(s, ids, 1, 0));
	ids[0] = -1;
	assert_int_equal(-EINVAL, llmos_session_eval(s, ids, 1, 0));
	llmos_session_free(s);
	llmos_model_free(m);
}

static void describe_reports_the_hyperparameters(void **state)
{
	struct llmos_model *m = load();
	struct llmos_model_desc d;

	(void)state;
	if (!m)
		skip();
	llmos_model_describe(m, &d);
	assert_string_equal("llama", d.arch);
	assert_int_equal(512, d.n_vocab);
	assert_int_equal(64, d.dim);
	assert_int_equal(5, d.n_layers);
	assert_int_equal(8, d.n_heads);
	assert_int_equal(4, d.n_kv_heads);
	assert_int_equal(172, d.ffn_dim);
	assert_int_equal(128, d.n_ctx_train);
	assert_int_equal(1, d.bos);
	assert_int_equal(2, d.eos);
	assert_string_equal("f32", d.weight_type);
	llmos_model_free(m);
}

/* Copy the model with `from` replaced by `to` (same length) at its first match. */
static void write_patched(const char *out, const void *from, const void *to, size_t len)
{
	FILE *f = fopen(model_path, "rb");
	char *buf = malloc(2 << 20), *p;
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, 2 << 20, f);
	fclose(f);
	p = memmem(buf, n, from, len);
	assert_non_null(p);
	memcpy(p, to, len);
	f = fopen(out, "wb");
	assert_non_null(f);
	assert_int_equal(n, fwrite(buf, 1, n, f));
	fclose(f);
	free(buf);
}

static void missing_tensor_and_bad_shape_are_named(void **state)
{
	char path[] = "/tmp/llmos-test-model-XXXXXX";
	struct llmos_model *m;
	/* key "llama.embedding_length", then type u32 (4), then value 64 */
	const char key[] = "llama.embedding_length\x04\0\0\0\x40\0\0\0";
	const char bad[] = "llama.embedding_length\x04\0\0\0\x48\0\0\0";

	(void)state;
	if (find_models())
		skip();
	close(mkstemp(path));
	write_patched(path, "blk.3.attn_k.weight", "blk.3.attn_X.weight", 19);
	assert_int_equal(-LLMOS_EFORMAT, llmos_model_load(&m, path));
	assert_null(m);
	assert_non_null(strstr(llmos_last_error(), "blk.3.attn_k.weight' is missing"));

	write_patched(path, key, bad, sizeof(key) - 1);
	assert_int_equal(-LLMOS_EFORMAT, llmos_model_load(&m, path));
	assert_non_null(strstr(llmos_last_error(), "has shape"));
	unlink(path);

	assert_int_equal(-ENOENT, llmos_model_load(&m, "/nonexistent/model.gguf"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(greedy_reproduces_reference_ids),
		cmocka_unit_test(batched_prefill_matches_incremental_decode),
		cmocka_unit_test(prompt_longer_than_context_is_refused),
		cmocka_unit_test(describe_reports_the_hyperparameters),
		cmocka_unit_test(missing_tensor_and_bad_shape_are_named),
	};

	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
