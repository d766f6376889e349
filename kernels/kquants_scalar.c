/* SPDX-License-Identifier: MIT */
/*
 * kquants_scalar.c - the K-quant types (super-blocks of 256) in portable C,
 * following ggml: dequantization as ggml-quants.c's dequantize_row_*,
 * activations quantized to Q8_K as quantize_row_q8_K_ref (the x86 build of
 * ggml uses that reference), and the dot products as integer sums per
 * sub-block scaled once per super-block.  The SIMD versions
 * (kquants_avx2.c) must give the same sums; tests compare them.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "kernels_impl.h"

/* The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block. */
static void scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
	if (j < 4) {
		*sc = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*sc = (uint8_t)((q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4));
		*m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
	}
}

/*
 * Q2_K and Q3_K: 16 sub-blocks of 16.  Value e of a block lies in half
 * e / 128, bit pair j = e % 128 / 32 of byte 32 * half + e % 32; its
 * sub-block is 8 * half + 2 * j + (e % 32) / 16.
 */
static int q2_bits(const uint8_t *qs, int e)
{
	return (qs[32 * (e / 128) + e % 32] >> (2 * (e % 128 / 32))) & 3;
}

static int sub16(int e)
{
	return 8 * (e / 128) + 2 * (e % 128 / 32) + e % 32 / 16;
}

void llmos_q2_K_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q2_K *x = src;

	for (int64_t i = 0; i < n / QK_K; i++) {
		float d = llmos_fp16_to_fp32_inline(x[i].d);
		float min = llmos_fp16_to_fp32_inline(x[i].dmin);

		for (int e = 0; e < QK_K; e++) {
			uint8_t sc = x[i].scales[sub16(e)];

			*y++ = d * (sc & 0xf) * (float)q2_bits(x[i].qs, e) - min * (sc >> 4);
		}
	}
}

/* The 3-bit value (-4..3) of element e of a Q3_K block. */
static int q3_value(const struct block_q3_K *b, int e)
{
	int bit = 4 * (e / 128) + e % 128 / 32;

	return q2_bits(b->qs, e) - ((b->hmask[e % 32] >> bit) & 1 ? 0 : 4);
}

void llmos_q3_K_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q3_K *x = src;

	for (int64_t i = 0; i < n / QK_K; i++) {
		float d = llmos_fp16_to_fp32_inline(x[i].d);
		int8_t sc[16];

		llmos_q3_K_scales(x[i].scales, sc);
		for (int e = 0; e < QK_K; e++)
			*y++ = d * sc[sub16(e)] * (float)q3_value(&x[i], e);
	}
}

void llmos_vec_dot_q2_K_q8_K(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q2_K *x = vx;
	const struct block_q8_K *y = vy;
	float sum = 0;

	for (int i = 0; i < n / QK_K; i++) {
		int32_t dots[16] = { 0 }, sumi = 0, summ = 0;

		for (int e = 0; e < QK_K; e++)
			dots[sub16(e)] += q2_bits(x[i].qs, e) * y[i].qs[e];
		for (int j = 0; j < 16; j++) {
			sumi += (x[i].scales[j] & 0xf) * dots[j];
			summ += (x[i].scales[j] >> 4) * y[i].bsums[j];
		}
		sum += y[i].d * llmos_fp16_to_fp32_inline(x[i].d) * (float)sumi -
		       y[i].d * llmos_fp16_to_fp32_inline(x[i].dmin) * (float)summ;
	}
	*s = sum;
}

void llmos_vec_dot_q3_K_q8_K(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q3_K *x = vx;
	const struct block_q8_K *y = vy;
	float sum = 0;

	for (int i = 0; i < n / QK_K; i++) {
		int32_t dots[16] = { 0 }, sumi = 0;
		int8_t sc[16];

		llmos_q3_K_scales(x[i].scales, sc);
		for (int e = 0; e < QK_K; e++)
			dots[sub16(e)] += q3_value(&x[i], e) * y[i].qs[e];
		for (int j = 0; j < 16; j++)
			sumi += sc[j] * dots[j];
		sum += llmos_fp16_to_fp32_inline(x[i].d) * y[i].d * (float)sumi;
	}
	*s = sum;
}

void llmos_q4_K_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q4_K *x = src;

	for (int64_t i = 0; i < n / QK_K; i++) {
		const uint8_t *q = x[i].qs;
		float d = llmos_fp16_to_fp32_inline(x[i].d);
		float min = llmos_fp16_to_fp32_inline(x[i].dmin);

		for (int j = 0, is = 0; j < QK_K; j += 64, is += 2, q += 32) {
			uint8_t sc, m;
			float d1, m1, d2, m2;

			scale_min_k4(is, x[i].scales, &sc, &m);
			d1 = d * sc;
			m1 = min * m;
			scale_min_k4(is + 1, x[i].scales, &sc, &m);
			d2 = d * sc;
			m2 = min * m;
			for (int l = 0; l < 32; l++)
				*y++ = d1 * (q[l] & 0xf) - m1;
			for (int l = 0; l < 32; l++)
				*y++ = d2 * (q[l] >> 4) - m2;
		}
	}
}

/* The value l (0..31) of sub-block j of a Q4_K (qh NULL) or Q5_K block. */
static int k45_value(const uint8_t *qs, const uint8_t *qh, int j, int l)
{
	const uint8_t *q = qs + 32 * (j / 2);
	int v = j & 1 ? q[l] >> 4 : q[l] & 0xf;

	return qh ? v + ((qh[l] >> j) & 1) * 16 : v;
}

void llmos_q5_K_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q5_K *x = src;

	for (int64_t i = 0; i < n / QK_K; i++) {
		float d = llmos_fp16_to_fp32_inline(x[i].d);
		float min = llmos_fp16_to_fp32_inline(x[i].dmin);

		for (int j = 0; j < QK_K / 32; j++) {
			uint8_t sc, m;
			float dj, mj;

			scale_min_k4(j, x[i].scales, &sc, &m);
			dj = d * sc;
			mj = min * m;
			for (int l = 0; l < 32; l++)
				*y++ = dj * k45_value(x[i].qs, x[i].qh, j, l) - mj;
		}
	}
}

/* The 6-bit value l (0..31) of quarter k (0..3) of a 128-value half of a Q6_K block. */
static int q6_value(const uint8_t *ql, const uint8_t *qh, int l, int k)
{
	int lo = k & 1 ? ql[l + 32] : ql[l];

	lo = k & 2 ? lo >> 4 : lo & 0xf;
	return (lo | (((qh[l] >> (2 * k)) & 3) << 4)) - 32;
}

void llmos_q6_K_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q6_K *x = src;

	for (int64_t i = 0; i < n / QK_K; i++) {
		float d = llmos_fp16_to_fp32_inline(x[i].d);
		const uint8_t *ql = x[i].ql, *qh = x[i].qh;
		const int8_t *sc = x[i].scales;

		for (int h = 0; h < QK_K; h += 128, y += 128, ql += 64, qh += 32, sc += 8)
			for (int l = 0; l < 32; l++)
				for (int k = 0; k < 4; k++)
					y[l + 32 * k] = d * sc[l / 16 + 2 * k] * q6_value(ql, qh, l, k);
	}
}

/* ggml's nearest_int: round half to even through the float mantissa. */
static int nearest_int(float f)
{
	float v = f + 12582912.f;
	int i;

	memcpy(&i, &v, sizeof(i));
	return (i & 0x007fffff) - 0x00400000;
}

void llmos_q8_K_from_float(const float *x, void *dst, int64_t n)
{
	struct block_q8_K *y = dst;

	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
		float max = 0, amax = 0, iscale;

		for (int j = 0; j < QK_K; j++) {
			if (fabsf(x[j]) > amax) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		}
		if (!amax) {
			memset(&y[i], 0, sizeof(y[i]));
			continue;
		}
		iscale = -127.f / max;
		for (int j = 0; j < QK_K; j++) {
			int v = nearest_int(iscale * x[j]);

			y[i].qs[j] = (int8_t)(v < 127 ? v : 127);
		}
		for (int j = 0; j < QK_K / 16; j++) {
			int sum = 0;

			for (int k = 0; k < 16; k++)
				sum += y[i].qs[j * 16 + k];
			y[i].bsums[j] = (int16_t)sum;
		}
		y[i].d = 1 / iscale;
	}
}

void llmos_q8_K_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q8_K *x = src;

	for (int64_t i = 0; i < n / QK_K; i++)
		for (int j = 0; j < QK_K; j++)
			*y++ = x[i].d * x[i].qs[j];
}

/*
 * dot(Q4_K or Q5_K row, Q8_K row): the two share their header (d, dmin,
 * the packed scales and mins).  Per super-block, the sub-block sums of
 * q * q8 times their scales, and the mins times the Q8_K group sums, all in
 * integers; then d * y.d and dmin * y.d once.
 */
static float k45_dot(int n, const void *vx, size_t stride, size_t qs_off, long qh_off,
		     const struct block_q8_K *y)
{
	float sum = 0;

	for (int i = 0; i < n / QK_K; i++) {
		const struct block_q4_K *hd = (const void *)((const char *)vx + i * stride);
		const uint8_t *qs = (const uint8_t *)hd + qs_off;
		const uint8_t *qh = qh_off < 0 ? NULL : (const uint8_t *)hd + qh_off;
		int32_t sumi = 0, summ = 0;

		for (int j = 0; j < QK_K / 32; j++) {
			uint8_t sc, m;
			int32_t dot = 0;

			scale_min_k4(j, hd->scales, &sc, &m);
			for (int l = 0; l < 32; l++)
				dot += k45_value(qs, qh, j, l) * y[i].qs[j * 32 + l];
			sumi += sc * dot;
			summ += m * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
		}
		sum += llmos_fp16_to_fp32_inline(hd->d) * y[i].d * (float)sumi -
		       llmos_fp16_to_fp32_inline(hd->dmin) * y[i].d * (float)summ;
	}
	return sum;
}

void llmos_vec_dot_q4_K_q8_K(int n, float *s, const void *vx, const void *vy)
{
	*s = k45_dot(n, vx, sizeof(struct block_q4_K), offsetof(struct block_q4_K, qs), -1, vy);
}

void llmos_vec_dot_q5_K_q8_K(int n, float *s, const void *vx, const void *vy)
{
	*s = k45_dot(n, vx, sizeof(struct block_q5_K), offsetof(struct block_q5_K, qs),
		     (long)offsetof(struct block_q5_K, qh), vy);
}

/* dot(Q6_K row, Q8_K row): sub-blocks of 16, scaled in integers, d * y.d once. */
void llmos_vec_dot_q6_K_q8_K(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q6_K *x = vx;
	const struct block_q8_K *y = vy;
	float sum = 0;

	for (int i = 0; i < n / QK_K; i++) {
		const uint8_t *ql = x[i].ql, *qh = x[i].qh;
		const int8_t *sc = x[i].scales, *q8 = y[i].qs;
		int32_t sumi = 0;

		for (int h = 0; h < 2; h++, ql += 64, qh += 32, sc += 8, q8 += 128)
			for (int k = 0; k < 4; k++)
				for (int half = 0; half < 2; half++) {
					int32_t dot = 0;

					for (int l = 16 * half; l < 16 * half + 16; l++)
						dot += q6_value(ql, qh, l, k) * q8[32 * k + l];
					sumi += sc[half + 2 * k] * dot;
				}
		sum += llmos_fp16_to_fp32_inline(x[i].d) * y[i].d * (float)sumi;
	}
	*s = sum;
}
