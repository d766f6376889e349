/* SPDX-License-Identifier: MIT */
/*
 * neon_qdot.h - the arm64 dots of Q8_0 and Q4_0 weights with Q8_0
 * activations, in the float order of the x86 kernels (and llama.cpp's x86
 * vec_dot): per block, eight int32 lanes of four products each, scaled by
 * the product of the two fp16 scales with fused multiply-adds into eight
 * float lanes (two float32x4), summed pairwise at the end.  So arm64 gives
 * the x86 results bit for bit.  Included by kernels_neon.c and
 * kernels_dotprod.c, each defining lanes4(): the four-product sums of a
 * 16-byte half, by widening multiplies or by SDOT.
 */
#ifndef LLMOS_NEON_QDOT_H
#define LLMOS_NEON_QDOT_H

#include <arm_neon.h>

#include "kernels_impl.h"

/* ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)), as the x86 reduction. */
static inline float hsum8(float32x4_t lo, float32x4_t hi)
{
	float32x4_t s = vaddq_f32(lo, hi);
	float32x2_t t = vadd_f32(vget_low_f32(s), vget_high_f32(s));

	return vget_lane_f32(t, 0) + vget_lane_f32(t, 1);
}

/* acc += d * lanes, fused, as _mm256_fmadd_ps(set1(d), lanes, acc). */
static inline float32x4_t scaled(float32x4_t acc, int32x4_t lanes, float d)
{
	return vfmaq_f32(acc, vcvtq_f32_s32(lanes), vdupq_n_f32(d));
}

static inline float block_d(llmos_fp16 a, llmos_fp16 b)
{
	return llmos_fp16_to_fp32_inline(a) * llmos_fp16_to_fp32_inline(b);
}

static void vec_dot_q8_0_q8_0(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q8_0 *x = vx, *y = vy;
	float32x4_t lo = vdupq_n_f32(0), hi = vdupq_n_f32(0);

	for (int i = 0; i < n / QK8_0; i++) {
		float d = block_d(x[i].d, y[i].d);

		lo = scaled(lo, lanes4(vld1q_s8(x[i].qs), vld1q_s8(y[i].qs)), d);
		hi = scaled(hi, lanes4(vld1q_s8(x[i].qs + 16), vld1q_s8(y[i].qs + 16)), d);
	}
	*s = hsum8(lo, hi);
}

/* Q4_0: even blocks into one accumulator, odd into another, added at the end. */
static void vec_dot_q4_0_q8_0(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_0 *x = vx;
	const struct block_q8_0 *y = vy;
	float32x4_t lo[2] = { vdupq_n_f32(0), vdupq_n_f32(0) };
	float32x4_t hi[2] = { vdupq_n_f32(0), vdupq_n_f32(0) };
	const int8x16_t eight = vdupq_n_s8(8);

	for (int i = 0; i < n / QK4_0; i++) {
		uint8x16_t q = vld1q_u8(x[i].qs);
		int8x16_t a = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0xf))), eight);
		int8x16_t b = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), eight);
		float d = block_d(x[i].d, y[i].d);

		lo[i & 1] = scaled(lo[i & 1], lanes4(a, vld1q_s8(y[i].qs)), d);
		hi[i & 1] = scaled(hi[i & 1], lanes4(b, vld1q_s8(y[i].qs + 16)), d);
	}
	*s = hsum8(vaddq_f32(lo[0], lo[1]), vaddq_f32(hi[0], hi[1]));
}

#endif /* LLMOS_NEON_QDOT_H */
