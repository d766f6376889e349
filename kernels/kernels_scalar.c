/* SPDX-License-Identifier: MIT */
/*
 * kernels_scalar.c - portable scalar version of every kernel: row
 * conversions, vec_dot of each weight type with its vec_dot_type, and the
 * float kernels.  The quantizers follow ggml's reference quantizers exactly;
 * the SIMD levels are tested against this file.
 */
#include <math.h>

#include "kernels_impl.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* ---- float rows ---- */

static void f32_to_float(const void *src, float *dst, int64_t n)
{
	memcpy(dst, src, (size_t)n * sizeof(float));
}

static void f32_from_float(const float *src, void *dst, int64_t n)
{
	memcpy(dst, src, (size_t)n * sizeof(float));
}

static void f16_to_float(const void *src, float *dst, int64_t n)
{
	const llmos_fp16 *h = src;

	for (int64_t i = 0; i < n; i++)
		dst[i] = llmos_fp16_to_fp32_inline(h[i]);
}

static void f16_from_float(const float *src, void *dst, int64_t n)
{
	llmos_fp16 *h = dst;

	for (int64_t i = 0; i < n; i++)
		h[i] = llmos_fp32_to_fp16_inline(src[i]);
}

static void bf16_to_float(const void *src, float *dst, int64_t n)
{
	const llmos_bf16 *h = src;

	for (int64_t i = 0; i < n; i++)
		dst[i] = llmos_bf16_to_fp32_inline(h[i]);
}

static void bf16_from_float(const float *src, void *dst, int64_t n)
{
	llmos_bf16 *h = dst;

	for (int64_t i = 0; i < n; i++)
		h[i] = llmos_fp32_to_bf16_inline(src[i]);
}

/* ---- quantized rows ---- */

static float abs_max(const float *x, int n)
{
	float amax = 0.0f;

	for (int j = 0; j < n; j++)
		amax = fmaxf(amax, fabsf(x[j]));
	return amax;
}

/*
 * Activations to Q8_0/Q8_1 as ggml's x86 build quantizes them (its AVX2
 * quantize_row_q8_0/q8_1, not the _ref versions): d = amax / 127 and
 * q = x * (127 / amax) rounded half to even.
 */
static float quantize_block_q8(const float *x, int8_t *qs, int *sum)
{
	float max = abs_max(x, QK8_0), id = max != 0.0f ? 127.0f / max : 0.0f;

	*sum = 0;
	for (int j = 0; j < QK8_0; j++) {
		qs[j] = (int8_t)rintf(x[j] * id);
		*sum += qs[j];
	}
	return max / 127.0f;
}

static void q8_0_from_float(const float *src, void *dst, int64_t n)
{
	struct block_q8_0 *y = dst;
	int sum;

	for (int64_t i = 0; i < n / QK8_0; i++, src += QK8_0)
		y[i].d = llmos_fp32_to_fp16_inline(quantize_block_q8(src, y[i].qs, &sum));
}

static void q8_0_to_float(const void *src, float *dst, int64_t n)
{
	const struct block_q8_0 *x = src;

	for (int64_t i = 0; i < n / QK8_0; i++, dst += QK8_0) {
		float d = llmos_fp16_to_fp32_inline(x[i].d);

		for (int j = 0; j < QK8_0; j++)
			dst[j] = x[i].qs[j] * d;
	}
}

static void q8_1_from_float(const float *src, void *dst, int64_t n)
{
	struct block_q8_1 *y = dst;

	for (int64_t i = 0; i < n / QK8_1; i++, src += QK8_1) {
		int sum;
		float d = quantize_block_q8(src, y[i].qs, &sum);

		y[i].d = llmos_fp32_to_fp16_inline(d);
		y[i].s = llmos_fp32_to_fp16_inline((float)sum * d);
	}
}

static void q8_1_to_float(const void *src, float *dst, int64_t n)
{
	const struct block_q8_1 *x = src;

	for (int64_t i = 0; i < n / QK8_1; i++, dst += QK8_1) {
		float d = llmos_fp16_to_fp32_inline(x[i].d);

		for (int j = 0; j < QK8_1; j++)
			dst[j] = x[i].qs[j] * d;
	}
}

/* q4_0: the value of largest magnitude maps to -8; q = x / d + 8 */
static void q4_0_from_float(const float *src, void *dst, int64_t n)
{
	struct block_q4_0 *y = dst;

	for (int64_t i = 0; i < n / QK4_0; i++, src += QK4_0) {
		float amax = 0.0f, max = 0.0f;

		for (int j = 0; j < QK4_0; j++) {
			if (amax < fabsf(src[j])) {
				amax = fabsf(src[j]);
				max = src[j];
			}
		}
		float d = max / -8.0f;
		float id = d ? 1.0f / d : 0.0f;

		y[i].d = llmos_fp32_to_fp16_inline(d);
		for (int j = 0; j < QK4_0 / 2; j++) {
			uint8_t lo = (uint8_t)MIN(15, (int8_t)(src[j] * id + 8.5f));
			uint8_t hi = (uint8_t)MIN(15, (int8_t)(src[QK4_0 / 2 + j] * id + 8.5f));

			y[i].qs[j] = lo | (uint8_t)(hi << 4);
		}
	}
}

static void q4_0_to_float(const void *src, float *dst, int64_t n)
{
	const struct block_q4_0 *x = src;

	for (int64_t i = 0; i < n / QK4_0; i++, dst += QK4_0) {
		float d = llmos_fp16_to_fp32_inline(x[i].d);

		for (int j = 0; j < QK4_0 / 2; j++) {
			dst[j] = ((x[i].qs[j] & 0x0f) - 8) * d;
			dst[QK4_0 / 2 + j] = ((x[i].qs[j] >> 4) - 8) * d;
		}
	}
}

/* q4_1: x = d * q + m with m the minimum and d = (max - min) / 15 */
static void q4_1_from_float(const float *src, void *dst, int64_t n)
{
	struct block_q4_1 *y = dst;

	for (int64_t i = 0; i < n / QK4_1; i++, src += QK4_1) {
		float min = INFINITY, max = -INFINITY;

		for (int j = 0; j < QK4_1; j++) {
			if (src[j] < min)
				min = src[j];
			if (src[j] > max)
				max = src[j];
		}
		float d = (max - min) / 15.0f;
		float id = d ? 1.0f / d : 0.0f;

		y[i].d = llmos_fp32_to_fp16_inline(d);
		y[i].m = llmos_fp32_to_fp16_inline(min);
		for (int j = 0; j < QK4_1 / 2; j++) {
			uint8_t lo = (uint8_t)MIN(15, (int8_t)((src[j] - min) * id + 0.5f));
			uint8_t hi = (uint8_t)MIN(15, (int8_t)((src[QK4_1 / 2 + j] - min) * id + 0.5f));

			y[i].qs[j] = lo | (uint8_t)(hi << 4);
		}
	}
}

static void q4_1_to_float(const void *src, float *dst, int64_t n)
{
	const struct block_q4_1 *x = src;

	for (int64_t i = 0; i < n / QK4_1; i++, dst += QK4_1) {
		float d = llmos_fp16_to_fp32_inline(x[i].d);
		float m = llmos_fp16_to_fp32_inline(x[i].m);

		for (int j = 0; j < QK4_1 / 2; j++) {
			dst[j] = (x[i].qs[j] & 0x0f) * d + m;
			dst[QK4_1 / 2 + j] = (x[i].qs[j] >> 4) * d + m;
		}
	}
}

/* ---- dot products; float reductions in double, block sums in int ---- */

static void vec_dot_f32(int n, float *s, const void *vx, const void *vy)
{
	const float *x = vx, *y = vy;
	double sum = 0.0;

	for (int i = 0; i < n; i++)
		sum += (double)x[i] * y[i];
	*s = (float)sum;
}

static void vec_dot_f16(int n, float *s, const void *vx, const void *vy)
{
	const llmos_fp16 *x = vx, *y = vy;
	double sum = 0.0;

	for (int i = 0; i < n; i++)
		sum += (double)llmos_fp16_to_fp32_inline(x[i]) * llmos_fp16_to_fp32_inline(y[i]);
	*s = (float)sum;
}

float llmos_dot_f16_gemm_ref(int n, int lanes, const llmos_fp16 *x, const llmos_fp16 *y)
{
	float acc[16] = { 0 };

	assert(lanes >= 1 && lanes <= 16 && !(lanes & (lanes - 1)));
	for (int i = 0; i < n; i++)
		acc[i % lanes] = fmaf(llmos_fp16_to_fp32_inline(x[i]), llmos_fp16_to_fp32_inline(y[i]),
				      acc[i % lanes]);
	/* halves added lane to lane until one is left, as the SIMD reductions do */
	for (int w = lanes / 2; w >= 1; w /= 2)
		for (int l = 0; l < w; l++)
			acc[l] += acc[l + w];
	return acc[0];
}

static void vec_dot_bf16(int n, float *s, const void *vx, const void *vy)
{
	const llmos_bf16 *x = vx, *y = vy;
	double sum = 0.0;

	for (int i = 0; i < n; i++)
		sum += (double)llmos_bf16_to_fp32_inline(x[i]) * llmos_bf16_to_fp32_inline(y[i]);
	*s = (float)sum;
}

static int dot_i8(const int8_t *x, const int8_t *y, int n)
{
	int sum = 0;

	for (int j = 0; j < n; j++)
		sum += x[j] * y[j];
	return sum;
}

static void vec_dot_q8_0_q8_0(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q8_0 *x = vx, *y = vy;
	float sum = 0.0f;

	for (int i = 0; i < n / QK8_0; i++) {
		float d = llmos_fp16_to_fp32_inline(x[i].d) * llmos_fp16_to_fp32_inline(y[i].d);

		sum += (float)dot_i8(x[i].qs, y[i].qs, QK8_0) * d;
	}
	*s = sum;
}

/* Not in ggml: Q8_1 weights are dotted with Q8_0 activations (s unused). */
static void vec_dot_q8_1_q8_0(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q8_1 *x = vx;
	const struct block_q8_0 *y = vy;
	float sum = 0.0f;

	for (int i = 0; i < n / QK8_1; i++) {
		float d = llmos_fp16_to_fp32_inline(x[i].d) * llmos_fp16_to_fp32_inline(y[i].d);

		sum += (float)dot_i8(x[i].qs, y[i].qs, QK8_1) * d;
	}
	*s = sum;
}

static void vec_dot_q4_0_q8_0(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_0 *x = vx;
	const struct block_q8_0 *y = vy;
	float sum = 0.0f;

	for (int i = 0; i < n / QK4_0; i++) {
		float d = llmos_fp16_to_fp32_inline(x[i].d) * llmos_fp16_to_fp32_inline(y[i].d);
		int sumi = 0;

		for (int j = 0; j < QK4_0 / 2; j++) {
			sumi += ((x[i].qs[j] & 0x0f) - 8) * y[i].qs[j];
			sumi += ((x[i].qs[j] >> 4) - 8) * y[i].qs[QK4_0 / 2 + j];
		}
		sum += (float)sumi * d;
	}
	*s = sum;
}

/* d * d' * sum(q * q') + m * s' with s' = d' * sum(q') */
static void vec_dot_q4_1_q8_1(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_1 *x = vx;
	const struct block_q8_1 *y = vy;
	float sum = 0.0f;

	for (int i = 0; i < n / QK4_1; i++) {
		float d = llmos_fp16_to_fp32_inline(x[i].d) * llmos_fp16_to_fp32_inline(y[i].d);
		float ms = llmos_fp16_to_fp32_inline(x[i].m) * llmos_fp16_to_fp32_inline(y[i].s);
		int sumi = 0;

		for (int j = 0; j < QK4_1 / 2; j++) {
			sumi += (x[i].qs[j] & 0x0f) * y[i].qs[j];
			sumi += (x[i].qs[j] >> 4) * y[i].qs[QK4_1 / 2 + j];
		}
		sum += (float)sumi * d + ms;
	}
	*s = sum;
}

/* ---- float kernels ---- */

static void rmsnorm(float *out, const float *x, const float *weight, int n, float eps)
{
	double sum = 0.0;

	for (int i = 0; i < n; i++)
		sum += (double)(x[i] * x[i]); /* ggml rounds each square to float */
	float scale = 1.0f / sqrtf((float)(sum / n) + eps);

	for (int i = 0; i < n; i++)
		out[i] = x[i] * scale * weight[i];
}

static void softmax(float *x, int n)
{
	float max = -INFINITY;
	double sum = 0.0;

	for (int i = 0; i < n; i++)
		max = fmaxf(max, x[i]);
	for (int i = 0; i < n; i++) {
		x[i] = expf(x[i] - max);
		sum += x[i];
	}
	float scale = (float)(1.0 / sum);

	for (int i = 0; i < n; i++)
		x[i] *= scale;
}

static void silu_mul(float *gate, const float *up, int n)
{
	for (int i = 0; i < n; i++)
		gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

static void vec_add(float *y, const float *x, int n)
{
	for (int i = 0; i < n; i++)
		y[i] += x[i];
}

static void vec_mad(float *y, const float *x, float a, int n)
{
	for (int i = 0; i < n; i++)
		y[i] += a * x[i];
}

static float vec_dot_f32_plain(const float *x, const float *y, int n)
{
	float s;

	vec_dot_f32(n, &s, x, y);
	return s;
}

static const struct llmos_type_traits scalar_traits[] = {
	[LLMOS_TYPE_F32] = { "f32", 1, sizeof(float), f32_to_float, f32_from_float,
			     vec_dot_f32, LLMOS_TYPE_F32 },
	[LLMOS_TYPE_F16] = { "f16", 1, sizeof(llmos_fp16), f16_to_float, f16_from_float,
			     vec_dot_f16, LLMOS_TYPE_F16 },
	[LLMOS_TYPE_BF16] = { "bf16", 1, sizeof(llmos_bf16), bf16_to_float, bf16_from_float,
			      vec_dot_bf16, LLMOS_TYPE_BF16 },
	[LLMOS_TYPE_Q4_0] = { "q4_0", QK4_0, sizeof(struct block_q4_0), q4_0_to_float,
			      q4_0_from_float, vec_dot_q4_0_q8_0, LLMOS_TYPE_Q8_0 },
	[LLMOS_TYPE_Q4_1] = { "q4_1", QK4_1, sizeof(struct block_q4_1), q4_1_to_float,
			      q4_1_from_float, vec_dot_q4_1_q8_1, LLMOS_TYPE_Q8_1 },
	[LLMOS_TYPE_Q8_0] = { "q8_0", QK8_0, sizeof(struct block_q8_0), q8_0_to_float,
			      q8_0_from_float, vec_dot_q8_0_q8_0, LLMOS_TYPE_Q8_0 },
	[LLMOS_TYPE_Q8_1] = { "q8_1", QK8_1, sizeof(struct block_q8_1), q8_1_to_float,
			      q8_1_from_float, vec_dot_q8_1_q8_0, LLMOS_TYPE_Q8_0 },
	[LLMOS_TYPE_Q4_K] = { "q4_K", QK_K, sizeof(struct block_q4_K), llmos_q4_K_to_float,
		llmos_q4_K_from_float, llmos_vec_dot_q4_K_q8_K, LLMOS_TYPE_Q8_K },
	[LLMOS_TYPE_Q2_K] = { "q2_K", QK_K, sizeof(struct block_q2_K), llmos_q2_K_to_float,
		llmos_q2_K_from_float, llmos_vec_dot_q2_K_q8_K, LLMOS_TYPE_Q8_K },
	[LLMOS_TYPE_Q3_K] = { "q3_K", QK_K, sizeof(struct block_q3_K), llmos_q3_K_to_float,
		llmos_q3_K_from_float, llmos_vec_dot_q3_K_q8_K, LLMOS_TYPE_Q8_K },
	[LLMOS_TYPE_Q5_K] = { "q5_K", QK_K, sizeof(struct block_q5_K), llmos_q5_K_to_float,
		llmos_q5_K_from_float, llmos_vec_dot_q5_K_q8_K, LLMOS_TYPE_Q8_K },
	[LLMOS_TYPE_Q5_0] = { "q5_0", 32, sizeof(struct block_q5_0), llmos_q5_0_to_float,
		llmos_q5_0_from_float, llmos_vec_dot_q5_0_q8_0, LLMOS_TYPE_Q8_0 },
	[LLMOS_TYPE_Q5_1] = { "q5_1", 32, sizeof(struct block_q5_1), llmos_q5_1_to_float,
		llmos_q5_1_from_float, llmos_vec_dot_q5_1_q8_1, LLMOS_TYPE_Q8_1 },
	[LLMOS_TYPE_IQ4_NL] = { "iq4_nl", 32, sizeof(struct block_iq4_nl), llmos_iq4_nl_to_float,
		llmos_iq4_nl_from_float, llmos_vec_dot_iq4_nl_q8_0, LLMOS_TYPE_Q8_0 },
	[LLMOS_TYPE_Q6_K] = { "q6_K", QK_K, sizeof(struct block_q6_K), llmos_q6_K_to_float,
		llmos_q6_K_from_float, llmos_vec_dot_q6_K_q8_K, LLMOS_TYPE_Q8_K },
	[LLMOS_TYPE_Q8_K] = { "q8_K", QK_K, sizeof(struct block_q8_K), llmos_q8_K_to_float,
			      llmos_q8_K_from_float, NULL, LLMOS_TYPE_Q8_K },
};

void llmos_kernels_fill_scalar(struct llmos_kernel_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	memcpy(ops->traits, scalar_traits, sizeof(scalar_traits));
	ops->rmsnorm = rmsnorm;
	ops->softmax = softmax;
	ops->silu_mul = silu_mul;
	ops->vec_add = vec_add;
	ops->vec_mad = vec_mad;
	ops->vec_dot_f32 = vec_dot_f32_plain;
}
