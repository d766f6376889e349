/* SPDX-License-Identifier: MIT */
/*
 * quants5_scalar.c - the 32-value block types llama-quantize falls back to
 * when a row is no whole number of K-quant super-blocks (Q5_0, Q5_1) and
 * the non-linear IQ4_NL, in portable C as ggml computes them: dequantized
 * as ggml-quants.c does, dotted with Q8_0 (Q8_1 for Q5_1) activations in
 * integers per block, scaled once per block.
 */
#include "kernels_impl.h"

/* The 5-bit value j (0..31) of a Q5 block: nibble and fifth bit. */
static inline int q5_value(const uint8_t *qs, const uint8_t *qhb, int j)
{
	uint32_t qh = (uint32_t)qhb[0] | (uint32_t)qhb[1] << 8 | (uint32_t)qhb[2] << 16 |
		      (uint32_t)qhb[3] << 24;
	int lo = j < 16 ? qs[j] & 0xf : qs[j - 16] >> 4;

	return lo | (int)((qh >> j) & 1) << 4;
}

void llmos_q5_0_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q5_0 *x = src;

	for (int64_t i = 0; i < n / 32; i++) {
		float d = llmos_fp16_to_fp32_inline(x[i].d);

		for (int j = 0; j < 32; j++)
			*y++ = (float)(q5_value(x[i].qs, x[i].qh, j) - 16) * d;
	}
}

void llmos_q5_1_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q5_1 *x = src;

	for (int64_t i = 0; i < n / 32; i++) {
		float d = llmos_fp16_to_fp32_inline(x[i].d), m = llmos_fp16_to_fp32_inline(x[i].m);

		for (int j = 0; j < 32; j++)
			*y++ = (float)q5_value(x[i].qs, x[i].qh, j) * d + m;
	}
}

void llmos_iq4_nl_to_float(const void *src, float *y, int64_t n)
{
	const struct block_iq4_nl *x = src;

	for (int64_t i = 0; i < n / 32; i++, y += 32) {
		float d = llmos_fp16_to_fp32_inline(x[i].d);

		for (int j = 0; j < 16; j++) {
			y[j] = d * llmos_iq4nl_values[x[i].qs[j] & 0xf];
			y[j + 16] = d * llmos_iq4nl_values[x[i].qs[j] >> 4];
		}
	}
}

void llmos_vec_dot_q5_0_q8_0(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q5_0 *x = vx;
	const struct block_q8_0 *y = vy;
	float sum = 0;

	for (int i = 0; i < n / 32; i++) {
		int sumi = 0;

		for (int j = 0; j < 32; j++)
			sumi += (q5_value(x[i].qs, x[i].qh, j) - 16) * y[i].qs[j];
		sum += llmos_fp16_to_fp32_inline(x[i].d) * llmos_fp16_to_fp32_inline(y[i].d) *
		       (float)sumi;
	}
	*s = sum;
}

/* Q5_1 against Q8_1: the min times Q8_1's stored d * sum(q). */
void llmos_vec_dot_q5_1_q8_1(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q5_1 *x = vx;
	const struct block_q8_1 *y = vy;
	float sum = 0;

	for (int i = 0; i < n / 32; i++) {
		int sumi = 0;

		for (int j = 0; j < 32; j++)
			sumi += q5_value(x[i].qs, x[i].qh, j) * y[i].qs[j];
		sum += llmos_fp16_to_fp32_inline(x[i].d) * llmos_fp16_to_fp32_inline(y[i].d) *
			       (float)sumi +
		       llmos_fp16_to_fp32_inline(x[i].m) * llmos_fp16_to_fp32_inline(y[i].s);
	}
	*s = sum;
}

void llmos_vec_dot_iq4_nl_q8_0(int n, float *s, const void *vx, const void *vy)
{
	const struct block_iq4_nl *x = vx;
	const struct block_q8_0 *y = vy;
	float sum = 0;

	for (int i = 0; i < n / 32; i++) {
		int sumi = 0;

		for (int j = 0; j < 16; j++)
			sumi += llmos_iq4nl_values[x[i].qs[j] & 0xf] * y[i].qs[j] +
				llmos_iq4nl_values[x[i].qs[j] >> 4] * y[i].qs[j + 16];
		sum += llmos_fp16_to_fp32_inline(x[i].d) * llmos_fp16_to_fp32_inline(y[i].d) *
		       (float)sumi;
	}
	*s = sum;
}
