/* SPDX-License-Identifier: MIT */
/*
 * neon_float.h - the arm64 float kernels: F32, F16 and BF16 dots, the fp16
 * GEMM dot, rmsnorm, softmax, silu_mul, vec_add, vec_mad, each in the
 * float order of kernels_avx2.c (an 8-lane register becomes two
 * float32x4, an FMA stays an FMA, a separate multiply and add stay
 * separate, the same reductions and the same e^x), so that a model gives
 * the x86 AVX2 results bit for bit.  Included by kernels_neon.c only; the
 * dotprod level inherits these from the NEON level's table.
 */
#ifndef LLMOS_NEON_FLOAT_H
#define LLMOS_NEON_FLOAT_H

#include <arm_neon.h>
#include <math.h>

#include "kernels_impl.h"
#include "neon_qdot.h" /* hsum8, h2f */

/* ---- eight float lanes, as one x86 register ---- */

static inline float32x4x2_t fma8(float32x4x2_t acc, float32x4x2_t a, float32x4x2_t b)
{
	acc.val[0] = vfmaq_f32(acc.val[0], a.val[0], b.val[0]);
	acc.val[1] = vfmaq_f32(acc.val[1], a.val[1], b.val[1]);
	return acc;
}

static inline float32x4x2_t add8(float32x4x2_t a, float32x4x2_t b)
{
	a.val[0] = vaddq_f32(a.val[0], b.val[0]);
	a.val[1] = vaddq_f32(a.val[1], b.val[1]);
	return a;
}

static inline float32x4x2_t zero8(void)
{
	float32x4x2_t z = { { vdupq_n_f32(0), vdupq_n_f32(0) } };

	return z;
}

static inline float32x4x2_t load_f32x8(const float *p)
{
	float32x4x2_t v = { { vld1q_f32(p), vld1q_f32(p + 4) } };

	return v;
}

static inline float32x4x2_t load_f16x8(const llmos_fp16 *p)
{
	float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(p));
	float32x4x2_t v = { { vcvt_f32_f16(vget_low_f16(h)), vcvt_high_f32_f16(h) } };

	return v;
}

static inline float32x4x2_t load_bf16x8(const llmos_bf16 *p)
{
	uint16x8_t h = vld1q_u16(p);
	float32x4x2_t v = { { vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16)),
			      vreinterpretq_f32_u32(vshll_high_n_u16(h, 16)) } };

	return v;
}

/* ---- float dots ---- */

/*
 * Four 8-lane accumulators over steps of 32, the rest of the 8-steps into
 * the first, folded (0 + 1) + (2 + 3) and reduced as hsum8; the last
 * values fused one by one into the sum (x86's GCC contracts that line).
 */
#define FLOAT_DOT(name, type, load, scalar)                                           \
	static void name(int n, float *s, const void *vx, const void *vy)              \
	{                                                                               \
		const type *x = vx, *y = vy;                                            \
		float32x4x2_t a0 = zero8(), a1 = a0, a2 = a0, a3 = a0;                  \
		int i = 0;                                                              \
                                                                                        \
		for (; i + 32 <= n; i += 32) {                                          \
			a0 = fma8(a0, load(x + i), load(y + i));                        \
			a1 = fma8(a1, load(x + i + 8), load(y + i + 8));                \
			a2 = fma8(a2, load(x + i + 16), load(y + i + 16));              \
			a3 = fma8(a3, load(x + i + 24), load(y + i + 24));              \
		}                                                                       \
		for (; i + 8 <= n; i += 8)                                              \
			a0 = fma8(a0, load(x + i), load(y + i));                        \
		a0 = add8(add8(a0, a1), add8(a2, a3));                                  \
		float sum = hsum8(a0.val[0], a0.val[1]);                                \
		for (; i < n; i++)                                                      \
			sum = fmaf(scalar(x[i]), scalar(y[i]), sum);                    \
		*s = sum;                                                               \
	}

static inline float f32_id(float f)
{
	return f;
}

FLOAT_DOT(vec_dot_f32, float, load_f32x8, f32_id)
FLOAT_DOT(vec_dot_bf16, llmos_bf16, load_bf16x8, llmos_bf16_to_fp32_inline)

/* llama.cpp's prompt-time fp16 GEMM order (kernels_impl.h): one 8-lane chain. */
static void dot_f16_gemm(int n, float *s, const llmos_fp16 *x, const llmos_fp16 *y)
{
	float32x4x2_t acc = zero8();

	for (int i = 0; i < n; i += 8)
		acc = fma8(acc, load_f16x8(x + i), load_f16x8(y + i));
	*s = hsum8(acc.val[0], acc.val[1]);
}

/*
 * fp16 dot as ggml's AVX2 build sums it: four 8-lane accumulators over steps
 * of 32, folded 0+2, 1+3, then 0+1, the halves added, then two pairwise
 * adds (VHADDPS twice); the rest added one by one in double.
 */
static void vec_dot_f16(int n, float *s, const void *vx, const void *vy)
{
	const llmos_fp16 *x = vx, *y = vy;
	float32x4x2_t a[4] = { zero8(), zero8(), zero8(), zero8() };
	int np = n & ~31, i;
	float32x4_t t;
	double sum;

	for (i = 0; i < np; i += 32)
		for (int j = 0; j < 4; j++)
			a[j] = fma8(a[j], load_f16x8(x + i + 8 * j), load_f16x8(y + i + 8 * j));
	a[0] = add8(add8(a[0], a[2]), add8(a[1], a[3]));
	t = vaddq_f32(a[0].val[0], a[0].val[1]);
	t = vpaddq_f32(t, t);
	sum = (double)vgetq_lane_f32(vpaddq_f32(t, t), 0);
	for (i = np; i < n; i++)
		sum += (double)(h2f(x[i]) * h2f(y[i]));
	*s = (float)sum;
}

/* ---- float kernels ---- */

/*
 * e^x on 4 lanes, as ggml's AVX2 build computes it (ggml_v_expf, after
 * Arm's optimized routines) and kernels_avx2.c's exp_ps: each lane's
 * result does not depend on its neighbours, so 4 lanes give what 8 do.
 */
static inline float32x4_t exp_f32x4(float32x4_t x)
{
	const float32x4_t r = vdupq_n_f32(0x1.8p23f);
	const float32x4_t z = vfmaq_f32(r, x, vdupq_n_f32(0x1.715476p+0f));
	const float32x4_t n = vsubq_f32(z, r);
	const float32x4_t b = vfmsq_f32(vfmsq_f32(x, n, vdupq_n_f32(0x1.62e4p-1f)), n,
					vdupq_n_f32(0x1.7f7d1cp-20f));
	const uint32x4_t e = vshlq_n_u32(vreinterpretq_u32_f32(z), 23);
	const float32x4_t k =
		vreinterpretq_f32_u32(vaddq_u32(e, vreinterpretq_u32_f32(vdupq_n_f32(1))));
	const uint32x4_t c = vcagtq_f32(n, vdupq_n_f32(126));
	const float32x4_t u = vmulq_f32(b, b);
	const float32x4_t p = vfmaq_f32(vdupq_n_f32(0x1.573e2ep-5f), vdupq_n_f32(0x1.0e4020p-7f), b);
	const float32x4_t q = vfmaq_f32(vdupq_n_f32(0x1.fffdb6p-2f), vdupq_n_f32(0x1.555e66p-3f), b);
	const float32x4_t j = vfmaq_f32(vmulq_f32(vdupq_n_f32(0x1.ffffecp-1f), b),
					vfmaq_f32(q, p, u), u);

	if (!vmaxvq_u32(c))
		return vfmaq_f32(k, j, k);
	/* |n| > 126: scale in two steps, or saturate beyond 192 */
	const uint32x4_t g = vandq_u32(vcleq_f32(n, vdupq_n_f32(0)), vdupq_n_u32(0x82000000u));
	const float32x4_t s1 = vreinterpretq_f32_u32(vaddq_u32(g, vdupq_n_u32(0x7f000000)));
	const float32x4_t s2 = vreinterpretq_f32_u32(vsubq_u32(e, g));
	const uint32x4_t d = vcagtq_f32(n, vdupq_n_f32(192));

	return vbslq_f32(d, vmulq_f32(s1, s1),
			 vbslq_f32(c, vmulq_f32(vfmaq_f32(s2, s2, j), s1), vfmaq_f32(k, k, j)));
}

static void vec_add(float *y, const float *x, int n)
{
	int i = 0;

	for (; i + 4 <= n; i += 4)
		vst1q_f32(y + i, vaddq_f32(vld1q_f32(y + i), vld1q_f32(x + i)));
	for (; i < n; i++)
		y[i] += x[i];
}

/* y += a x, fused (the x86 tail is contracted too). */
static void vec_mad(float *y, const float *x, float a, int n)
{
	int i = 0;

	for (; i + 4 <= n; i += 4)
		vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
	for (; i < n; i++)
		y[i] = fmaf(a, x[i], y[i]);
}

static float vec_dot_f32_plain(const float *x, const float *y, int n)
{
	float s;

	vec_dot_f32(n, &s, x, y);
	return s;
}

/* x[k] * x[k], rounded, added in double: lane k of acc[0..1] takes k and k + 4 of 8. */
static inline void add_squares(float64x2_t acc[2], float32x4_t v)
{
	float32x4_t sq = vmulq_f32(v, v);

	acc[0] = vaddq_f64(acc[0], vcvt_f64_f32(vget_low_f32(sq)));
	acc[1] = vaddq_f64(acc[1], vcvt_high_f64_f32(sq));
}

/*
 * As ggml: the squares rounded to float, summed in double (four lanes, as
 * AVX2's), the mean rounded to float; then x * scale, times the weight.
 */
static void rmsnorm(float *out, const float *x, const float *weight, int n, float eps)
{
	float64x2_t acc[2] = { vdupq_n_f64(0), vdupq_n_f64(0) };
	double sum;
	float scale;
	int i = 0;

	for (; i + 8 <= n; i += 8) {
		add_squares(acc, vld1q_f32(x + i));
		add_squares(acc, vld1q_f32(x + i + 4));
	}
	sum = (vgetq_lane_f64(acc[0], 0) + vgetq_lane_f64(acc[0], 1)) +
	      (vgetq_lane_f64(acc[1], 0) + vgetq_lane_f64(acc[1], 1));
	for (; i < n; i++)
		sum += (double)(x[i] * x[i]);
	scale = 1.0f / sqrtf((float)(sum / n) + eps);
	for (i = 0; i + 4 <= n; i += 4)
		vst1q_f32(out + i, vmulq_f32(vmulq_n_f32(vld1q_f32(x + i), scale),
					     vld1q_f32(weight + i)));
	for (; i < n; i++)
		out[i] = x[i] * scale * weight[i];
}

static void vec_scale(float *x, float a, int n)
{
	int i = 0;

	for (; i + 4 <= n; i += 4)
		vst1q_f32(x + i, vmulq_n_f32(vld1q_f32(x + i), a));
	for (; i < n; i++)
		x[i] *= a;
}

/* As ggml_vec_soft_max_f32: 8 lanes at a time summed in double, expf after. */
static void softmax(float *x, int n)
{
	float32x4_t mv = vdupq_n_f32(-INFINITY);
	double sum = 0;
	float max;
	int i;

	for (i = 0; i + 8 <= n; i += 8)
		mv = vmaxq_f32(mv, vmaxq_f32(vld1q_f32(x + i), vld1q_f32(x + i + 4)));
	max = vmaxvq_f32(mv);
	for (; i < n; i++)
		max = fmaxf(max, x[i]);
	for (i = 0; i + 8 <= n; i += 8) {
		float32x4_t lo = exp_f32x4(vsubq_f32(vld1q_f32(x + i), vdupq_n_f32(max)));
		float32x4_t hi = exp_f32x4(vsubq_f32(vld1q_f32(x + i + 4), vdupq_n_f32(max)));

		vst1q_f32(x + i, lo);
		vst1q_f32(x + i + 4, hi);
		sum += (double)hsum8(lo, hi);
	}
	for (; i < n; i++) {
		x[i] = expf(x[i] - max);
		sum += (double)x[i];
	}
	vec_scale(x, (float)(1.0 / sum), n);
}

/* silu(g) as ggml_vec_silu_f32 (x / (1 + e^-x)), times u. */
static inline float32x4_t silu_times(float32x4_t g, float32x4_t u)
{
	float32x4_t e = exp_f32x4(vsubq_f32(vdupq_n_f32(0), g));

	return vmulq_f32(vdivq_f32(g, vaddq_f32(vdupq_n_f32(1), e)), u);
}

/* 8 at a time, the rest by expf, as x86 (where the two e^x differ). */
static void silu_mul(float *gate, const float *up, int n)
{
	int i = 0;

	for (; i + 8 <= n; i += 8) {
		vst1q_f32(gate + i, silu_times(vld1q_f32(gate + i), vld1q_f32(up + i)));
		vst1q_f32(gate + i + 4, silu_times(vld1q_f32(gate + i + 4), vld1q_f32(up + i + 4)));
	}
	for (; i < n; i++)
		gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

/* Put the float dots and kernels into a level's table. */
static inline void neon_float_fill(struct llmos_kernel_ops *ops)
{
	ops->traits[LLMOS_TYPE_F32].vec_dot = vec_dot_f32;
	ops->traits[LLMOS_TYPE_F16].vec_dot = vec_dot_f16;
	ops->traits[LLMOS_TYPE_BF16].vec_dot = vec_dot_bf16;
	ops->dot_f16_gemm = dot_f16_gemm;
	ops->gemm_lanes = 8;
	ops->rmsnorm = rmsnorm;
	ops->softmax = softmax;
	ops->silu_mul = silu_mul;
	ops->vec_add = vec_add;
	ops->vec_mad = vec_mad;
	ops->vec_dot_f32 = vec_dot_f32_plain;
}

#endif /* LLMOS_NEON_FLOAT_H */
