/* SPDX-License-Identifier: MIT */
/*
 * test_kquants.c - the K-quant types (and Q5_0, Q5_1, IQ4_NL) against ggml
 * and against themselves: blocks ggml quantized dequantize to exactly
 * ggml's floats, activations quantize to exactly ggml's bytes of the
 * type's vec_dot_type, and the dot products agree with ggml's
 * (tests/fixtures/kquants.txt); every SIMD level gives the scalar level's
 * results on random blocks of several lengths; the weight quantizers are
 * as accurate as ggml's.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels.h"

static size_t unhex(const char *s, unsigned char *out, size_t cap)
{
	size_t n = 0;

	while (s[0] && s[1] && s[0] != '\n' && n < cap) {
		unsigned int b;

		if (sscanf(s, "%2x", &b) != 1)
			break;
		out[n++] = (unsigned char)b;
		s += 2;
	}
	return n;
}

struct kq_case {
	enum llmos_type type, act_type;
	unsigned char block[1024], q8k[1024];
	float dequant[512], x[512];
	float dot;
	size_t n_block, n_q8k;
};

/* The type a fixture line names ("q4_K\n"). */
static enum llmos_type type_named(const char *v)
{
	for (int t = 0; t < LLMOS_TYPE_COUNT; t++) {
		const struct llmos_type_traits *tr = llmos_type_traits((enum llmos_type)t);

		if (tr && !strncmp(v, tr->name, strlen(tr->name)) &&
		    (v[strlen(tr->name)] == '\n' || !v[strlen(tr->name)]))
			return (enum llmos_type)t;
	}
	fail_msg("unknown type in the fixture: %s", v);
	return LLMOS_TYPE_F32;
}

static int read_cases(struct kq_case *c, int cap)
{
	FILE *f = fopen("tests/fixtures/kquants.txt", "r");
	static char line[16384];
	int n = -1;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ' ');
		uint32_t bits;

		if (line[0] == '#' || !v)
			continue;
		v++;
		if (!strncmp(line, "type ", 5)) {
			if (++n >= cap)
				break;
			c[n].type = type_named(v);
		} else if (n < 0) {
			continue;
		} else if (!strncmp(line, "act_type ", 9)) {
			c[n].act_type = type_named(v);
			continue;
		} else if (!strncmp(line, "block ", 6)) {
			c[n].n_block = unhex(v, c[n].block, sizeof(c[n].block));
		} else if (!strncmp(line, "dequant ", 8)) {
			unhex(v, (unsigned char *)c[n].dequant, sizeof(c[n].dequant));
		} else if (!strncmp(line, "x ", 2)) {
			unhex(v, (unsigned char *)c[n].x, sizeof(c[n].x));
		} else if (!strncmp(line, "act ", 4)) {
			c[n].n_q8k = unhex(v, c[n].q8k, sizeof(c[n].q8k));
		} else if (!strncmp(line, "dot ", 4) && sscanf(v, "%x", &bits) == 1) {
			memcpy(&c[n].dot, &bits, sizeof(bits));
		}
	}
	fclose(f);
	return n + 1;
}

static const enum llmos_simd_level levels[] = { LLMOS_SIMD_SCALAR, LLMOS_SIMD_AVX2,
						LLMOS_SIMD_AVX512 };

static void matches_ggml(void **state)
{
	static struct kq_case cases[32];
	int n = read_cases(cases, 32);

	(void)state;
	assert_true(n >= 24);
	for (size_t lv = 0; lv < sizeof(levels) / sizeof(levels[0]); lv++) {
		if (llmos_simd_select(levels[lv]))
			continue;
		for (int i = 0; i < n; i++) {
			const struct llmos_type_traits *t = llmos_type_traits(cases[i].type);
			unsigned char q8k[1024];
			float deq[512], dot;

			assert_int_equal(cases[i].n_block, llmos_row_size(cases[i].type, 512));
			t->to_float(cases[i].block, deq, 512);
			assert_memory_equal(deq, cases[i].dequant, sizeof(deq));
			assert_int_equal(t->vec_dot_type, cases[i].act_type);
			llmos_type_traits(cases[i].act_type)->from_float(cases[i].x, q8k, 512);
			assert_int_equal(cases[i].n_q8k, llmos_row_size(cases[i].act_type, 512));
			assert_memory_equal(q8k, cases[i].q8k, cases[i].n_q8k);
			t->vec_dot(512, &dot, cases[i].block, q8k);
			double mag = 0; /* the scale of the sum's rounding */
			for (int k = 0; k < 512; k++)
				mag += fabs((double)cases[i].dequant[k] * cases[i].x[k]);
			if (fabs((double)dot - cases[i].dot) > 1e-6 * mag)
				fail_msg("%s %s case %d: dot %.9g, ggml %.9g", llmos_simd_name(levels[lv]),
					 t->name, i, dot, cases[i].dot);
		}
	}
	llmos_simd_select(llmos_simd_best());
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next32(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* Where each type keeps its fp16 scale and min (-1: none). */
static const struct {
	enum llmos_type type;
	int d, dmin;
} scale_at[] = {
	{ LLMOS_TYPE_Q2_K, offsetof(struct block_q2_K, d), offsetof(struct block_q2_K, dmin) },
	{ LLMOS_TYPE_Q3_K, offsetof(struct block_q3_K, d), -1 },
	{ LLMOS_TYPE_Q4_K, offsetof(struct block_q4_K, d), offsetof(struct block_q4_K, dmin) },
	{ LLMOS_TYPE_Q5_K, offsetof(struct block_q5_K, d), offsetof(struct block_q5_K, dmin) },
	{ LLMOS_TYPE_Q6_K, offsetof(struct block_q6_K, d), -1 },
	{ LLMOS_TYPE_Q5_0, offsetof(struct block_q5_0, d), -1 },
	{ LLMOS_TYPE_Q5_1, offsetof(struct block_q5_1, d), offsetof(struct block_q5_1, m) },
	{ LLMOS_TYPE_IQ4_NL, offsetof(struct block_iq4_nl, d), -1 },
};

/* Random blocks: random quants and scales, fp16 scales of sane size. */
static void random_blocks(enum llmos_type type, void *dst, int n)
{
	const struct llmos_type_traits *t = llmos_type_traits(type);
	unsigned char *p = dst;
	size_t bytes = llmos_row_size(type, n), k = 0;

	while (scale_at[k].type != type)
		k++;
	for (size_t i = 0; i < bytes; i++)
		p[i] = (unsigned char)next32();
	for (int b = 0; b < n / t->block_size; b++) {
		unsigned char *blk = p + (size_t)b * t->type_size;
		llmos_fp16 d = llmos_fp32_to_fp16((float)(next32() % 1000 + 1) * 1e-5f);
		llmos_fp16 m = llmos_fp32_to_fp16((float)(next32() % 1000) * 1e-5f);

		memcpy(blk + scale_at[k].d, &d, 2);
		if (scale_at[k].dmin >= 0)
			memcpy(blk + scale_at[k].dmin, &m, 2);
	}
}

/* Every level's to_float and vec_dot equal the scalar level's. */
static void simd_matches_scalar(void **state)
{
	static const enum llmos_type types[] = { LLMOS_TYPE_Q2_K, LLMOS_TYPE_Q3_K, LLMOS_TYPE_Q4_K,
						 LLMOS_TYPE_Q5_K, LLMOS_TYPE_Q6_K, LLMOS_TYPE_Q5_0,
						 LLMOS_TYPE_Q5_1, LLMOS_TYPE_IQ4_NL };
	/* odd numbers of blocks too: 3 and 5 super-blocks, 25 and 41 blocks of 32 */
	static const int lens[] = { 256, 768, 1280, 4096, 800, 1312 };

	(void)state;
	for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++) {
		for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
			int n = lens[li];

			if (n % llmos_type_traits(types[ti])->block_size)
				continue;
			void *w = malloc(llmos_row_size(types[ti], n));
			enum llmos_type vt = llmos_type_traits(types[ti])->vec_dot_type;
			void *xq = malloc(llmos_row_size(vt, n));
			float *x = malloc(n * sizeof(float)), *ref = malloc(n * sizeof(float));
			float *got = malloc(n * sizeof(float)), dref, dgot;

			random_blocks(types[ti], w, n);
			for (int i = 0; i < n; i++)
				x[i] = (float)((int)(next32() % 20001) - 10000) * 1e-3f;
			assert_int_equal(llmos_simd_select(LLMOS_SIMD_SCALAR), 0);
			llmos_type_traits(types[ti])->to_float(w, ref, n);
			llmos_type_traits(vt)->from_float(x, xq, n);
			llmos_type_traits(types[ti])->vec_dot(n, &dref, w, xq);
			double mag = 0; /* the scale of the sum's rounding */
			for (int i = 0; i < n; i++)
				mag += fabs((double)ref[i] * x[i]);
			for (size_t lv = 1; lv < sizeof(levels) / sizeof(levels[0]); lv++) {
				if (llmos_simd_select(levels[lv]))
					continue;
				llmos_type_traits(types[ti])->to_float(w, got, n);
				assert_memory_equal(got, ref, n * sizeof(float));
				llmos_type_traits(types[ti])->vec_dot(n, &dgot, w, xq);
				if (fabs((double)dgot - dref) > 1e-6 * mag)
					fail_msg("%s %s n=%d: %.9g, scalar %.9g",
						 llmos_simd_name(levels[lv]),
						 llmos_type_traits(types[ti])->name, n, dgot, dref);
			}
			free(w);
			free(xq);
			free(x);
			free(ref);
			free(got);
		}
	}
	llmos_simd_select(llmos_simd_best());
}

/*
 * Q8_K activations round each x * iscale to float before rounding it to an
 * integer, as ggml's x86 reference does: a fused multiply-add there (GCC
 * for arm64 contracts it unless built with -ffp-contract=off, as the
 * Makefile does) changes a few bytes in 10^5, and so K-quant dots across
 * architectures.  Checked against a reference that stores the product, on
 * 2048 random blocks.
 */
static void q8_K_keeps_products_rounded(void **state)
{
	const struct llmos_type_traits *q8k = llmos_type_traits(LLMOS_TYPE_Q8_K);
	struct block_q8_K y;
	float x[256];

	(void)state;
	for (int b = 0; b < 2048; b++) {
		float amax = 0, max = 0, iscale;

		for (int i = 0; i < 256; i++) {
			x[i] = (float)((int)(next32() % 20001) - 10000) * 1e-3f * (float)(b % 4 + 1);
			if (fabsf(x[i]) > amax) {
				amax = fabsf(x[i]);
				max = x[i];
			}
		}
		q8k->from_float(x, &y, 256);
		iscale = -127.f / max;
		for (int i = 0; i < 256; i++) {
			volatile float p = iscale * x[i];
			long q = lrintf(p);

			if (y.qs[i] != (q < 127 ? q : 127))
				fail_msg("block %d value %d: %d, want %ld", b, i, y.qs[i], q);
		}
	}
}

static float gauss(void)
{
	float u = ((float)next32() + 1.0f) * 0x1p-32f, v = (float)next32() * 0x1p-32f;

	return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

/*
 * The quantizers' relative RMS error on Gaussian weights is no more than 3 %
 * above what ggml's reference quantizers give on such data (measured with
 * ggml_quantize_chunk at c392e509, 262144 values of N(0, 0.02)), and rows
 * of zeros, constants and outliers come back finite.
 */
static void quantizers_match_ggml_quality(void **state)
{
	static const struct {
		enum llmos_type type;
		double ggml_rel_rmse;
	} ref[] = {
		{ LLMOS_TYPE_Q2_K, 0.29652 },  { LLMOS_TYPE_Q3_K, 0.15086 },
		{ LLMOS_TYPE_Q4_K, 0.07146 },  { LLMOS_TYPE_Q5_K, 0.03614 },
		{ LLMOS_TYPE_Q6_K, 0.01780 },  { LLMOS_TYPE_Q5_0, 0.04276 },
		{ LLMOS_TYPE_Q5_1, 0.03784 },  { LLMOS_TYPE_IQ4_NL, 0.07620 },
	};
	const int n = 262144;
	float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
	void *q = malloc((size_t)n);

	(void)state;
	for (int i = 0; i < n; i++)
		x[i] = 0.02f * gauss();
	for (size_t k = 0; k < sizeof(ref) / sizeof(ref[0]); k++) {
		const struct llmos_type_traits *t = llmos_type_traits(ref[k].type);
		double err = 0, sum2 = 0;

		t->from_float(x, q, n);
		t->to_float(q, y, n);
		for (int i = 0; i < n; i++) {
			err += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
			sum2 += (double)x[i] * x[i];
		}
		if (sqrt(err / sum2) > 1.03 * ref[k].ggml_rel_rmse)
			fail_msg("%s: relative RMS error %.5f, ggml %.5f", t->name, sqrt(err / sum2),
				 ref[k].ggml_rel_rmse);
		for (int shape = 0; shape < 3; shape++) {
			for (int i = 0; i < 256; i++)
				y[i] = shape == 0 ? 0.0f : shape == 1 ? -0.5f : (i == 7 ? 1e4f : 1e-3f);
			t->from_float(y, q, 256);
			t->to_float(q, y + 256, 256);
			for (int i = 0; i < 256; i++) {
				assert_true(isfinite(y[256 + i]));
				if (shape == 0)
					assert_true(y[256 + i] == 0.0f);
			}
		}
	}
	free(x);
	free(y);
	free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(matches_ggml),
		cmocka_unit_test(simd_matches_scalar),
		cmocka_unit_test(q8_K_keeps_products_rounded),
		cmocka_unit_test(quantizers_match_ggml_quality),
	};

	return cmocka_run_group_tests_name("kquants", tests, NULL, NULL);
}
