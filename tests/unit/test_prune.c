/* SPDX-License-Identifier: MIT */
/*
 * test_prune.c - `llmos prune`'s tensor surgery: a model whose FFN channels
 * j % 4 == 1 and whose second KV head group (with its query heads) have
 * all-zero weights is pruned by magnitude, which must remove exactly those;
 * the smaller model (FFN 128 -> 96 channels, heads 4 -> 2, KV heads 2 -> 1,
 * per-head size written into the metadata) then gives the logits of the
 * original with those channels and heads zeroed.  Also the importance of
 * --method activation and the refusals.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gguf.h"
#include "llmos/llmos.h"

#define DIM 64
#define FFN 128
#define HEADS 4
#define KV 2
#define HD (DIM / HEADS)
#define LAYERS 2

static char bin[512], dir[] = "/tmp/llmos-prune-XXXXXX", full[256], zeroed[256], pruned[256];

static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Zero element (r, c) of an f32 tensor of the file open for writing at fd. */
static void zero_at(FILE *f, const struct gguf_file *g, const struct gguf_tensor *t, uint64_t r,
		    uint64_t c)
{
	float z = 0;
	uint64_t off = (uint64_t)((const char *)t->data - (const char *)gguf_data(g)) +
		       (r * t->ne[0] + c) * sizeof(float);

	fseek(f, (long)off, SEEK_SET);
	fwrite(&z, sizeof(z), 1, f);
}

static const struct gguf_tensor *tensor(const struct gguf_file *g, int l, const char *what)
{
	char name[64];

	snprintf(name, sizeof(name), "blk.%d.%s", l, what);
	return gguf_find_tensor(g, name);
}

/* FFN channels j % 4 == 1 and KV group 1 (query heads 2 and 3) of every layer, zeroed. */
static void zero_parts(const char *path)
{
	struct gguf_file *g;
	FILE *f;

	assert_int_equal(0, gguf_open(&g, path));
	f = fopen(path, "r+b");
	assert_non_null(f);
	for (int l = 0; l < LAYERS; l++) {
		for (int j = 1; j < FFN; j += 4)
			for (int c = 0; c < DIM; c++) {
				zero_at(f, g, tensor(g, l, "ffn_gate.weight"), (uint64_t)j, (uint64_t)c);
				zero_at(f, g, tensor(g, l, "ffn_up.weight"), (uint64_t)j, (uint64_t)c);
				zero_at(f, g, tensor(g, l, "ffn_down.weight"), (uint64_t)c, (uint64_t)j);
			}
		for (int r = 2 * HD; r < 4 * HD; r++)
			for (int c = 0; c < DIM; c++) {
				zero_at(f, g, tensor(g, l, "attn_q.weight"), (uint64_t)r, (uint64_t)c);
				zero_at(f, g, tensor(g, l, "attn_output.weight"), (uint64_t)c, (uint64_t)r);
			}
		for (int r = HD; r < 2 * HD; r++)
			for (int c = 0; c < DIM; c++) {
				zero_at(f, g, tensor(g, l, "attn_k.weight"), (uint64_t)r, (uint64_t)c);
				zero_at(f, g, tensor(g, l, "attn_v.weight"), (uint64_t)r, (uint64_t)c);
			}
	}
	fclose(f);
	gguf_close(g);
}

static void logits_of(const char *path, const int32_t *ids, int n, float *out, int *n_vocab)
{
	struct llmos_session_params p = { .n_ctx = 64, .n_threads = 1 };
	struct llmos_model_desc d;
	struct llmos_session *s;
	struct llmos_model *m;

	assert_int_equal(0, llmos_model_load(&m, path));
	llmos_model_describe(m, &d);
	*n_vocab = (int)d.n_vocab;
	assert_int_equal(0, llmos_session_create(&s, m, &p));
	assert_int_equal(0, llmos_session_eval(s, ids, (uint32_t)n, LLMOS_EVAL_ALL_LOGITS));
	for (int i = 0; i < n; i++)
		memcpy(out + (size_t)i * d.n_vocab, llmos_session_logits(s, i),
		       d.n_vocab * sizeof(float));
	llmos_session_free(s);
	llmos_model_free(m);
}

static void pruned_model_equals_zeroed_original(void **state)
{
	static float a[16 * 512], b[16 * 512];
	int32_t ids[16];
	int nv_a, nv_b;
	struct gguf_file *g;
	uint32_t v;
	double max = 0, diff = 0;

	(void)state;
	assert_int_equal(0, run("cp %s %s", full, zeroed));
	zero_parts(zeroed);
	assert_int_equal(0, run("%s prune %s %s --ffn 0.25 --heads 0.5 >/dev/null", bin, zeroed,
				pruned));
	assert_int_equal(0, gguf_open(&g, pruned));
	assert_int_equal(0, gguf_get_u32(g, "llama.feed_forward_length", &v));
	assert_int_equal(FFN * 3 / 4, v);
	assert_int_equal(0, gguf_get_u32(g, "llama.attention.head_count", &v));
	assert_int_equal(2, v);
	assert_int_equal(0, gguf_get_u32(g, "llama.attention.head_count_kv", &v));
	assert_int_equal(1, v);
	assert_int_equal(0, gguf_get_u32(g, "llama.attention.key_length", &v));
	assert_int_equal(HD, v);
	gguf_close(g);
	for (int i = 0; i < 16; i++)
		ids[i] = (int32_t)(1 + (i * 37) % 250);
	logits_of(zeroed, ids, 16, a, &nv_a);
	logits_of(pruned, ids, 16, b, &nv_b);
	assert_int_equal(nv_a, nv_b);
	/* plain comparisons: gcc 12 for aarch64 fails to vectorize two fmax reductions */
	for (int i = 0; i < 16 * nv_a; i++) {
		max = fabs(a[i]) > max ? fabs(a[i]) : max;
		diff = fabs(a[i] - b[i]) > diff ? fabs(a[i] - b[i]) : diff;
	}
	print_message("max |logit| %.4g, max difference %.3g\n", max, diff);
	/* sums lose their zero terms and change order: rounding, through two layers */
	assert_true(diff <= 1e-4 * max);
	/* the control: the same pruning of the model without the zeros is another model */
	assert_int_equal(0, run("%s prune %s %s --ffn 0.25 --heads 0.5 >/dev/null", bin, full,
				pruned));
	logits_of(pruned, ids, 16, b, &nv_b);
	diff = 0;
	for (int i = 0; i < 16 * nv_a; i++)
		diff = fmax(diff, fabs(a[i] - b[i]));
	print_message("against the pruned full model: max difference %.3g\n", diff);
	assert_true(diff > 1e-2 * max);
}

/* Magnitude and activation rank differently, and both shrink the file. */
static void activation_method_needs_text_and_shrinks(void **state)
{
	char out[256];

	(void)state;
	snprintf(out, sizeof(out), "%s/act.gguf", dir);
	assert_int_not_equal(0, run("%s prune %s %s --ffn 0.25 --method activation 2>/dev/null",
				    bin, full, out));
	assert_int_equal(0, run("printf 'the cat sat on the mat. %%.0s' $(seq 200) > %s/calib.txt",
				dir));
	assert_int_equal(0, run("%s prune %s %s --ffn 0.25 --method activation -f %s/calib.txt "
				"-c 32 >/dev/null", bin, full, out, dir));
	assert_int_equal(0, access(out, R_OK));
}

static void refusals(void **state)
{
	char out[256], q[256];

	(void)state;
	snprintf(out, sizeof(out), "%s/no.gguf", dir);
	snprintf(q, sizeof(q), "%s/q8.gguf", dir);
	assert_int_not_equal(0, run("%s prune %s %s 2>/dev/null", bin, full, out));
	assert_int_not_equal(0, run("%s prune %s %s --ffn 1.5 2>/dev/null", bin, full, out));
	assert_int_equal(0, run("%s quantize %s %s q8_0 >/dev/null 2>&1", bin, full, q));
	assert_int_not_equal(0, run("%s prune %s %s --ffn 0.25 2>/dev/null", bin, q, out));
	assert_int_not_equal(0, access(out, F_OK));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pruned_model_equals_zeroed_original),
		cmocka_unit_test(activation_method_needs_text_and_shrinks),
		cmocka_unit_test(refusals),
	};
	const char *b = getenv("LLMOS_BIN");
	int ret;

	snprintf(bin, sizeof(bin), "%s/llmos", b && *b ? b : "build/bin");
	if (!mkdtemp(dir))
		return 1;
	snprintf(full, sizeof(full), "%s/full.gguf", dir);
	snprintf(zeroed, sizeof(zeroed), "%s/zeroed.gguf", dir);
	snprintf(pruned, sizeof(pruned), "%s/pruned.gguf", dir);
	if (run("%s mkmodel --dim %d --hidden %d --layers %d --heads %d --kv-heads %d --vocab 300 "
		"--ctx 64 --scale 0.2 --type f32 %s >/dev/null 2>&1", bin, DIM, FFN, LAYERS, HEADS,
		KV, full)) {
		fprintf(stderr, "test_prune: llmos mkmodel failed\n");
		return 1;
	}
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	run("rm -rf %s", dir);
	return ret;
}
