/* SPDX-License-Identifier: MIT */
/*
 * kernels_i8mm.c - arm64 row tiles of Q8_0 and Q4_0 weights with Q8_0
 * activations by SMMLA (armv8.6-a FEAT_I8MM, used at the dotprod level
 * where HWCAP2_I8MM says the CPU has it).  One SMMLA multiplies 8 bytes of
 * two weight rows by 8 bytes of two tokens into a 2x2 block of int32, so
 * four make each (row, token) pair's whole 32-product block sum; there are
 * no four-product lane sums, so these tiles cannot take the x86 order.
 * They take llama.cpp's i8mm batch order instead (ggml-cpu's
 * ggml_vec_dot_q8_0_q8_0 / q4_0_q8_0 with nrc == 2 on arm): per block,
 * acc += (float)isum * (dx * dy), the product and the sum each rounded
 * (vmlaq_f32 as GCC builds it: FMUL then FADD), one accumulator per pair,
 * no reduction at the end.
 */
#include <arm_neon.h>

#include "kernels_impl.h"

#define INLINE static inline __attribute__((always_inline))

/* A block's 32 weights as int8: elements 0..15 and 16..31. */
INLINE int8x16x2_t q8_0_values(const void *row, int b)
{
	const struct block_q8_0 *x = (const struct block_q8_0 *)row + b;
	int8x16x2_t v = { { vld1q_s8(x->qs), vld1q_s8(x->qs + 16) } };

	return v;
}

INLINE int8x16x2_t q4_0_values(const void *row, int b)
{
	const struct block_q4_0 *x = (const struct block_q4_0 *)row + b;
	uint8x16_t q = vld1q_u8(x->qs);
	int8x16x2_t v = { { vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0xf))),
				     vdupq_n_s8(8)),
			    vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), vdupq_n_s8(8)) } };

	return v;
}

/* The fp16 scale of block b of a row whose blocks are size bytes, d first, in 4 lanes. */
INLINE uint16x4_t block_scale(const void *row, size_t size, int b)
{
	llmos_fp16 d;

	memcpy(&d, (const char *)row + (size_t)b * size, sizeof(d));
	return vdup_n_u16(d);
}

/* fp16 to fp32 is exact, so any conversion gives ggml's values. */
INLINE float32x4_t scales(uint16x4_t h)
{
	return vcvt_f32_f16(vreinterpret_f16_u16(h));
}

/*
 * Two blocks (a, b) as SMMLA operands: register k holds 8 bytes of a, then
 * the same 8 bytes of b (bytes 8k..8k+7 of the 32).
 */
struct pair8 {
	int8x16_t k[4];
};

INLINE struct pair8 interleave(int8x16x2_t a, int8x16x2_t b)
{
	struct pair8 p;

#pragma GCC unroll 4
	for (int h = 0; h < 2; h++) {
		int64x2_t a64 = vreinterpretq_s64_s8(a.val[h]);
		int64x2_t b64 = vreinterpretq_s64_s8(b.val[h]);

		p.k[2 * h] = vreinterpretq_s8_s64(vzip1q_s64(a64, b64));
		p.k[2 * h + 1] = vreinterpretq_s8_s64(vzip2q_s64(a64, b64));
	}
	return p;
}

/* Block sums of rows (r0, r1) with tokens (t0, t1): r0t0, r0t1, r1t0, r1t1. */
INLINE int32x4_t block_sums(const struct pair8 *w, const struct pair8 *y)
{
	int32x4_t s = vdupq_n_s32(0);

#pragma GCC unroll 4
	for (int k = 0; k < 4; k++)
		s = vmmlaq_s32(s, w->k[k], y->k[k]);
	return s;
}

/*
 * npr row pairs by npt token pairs: x[0..2 npr) and y[0..2 npt) are the rows'
 * and tokens' starts, a padding one repeating a real one.  Lane (2i + j) of
 * acc[p][q] is row 2p + i with token 2q + j; lanes never mix, so a real
 * pair's sum does not depend on the padding.
 */
INLINE void mmla_tile(int n, int nr, int nt, float *s, size_t s_stride, const void *const *x,
		      const void *const *y, int npr, int npt,
		      int8x16x2_t (*values)(const void *, int), size_t size)
{
	float32x4_t acc[2][2] = { { vdupq_n_f32(0), vdupq_n_f32(0) },
				  { vdupq_n_f32(0), vdupq_n_f32(0) } };

	for (int b = 0; b < n / 32; b++) {
		struct pair8 w[2], a[2];
		float32x4_t dw[2], dy[2];

#pragma GCC unroll 4
		for (int p = 0; p < npr; p++) {
			uint16x4_t d0 = block_scale(x[2 * p], size, b);
			uint16x4_t d1 = block_scale(x[2 * p + 1], size, b);

			w[p] = interleave(values(x[2 * p], b), values(x[2 * p + 1], b));
			dw[p] = scales(vext_u16(d0, d1, 2)); /* dx0 dx0 dx1 dx1 */
		}
#pragma GCC unroll 4
		for (int q = 0; q < npt; q++) {
			uint16x4_t d0 = block_scale(y[2 * q], sizeof(struct block_q8_0), b);
			uint16x4_t d1 = block_scale(y[2 * q + 1], sizeof(struct block_q8_0), b);

			a[q] = interleave(q8_0_values(y[2 * q], b), q8_0_values(y[2 * q + 1], b));
			dy[q] = scales(vzip1_u16(d0, d1)); /* dy0 dy1 dy0 dy1 */
		}
#pragma GCC unroll 4
		for (int p = 0; p < npr; p++) {
#pragma GCC unroll 4
			for (int q = 0; q < npt; q++) {
				float32x4_t sum = vcvtq_f32_s32(block_sums(&w[p], &a[q]));

				acc[p][q] = vaddq_f32(acc[p][q],
						      vmulq_f32(sum, vmulq_f32(dw[p], dy[q])));
			}
		}
	}
#pragma GCC unroll 4
	for (int p = 0; p < npr; p++) {
#pragma GCC unroll 4
		for (int q = 0; q < npt; q++) {
			float out[4];

			vst1q_f32(out, acc[p][q]);
#pragma GCC unroll 4
			for (int l = 0; l < 4; l++) {
				int r = 2 * p + l / 2, t = 2 * q + l % 2;

				if (r < nr && t < nt)
					s[t * s_stride + r] = out[l];
			}
		}
	}
}

static_assert(LLMOS_TILE_ROWS == 4 && LLMOS_TILE_TOKENS == 4, "two pairs of each per tile");

/* Row and token starts, the last real one repeated to fill a pair. */
INLINE void tile(LLMOS_TILE_ROWS_PARAMS, int8x16x2_t (*values)(const void *, int), size_t size)
{
	const void *x[LLMOS_TILE_ROWS], *y[LLMOS_TILE_TOKENS];

	if (nr <= 0 || nt <= 0)
		return;
	for (int r = 0; r < LLMOS_TILE_ROWS; r++)
		x[r] = (const char *)vx + (size_t)(r < nr ? r : nr - 1) * x_stride;
	for (int t = 0; t < LLMOS_TILE_TOKENS; t++)
		y[t] = (const char *)vy + (size_t)(t < nt ? t : nt - 1) * y_stride;
	if (nr > 2 && nt > 2)
		mmla_tile(n, nr, nt, s, s_stride, x, y, 2, 2, values, size);
	else if (nr > 2)
		mmla_tile(n, nr, nt, s, s_stride, x, y, 2, 1, values, size);
	else if (nt > 2)
		mmla_tile(n, nr, nt, s, s_stride, x, y, 1, 2, values, size);
	else
		mmla_tile(n, nr, nt, s, s_stride, x, y, 1, 1, values, size);
}

static void tile_q8_0(LLMOS_TILE_ROWS_PARAMS)
{
	tile(n, nr, nt, s, s_stride, vx, x_stride, vy, y_stride, q8_0_values,
	     sizeof(struct block_q8_0));
}

static void tile_q4_0(LLMOS_TILE_ROWS_PARAMS)
{
	tile(n, nr, nt, s, s_stride, vx, x_stride, vy, y_stride, q4_0_values,
	     sizeof(struct block_q4_0));
}

void llmos_tiles_fill_i8mm(struct llmos_kernel_ops *ops)
{
	ops->tile_rows[LLMOS_TYPE_Q8_0] = tile_q8_0;
	ops->tile_rows[LLMOS_TYPE_Q4_0] = tile_q4_0;
	ops->tile_block_order[LLMOS_TYPE_Q8_0] = true;
	ops->tile_block_order[LLMOS_TYPE_Q4_0] = true;
}
