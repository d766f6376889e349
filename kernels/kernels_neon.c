/* SPDX-License-Identifier: MIT */
/*
 * kernels_neon.c - arm64 Advanced SIMD kernels (every armv8-a CPU): the
 * fp16/bf16 rows and the Q8_0/Q8_1 activation quantizers of kernels_avx2.c
 * with the same results, the float kernels of neon_float.h, and the
 * integer dots of neon_qdot.h (neon_kquants.h for the K-quants), their
 * four-product lane sums made by widening multiplies and pairwise adds.
 * The dotprod level inherits everything here but the integer dots.
 */
#include <arm_neon.h>
#include <math.h>

/* Sums of bytes 0-3, 4-7, 8-11, 12-15 of a * b (products fit int16). */
static inline int32x4_t lanes4(int8x16_t a, int8x16_t b)
{
	int32x4_t lo = vpaddlq_s16(vmull_s8(vget_low_s8(a), vget_low_s8(b)));
	int32x4_t hi = vpaddlq_s16(vmull_high_s8(a, b));

	return vpaddq_s32(lo, hi);
}

#include "neon_qdot.h"
#include "neon_kquants.h"
#include "neon_float.h"

/* ---- rows ---- */

static void f16_to_float(const void *src, float *dst, int64_t n)
{
	const llmos_fp16 *h = src;
	int64_t i = 0;

	for (; i + 8 <= n; i += 8)
		vst1q_f32_x2(dst + i, load_f16x8(h + i));
	for (; i < n; i++)
		dst[i] = h2f(h[i]);
}

/* FCVT rounds to nearest even and keeps NaNs NaN, as VCVTPS2PH does. */
static void f16_from_float(const float *src, void *dst, int64_t n)
{
	llmos_fp16 *h = dst;
	int64_t i = 0;

	for (; i + 4 <= n; i += 4)
		vst1_u16(h + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(src + i))));
	for (; i < n; i++)
		h[i] = llmos_fp32_to_fp16_inline(src[i]);
}

static void bf16_to_float(const void *src, float *dst, int64_t n)
{
	const llmos_bf16 *h = src;
	int64_t i = 0;

	for (; i + 8 <= n; i += 8)
		vst1q_f32_x2(dst + i, load_bf16x8(h + i));
	for (; i < n; i++)
		dst[i] = llmos_bf16_to_fp32_inline(h[i]);
}

/* As llmos_fp32_to_bf16_inline on 4 lanes: quiet NaNs, else round to even. */
static inline uint16x4_t bf16_from_f32x4(float32x4_t f)
{
	uint32x4_t u = vreinterpretq_u32_f32(f);
	uint32x4_t odd = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
	uint32x4_t r = vshrq_n_u32(vaddq_u32(u, vaddq_u32(odd, vdupq_n_u32(0x7fff))), 16);
	uint32x4_t q = vorrq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(64));
	uint32x4_t nan = vcgtq_u32(vandq_u32(u, vdupq_n_u32(0x7fffffff)), vdupq_n_u32(0x7f800000));

	return vmovn_u32(vbslq_u32(nan, q, r));
}

static void bf16_from_float(const float *src, void *dst, int64_t n)
{
	llmos_bf16 *h = dst;
	int64_t i = 0;

	for (; i + 4 <= n; i += 4)
		vst1_u16(h + i, bf16_from_f32x4(vld1q_f32(src + i)));
	for (; i < n; i++)
		h[i] = llmos_fp32_to_bf16_inline(src[i]);
}

/*
 * One block of 32 floats to int8 as ggml's x86 build does it: d = amax / 127,
 * q = x * (127 / amax) rounded half to even; returns d and the sum of the qs.
 */
static inline float quantize_block_q8(const float *x, int8_t *qs, int *sum)
{
	float32x4_t v[8], amax = vdupq_n_f32(0);
	int32x4_t q[8], qsum = vdupq_n_s32(0);
	int16x8_t p[4];

	for (int k = 0; k < 8; k++) {
		v[k] = vld1q_f32(x + 4 * k);
		amax = vmaxq_f32(amax, vabsq_f32(v[k]));
	}
	float max = vmaxvq_f32(amax);
	float32x4_t id = vdupq_n_f32(max != 0.0f ? 127.0f / max : 0.0f);

	for (int k = 0; k < 8; k++) {
		q[k] = vcvtnq_s32_f32(vmulq_f32(v[k], id));
		qsum = vaddq_s32(qsum, q[k]);
	}
	*sum = vaddvq_s32(qsum);
	for (int k = 0; k < 4; k++)
		p[k] = vcombine_s16(vqmovn_s32(q[2 * k]), vqmovn_s32(q[2 * k + 1]));
	vst1q_s8(qs, vcombine_s8(vqmovn_s16(p[0]), vqmovn_s16(p[1])));
	vst1q_s8(qs + 16, vcombine_s8(vqmovn_s16(p[2]), vqmovn_s16(p[3])));
	return max / 127.0f;
}

static void q8_0_from_float(const float *src, void *dst, int64_t n)
{
	struct block_q8_0 *y = dst;
	int sum;

	for (int64_t i = 0; i < n / QK8_0; i++)
		y[i].d = llmos_fp32_to_fp16_inline(quantize_block_q8(src + i * QK8_0, y[i].qs, &sum));
}

static void q8_1_from_float(const float *src, void *dst, int64_t n)
{
	struct block_q8_1 *y = dst;
	int sum;

	for (int64_t i = 0; i < n / QK8_1; i++) {
		float d = quantize_block_q8(src + i * QK8_1, y[i].qs, &sum);

		y[i].d = llmos_fp32_to_fp16_inline(d);
		y[i].s = llmos_fp32_to_fp16_inline((float)sum * d);
	}
}

void llmos_kernels_fill_neon(struct llmos_kernel_ops *ops)
{
	struct llmos_type_traits *t = ops->traits;

	t[LLMOS_TYPE_F16].to_float = f16_to_float;
	t[LLMOS_TYPE_F16].from_float = f16_from_float;
	t[LLMOS_TYPE_BF16].to_float = bf16_to_float;
	t[LLMOS_TYPE_BF16].from_float = bf16_from_float;
	t[LLMOS_TYPE_Q8_0].from_float = q8_0_from_float;
	t[LLMOS_TYPE_Q8_1].from_float = q8_1_from_float;
	neon_float_fill(ops);
	neon_qdot_fill(ops);
	neon_kquants_fill(ops);
}
