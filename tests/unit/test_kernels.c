/* SPDX-License-Identifier: MIT */
/*
 * test_kernels.c - the kernels of every SIMD level the CPU has against the
 * scalar ones on random data, the quantizers' round-trip error, and the
 * fp16/bf16 conversions at their edges.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#if defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13)
#endif
#endif

#include "kernels.h"
#include "kernels_impl.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng_u32(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* uniform in [-1, 1) */
static float rng_float(void)
{
	return (float)(rng_u32() & 0xffffff) / (float)(1 << 23) - 1.0f;
}

static void fill_random(float *x, int n, float scale)
{
	for (int i = 0; i < n; i++)
		x[i] = rng_float() * scale;
}

static float bits_f32(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static const enum llmos_simd_level levels[] = { LLMOS_SIMD_SCALAR, LLMOS_SIMD_AVX2,
						LLMOS_SIMD_AVX512 };

/* Switch to the level in *state, or skip the test if the CPU lacks it. */
static void use_level(void **state)
{
	enum llmos_simd_level level = *(const enum llmos_simd_level *)*state;

	if (llmos_simd_select(level) != 0) {
		print_message("[  SKIP    ] CPU lacks %s\n", llmos_simd_name(level));
		skip();
	}
}

static int reset_level(void **state)
{
	(void)state;
	llmos_simd_select(llmos_simd_best());
	return 0;
}

/* Traits of t at the scalar level (the reference), leaving the level as it was. */
static const struct llmos_type_traits *scalar_traits(enum llmos_type t)
{
	enum llmos_simd_level cur = llmos_simd_current();
	const struct llmos_type_traits *tt;

	llmos_simd_select(LLMOS_SIMD_SCALAR);
	tt = llmos_type_traits(t);
	llmos_simd_select(cur);
	return tt;
}

static const enum llmos_type all_types[] = { LLMOS_TYPE_F32,  LLMOS_TYPE_F16,  LLMOS_TYPE_BF16,
					     LLMOS_TYPE_Q4_0, LLMOS_TYPE_Q4_1, LLMOS_TYPE_Q8_0,
					     LLMOS_TYPE_Q8_1 };
#define N_TYPES (sizeof(all_types) / sizeof(all_types[0]))

/* ---- fp16 / bf16 ---- */

static void test_fp16_values(void **state)
{
	(void)state;
	assert_int_equal(llmos_fp32_to_fp16(1.0f), 0x3c00);
	assert_int_equal(llmos_fp32_to_fp16(-2.0f), 0xc000);
	assert_int_equal(llmos_fp32_to_fp16(0.0f), 0x0000);
	assert_int_equal(llmos_fp32_to_fp16(-0.0f), 0x8000);
	assert_int_equal(llmos_fp32_to_fp16(65504.0f), 0x7bff);
	assert_int_equal(llmos_fp32_to_fp16(65519.99f), 0x7bff);
	assert_int_equal(llmos_fp32_to_fp16(65520.0f), 0x7c00);
	assert_int_equal(llmos_fp32_to_fp16(INFINITY), 0x7c00);
	assert_int_equal(llmos_fp32_to_fp16(-INFINITY), 0xfc00);
	assert_int_equal(llmos_fp32_to_fp16(1e10f), 0x7c00);
	/* ties to even */
	assert_int_equal(llmos_fp32_to_fp16(1.0f + 0x1p-11f), 0x3c00);
	assert_int_equal(llmos_fp32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3c02);
	assert_int_equal(llmos_fp32_to_fp16(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);
	/* subnormals */
	assert_int_equal(llmos_fp32_to_fp16(0x1p-24f), 0x0001);
	assert_int_equal(llmos_fp32_to_fp16(0x1p-25f), 0x0000);
	assert_int_equal(llmos_fp32_to_fp16(3 * 0x1p-25f), 0x0002);
	assert_int_equal(llmos_fp32_to_fp16(0x1p-25f + 0x1p-30f), 0x0001);
	assert_int_equal(llmos_fp32_to_fp16(0x1p-14f), 0x0400);
	assert_int_equal(llmos_fp32_to_fp16(0x1p-14f - 0x1p-25f), 0x0400);
	assert_int_equal(llmos_fp32_to_fp16(-0x1p-24f), 0x8001);
	assert_int_equal(llmos_fp32_to_fp16(1e-10f), 0x0000);
	/* NaN stays NaN, quiet */
	assert_int_equal(llmos_fp32_to_fp16(NAN) & 0x7e00, 0x7e00);
	assert_int_equal(llmos_fp32_to_fp16(bits_f32(0x7f800001)) & 0x7e00, 0x7e00);
	assert_true(llmos_fp16_to_fp32(0x0001) == 0x1p-24f);
	assert_true(llmos_fp16_to_fp32(0x03ff) == 1023 * 0x1p-24f);
	assert_true(llmos_fp16_to_fp32(0x7bff) == 65504.0f);
	assert_true(isinf(llmos_fp16_to_fp32(0xfc00)) && llmos_fp16_to_fp32(0xfc00) < 0);
	assert_true(isnan(llmos_fp16_to_fp32(0x7e00)));
	assert_true(isnan(llmos_fp16_to_fp32(0x7c01)));
	assert_true(signbit(llmos_fp16_to_fp32(0x8000)));
}

/* Every half survives half -> float -> half (NaNs come back quiet). */
static void test_fp16_round_trip(void **state)
{
	(void)state;
	for (uint32_t h = 0; h < 0x10000; h++) {
		float f = llmos_fp16_to_fp32((llmos_fp16)h);
		uint16_t back = llmos_fp32_to_fp16(f);
		bool nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);

		if (nan)
			assert_int_equal(back, h | 0x200);
		else
			assert_int_equal(back, h);
	}
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) static uint16_t hw_convert(float f)
{
	return (uint16_t)__builtin_ia32_vcvtps2ph((__attribute__((vector_size(16))) float){ f },
						  0)[0];
}

static bool hw_converts(void)
{
	return __builtin_cpu_supports("f16c");
}
#elif defined(__aarch64__)
/* FCVT to half, round to nearest even: what F16C's VCVTPS2PH does too. */
static uint16_t hw_convert(float f)
{
	__fp16 h = (__fp16)f;
	uint16_t u;

	memcpy(&u, &h, sizeof(u));
	return u;
}

static bool hw_converts(void)
{
	return true;
}
#else
static uint16_t hw_convert(float f)
{
	return llmos_fp32_to_fp16(f);
}

static bool hw_converts(void)
{
	return false;
}
#endif

/* The portable conversion rounds exactly as the CPU's (F16C's VCVTPS2PH, arm64's FCVT). */
static void test_fp16_matches_f16c(void **state)
{
	(void)state;
	if (!hw_converts()) {
		print_message("[  SKIP    ] CPU lacks a half-precision conversion\n");
		skip();
	}
	for (int i = 0; i < 2000000; i++) {
		uint32_t u = rng_u32() << 1 ^ rng_u32();
		float f = bits_f32(u);

		/* the fp16 range is where the interesting rounding is */
		if (i & 1)
			f = bits_f32((u & 0x87ffffff) | 0x30000000);
#if defined(__aarch64__)
		if (isnan(f))
			continue; /* FCVT keeps NaN payloads as ggml does not */
#endif
		assert_int_equal(llmos_fp32_to_fp16(f), hw_convert(f));
	}
}

static void test_bf16(void **state)
{
	(void)state;
	assert_int_equal(llmos_fp32_to_bf16(1.0f), 0x3f80);
	assert_int_equal(llmos_fp32_to_bf16(bits_f32(0x3f808000)), 0x3f80); /* tie, even */
	assert_int_equal(llmos_fp32_to_bf16(bits_f32(0x3f818000)), 0x3f82); /* tie, up */
	assert_int_equal(llmos_fp32_to_bf16(bits_f32(0x3f808001)), 0x3f81);
	assert_int_equal(llmos_fp32_to_bf16(INFINITY), 0x7f80);
	assert_int_equal(llmos_fp32_to_bf16(-INFINITY), 0xff80);
	assert_int_equal(llmos_fp32_to_bf16(bits_f32(0x7f7fffff)), 0x7f80); /* max rounds to inf */
	assert_int_equal(llmos_fp32_to_bf16(bits_f32(0x7f800001)), 0x7fc0); /* NaN made quiet */
	assert_int_equal(llmos_fp32_to_bf16(bits_f32(0xffc00000)), 0xffc0);
	assert_int_equal(llmos_fp32_to_bf16(bits_f32(0x00018000)), 0x0002); /* subnormal kept */
	assert_int_equal(llmos_fp32_to_bf16(bits_f32(0x00008000)), 0x0000);
	assert_int_equal(llmos_fp32_to_bf16(-0.0f), 0x8000);
	assert_true(llmos_bf16_to_fp32(0x3f80) == 1.0f);
	assert_true(llmos_bf16_to_fp32(0x0001) == bits_f32(0x00010000));
	assert_true(isnan(llmos_bf16_to_fp32(0x7fc1)));
	for (uint32_t h = 0; h < 0x10000; h++) {
		bool nan = (h & 0x7f80) == 0x7f80 && (h & 0x7f);

		if (!nan)
			assert_int_equal(llmos_fp32_to_bf16(llmos_bf16_to_fp32((uint16_t)h)), h);
	}
}

/* ---- dispatch ---- */

static void test_dispatch(void **state)
{
	(void)state;
	enum llmos_simd_level best = llmos_simd_best();

	print_message("best SIMD level: %s\n", llmos_simd_name(best));
	assert_int_equal(llmos_simd_current(), best);
	assert_int_equal(llmos_simd_select(LLMOS_SIMD_SCALAR), 0);
	assert_int_equal(llmos_simd_current(), LLMOS_SIMD_SCALAR);
	if (best < LLMOS_SIMD_AVX512)
		assert_int_equal(llmos_simd_select(LLMOS_SIMD_AVX512), -1);
	assert_int_equal(llmos_simd_select((enum llmos_simd_level)7), -1);
	assert_int_equal(llmos_simd_select(best), 0);
#if defined(__aarch64__)
	assert_string_equal(llmos_simd_name(LLMOS_SIMD_NEON), "neon");
#else
	assert_string_equal(llmos_simd_name(LLMOS_SIMD_AVX2), "avx2");
#endif
	assert_null(llmos_type_traits((enum llmos_type)5));
	assert_null(llmos_type_traits(LLMOS_TYPE_COUNT));
	assert_null(llmos_type_traits((enum llmos_type)-1));
	assert_string_equal(llmos_type_traits(LLMOS_TYPE_Q4_0)->name, "q4_0");
	assert_int_equal(llmos_type_traits(LLMOS_TYPE_Q4_1)->vec_dot_type, LLMOS_TYPE_Q8_1);
	assert_int_equal(llmos_type_traits(LLMOS_TYPE_F16)->vec_dot_type, LLMOS_TYPE_F16);
	assert_int_equal(llmos_type_traits(LLMOS_TYPE_BF16)->vec_dot_type, LLMOS_TYPE_BF16);
	assert_int_equal(llmos_row_size(LLMOS_TYPE_Q8_0, 4096), 4096 / 32 * 34);
	assert_int_equal(llmos_row_size(LLMOS_TYPE_Q4_0, 64), 36);
	assert_int_equal(llmos_row_size(LLMOS_TYPE_Q4_1, 64), 40);
	assert_int_equal(llmos_row_size(LLMOS_TYPE_Q8_1, 32), 36);
	assert_int_equal(llmos_row_size(LLMOS_TYPE_F16, 10), 20);
	assert_int_equal(llmos_row_size(LLMOS_TYPE_F32, 10), 40);
	for (size_t i = 0; i < N_TYPES; i++) {
		const struct llmos_type_traits *tt = llmos_type_traits(all_types[i]);

		assert_non_null(tt);
		assert_non_null(tt->to_float);
		assert_non_null(tt->from_float);
		assert_non_null(tt->vec_dot);
	}
}

/* ---- quantizers ---- */

/* Quantize, dequantize, and check each element against the block's bound. */
static void check_round_trip(enum llmos_type t, int nb)
{
	const struct llmos_type_traits *tt = llmos_type_traits(t);
	int n = nb * 32;
	float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
	void *q = malloc(llmos_row_size(t, n));
	double err2 = 0, range2 = 0;

	fill_random(x, n, 3.0f);
	x[5] = 0.0f;
	for (int j = 64; j < 96 && j < n; j++)
		x[j] = 0.0f; /* an all-zero block */
	tt->from_float(x, q, n);
	tt->to_float(q, y, n);
	for (int b = 0; b < nb; b++) {
		const float *xb = x + b * 32, *yb = y + b * 32;
		float min = xb[0], max = xb[0], amax = 0;

		for (int j = 0; j < 32; j++) {
			min = fminf(min, xb[j]);
			max = fmaxf(max, xb[j]);
			amax = fmaxf(amax, fabsf(xb[j]));
		}
		float step = t == LLMOS_TYPE_Q4_0 ? amax / 8 :
			     t == LLMOS_TYPE_Q4_1 ? (max - min) / 15 : amax / 127;
		/* half a step, the fp16 scale error, and q4_0's clamp at +7 */
		float bound = t == LLMOS_TYPE_Q4_0 ? 1.01f * step :
					0.51f * step + fabsf(min) * 0x1p-10f + 16 * step * 0x1p-10f;

		for (int j = 0; j < 32; j++) {
			if (fabsf(xb[j] - yb[j]) > bound)
				fail_msg("%s block %d elem %d: %g -> %g (bound %g)", tt->name, b, j,
					 xb[j], yb[j], bound);
			err2 += (double)(xb[j] - yb[j]) * (xb[j] - yb[j]);
			range2 += (double)step * step;
		}
	}
	/* uniform rounding error has rms step / sqrt(12) */
	assert_true(err2 / range2 < 0.15);
	free(x);
	free(y);
	free(q);
}

static void test_quant_round_trip(void **state)
{
	static const enum llmos_type qtypes[] = { LLMOS_TYPE_Q4_0, LLMOS_TYPE_Q4_1,
						  LLMOS_TYPE_Q8_0, LLMOS_TYPE_Q8_1 };
	use_level(state);
	for (size_t i = 0; i < 4; i++)
		for (int nb = 1; nb <= 9; nb += 4)
			check_round_trip(qtypes[i], nb);
}

/* Known values, computed by hand with ggml's rules. */
static void test_quant_known(void **state)
{
	float x[32] = { 0 };
	struct block_q8_0 q8;
	struct block_q8_1 q81;
	struct block_q4_0 q4;
	struct block_q4_1 q41;

	use_level(state);
	x[0] = 127.0f;
	x[1] = -63.5f; /* ties round to even, as ggml's x86 build rounds: -64 */
	x[2] = 0.5f;   /* 0 */
	x[31] = -1.49f;
	llmos_type_traits(LLMOS_TYPE_Q8_0)->from_float(x, &q8, 32);
	assert_int_equal(q8.d, llmos_fp32_to_fp16(1.0f));
	assert_int_equal(q8.qs[0], 127);
	assert_int_equal(q8.qs[1], -64);
	assert_int_equal(q8.qs[2], 0);
	assert_int_equal(q8.qs[31], -1);
	llmos_type_traits(LLMOS_TYPE_Q8_1)->from_float(x, &q81, 32);
	assert_int_equal(q81.s, llmos_fp32_to_fp16(127 - 64 + 0 - 1));
	assert_memory_equal(q81.qs, q8.qs, 32);

	memset(x, 0, sizeof(x));
	x[0] = -16.0f; /* largest magnitude: d = 2, q = 0 */
	x[1] = 16.0f;  /* would be 16, clamped to 15 */
	x[16] = 3.0f;  /* 1.5 + 8.5 = 10 */
	x[17] = -2.9f; /* -1.45 + 8.5 = 7.05 -> 7 */
	llmos_type_traits(LLMOS_TYPE_Q4_0)->from_float(x, &q4, 32);
	assert_int_equal(q4.d, llmos_fp32_to_fp16(2.0f));
	assert_int_equal(q4.qs[0], 0x00 | 10 << 4);
	assert_int_equal(q4.qs[1], 15 | 7 << 4);
	assert_int_equal(q4.qs[2], 8 | 8 << 4);

	for (int j = 0; j < 32; j++)
		x[j] = 1.0f + j * 0.5f; /* min 1, max 16.5, d = 1.033.. */
	llmos_type_traits(LLMOS_TYPE_Q4_1)->from_float(x, &q41, 32);
	assert_int_equal(q41.m, llmos_fp32_to_fp16(1.0f));
	assert_int_equal(q41.d, llmos_fp32_to_fp16(15.5f / 15));
	assert_int_equal(q41.qs[0] & 15, 0);
	assert_int_equal(q41.qs[15] >> 4, 15);
}

/* SIMD quantizers and converters give exactly the scalar bytes and floats. */
static void test_convert_matches_scalar(void **state)
{
	static const int lengths[] = { 32, 64, 96, 256, 288, 4096 };

	use_level(state);
	for (size_t i = 0; i < N_TYPES; i++) {
		const struct llmos_type_traits *tt = llmos_type_traits(all_types[i]);
		const struct llmos_type_traits *ts = scalar_traits(all_types[i]);

		for (size_t l = 0; l < sizeof(lengths) / sizeof(lengths[0]); l++) {
			int n = lengths[l] + (tt->block_size == 1 ? (int)l * 3 + 1 : 0);
			size_t sz = llmos_row_size(all_types[i], n);
			float *x = malloc(n * sizeof(float));
			float *ya = malloc(n * sizeof(float)), *yb = malloc(n * sizeof(float));
			uint8_t *qa = malloc(sz), *qb = malloc(sz);

			fill_random(x, n, l & 1 ? 100.0f : 0.01f);
			if (n > 40) {
				x[33] = INFINITY; /* not in quantized rows: ggml's results are junk */
				x[34] = 1e-41f;
				x[35] = -0.0f;
				if (tt->block_size > 1)
					x[33] = 5e4f;
			}
			tt->from_float(x, qa, n);
			ts->from_float(x, qb, n);
			assert_memory_equal(qa, qb, sz);
			tt->to_float(qa, ya, n);
			ts->to_float(qa, yb, n);
			assert_memory_equal(ya, yb, n * sizeof(float));
			free(x);
			free(ya);
			free(yb);
			free(qa);
			free(qb);
		}
	}
}

/* ---- vec_dot ---- */

/* Random weights and activations of their vec_dot_type, from random floats. */
static void make_operands(enum llmos_type t, int n, void **wx, void **wy, float scale)
{
	const struct llmos_type_traits *tt = scalar_traits(t);
	const struct llmos_type_traits *ty = scalar_traits(tt->vec_dot_type);
	float *f = malloc(n * sizeof(float));

	*wx = malloc(llmos_row_size(t, n));
	*wy = malloc(llmos_row_size(tt->vec_dot_type, n));
	fill_random(f, n, scale);
	tt->from_float(f, *wx, n);
	fill_random(f, n, scale);
	ty->from_float(f, *wy, n);
	free(f);
}

/* Dequantize both and dot in double; also sum |x_i y_i| for a tolerance. */
static double naive_dot(enum llmos_type t, int n, const void *wx, const void *wy, double *mag)
{
	const struct llmos_type_traits *tt = scalar_traits(t);
	float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
	double sum = 0;

	tt->to_float(wx, a, n);
	scalar_traits(tt->vec_dot_type)->to_float(wy, b, n);
	*mag = 0;
	for (int i = 0; i < n; i++) {
		sum += (double)a[i] * b[i];
		*mag += fabs((double)a[i] * b[i]);
	}
	free(a);
	free(b);
	return sum;
}

static void check_dot_random(enum llmos_type t, int n)
{
	const struct llmos_type_traits *tt = llmos_type_traits(t);
	void *wx, *wy;
	float got, ref;
	double mag, naive;

	make_operands(t, n, &wx, &wy, 2.0f);
	tt->vec_dot(n, &got, wx, wy);
	scalar_traits(t)->vec_dot(n, &ref, wx, wy);
	naive = naive_dot(t, n, wx, wy, &mag);
	/* float reductions: a few ulps of the sum of magnitudes */
	if (fabs(got - ref) > 2e-6 * mag + 1e-30)
		fail_msg("%s n=%d: %.9g vs scalar %.9g (mag %g)", tt->name, n, got, ref, mag);
	/* q4_1's m*s term uses s rounded to fp16 */
	if (fabs(ref - naive) > (t == LLMOS_TYPE_Q4_1 ? 2e-3 : 2e-6) * mag + 1e-30)
		fail_msg("%s n=%d: scalar %.9g vs dequantized %.9g", tt->name, n, ref, naive);
	free(wx);
	free(wy);
}

static void test_vec_dot_random(void **state)
{
	static const int blocks[] = { 1, 2, 3, 4, 5, 7, 8, 9, 16, 33, 128 };

	use_level(state);
	for (size_t i = 0; i < N_TYPES; i++) {
		if (llmos_type_traits(all_types[i])->block_size == 1) {
			for (int n = 1; n <= 80; n++)
				check_dot_random(all_types[i], n);
			check_dot_random(all_types[i], 4096);
			check_dot_random(all_types[i], 4099);
			continue;
		}
		for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); b++)
			check_dot_random(all_types[i], blocks[b] * 32);
	}
}

/*
 * Power-of-two scales and small integers: every product and partial sum is
 * exact in fp32, so all levels must agree bit for bit with the integer math.
 */
static void fill_exact_block(enum llmos_type t, uint8_t *blk, int64_t *isum)
{
	static const uint16_t pow2[] = { 0x3800, 0x3c00, 0x4000 }; /* 0.5, 1, 2 */
	llmos_fp16 d = pow2[rng_u32() % 3];
	int8_t q[32];
	int sum = 0;

	for (int j = 0; j < 32; j++) {
		q[j] = (int8_t)((int)(rng_u32() % 63) - 31);
		sum += q[j];
	}
	*isum = sum;
	switch (t) {
	case LLMOS_TYPE_Q8_0:
		memcpy(blk, &d, 2);
		memcpy(blk + 2, q, 32);
		break;
	case LLMOS_TYPE_Q8_1: {
		llmos_fp16 s = llmos_fp32_to_fp16(llmos_fp16_to_fp32(d) * sum);

		memcpy(blk, &d, 2);
		memcpy(blk + 2, &s, 2);
		memcpy(blk + 4, q, 32);
		break;
	}
	case LLMOS_TYPE_Q4_0:
	case LLMOS_TYPE_Q4_1:
		memcpy(blk, &d, 2);
		if (t == LLMOS_TYPE_Q4_1)
			memcpy(blk + 2, &pow2[rng_u32() % 3], 2);
		for (int j = 0; j < 16; j++)
			blk[(t == LLMOS_TYPE_Q4_1 ? 4 : 2) + j] = (uint8_t)(rng_u32() & 0xff);
		break;
	default:
		fail();
	}
}

static void test_vec_dot_exact(void **state)
{
	static const enum llmos_type qtypes[] = { LLMOS_TYPE_Q4_0, LLMOS_TYPE_Q4_1,
						  LLMOS_TYPE_Q8_0, LLMOS_TYPE_Q8_1 };

	use_level(state);
	for (size_t i = 0; i < 4; i++) {
		const struct llmos_type_traits *tt = llmos_type_traits(qtypes[i]);
		const struct llmos_type_traits *ty = llmos_type_traits(tt->vec_dot_type);

		for (int nb = 1; nb <= 16; nb++) {
			uint8_t *x = malloc(nb * tt->type_size), *y = malloc(nb * ty->type_size);
			int64_t isum;
			float got, ref;

			for (int b = 0; b < nb; b++) {
				fill_exact_block(qtypes[i], x + b * tt->type_size, &isum);
				fill_exact_block(tt->vec_dot_type, y + b * ty->type_size, &isum);
			}
			tt->vec_dot(nb * 32, &got, x, y);
			scalar_traits(qtypes[i])->vec_dot(nb * 32, &ref, x, y);
			if (got != ref)
				fail_msg("%s x %d blocks: %.9g vs scalar %.9g", tt->name, nb, got, ref);
			free(x);
			free(y);
		}
	}
}

/* Extreme int8 values: -128 weights (possible in files) and +-127 everywhere. */
static void test_vec_dot_q8_extremes(void **state)
{
	struct block_q8_0 x[4], y[4];
	float got, ref;

	use_level(state);
	for (int b = 0; b < 4; b++) {
		x[b].d = y[b].d = 0x3c00;
		for (int j = 0; j < 32; j++) {
			x[b].qs[j] = (int8_t)(j & 1 ? -128 : 127);
			y[b].qs[j] = (int8_t)(b & 1 ? -127 : 127);
		}
	}
	llmos_type_traits(LLMOS_TYPE_Q8_0)->vec_dot(128, &got, x, y);
	scalar_traits(LLMOS_TYPE_Q8_0)->vec_dot(128, &ref, x, y);
	assert_true(got == ref);
	/* each block sums 16 * y * (127 - 128); the +-127 blocks cancel */
	assert_true(ref == 0.0f);
	y[0].qs[0] = 127;
	x[0].qs[0] = -128;
	llmos_type_traits(LLMOS_TYPE_Q8_0)->vec_dot(32, &got, x, y);
	scalar_traits(LLMOS_TYPE_Q8_0)->vec_dot(32, &ref, x, y);
	assert_true(got == ref);
}

/* ---- row-tile dots (packed activations) ---- */

/* Random raw blocks: every int8 (-128 too) in q8_0 weights, |y| <= 127. */
static void fill_raw_blocks(enum llmos_type t, void *dst, int nb, bool activations)
{
	uint8_t *p = dst;
	size_t size = scalar_traits(t)->type_size;

	for (int b = 0; b < nb; b++, p += size) {
		llmos_fp16 d = llmos_fp32_to_fp16(rng_float() * 0.02f);

		memcpy(p, &d, 2);
		for (size_t j = 2; j < size; j++)
			p[j] = activations ? (uint8_t)(int8_t)((int)(rng_u32() % 255) - 127)
					   : (uint8_t)rng_u32();
	}
}

/* Tile dot for nt tokens: the level's kernel (if any) bit for bit as the scalar twin. */
static void check_tile(enum llmos_type t, int n, int nt)
{
	llmos_tile_dot_fn simd = llmos_kernel_ops()->tile_dot[t], ref = llmos_tile_dot_scalar(t);
	int nb = n / 32, ng = n / LLMOS_QK_X8;
	void *x = malloc(llmos_row_size(t, n));
	struct block_q8_0 *y = malloc(nb * sizeof(*y) * nt);
	struct llmos_block_q8x8 *yp = malloc(ng * sizeof(*yp) * nt);
	float got[LLMOS_TILE_TOKENS * 2], want[LLMOS_TILE_TOKENS * 2], vd;

	fill_raw_blocks(t, x, nb, false);
	fill_raw_blocks(LLMOS_TYPE_Q8_0, y, nb * nt, true);
	llmos_pack_q8x8(y, yp, (int64_t)ng * nt);
	ref(n, nt, want, 2, x, yp, ng * sizeof(*yp));
	for (int k = 0; k < nt; k++) {
		scalar_traits(t)->vec_dot(n, &vd, x, y + k * nb);
		if (fabsf(want[2 * k] - vd) > 1e-5f * fabsf(vd) + 1e-4f)
			fail_msg("%s n=%d t=%d: tile %.9g vs vec_dot %.9g", scalar_traits(t)->name,
				 n, k, want[2 * k], vd);
	}
	if (simd) {
		simd(n, nt, got, 2, x, yp, ng * sizeof(*yp));
		for (int k = 0; k < nt; k++)
			if (got[2 * k] != want[2 * k])
				fail_msg("%s n=%d nt=%d t=%d: %.9g vs scalar %.9g",
					 scalar_traits(t)->name, n, nt, k, got[2 * k], want[2 * k]);
	}
	free(x);
	free(y);
	free(yp);
}

static void test_tile_dot(void **state)
{
	static const enum llmos_type types[] = { LLMOS_TYPE_Q4_0 };
	static const int sizes[] = { 256, 512, 768, 2048 };

	use_level(state);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
			for (int nt = 1; nt <= LLMOS_TILE_TOKENS; nt++)
				for (int rep = 0; rep < 4; rep++)
					check_tile(types[i], sizes[k], nt);
}

/*
 * IQ4_NL in a batch as llama.cpp's tinyBLAS sums it: 8 float lanes, each the
 * fused sum over blocks of d times a lane's 4 products, then halves, pairs.
 */
static float iq4_nl_batch_ref(int n, const struct block_iq4_nl *x, const struct block_q8_0 *y)
{
	float acc[8] = { 0 }, t[4];

	for (int i = 0; i < n / 32; i++) {
		float d = llmos_fp16_to_fp32(x[i].d) * llmos_fp16_to_fp32(y[i].d);

		for (int l = 0; l < 8; l++) {
			int sum = 0;

			for (int k = 4 * l; k < 4 * l + 4; k++)
				sum += llmos_iq4nl_values[k < 16 ? x[i].qs[k] & 0xf : x[i].qs[k - 16] >> 4] *
				       y[i].qs[k];
			acc[l] = fmaf(d, (float)sum, acc[l]);
		}
	}
	for (int l = 0; l < 4; l++)
		t[l] = acc[l] + acc[l + 4];
	return (t[0] + t[2]) + (t[1] + t[3]);
}

/* Value e (0..31) of a Q8_0 or Q4_0 block, as an int. */
static int block_value(enum llmos_type t, const void *blk, int e)
{
	const struct block_q4_0 *q4 = blk;

	if (t == LLMOS_TYPE_Q8_0)
		return ((const struct block_q8_0 *)blk)->qs[e];
	return (e < 16 ? q4->qs[e] & 0xf : q4->qs[e - 16] >> 4) - 8;
}

/*
 * Q8_0 or Q4_0 weights in a batch as llama.cpp's i8mm kernels sum them: per
 * block the whole integer sum, then acc = acc + (float)isum * (dx * dy), the
 * product and the sum each rounded (arm64 builds with -ffp-contract=off).
 * *mag gets the sum of every |product| times |dx * dy|, which bounds every
 * partial sum of any order, for bounding the rounding.
 */
static float block_order_ref(enum llmos_type t, int n, const void *x, const struct block_q8_0 *y,
			     double *mag)
{
	size_t size = llmos_row_size(t, 32);
	float acc = 0.0f;

	*mag = 0;
	for (int i = 0; i < n / 32; i++) {
		const char *xb = (const char *)x + i * size;
		llmos_fp16 dx;
		int isum = 0, asum = 0;

		memcpy(&dx, xb, sizeof(dx)); /* d is the first field of both blocks */
		for (int e = 0; e < 32; e++) {
			isum += block_value(t, xb, e) * y[i].qs[e];
			asum += abs(block_value(t, xb, e) * y[i].qs[e]);
		}
		float d = llmos_fp16_to_fp32(dx) * llmos_fp16_to_fp32(y[i].d);

		acc = acc + (float)isum * d;
		*mag += fabs((double)asum * d);
	}
	return acc;
}

/*
 * A block-order tile's sum: block_order_ref bit for bit, and as close to
 * vec_dot as two orders of the same terms can be: each is off the exact sum
 * by at most (blocks + 3) roundings of the magnitude; twice that is allowed.
 */
static void check_block_order(enum llmos_type t, int n, float got, const void *x,
			      const struct block_q8_0 *y, const char *where)
{
	const struct llmos_type_traits *wt = llmos_type_traits(t);
	double mag, tol;
	float want = block_order_ref(t, n, x, y, &mag), vd;

	if (memcmp(&got, &want, sizeof(got)))
		fail_msg("%s n=%d %s: tile %.9g, block order %.9g", wt->name, n, where, got, want);
	wt->vec_dot(n, &vd, x, y);
	tol = 2.0 * (n / 32 + 2) * FLT_EPSILON * mag;
	if (fabs((double)got - vd) > tol)
		fail_msg("%s n=%d %s: tile %.9g, vec_dot %.9g (tolerance %.3g)", wt->name, n, where,
			 got, vd, tol);
}

/* Which tiles the level has and in which order they sum, e.g. under qemu -cpu max. */
static void print_tiles(const struct llmos_kernel_ops *ops)
{
	char line[256] = "";

	for (int t = 0; t < LLMOS_TYPE_COUNT; t++) {
		if (!ops->tile_rows[t])
			continue;
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s%s",
			 llmos_type_traits((enum llmos_type)t)->name,
			 ops->tile_block_order[t] ? "(i8mm block order)" : "");
	}
	print_message("%s tiles:%s\n", llmos_simd_name(llmos_simd_current()), line);
}

/*
 * One call of type t's tile on nr rows (xrow bytes apart) and nt tokens
 * (yrow apart): it writes just those sums, each the one it should be.
 */
static void check_tile_call(enum llmos_type t, int n, int nr, int nt, const char *x, size_t xrow,
			    const char *y, size_t yrow)
{
	const struct llmos_kernel_ops *ops = llmos_kernel_ops();
	const struct llmos_type_traits *wt = llmos_type_traits(t);
	float got[LLMOS_TILE_TOKENS][LLMOS_TILE_ROWS + 1], want;
	char where[48];

	for (int j = 0; j < LLMOS_TILE_TOKENS; j++)
		for (int r = 0; r <= LLMOS_TILE_ROWS; r++)
			got[j][r] = NAN;
	ops->tile_rows[t](n, nr, nt, &got[0][0], LLMOS_TILE_ROWS + 1, x, xrow, y, yrow);
	for (int j = 0; j < LLMOS_TILE_TOKENS; j++) {
		for (int r = 0; r <= LLMOS_TILE_ROWS; r++) {
			const char *xr = x + r * xrow, *yj = y + j * yrow;

			snprintf(where, sizeof(where), "%dx%d row %d token %d", nr, nt, r, j);
			if (r >= nr || j >= nt) {
				if (!isnan(got[j][r]))
					fail_msg("%s n=%d %s: written", wt->name, n, where);
				continue;
			}
			if (ops->tile_block_order[t]) {
				check_block_order(t, n, got[j][r], xr, (const void *)yj, where);
				continue;
			}
			if (t == LLMOS_TYPE_IQ4_NL)
				want = iq4_nl_batch_ref(n, (const void *)xr, (const void *)yj);
			else
				wt->vec_dot(n, &want, xr, yj);
			if (got[j][r] != want)
				fail_msg("%s n=%d %s: tile %.9g, want %.9g", wt->name, n, where,
					 got[j][r], want);
		}
	}
}

/*
 * Tiles over plain activation rows: for every weight type with one at this
 * level, each (row, token) sum is llama.cpp's in a batch, bit for bit: the
 * level's vec_dot, or for IQ4_NL the single-accumulator sum above, or for
 * the block-order (i8mm) tiles block_order_ref, which must also be within
 * float rounding of vec_dot; for 1..LLMOS_TILE_ROWS rows,
 * 1..LLMOS_TILE_TOKENS tokens (an odd count padded inside the tile) and
 * several lengths.
 */
static void test_tile_rows(void **state)
{
	static const int sizes[] = { 256, 768, 2304, 4096, 800, 32 };
	const struct llmos_kernel_ops *ops;

	use_level(state);
	ops = llmos_kernel_ops();
	print_tiles(ops);
#if defined(__aarch64__)
	/* the dotprod level takes the i8mm tiles exactly where the CPU has i8mm */
	if (llmos_simd_current() == LLMOS_SIMD_DOTPROD)
		assert_int_equal(ops->tile_block_order[LLMOS_TYPE_Q8_0],
				 (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0);
#endif
	for (int t = 0; t < LLMOS_TYPE_COUNT; t++) {
		const struct llmos_type_traits *wt = llmos_type_traits((enum llmos_type)t);

		if (!ops->tile_rows[t])
			continue;
		if (ops->tile_block_order[t])
			assert_true(t == LLMOS_TYPE_Q8_0 || t == LLMOS_TYPE_Q4_0);
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			int n = sizes[k];

			if (n % wt->block_size)
				continue;
			const struct llmos_type_traits *yt = llmos_type_traits(wt->vec_dot_type);
			size_t xrow = llmos_row_size((enum llmos_type)t, n);
			size_t yrow = llmos_row_size(wt->vec_dot_type, n);
			float *f = malloc((size_t)n * sizeof(float));
			char *x = malloc(xrow * LLMOS_TILE_ROWS);
			char *y = malloc(yrow * LLMOS_TILE_TOKENS);

			for (int r = 0; r < LLMOS_TILE_ROWS; r++) {
				for (int i = 0; i < n; i++)
					f[i] = rng_float() * 0.1f * (r + 1);
				wt->from_float(f, x + r * xrow, n);
			}
			for (int j = 0; j < LLMOS_TILE_TOKENS; j++) {
				for (int i = 0; i < n; i++)
					f[i] = rng_float() * (j + 1);
				yt->from_float(f, y + j * yrow, n);
			}
			for (int nr = 1; nr <= LLMOS_TILE_ROWS; nr++)
				for (int nt = 1; nt <= LLMOS_TILE_TOKENS; nt++)
					check_tile_call((enum llmos_type)t, n, nr, nt, x, xrow, y,
							yrow);
			free(f);
			free(x);
			free(y);
		}
	}
}

/*
 * The batch fp16 dot of a level that has one is the portable GEMM order
 * (one accumulator of gemm_lanes lanes, fused, then halves) bit for bit.
 */
static void test_dot_f16_gemm(void **state)
{
	static const int lengths[] = { 16, 32, 48, 64, 128, 256, 1024, 4096 };
	const struct llmos_kernel_ops *ops;

	use_level(state);
	ops = llmos_kernel_ops();
	if (!ops->dot_f16_gemm)
		skip();
	for (size_t l = 0; l < sizeof(lengths) / sizeof(lengths[0]); l++) {
		int n = lengths[l];
		llmos_fp16 *x = malloc(n * sizeof(*x)), *y = malloc(n * sizeof(*y));
		float got, want;

		for (int i = 0; i < n; i++) {
			x[i] = llmos_fp32_to_fp16(rng_float() * 4.0f);
			y[i] = llmos_fp32_to_fp16(rng_float() * (i % 7 + 1));
		}
		ops->dot_f16_gemm(n, &got, x, y);
		want = llmos_dot_f16_gemm_ref(n, ops->gemm_lanes, x, y);
		if (memcmp(&got, &want, sizeof(got)))
			fail_msg("n=%d lanes=%d: %.9g, want %.9g", n, ops->gemm_lanes, got, want);
		free(x);
		free(y);
	}
}

/* The packed layout holds each block's values, scale and sum where it says. */
static void test_pack_q8x8(void **state)
{
	struct block_q8_0 y[16];
	struct llmos_block_q8x8 p[2];

	(void)state;
	fill_raw_blocks(LLMOS_TYPE_Q8_0, y, 16, true);
	llmos_pack_q8x8(y, p, 2);
	for (int g = 0; g < 2; g++) {
		for (int l = 0; l < 8; l++) {
			const struct block_q8_0 *b = &y[g * 8 + llmos_x8_order[l]];
			int sum = 0;

			for (int e = 0; e < 32; e++)
				sum += b->qs[e];
			assert_true(p[g].d[l] == llmos_fp16_to_fp32(b->d));
			assert_int_equal(p[g].sum[l], sum);
		}
		for (int b = 0; b < 8; b++)
			for (int e = 0; e < 32; e++)
				assert_int_equal(p[g].qs[b / 2][(e >= 16) * 32 + (b & 1) * 16 + e % 16],
						 y[g * 8 + b].qs[e]);
	}
}

/* ---- float kernels ---- */

static const int float_lengths[] = { 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 63,
				     64, 65, 100, 127, 128, 129, 1000, 4096, 4099 };
#define N_FLOAT_LENGTHS (sizeof(float_lengths) / sizeof(float_lengths[0]))

static void assert_close(const float *a, const float *b, int n, float rel, float abs_tol,
			 const char *what)
{
	for (int i = 0; i < n; i++) {
		float tol = rel * fabsf(b[i]) + abs_tol;

		if (!(fabsf(a[i] - b[i]) <= tol) && !(isnan(a[i]) && isnan(b[i])) && a[i] != b[i])
			fail_msg("%s n=%d [%d]: %.9g vs scalar %.9g", what, n, i, a[i], b[i]);
	}
}

/* Run kernel k at the level under test and at scalar on the same inputs. */
enum float_kernel { K_RMSNORM, K_SOFTMAX, K_SILU_MUL, K_VEC_ADD, K_VEC_MAD, K_DOT };

static void run_float_kernel(enum float_kernel k, float *y, const float *x, const float *w,
			     int n, float *dot)
{
	switch (k) {
	case K_RMSNORM:
		llmos_rmsnorm(y, x, w, n, 1e-5f);
		break;
	case K_SOFTMAX:
		llmos_softmax(y, n);
		break;
	case K_SILU_MUL:
		llmos_silu_mul(y, x, n);
		break;
	case K_VEC_ADD:
		llmos_vec_add(y, x, n);
		break;
	case K_VEC_MAD:
		llmos_vec_mad(y, x, 0.37f, n);
		break;
	case K_DOT:
		*dot = llmos_vec_dot_f32(x, w, n);
		break;
	}
}

static void check_float_kernel(enum float_kernel k, int n, const char *what, float rel)
{
	enum llmos_simd_level level = llmos_simd_current();
	float *x = malloc(n * sizeof(float)), *w = malloc(n * sizeof(float));
	float *ya = malloc(n * sizeof(float)), *yb = malloc(n * sizeof(float));
	float da = 0, db = 0;

	fill_random(x, n, 4.0f);
	fill_random(w, n, 2.0f);
	fill_random(ya, n, k == K_SOFTMAX ? 30.0f : k == K_SILU_MUL ? 20.0f : 3.0f);
	if (k == K_SOFTMAX && n > 2)
		ya[n / 2] = -INFINITY; /* a masked position */
	if (k == K_SILU_MUL && n > 3) {
		ya[1] = -200.0f;
		ya[2] = 200.0f;
	}
	memcpy(yb, ya, n * sizeof(float));
	run_float_kernel(k, ya, x, w, n, &da);
	llmos_simd_select(LLMOS_SIMD_SCALAR);
	run_float_kernel(k, yb, x, w, n, &db);
	llmos_simd_select(level);
	if (k == K_DOT) {
		double mag = 0;

		for (int i = 0; i < n; i++)
			mag += fabs((double)x[i] * w[i]);
		if (fabs(da - db) > 2e-6 * mag)
			fail_msg("%s n=%d: %.9g vs scalar %.9g", what, n, da, db);
	} else {
		assert_close(ya, yb, n, rel, k == K_VEC_MAD ? 1e-6f : 1e-30f, what);
	}
	if (k == K_SOFTMAX) {
		double sum = 0;

		for (int i = 0; i < n; i++)
			sum += ya[i];
		assert_true(fabs(sum - 1.0) < 1e-5);
		if (n > 2)
			assert_true(ya[n / 2] == 0.0f);
	}
	free(x);
	free(w);
	free(ya);
	free(yb);
}

static void test_float_kernels(void **state)
{
	use_level(state);
	for (size_t l = 0; l < N_FLOAT_LENGTHS; l++) {
		int n = float_lengths[l];

		check_float_kernel(K_RMSNORM, n, "rmsnorm", 1e-5f);
		check_float_kernel(K_SOFTMAX, n, "softmax", 1e-5f);
		check_float_kernel(K_SILU_MUL, n, "silu_mul", 1e-5f);
		check_float_kernel(K_VEC_ADD, n, "vec_add", 0.0f);
		check_float_kernel(K_VEC_MAD, n, "vec_mad", 1e-6f);
		check_float_kernel(K_DOT, n, "vec_dot_f32", 0.0f);
	}
}

/* rmsnorm and softmax against values worked out by hand. */
static void test_float_kernels_known(void **state)
{
	float x[4] = { 1, -1, 1, -1 }, w[4] = { 1, 2, 3, 4 }, y[4];
	float s[3] = { 0.0f, logf(2.0f), -INFINITY };

	use_level(state);
	llmos_rmsnorm(y, x, w, 4, 0.0f);
	assert_true(y[0] == 1.0f && y[1] == -2.0f && y[2] == 3.0f && y[3] == -4.0f);
	llmos_softmax(s, 3);
	assert_float_equal(s[0], 1.0f / 3, 1e-6);
	assert_float_equal(s[1], 2.0f / 3, 1e-6);
	assert_true(s[2] == 0.0f);
	y[0] = 0.0f;
	y[1] = 1.0f;
	w[0] = w[1] = 2.0f;
	llmos_silu_mul(y, w, 2);
	assert_true(y[0] == 0.0f);
	assert_float_equal(y[1], 2.0f / (1.0f + expf(-1.0f)), 1e-6);
}

#define AT_LEVEL(fn, i, name) \
	{ #fn "/" name, fn, NULL, reset_level, (void *)&levels[i] }
#define PER_LEVEL(fn) AT_LEVEL(fn, 0, "scalar"), AT_LEVEL(fn, 1, "avx2"), AT_LEVEL(fn, 2, "avx512")

int main(void)
{
	/* arm64: test the i8mm tiles too where the CPU has them (they are opt-in) */
	setenv("LLMOS_I8MM", "1", 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fp16_values),
		cmocka_unit_test(test_fp16_round_trip),
		cmocka_unit_test(test_fp16_matches_f16c),
		cmocka_unit_test(test_bf16),
		cmocka_unit_test(test_dispatch),
		PER_LEVEL(test_quant_round_trip),
		PER_LEVEL(test_quant_known),
		PER_LEVEL(test_convert_matches_scalar),
		PER_LEVEL(test_vec_dot_random),
		PER_LEVEL(test_vec_dot_exact),
		PER_LEVEL(test_vec_dot_q8_extremes),
		PER_LEVEL(test_tile_dot),
		PER_LEVEL(test_tile_rows),
		PER_LEVEL(test_dot_f16_gemm),
		cmocka_unit_test(test_pack_q8x8),
		PER_LEVEL(test_float_kernels),
		PER_LEVEL(test_float_kernels_known),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
