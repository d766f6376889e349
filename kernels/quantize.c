/* SPDX-License-Identifier: MIT */
/*
 * quantize.c - weight quantizers whose scales are searched rather than
 * read off the block's extremes: the K-quants (Q2_K..Q6_K), IQ4_NL, and
 * (llmos_quantize_weights(), the model quantizer's entry) the 32-value
 * block types Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0.  Each block's scale (and min, where the type has
 * one) is chosen from a small grid of candidates by weighted least squares;
 * the K-quants then quantize their sub-block scales and requantize the
 * values with the scales as stored.  The layouts are ggml's (kernels.h), so
 * the files llama.cpp reads.  An importance vector (one weight per column,
 * NULL for none) weights the squared error.
 */
#include <math.h>
#include <string.h>

#include "kernels_impl.h"

/* Round half to even through the float mantissa (|f| < 2^22). */
static int nearest_int(float f)
{
	float v = f + 12582912.f;
	int i;

	memcpy(&i, &v, sizeof(i));
	return (i & 0x007fffff) - 0x00400000;
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* The element of largest magnitude, with its sign. */
static float signed_absmax(const float *x, int n)
{
	float amax = 0, max = 0;

	for (int i = 0; i < n; i++) {
		if (fabsf(x[i]) > amax) {
			amax = fabsf(x[i]);
			max = x[i];
		}
	}
	return max;
}

/*
 * Symmetric fit: L[i] in [-nmax, nmax - 1] and the scale s minimising
 * sum w (x - s L)^2, over 19 inverse scales around -nmax / max (the largest
 * element maps to -nmax, the side with one more level).  Returns s.
 */
static float fit_symmetric(int n, int nmax, const float *x, const float *w, int8_t *L)
{
	float max = signed_absmax(x, n), best = 0, scale = 0, best_is = 0;

	if (fabsf(max) < 1e-30f) {
		memset(L, 0, (size_t)n);
		return 0;
	}
	for (int k = -9; k <= 9; k++) {
		float is = -(nmax + 0.1f * k) / max, slx = 0, sl2 = 0;

		for (int i = 0; i < n; i++) {
			int l = clampi(nearest_int(is * x[i]), -nmax, nmax - 1);

			slx += w[i] * x[i] * l;
			sl2 += w[i] * l * l;
		}
		if (sl2 > 0 && (!best_is || slx * slx > best * sl2)) {
			best = slx * slx / sl2;
			scale = slx / sl2;
			best_is = is;
		}
	}
	for (int i = 0; i < n; i++)
		L[i] = (int8_t)clampi(nearest_int(best_is * x[i]), -nmax, nmax - 1);
	return scale;
}

struct affine_grid {
	float rmin, rdelta; /* inverse scales (nmax + rmin + rdelta k) / (max - min) */
	int nstep;
};

/* sum w (s l + mn - x)^2 for assignment L. */
static float affine_err(int n, const float *x, const float *w, const uint8_t *L, float s,
			float mn)
{
	float err = 0;

	for (int i = 0; i < n; i++) {
		float d = s * L[i] + mn - x[i];

		err += w[i] * d * d;
	}
	return err;
}

/* Least-squares s and mn (mn <= 0) for a fixed assignment; false if degenerate. */
static int affine_solve(int n, const float *x, const float *w, const uint8_t *L, float *s,
			float *mn)
{
	float sw = 0, sl = 0, sl2 = 0, sx = 0, slx = 0, det;

	for (int i = 0; i < n; i++) {
		sw += w[i];
		sl += w[i] * L[i];
		sl2 += w[i] * L[i] * L[i];
		sx += w[i] * x[i];
		slx += w[i] * L[i] * x[i];
	}
	det = sw * sl2 - sl * sl;
	if (det <= 0)
		return 0;
	*s = (sw * slx - sx * sl) / det;
	*mn = (sl2 * sx - sl * slx) / det;
	if (*mn > 0) {
		*mn = 0;
		*s = slx / sl2;
	}
	return 1;
}

/*
 * Affine fit x ~ s L - m with L in [0, nmax] and m >= 0: the grid's inverse
 * scales assign L, least squares fits (s, m) to each assignment, and the
 * pair of least weighted error wins.  Returns s; *m_out is m.
 */
static float fit_affine(int n, int nmax, const float *x, const float *w, uint8_t *L,
			float *m_out, const struct affine_grid *g)
{
	float min = x[0], max = x[0], s, mn, best_err;
	uint8_t Laux[32];

	for (int i = 1; i < n; i++) {
		min = fminf(min, x[i]);
		max = fmaxf(max, x[i]);
	}
	if (min > 0)
		min = 0;
	if (max <= min) {
		memset(L, 0, (size_t)n);
		*m_out = -min;
		return 0;
	}
	s = (max - min) / nmax;
	mn = min;
	for (int i = 0; i < n; i++)
		L[i] = (uint8_t)clampi(nearest_int((x[i] - min) / s), 0, nmax);
	best_err = affine_err(n, x, w, L, s, mn);
	for (int k = 0; k <= g->nstep; k++) {
		float is = (g->rmin + g->rdelta * k + nmax) / (max - min), ts, tm, err;

		for (int i = 0; i < n; i++)
			Laux[i] = (uint8_t)clampi(nearest_int(is * (x[i] - min)), 0, nmax);
		if (!affine_solve(n, x, w, Laux, &ts, &tm))
			continue;
		err = affine_err(n, x, w, Laux, ts, tm);
		if (err < best_err) {
			best_err = err;
			s = ts;
			mn = tm;
			memcpy(L, Laux, (size_t)n);
		}
	}
	*m_out = -mn;
	return s;
}

/* Error weights of one super-block: the importance vector if given, else |x| plus the RMS. */
static void kq_weights(const float *x, const float *qw, float *w, int n, int squared)
{
	float sum2 = 0, rms;

	for (int i = 0; i < n; i++)
		sum2 += x[i] * x[i];
	rms = sqrtf(sum2 / n);
	for (int i = 0; i < n; i++) {
		if (qw)
			w[i] = qw[i] * sqrtf(2 * sum2 / n + x[i] * x[i]);
		else
			w[i] = squared ? x[i] * x[i] : rms + fabsf(x[i]);
	}
}

/* Quantize n_sub nonnegative values to 0..qmax with one step; returns the step. */
static float quantize_scales(const float *v, int n_sub, int qmax, uint8_t *q)
{
	float max = 0, is;

	for (int j = 0; j < n_sub; j++)
		max = fmaxf(max, v[j]);
	is = max > 0 ? qmax / max : 0;
	for (int j = 0; j < n_sub; j++)
		q[j] = (uint8_t)clampi(nearest_int(is * v[j]), 0, qmax);
	return max / qmax;
}

/* Requantize sub-block values given the stored step d and offset m (x ~ d L - m). */
static void requant_affine(const float *x, int n, float d, float m, int nmax, uint8_t *L)
{
	for (int i = 0; i < n; i++)
		L[i] = d ? (uint8_t)clampi(nearest_int((x[i] + m) / d), 0, nmax) : 0;
}

static const struct affine_grid grid_q4_K = { -1.0f, 0.1f, 20 };
static const struct affine_grid grid_q5_K = { -0.5f, 0.1f, 15 };
static const struct affine_grid grid_q2_K = { -0.5f, 0.1f, 15 };

/* Q4_K and Q5_K: 8 sub-blocks of 32 with 6-bit scales and mins; nmax 15 or 31. */
static void quantize_k45(const float *x, const float *qw, int nmax, uint8_t *packed,
			 llmos_fp16 *d_out, llmos_fp16 *dmin_out, uint8_t *L)
{
	const struct affine_grid *g = nmax == 15 ? &grid_q4_K : &grid_q5_K;
	float w[QK_K], sc[8], mn[8], d, dmin;
	uint8_t ls[8], lm[8];

	kq_weights(x, qw, w, QK_K, 0);
	for (int j = 0; j < 8; j++)
		sc[j] = fit_affine(32, nmax, x + 32 * j, w + 32 * j, L + 32 * j, &mn[j], g);
	d = quantize_scales(sc, 8, 63, ls);
	dmin = quantize_scales(mn, 8, 63, lm);
	*d_out = llmos_fp32_to_fp16_inline(d);
	*dmin_out = llmos_fp32_to_fp16_inline(dmin);
	memset(packed, 0, K_SCALE_SIZE);
	for (int j = 0; j < 8; j++) {
		if (j < 4) {
			packed[j] = ls[j];
			packed[j + 4] = lm[j];
		} else {
			packed[j + 4] = (uint8_t)((ls[j] & 0xf) | (lm[j] & 0xf) << 4);
			packed[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
			packed[j] |= (uint8_t)((lm[j] >> 4) << 6);
		}
	}
	d = llmos_fp16_to_fp32_inline(*d_out);
	dmin = llmos_fp16_to_fp32_inline(*dmin_out);
	for (int j = 0; j < 8; j++)
		requant_affine(x + 32 * j, 32, d * ls[j], dmin * lm[j], nmax, L + 32 * j);
}

void llmos_quantize_q4_K(const float *x, void *dst, int64_t n, const float *qw)
{
	struct block_q4_K *y = dst;
	uint8_t L[QK_K];

	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K, qw = qw ? qw + QK_K : NULL) {
		quantize_k45(x, qw, 15, y[i].scales, &y[i].d, &y[i].dmin, L);
		for (int j = 0; j < QK_K; j += 64)
			for (int l = 0; l < 32; l++)
				y[i].qs[j / 2 + l] = (uint8_t)(L[j + l] | L[j + l + 32] << 4);
	}
}

void llmos_quantize_q5_K(const float *x, void *dst, int64_t n, const float *qw)
{
	struct block_q5_K *y = dst;
	uint8_t L[QK_K];

	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K, qw = qw ? qw + QK_K : NULL) {
		quantize_k45(x, qw, 31, y[i].scales, &y[i].d, &y[i].dmin, L);
		memset(y[i].qh, 0, sizeof(y[i].qh));
		for (int j = 0; j < QK_K; j += 64) {
			for (int l = 0; l < 32; l++) {
				uint8_t a = L[j + l], b = L[j + l + 32];

				y[i].qs[j / 2 + l] = (uint8_t)((a & 0xf) | (b & 0xf) << 4);
				y[i].qh[l] |= (uint8_t)((a >> 4) << (j / 32) | (b >> 4) << (j / 32 + 1));
			}
		}
	}
}

/* The 2-bit fields of Q2_K/Q3_K: byte 32 * half + e % 32, pair e % 128 / 32. */
static void pack_2bit(const uint8_t *L, uint8_t *qs)
{
	for (int j = 0; j < QK_K; j += 128)
		for (int l = 0; l < 32; l++)
			qs[j / 4 + l] = (uint8_t)(L[j + l] | L[j + l + 32] << 2 | L[j + l + 64] << 4 |
						  L[j + l + 96] << 6);
}

void llmos_quantize_q2_K(const float *x, void *dst, int64_t n, const float *qw)
{
	struct block_q2_K *y = dst;

	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K, qw = qw ? qw + QK_K : NULL) {
		float w[QK_K], sc[16], mn[16], d, dmin;
		uint8_t L[QK_K], ls[16], lm[16];

		for (int e = 0; e < QK_K; e++)
			w[e] = qw ? qw[e] * fabsf(x[e]) : fabsf(x[e]);
		for (int j = 0; j < 16; j++)
			sc[j] = fit_affine(16, 3, x + 16 * j, w + 16 * j, L + 16 * j, &mn[j],
					   &grid_q2_K);
		d = quantize_scales(sc, 16, 15, ls);
		dmin = quantize_scales(mn, 16, 15, lm);
		y[i].d = llmos_fp32_to_fp16_inline(d);
		y[i].dmin = llmos_fp32_to_fp16_inline(dmin);
		d = llmos_fp16_to_fp32_inline(y[i].d);
		dmin = llmos_fp16_to_fp32_inline(y[i].dmin);
		for (int j = 0; j < 16; j++) {
			y[i].scales[j] = (uint8_t)(ls[j] | lm[j] << 4);
			requant_affine(x + 16 * j, 16, d * ls[j], dmin * lm[j], 3, L + 16 * j);
		}
		pack_2bit(L, y[i].qs);
	}
}

/*
 * Signed sub-block scales to integers in [-qmax, qmax - 1] with one step
 * (the largest in magnitude maps to -qmax); returns the step.
 */
static float quantize_signed_scales(const float *v, int n_sub, int qmax, int *q)
{
	float max = signed_absmax(v, n_sub), is;

	if (!max) {
		memset(q, 0, sizeof(*q) * (size_t)n_sub);
		return 0;
	}
	is = -qmax / max;
	for (int j = 0; j < n_sub; j++)
		q[j] = clampi(nearest_int(is * v[j]), -qmax, qmax - 1);
	return 1 / is;
}

/* Q3_K and Q6_K: 16 sub-blocks of 16 with symmetric scales; L[e] = value + nmax. */
static float quantize_sym16(const float *x, const float *qw, int nmax, int qscale,
			    int *ls, llmos_fp16 *d_out, uint8_t *L)
{
	float w[QK_K], sc[16], d;
	int8_t l8[QK_K];

	kq_weights(x, qw, w, QK_K, 1);
	for (int j = 0; j < 16; j++)
		sc[j] = fit_symmetric(16, nmax, x + 16 * j, w + 16 * j, l8 + 16 * j);
	d = quantize_signed_scales(sc, 16, qscale, ls);
	*d_out = llmos_fp32_to_fp16_inline(d);
	d = llmos_fp16_to_fp32_inline(*d_out);
	for (int e = 0; e < QK_K; e++) {
		float dj = d * ls[e / 16];
		int l = dj ? clampi(nearest_int(x[e] / dj), -nmax, nmax - 1) : 0;

		L[e] = (uint8_t)(l + nmax);
	}
	return d;
}

void llmos_quantize_q3_K(const float *x, void *dst, int64_t n, const float *qw)
{
	struct block_q3_K *y = dst;

	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K, qw = qw ? qw + QK_K : NULL) {
		uint8_t L[QK_K];
		int ls[16];

		quantize_sym16(x, qw, 4, 32, ls, &y[i].d, L);
		memset(y[i].scales, 0, sizeof(y[i].scales));
		for (int j = 0; j < 16; j++) {
			int l = ls[j] + 32;

			y[i].scales[j % 8] |= (uint8_t)((l & 0xf) << (j < 8 ? 0 : 4));
			y[i].scales[8 + j % 4] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
		}
		memset(y[i].hmask, 0, sizeof(y[i].hmask));
		for (int e = 0; e < QK_K; e++) {
			if (L[e] > 3) {
				y[i].hmask[e % 32] |= (uint8_t)(1 << (e / 32));
				L[e] -= 4;
			}
		}
		pack_2bit(L, y[i].qs);
	}
}

void llmos_quantize_q6_K(const float *x, void *dst, int64_t n, const float *qw)
{
	struct block_q6_K *y = dst;

	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K, qw = qw ? qw + QK_K : NULL) {
		uint8_t L[QK_K];
		int ls[16];

		quantize_sym16(x, qw, 32, 128, ls, &y[i].d, L);
		for (int j = 0; j < 16; j++)
			y[i].scales[j] = (int8_t)ls[j];
		for (int h = 0; h < 2; h++) {
			const uint8_t *q = L + 128 * h;
			uint8_t *ql = y[i].ql + 64 * h, *qh = y[i].qh + 32 * h;

			for (int l = 0; l < 32; l++) {
				ql[l] = (uint8_t)((q[l] & 0xf) | (q[l + 64] & 0xf) << 4);
				ql[l + 32] = (uint8_t)((q[l + 32] & 0xf) | (q[l + 96] & 0xf) << 4);
				qh[l] = (uint8_t)(q[l] >> 4 | (q[l + 32] >> 4) << 2 |
						  (q[l + 64] >> 4) << 4 | (q[l + 96] >> 4) << 6);
			}
		}
	}
}

/* Q5_0 as ggml rounds it: the value of largest magnitude maps to -16. */
void llmos_quantize_q5_0(const float *x, void *dst, int64_t n, const float *qw)
{
	struct block_q5_0 *y = dst;

	(void)qw;
	for (int64_t i = 0; i < n / 32; i++, x += 32) {
		float d = signed_absmax(x, 32) / -16, id = d ? 1 / d : 0;
		uint32_t qh = 0;

		y[i].d = llmos_fp32_to_fp16_inline(d);
		for (int j = 0; j < 16; j++) {
			int a = clampi((int8_t)(x[j] * id + 16.5f), 0, 31);
			int b = clampi((int8_t)(x[j + 16] * id + 16.5f), 0, 31);

			y[i].qs[j] = (uint8_t)((a & 0xf) | (b & 0xf) << 4);
			qh |= (uint32_t)(a >> 4) << j | (uint32_t)(b >> 4) << (j + 16);
		}
		memcpy(y[i].qh, &qh, sizeof(qh));
	}
}

/* Q5_1 as ggml rounds it: x = d q + m with m the minimum, d = (max - min) / 31. */
void llmos_quantize_q5_1(const float *x, void *dst, int64_t n, const float *qw)
{
	struct block_q5_1 *y = dst;

	(void)qw;
	for (int64_t i = 0; i < n / 32; i++, x += 32) {
		float min = x[0], max = x[0], d, id;
		uint32_t qh = 0;

		for (int j = 1; j < 32; j++) {
			min = fminf(min, x[j]);
			max = fmaxf(max, x[j]);
		}
		d = (max - min) / 31;
		id = d ? 1 / d : 0;
		y[i].d = llmos_fp32_to_fp16_inline(d);
		y[i].m = llmos_fp32_to_fp16_inline(min);
		for (int j = 0; j < 16; j++) {
			int a = clampi((int)((x[j] - min) * id + 0.5f), 0, 31);
			int b = clampi((int)((x[j + 16] - min) * id + 0.5f), 0, 31);

			y[i].qs[j] = (uint8_t)((a & 0xf) | (b & 0xf) << 4);
			qh |= (uint32_t)(a >> 4) << j | (uint32_t)(b >> 4) << (j + 16);
		}
		memcpy(y[i].qh, &qh, sizeof(qh));
	}
}

/* Index of the IQ4_NL value nearest v (binary search over the sorted table). */
static int iq4nl_index(float v)
{
	int lo = 0, hi = 15;

	if (v <= llmos_iq4nl_values[0])
		return 0;
	if (v >= llmos_iq4nl_values[15])
		return 15;
	while (hi - lo > 1) {
		int mid = (lo + hi) / 2;

		if (v < llmos_iq4nl_values[mid])
			hi = mid;
		else
			lo = mid;
	}
	return v - llmos_iq4nl_values[lo] < llmos_iq4nl_values[hi] - v ? lo : hi;
}

/* sum w x q and sum w q^2 with q the table value nearest is * x. */
static void iq4nl_sums(const float *x, const float *w, float is, float *sqx, float *sq2)
{
	*sqx = *sq2 = 0;
	for (int j = 0; j < 32; j++) {
		int q = llmos_iq4nl_values[iq4nl_index(is * x[j])];

		*sqx += w[j] * q * x[j];
		*sq2 += w[j] * q * q;
	}
}

/*
 * IQ4_NL as ggml searches it: errors weighted by x^2 (by qw sqrt(2 mean x^2
 * + x^2) with an importance vector), the scale fitted by least squares to
 * the levels of the plain scale and of 15 inverse scales around it, the
 * best kept; the values then take their nearest level for the unrounded
 * scale.  An all-zero block has scale 0 and the level nearest 0.
 */
void llmos_quantize_iq4_nl(const float *x, void *dst, int64_t n, const float *qw)
{
	const int8_t *v = llmos_iq4nl_values;
	struct block_iq4_nl *y = dst;

	for (int64_t i = 0; i < n / 32; i++, x += 32, qw = qw ? qw + 32 : NULL) {
		float w[32], max = signed_absmax(x, 32), sigma2 = 0, d = 0, id, sqx, sq2, best;

		for (int j = 0; j < 32; j++)
			sigma2 += x[j] * x[j];
		sigma2 *= 2.f / 32;
		for (int j = 0; j < 32; j++)
			w[j] = qw ? qw[j] * sqrtf(sigma2 + x[j] * x[j]) : x[j] * x[j];
		if (fabsf(max) >= 1e-15f) {
			iq4nl_sums(x, w, 1 / (-max / v[0]), &sqx, &sq2);
			d = sqx / sq2;
			best = d * sqx;
			for (int k = -7; k <= 7; k++) {
				iq4nl_sums(x, w, (k + v[0]) / max, &sqx, &sq2);
				if (sq2 > 0 && sqx * sqx > best * sq2) {
					d = sqx / sq2;
					best = d * sqx;
				}
			}
		}
		y[i].d = llmos_fp32_to_fp16_inline(d);
		id = d ? 1 / d : 0;
		for (int j = 0; j < 16; j++)
			y[i].qs[j] = (uint8_t)(iq4nl_index(id * x[j]) |
					       iq4nl_index(id * x[j + 16]) << 4);
	}
}

/* The traits table's from_float: no importance vector. */
#define LLMOS_FROM_FLOAT(t)                                                \
	void llmos_##t##_from_float(const float *x, void *dst, int64_t n) \
	{                                                                  \
		llmos_quantize_##t(x, dst, n, NULL);                       \
	}
LLMOS_FROM_FLOAT(q2_K)
LLMOS_FROM_FLOAT(q3_K)
LLMOS_FROM_FLOAT(q4_K)
LLMOS_FROM_FLOAT(q5_K)
LLMOS_FROM_FLOAT(q6_K)
LLMOS_FROM_FLOAT(q5_0)
LLMOS_FROM_FLOAT(q5_1)
LLMOS_FROM_FLOAT(iq4_nl)

/*
 * The 32-value block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) searched: each
 * candidate scale (and min) is rounded to fp16 as stored, the values take
 * their nearest level for it, and the candidate of least weighted error
 * wins.  The candidates include the plain rounding's scale (ggml's
 * reference quantizers), so the error is never above plain rounding's.
 * The traits' from_float keep plain rounding (byte-identical to ggml).
 */
struct block32_format {
	int qmin, qmax; /* levels: symmetric [qmin, qmax] with qmin < 0, affine [0, qmax] */
	int affine;     /* x = d q + m, else x = d q */
};

/* Indexed by type: NULL for the types that are not 32-value blocks. */
static const struct block32_format *const block32_formats[LLMOS_TYPE_COUNT] = {
	[LLMOS_TYPE_Q4_0] = &(const struct block32_format){ -8, 7, 0 },
	[LLMOS_TYPE_Q4_1] = &(const struct block32_format){ 0, 15, 1 },
	[LLMOS_TYPE_Q5_0] = &(const struct block32_format){ -16, 15, 0 },
	[LLMOS_TYPE_Q5_1] = &(const struct block32_format){ 0, 31, 1 },
	[LLMOS_TYPE_Q8_0] = &(const struct block32_format){ -127, 127, 0 },
};

/* fp16 round trip: what a block stores. */
static float as_stored(float v)
{
	return llmos_fp16_to_fp32_inline(llmos_fp32_to_fp16_inline(v));
}

/* Nearest levels for stored d, m; returns the weighted squared error. */
static float block32_levels(const struct block32_format *f, const float *x, const float *w,
			    float d, float m, int *q)
{
	float id = d ? 1 / d : 0, err = 0;

	for (int j = 0; j < 32; j++) {
		float e;

		q[j] = clampi(nearest_int((x[j] - m) * id), f->qmin, f->qmax);
		e = d * q[j] + m - x[j];
		err += w[j] * e * e;
	}
	return err;
}

struct block32_best {
	float err, d, m;
	int q[32];
};

/* Try stored (d, m): keep it if it beats the best so far. */
static void block32_try(const struct block32_format *f, const float *x, const float *w, float d,
			float m, struct block32_best *b)
{
	int q[32];
	float err;

	d = as_stored(d);
	m = f->affine ? as_stored(m) : 0;
	err = block32_levels(f, x, w, d, m, q);
	if (err < b->err) {
		b->err = err;
		b->d = d;
		b->m = m;
		memcpy(b->q, q, sizeof(q));
	}
}

/* Symmetric: the plain scale, and least squares over 19 inverse scales around it. */
static void block32_search_sym(const struct block32_format *f, const float *x, const float *w,
			       struct block32_best *b)
{
	float max = signed_absmax(x, 32);

	if (!max)
		return;
	block32_try(f, x, w, f->qmin == -127 ? fabsf(max) / 127 : max / f->qmin, 0, b);
	for (int k = -9; k <= 9; k++) {
		float is = (f->qmin == -127 ? 127 + 0.1f * k : f->qmin + 0.1f * k) /
			   (f->qmin == -127 ? fabsf(max) : max), sxl = 0, sll = 0;

		for (int j = 0; j < 32; j++) {
			int l = clampi(nearest_int(is * x[j]), f->qmin, f->qmax);

			sxl += w[j] * x[j] * l;
			sll += w[j] * l * l;
		}
		if (sll > 0)
			block32_try(f, x, w, sxl / sll, 0, b);
	}
}

/* Affine: the plain (max - min) / qmax with min, and least squares of (d, m) over a grid. */
static void block32_search_affine(const struct block32_format *f, const float *x, const float *w,
				  struct block32_best *b)
{
	float min = x[0], max = x[0];

	for (int j = 1; j < 32; j++) {
		min = fminf(min, x[j]);
		max = fmaxf(max, x[j]);
	}
	block32_try(f, x, w, (max - min) / f->qmax, min, b);
	if (max <= min)
		return;
	for (int k = -9; k <= 9; k++) {
		float is = (f->qmax + 0.1f * k) / (max - min);
		float sw = 0, sl = 0, sll = 0, sx = 0, slx = 0, det;

		for (int j = 0; j < 32; j++) {
			int l = clampi(nearest_int(is * (x[j] - min)), 0, f->qmax);

			sw += w[j];
			sl += w[j] * l;
			sll += w[j] * l * l;
			sx += w[j] * x[j];
			slx += w[j] * l * x[j];
		}
		det = sw * sll - sl * sl;
		if (det > 0)
			block32_try(f, x, w, (sw * slx - sl * sx) / det, (sll * sx - sl * slx) / det, b);
	}
}

/* Pack levels into a block of type t. */
static void block32_pack(enum llmos_type t, const struct block32_best *b, void *dst)
{
	llmos_fp16 d = llmos_fp32_to_fp16_inline(b->d), m = llmos_fp32_to_fp16_inline(b->m);
	uint32_t qh = 0;
	int off = t == LLMOS_TYPE_Q4_0 ? 8 : t == LLMOS_TYPE_Q5_0 ? 16 : 0;
	uint8_t *qs;

	if (t == LLMOS_TYPE_Q8_0) {
		struct block_q8_0 *y = dst;

		y->d = d;
		for (int j = 0; j < 32; j++)
			y->qs[j] = (int8_t)b->q[j];
		return;
	}
	memcpy(dst, &d, sizeof(d));
	if (t == LLMOS_TYPE_Q4_1 || t == LLMOS_TYPE_Q5_1)
		memcpy((char *)dst + 2, &m, sizeof(m));
	qs = (uint8_t *)dst + (t == LLMOS_TYPE_Q4_0 ? 2 : t == LLMOS_TYPE_Q4_1 ? 4 :
			       t == LLMOS_TYPE_Q5_0 ? 6 : 8);
	for (int j = 0; j < 16; j++) {
		int a = b->q[j] + off, c = b->q[j + 16] + off;

		qs[j] = (uint8_t)((a & 0xf) | (c & 0xf) << 4);
		qh |= (uint32_t)(a >> 4 & 1) << j | (uint32_t)(c >> 4 & 1) << (j + 16);
	}
	if (t == LLMOS_TYPE_Q5_0 || t == LLMOS_TYPE_Q5_1)
		memcpy((char *)dst + (t == LLMOS_TYPE_Q5_0 ? 2 : 4), &qh, sizeof(qh));
}

/* The error weights of ggml's legacy quantizers with an importance vector; else 1. */
static void block32_weights(const float *x, const float *qw, float *w)
{
	float sigma2 = 0;

	for (int j = 0; j < 32; j++)
		sigma2 += x[j] * x[j];
	sigma2 /= 32;
	for (int j = 0; j < 32; j++)
		w[j] = qw ? qw[j] * sqrtf(sigma2 + x[j] * x[j]) : 1;
}

/* n values (a multiple of 32) of x as blocks of t, searched; false if t is not a block32 type. */
static int quantize_block32(enum llmos_type t, const float *x, void *dst, int64_t n,
			    const float *qw)
{
	const struct block32_format *f = block32_formats[t];
	size_t bsize = llmos_type_traits(t)->type_size;

	if (!f)
		return 0;
	for (int64_t i = 0; i < n / 32; i++, x += 32, qw = qw ? qw + 32 : NULL) {
		struct block32_best b = { INFINITY, 0, 0, { 0 } };
		float w[32];

		block32_weights(x, qw, w);
		if (f->affine)
			block32_search_affine(f, x, w, &b);
		else
			block32_search_sym(f, x, w, &b);
		if (b.err == INFINITY) /* all zero */
			b = (struct block32_best){ 0, 0, 0, { 0 } };
		block32_pack(t, &b, (char *)dst + i * bsize);
	}
	return 1;
}

/* The searched quantizers of the super-block types, by type. */
static void (*const searched[LLMOS_TYPE_COUNT])(const float *, void *, int64_t, const float *) = {
	[LLMOS_TYPE_Q2_K] = llmos_quantize_q2_K,     [LLMOS_TYPE_Q3_K] = llmos_quantize_q3_K,
	[LLMOS_TYPE_Q4_K] = llmos_quantize_q4_K,     [LLMOS_TYPE_Q5_K] = llmos_quantize_q5_K,
	[LLMOS_TYPE_Q6_K] = llmos_quantize_q6_K,     [LLMOS_TYPE_IQ4_NL] = llmos_quantize_iq4_nl,
};

int llmos_quantize_weights(enum llmos_type t, const float *x, void *dst, int64_t n,
			   const float *qw)
{
	const struct llmos_type_traits *tr = llmos_type_traits(t);

	if (!tr || !tr->from_float || t == LLMOS_TYPE_Q8_1 || t == LLMOS_TYPE_Q8_K ||
	    n % tr->block_size)
		return -1;
	if (searched[t])
		searched[t](x, dst, n, qw);
	else if (!quantize_block32(t, x, dst, n, qw))
		tr->from_float(x, dst, n); /* F32, F16, BF16: a conversion */
	return 0;
}
