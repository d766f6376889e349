/* SPDX-License-Identifier: MIT */
/*
 * test_quantize.c - the model quantizer's block search
 * (llmos_quantize_weights): for the 32-value block types its weighted error
 * is never above plain rounding's (the traits' from_float, ggml's reference
 * rounding), block by block, with and without an importance vector; for
 * every type an importance vector lowers the error it weights.
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

#define ROW 512
#define ROWS 64

static uint64_t rng = 88172645463325252ull;

static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

/* Weights as trained matrices have them: normal, with a few outliers and an offset per block. */
static void fill_weights(float *x, int n)
{
	for (int i = 0; i < n; i++) {
		double g = sqrt(-2 * log(uniform() + 1e-12)) * cos(6.283185307 * uniform());

		x[i] = (float)(0.02 * g + (i / 32 % 3 == 0 ? 0.01 : 0));
		if (uniform() < 0.01)
			x[i] *= 8;
	}
}

/* sum w (x - q)^2 over n values, q being dst dequantized. */
static double weighted_error(enum llmos_type t, const float *x, const void *dst, const float *w,
			     int n)
{
	float y[ROW];
	double e = 0;

	llmos_type_traits(t)->to_float(dst, y, n);
	for (int i = 0; i < n; i++)
		e += (w ? w[i] : 1.0) * ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
	return e;
}

/* The search's own weights for a block32 type: qw * sqrt(mean x^2 + x^2), else 1. */
static void block_weights(const float *x, const float *qw, float *w)
{
	for (int b = 0; b < ROW; b += 32) {
		double s2 = 0;

		for (int j = 0; j < 32; j++)
			s2 += (double)x[b + j] * x[b + j];
		for (int j = 0; j < 32; j++)
			w[b + j] = qw ? (float)(qw[b + j] * sqrt(s2 / 32 + x[b + j] * x[b + j])) : 1.0f;
	}
}

static const enum llmos_type block32[] = { LLMOS_TYPE_Q4_0, LLMOS_TYPE_Q4_1, LLMOS_TYPE_Q5_0,
					   LLMOS_TYPE_Q5_1, LLMOS_TYPE_Q8_0 };

static void block_search_never_worse_than_rounding(void **state)
{
	static float x[ROW], qw[ROW], w[ROW];
	static unsigned char ours[ROW * 2], plain[ROW * 2];

	(void)state;
	llmos_simd_select(LLMOS_SIMD_SCALAR);
	for (size_t k = 0; k < sizeof(block32) / sizeof(block32[0]); k++) {
		enum llmos_type t = block32[k];
		size_t bsize = llmos_type_traits(t)->type_size;
		double sum_ours = 0, sum_plain = 0;

		for (int r = 0; r < ROWS; r++) {
			int with_qw = r % 2;

			fill_weights(x, ROW);
			for (int i = 0; i < ROW; i++)
				qw[i] = (float)(0.1 + uniform() * uniform() * 10);
			block_weights(x, with_qw ? qw : NULL, w);
			assert_int_equal(0, llmos_quantize_weights(t, x, ours, ROW, with_qw ? qw : NULL));
			llmos_type_traits(t)->from_float(x, plain, ROW);
			for (int b = 0; b < ROW / 32; b++) {
				double eo = weighted_error(t, x + 32 * b, ours + bsize * b, w + 32 * b, 32);
				double ep = weighted_error(t, x + 32 * b, plain + bsize * b, w + 32 * b, 32);

				if (eo > ep * (1 + 1e-5) + 1e-20)
					fail_msg("%s row %d block %d (%s importance): error %.9g above plain "
						 "rounding's %.9g", llmos_type_traits(t)->name, r, b,
						 with_qw ? "with" : "without", eo, ep);
				sum_ours += eo;
				sum_plain += ep;
			}
		}
		print_message("%-5s weighted error %.4g, plain rounding %.4g (%.1f%% less)\n",
			      llmos_type_traits(t)->name, sum_ours, sum_plain,
			      100 * (1 - sum_ours / sum_plain));
	}
	llmos_simd_select(llmos_simd_best());
}

static const enum llmos_type all_types[] = {
	LLMOS_TYPE_Q4_0, LLMOS_TYPE_Q4_1, LLMOS_TYPE_Q5_0, LLMOS_TYPE_Q5_1, LLMOS_TYPE_Q8_0,
	LLMOS_TYPE_Q2_K, LLMOS_TYPE_Q3_K, LLMOS_TYPE_Q4_K, LLMOS_TYPE_Q5_K, LLMOS_TYPE_Q6_K,
	LLMOS_TYPE_IQ4_NL,
};

/* Columns that matter more (as an importance matrix says) come out closer. */
static void importance_lowers_the_error_it_weights(void **state)
{
	static float x[ROW], qw[ROW];
	static unsigned char with[ROW * 2], without[ROW * 2];

	(void)state;
	for (int i = 0; i < ROW; i++) /* a few columns carry most of the activation energy */
		qw[i] = i % 7 == 0 ? 50.0f : 0.5f;
	for (size_t k = 0; k < sizeof(all_types) / sizeof(all_types[0]); k++) {
		enum llmos_type t = all_types[k];
		double e_with = 0, e_without = 0;

		for (int r = 0; r < ROWS; r++) {
			fill_weights(x, ROW);
			assert_int_equal(0, llmos_quantize_weights(t, x, with, ROW, qw));
			assert_int_equal(0, llmos_quantize_weights(t, x, without, ROW, NULL));
			e_with += weighted_error(t, x, with, qw, ROW);
			e_without += weighted_error(t, x, without, qw, ROW);
		}
		print_message("%-6s importance-weighted error %.4g with the importances, %.4g "
			      "without\n", llmos_type_traits(t)->name, e_with, e_without);
		assert_true(e_with < e_without);
	}
}

static void non_weight_types_are_refused(void **state)
{
	float x[64] = { 0 };
	unsigned char out[256];

	(void)state;
	assert_int_equal(-1, llmos_quantize_weights(LLMOS_TYPE_Q8_K, x, out, 64, NULL));
	assert_int_equal(-1, llmos_quantize_weights(LLMOS_TYPE_Q8_1, x, out, 64, NULL));
	assert_int_equal(-1, llmos_quantize_weights(LLMOS_TYPE_Q4_0, x, out, 48, NULL));
	assert_int_equal(-1, llmos_quantize_weights((enum llmos_type)4, x, out, 64, NULL));
	assert_int_equal(0, llmos_quantize_weights(LLMOS_TYPE_F16, x, out, 64, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(block_search_never_worse_than_rounding),
		cmocka_unit_test(importance_lowers_the_error_it_weights),
		cmocka_unit_test(non_weight_types_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
