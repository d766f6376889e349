/* SPDX-License-Identifier: MIT */
/*
 * test_vnpu_dot.c - the virtual NPU's arithmetic (kmod/llmos_vnpu_dot.c,
 * built here on the host through tests/unit/kshim) gives exactly the CPU
 * kernels' one-token dot, bit for bit, at every SIMD level of the CPU
 * kernels that sums in llama.cpp's order (AVX2, AVX-512): Q8_0 and Q4_0
 * weights against Q8_0 activations, on random blocks and scales of several
 * lengths, several rows and tokens, with strides and unaligned rows.  That
 * is what lets `llmos run --device npu` print the CPU's greedy text.
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

#include "../../kmod/llmos_vnpu_dot.c"

#define ROWS 5
#define TOKENS 3
#define PAD 2 /* bytes between rows: rows only 2-byte aligned, as blocks need */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* An fp16 scale of a normal magnitude, either sign (as quantizers make). */
static uint16_t rnd_scale(void)
{
	return (uint16_t)((rnd() & 0x8000) | (0x1400 + rnd() % 0x2000));
}

/* One row of nb blocks of type (Q8_0: values in [-127, 127]; Q4_0: any nibbles). */
static void fill_row(uint8_t *row, enum llmos_type type, int nb)
{
	size_t bsize = type == LLMOS_TYPE_Q4_0 ? 18 : 34;

	for (int b = 0; b < nb; b++) {
		uint8_t *blk = row + b * bsize;
		uint16_t d = rnd_scale();

		memcpy(blk, &d, 2);
		for (size_t j = 2; j < bsize; j++)
			blk[j] = type == LLMOS_TYPE_Q4_0 ? (uint8_t)rnd() : (uint8_t)(rnd() % 255 + 129);
	}
}

static void check_type(enum llmos_type type, int cols)
{
	static const enum llmos_simd_level levels[] = { LLMOS_SIMD_AVX2, LLMOS_SIMD_AVX512 };
	const size_t wrow = llmos_row_size(type, cols), xrow = llmos_row_size(LLMOS_TYPE_Q8_0, cols);
	uint8_t *w = calloc(ROWS, wrow + PAD), *x = calloc(TOKENS, xrow + PAD);
	float out[TOKENS][ROWS];
	struct llmos_npu_matmul op = {
		.wtype = type == LLMOS_TYPE_Q4_0 ? LLMOS_NPU_TYPE_Q4_0 : LLMOS_NPU_TYPE_Q8_0,
		.rows = ROWS, .cols = (u32)cols, .n_tokens = TOKENS,
		.w = w + PAD, .w_stride = wrow + PAD, .x = x + PAD, .x_stride = xrow + PAD,
		.out = &out[0][0], .out_stride = ROWS,
	};
	int compared = 0;

	assert_non_null(w);
	assert_non_null(x);
	for (int r = 0; r < ROWS; r++)
		fill_row(w + PAD + r * op.w_stride, type, cols / 32);
	for (int t = 0; t < TOKENS; t++)
		fill_row(x + PAD + t * op.x_stride, LLMOS_TYPE_Q8_0, cols / 32);
	for (int t = 0; t < TOKENS; t++)
		llmos_vnpu_matmul_rows(&op, 0, ROWS, (u32)t);
	for (size_t lv = 0; lv < sizeof(levels) / sizeof(levels[0]); lv++) {
		if (llmos_simd_select(levels[lv]))
			continue; /* this CPU lacks it */
		for (int t = 0; t < TOKENS; t++)
			for (int r = 0; r < ROWS; r++) {
				float cpu;

				llmos_type_traits(type)->vec_dot(cols, &cpu, op.w + r * op.w_stride,
								 op.x + t * op.x_stride);
				if (memcmp(&cpu, &out[t][r], sizeof(cpu)))
					fail_msg("%s %s cols %d row %d token %d: vnpu %.9g, cpu %.9g",
						 llmos_simd_name(levels[lv]), llmos_type_traits(type)->name,
						 cols, r, t, out[t][r], cpu);
				compared++;
			}
	}
	llmos_simd_select(llmos_simd_best());
	if (!compared)
		print_message("no AVX2: the vnpu dot was not compared\n");
	free(w);
	free(x);
}

static const int lengths[] = { 32, 64, 96, 256, 288, 2048, 4128 };

static void vnpu_q8_0_equals_cpu_vec_dot(void **state)
{
	(void)state;
	for (int rep = 0; rep < 20; rep++)
		for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++)
			check_type(LLMOS_TYPE_Q8_0, lengths[i]);
}

static void vnpu_q4_0_equals_cpu_vec_dot(void **state)
{
	(void)state;
	for (int rep = 0; rep < 20; rep++)
		for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++)
			check_type(LLMOS_TYPE_Q4_0, lengths[i]);
}

/* Halves of every exponent, subnormals, zeros and infinities convert exactly. */
static void vnpu_fp16_conversion_is_exact(void **state)
{
	(void)state;
	for (uint32_t h = 0; h < 0x10000; h++) {
		float a = fp16_to_f32((u16)h), b = llmos_fp16_to_fp32((llmos_fp16)h);

		if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff))
			assert_true(isnan(a));
		else if (memcmp(&a, &b, sizeof(a)))
			fail_msg("half %#x: vnpu %.9g, cpu %.9g", h, a, b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vnpu_q8_0_equals_cpu_vec_dot),
		cmocka_unit_test(vnpu_q4_0_equals_cpu_vec_dot),
		cmocka_unit_test(vnpu_fp16_conversion_is_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
