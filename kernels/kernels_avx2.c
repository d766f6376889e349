/* SPDX-License-Identifier: MIT */
/*
 * kernels_avx2.c - AVX2 + FMA + F16C kernels: the vec_dots, the activation
 * quantizers (Q8_0, Q8_1), fp16/bf16 rows, and the float kernels.  Int8 dots
 * use the sign trick so that maddubs (unsigned x signed) sees |x| and
 * sign(x)*y; 4-bit weights use the nibbles as the unsigned operand directly.
 * Quantizers give exactly the scalar bytes: same float operations, roundf()
 * rebuilt from truncation.  Activations never hold -128 (the quantizers
 * stop at +-127), which the sign trick needs.
 */
#include <math.h>
#include <immintrin.h>

#include "kernels_impl.h"
#include "avx2_helpers.h"

/* ---- helpers ---- */

static inline float hmax_ps(__m256 v)
{
	__m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	m = _mm_max_ps(m, _mm_movehl_ps(m, m));
	m = _mm_max_ss(m, _mm_movehdup_ps(m));
	return _mm_cvtss_f32(m);
}

static inline int hsum_epi32(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));

	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
	return _mm_cvtsi128_si32(s);
}

static inline float fp16(llmos_fp16 h)
{
	return _cvtsh_ss(h);
}

/* 32 nibbles: low ones are elements 0..15, high ones 16..31. */
static inline __m256i nibbles_32(const uint8_t *qs)
{
	__m128i b = _mm_loadu_si128((const __m128i *)qs);
	__m256i both = _mm256_set_m128i(_mm_srli_epi16(b, 4), b);

	return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

/* 8 int32 lanes summing to dot(x, y), x and y int8 (y != -128). */
static inline __m256i dot_i8_pairs(__m256i x, __m256i y)
{
	__m256i d16 = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));

	return _mm256_madd_epi16(d16, _mm256_set1_epi16(1));
}

/* 8 int32 lanes summing to dot(u, y), u in 0..15, y int8. */
static inline __m256i dot_u4_i8(__m256i u, __m256i y)
{
	return _mm256_madd_epi16(_mm256_maddubs_epi16(u, y), _mm256_set1_epi16(1));
}

/* ---- quantized dots: two blocks per iteration, two accumulators ---- */

static void vec_dot_q8_1_q8_0(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q8_1 *x = vx;
	const struct block_q8_0 *y = vy;
	__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
	int nb = n / QK8_1, i = 0;

	for (; i + 1 < nb; i += 2) {
		__m256i p0 = dot_i8_pairs(_mm256_loadu_si256((const __m256i *)x[i].qs),
					  _mm256_loadu_si256((const __m256i *)y[i].qs));
		__m256i p1 = dot_i8_pairs(_mm256_loadu_si256((const __m256i *)x[i + 1].qs),
					  _mm256_loadu_si256((const __m256i *)y[i + 1].qs));

		acc0 = _mm256_fmadd_ps(_mm256_set1_ps(fp16(x[i].d) * fp16(y[i].d)),
				       _mm256_cvtepi32_ps(p0), acc0);
		acc1 = _mm256_fmadd_ps(_mm256_set1_ps(fp16(x[i + 1].d) * fp16(y[i + 1].d)),
				       _mm256_cvtepi32_ps(p1), acc1);
	}
	if (i < nb) {
		__m256i p0 = dot_i8_pairs(_mm256_loadu_si256((const __m256i *)x[i].qs),
					  _mm256_loadu_si256((const __m256i *)y[i].qs));

		acc0 = _mm256_fmadd_ps(_mm256_set1_ps(fp16(x[i].d) * fp16(y[i].d)),
				       _mm256_cvtepi32_ps(p0), acc0);
	}
	*s = hsum_ps(_mm256_add_ps(acc0, acc1));
}

/* sum((q - 8) * y) = sum(q * y) - sum(8 * y), both by maddubs in int16 */
static inline __m256i dot_q4_0_block(const struct block_q4_0 *x, const struct block_q8_0 *y)
{
	__m256i q = nibbles_32(x->qs);
	__m256i yv = _mm256_loadu_si256((const __m256i *)y->qs);
	__m256i d16 = _mm256_sub_epi16(_mm256_maddubs_epi16(q, yv),
				       _mm256_maddubs_epi16(_mm256_set1_epi8(8), yv));

	return _mm256_madd_epi16(d16, _mm256_set1_epi16(1));
}

static void vec_dot_q4_0_q8_0(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_0 *x = vx;
	const struct block_q8_0 *y = vy;
	__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
	int nb = n / QK4_0, i = 0;

	for (; i + 1 < nb; i += 2) {
		__m256i p0 = dot_q4_0_block(&x[i], &y[i]);
		__m256i p1 = dot_q4_0_block(&x[i + 1], &y[i + 1]);

		acc0 = _mm256_fmadd_ps(_mm256_set1_ps(fp16(x[i].d) * fp16(y[i].d)),
				       _mm256_cvtepi32_ps(p0), acc0);
		acc1 = _mm256_fmadd_ps(_mm256_set1_ps(fp16(x[i + 1].d) * fp16(y[i + 1].d)),
				       _mm256_cvtepi32_ps(p1), acc1);
	}
	if (i < nb) {
		__m256i p0 = dot_q4_0_block(&x[i], &y[i]);

		acc0 = _mm256_fmadd_ps(_mm256_set1_ps(fp16(x[i].d) * fp16(y[i].d)),
				       _mm256_cvtepi32_ps(p0), acc0);
	}
	*s = hsum_ps(_mm256_add_ps(acc0, acc1));
}

static void vec_dot_q4_1_q8_1(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_1 *x = vx;
	const struct block_q8_1 *y = vy;
	__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
	float summs = 0.0f;
	int nb = n / QK4_1, i = 0;

	for (; i + 1 < nb; i += 2) {
		__m256i p0 = dot_u4_i8(nibbles_32(x[i].qs),
				       _mm256_loadu_si256((const __m256i *)y[i].qs));
		__m256i p1 = dot_u4_i8(nibbles_32(x[i + 1].qs),
				       _mm256_loadu_si256((const __m256i *)y[i + 1].qs));

		summs += fp16(x[i].m) * fp16(y[i].s) + fp16(x[i + 1].m) * fp16(y[i + 1].s);
		acc0 = _mm256_fmadd_ps(_mm256_set1_ps(fp16(x[i].d) * fp16(y[i].d)),
				       _mm256_cvtepi32_ps(p0), acc0);
		acc1 = _mm256_fmadd_ps(_mm256_set1_ps(fp16(x[i + 1].d) * fp16(y[i + 1].d)),
				       _mm256_cvtepi32_ps(p1), acc1);
	}
	if (i < nb) {
		__m256i p0 = dot_u4_i8(nibbles_32(x[i].qs),
				       _mm256_loadu_si256((const __m256i *)y[i].qs));

		summs += fp16(x[i].m) * fp16(y[i].s);
		acc0 = _mm256_fmadd_ps(_mm256_set1_ps(fp16(x[i].d) * fp16(y[i].d)),
				       _mm256_cvtepi32_ps(p0), acc0);
	}
	*s = hsum_ps(_mm256_add_ps(acc0, acc1)) + summs;
}

/* ---- float dots ---- */

static inline __m256 load_f16x8(const llmos_fp16 *p)
{
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

static inline __m256 load_bf16x8(const llmos_bf16 *p)
{
	__m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));

	return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

#define FLOAT_DOT(name, type, load, scalar)                                              \
	static void name(int n, float *s, const void *vx, const void *vy)                 \
	{                                                                                  \
		const type *x = vx, *y = vy;                                               \
		__m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                \
		int i = 0;                                                                 \
                                                                                           \
		for (; i + 32 <= n; i += 32) {                                             \
			a0 = _mm256_fmadd_ps(load(x + i), load(y + i), a0);                \
			a1 = _mm256_fmadd_ps(load(x + i + 8), load(y + i + 8), a1);        \
			a2 = _mm256_fmadd_ps(load(x + i + 16), load(y + i + 16), a2);      \
			a3 = _mm256_fmadd_ps(load(x + i + 24), load(y + i + 24), a3);      \
		}                                                                          \
		for (; i + 8 <= n; i += 8)                                                 \
			a0 = _mm256_fmadd_ps(load(x + i), load(y + i), a0);                \
		float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))); \
		for (; i < n; i++)                                                         \
			sum += scalar(x[i]) * scalar(y[i]);                                \
		*s = sum;                                                                  \
	}

static inline float f32_id(float f)
{
	return f;
}

FLOAT_DOT(vec_dot_f32, float, _mm256_loadu_ps, f32_id)
/* llama.cpp's prompt-time fp16 GEMM order (kernels_impl.h): one 8-lane chain. */
static void dot_f16_gemm(int n, float *s, const llmos_fp16 *x, const llmos_fp16 *y)
{
	__m256 acc = _mm256_setzero_ps();

	for (int i = 0; i < n; i += 8)
		acc = _mm256_fmadd_ps(load_f16x8(x + i), load_f16x8(y + i), acc);
	*s = hsum_ps(acc);
}

/*
 * fp16 dot as ggml's AVX2 build sums it: four 8-lane accumulators over steps
 * of 32, folded 0+2, 1+3, then 0+1, reduced by halves and two VHADDPS; the
 * rest added one by one in double.
 */
static void vec_dot_f16(int n, float *s, const void *vx, const void *vy)
{
	const llmos_fp16 *x = vx, *y = vy;
	__m256 a[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
			_mm256_setzero_ps() };
	int np = n & ~31, i;
	__m128 t;
	double sum;

	for (i = 0; i < np; i += 32)
		for (int j = 0; j < 4; j++)
			a[j] = _mm256_fmadd_ps(load_f16x8(x + i + 8 * j), load_f16x8(y + i + 8 * j),
					       a[j]);
	a[0] = _mm256_add_ps(a[0], a[2]);
	a[1] = _mm256_add_ps(a[1], a[3]);
	a[0] = _mm256_add_ps(a[0], a[1]);
	t = _mm_add_ps(_mm256_castps256_ps128(a[0]), _mm256_extractf128_ps(a[0], 1));
	t = _mm_hadd_ps(t, t);
	sum = (double)_mm_cvtss_f32(_mm_hadd_ps(t, t));
	for (i = np; i < n; i++)
		sum += (double)(_cvtsh_ss(x[i]) * _cvtsh_ss(y[i]));
	*s = (float)sum;
}
FLOAT_DOT(vec_dot_bf16, llmos_bf16, load_bf16x8, llmos_bf16_to_fp32_inline)

/* ---- rows ---- */

static void f16_to_float(const void *src, float *dst, int64_t n)
{
	const llmos_fp16 *h = src;
	int64_t i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(dst + i, load_f16x8(h + i));
	for (; i < n; i++)
		dst[i] = llmos_fp16_to_fp32_inline(h[i]);
}

static void f16_from_float(const float *src, void *dst, int64_t n)
{
	llmos_fp16 *h = dst;
	int64_t i = 0;

	for (; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *)(h + i),
				 _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
	for (; i < n; i++)
		h[i] = llmos_fp32_to_fp16_inline(src[i]);
}

static void bf16_to_float(const void *src, float *dst, int64_t n)
{
	const llmos_bf16 *h = src;
	int64_t i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(dst + i, load_bf16x8(h + i));
	for (; i < n; i++)
		dst[i] = llmos_bf16_to_fp32_inline(h[i]);
}

/* As llmos_fp32_to_bf16_inline on 8 lanes: quiet NaNs, else round to even. */
static inline __m128i bf16_from_f32x8(__m256 f)
{
	__m256i u = _mm256_castps_si256(f);
	__m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
	__m256i r = _mm256_srli_epi32(
		_mm256_add_epi32(u, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7fff))), 16);
	__m256i q = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64));
	__m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)),
					 _mm256_set1_epi32(0x7f800000));

	r = _mm256_blendv_epi8(r, q, nan);
	r = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);
	return _mm256_castsi256_si128(r);
}

static void bf16_from_float(const float *src, void *dst, int64_t n)
{
	llmos_bf16 *h = dst;
	int64_t i = 0;

	for (; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *)(h + i), bf16_from_f32x8(_mm256_loadu_ps(src + i)));
	for (; i < n; i++)
		h[i] = llmos_fp32_to_bf16_inline(src[i]);
}

/*
 * One block of 32 floats to int8 as ggml's x86 build does it: d = amax / 127,
 * q = x * (127 / amax) rounded half to even; returns d and the sum of the qs.
 */
static inline float quantize_block_q8(const float *x, int8_t *qs, int *sum)
{
	__m256 v[4], amax = _mm256_setzero_ps();
	__m256i q[4];

	for (int k = 0; k < 4; k++) {
		v[k] = _mm256_loadu_ps(x + 8 * k);
		amax = _mm256_max_ps(amax, _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v[k]));
	}
	float max = hmax_ps(amax);
	__m256 id = _mm256_set1_ps(max != 0.0f ? 127.0f / max : 0.0f);

	for (int k = 0; k < 4; k++)
		q[k] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[k], id),
							  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
	*sum = hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]),
					   _mm256_add_epi32(q[2], q[3])));
	__m256i p16 = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]),
					 _mm256_packs_epi32(q[2], q[3]));
	/* the packs interleave 128-bit lanes: put the dwords back in order */
	_mm256_storeu_si256((__m256i *)qs,
			    _mm256_permutevar8x32_epi32(p16, _mm256_setr_epi32(0, 4, 1, 5, 2, 6,
										3, 7)));
	return max / 127.0f;
}

static void q8_0_from_float(const float *src, void *dst, int64_t n)
{
	struct block_q8_0 *y = dst;
	int sum;

	for (int64_t i = 0; i < n / QK8_0; i++)
		y[i].d = _cvtss_sh(quantize_block_q8(src + i * QK8_0, y[i].qs, &sum),
				   _MM_FROUND_TO_NEAREST_INT);
}

static void q8_1_from_float(const float *src, void *dst, int64_t n)
{
	struct block_q8_1 *y = dst;
	int sum;

	for (int64_t i = 0; i < n / QK8_1; i++) {
		float d = quantize_block_q8(src + i * QK8_1, y[i].qs, &sum);

		y[i].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
		y[i].s = _cvtss_sh((float)sum * d, _MM_FROUND_TO_NEAREST_INT);
	}
}

/* ---- float kernels ---- */

/*
 * e^x on 8 lanes, as ggml's AVX2 build computes it (ggml_v_expf, after
 * Arm's optimized routines): so softmax and SiLU round as llama.cpp's do.
 */
static inline __m256 exp_ps(__m256 x)
{
	const __m256 r = _mm256_set1_ps(0x1.8p23f);
	const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
	const __m256 n = _mm256_sub_ps(z, r);
	const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
					  _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
	const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
	const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1))));
	const __m256i c = _mm256_castps_si256(_mm256_cmp_ps(
		_mm256_andnot_ps(_mm256_set1_ps(-0.f), n), _mm256_set1_ps(126), _CMP_GT_OQ));
	const __m256 u = _mm256_mul_ps(b, b);
	const __m256 j = _mm256_fmadd_ps(
		_mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b,
						_mm256_set1_ps(0x1.573e2ep-5f)),
				u,
				_mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b,
						_mm256_set1_ps(0x1.fffdb6p-2f))),
		u, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));

	if (!_mm256_movemask_ps(_mm256_castsi256_ps(c)))
		return _mm256_fmadd_ps(j, k, k);
	/* |n| > 126: scale in two steps, or saturate beyond 192 */
	const __m256i g = _mm256_and_si256(
		_mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
		_mm256_set1_epi32((int)0x82000000u));
	const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
	const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
	const __m256i d = _mm256_castps_si256(_mm256_cmp_ps(
		_mm256_andnot_ps(_mm256_set1_ps(-0.f), n), _mm256_set1_ps(192), _CMP_GT_OQ));

	return _mm256_or_ps(
		_mm256_and_ps(_mm256_castsi256_ps(d), _mm256_mul_ps(s1, s1)),
		_mm256_andnot_ps(_mm256_castsi256_ps(d),
				 _mm256_or_ps(_mm256_and_ps(_mm256_castsi256_ps(c),
							    _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1)),
					      _mm256_andnot_ps(_mm256_castsi256_ps(c),
							       _mm256_fmadd_ps(k, j, k)))));
}

static void vec_add(float *y, const float *x, int n)
{
	int i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(x + i)));
	for (; i < n; i++)
		y[i] += x[i];
}

static void vec_mad(float *y, const float *x, float a, int n)
{
	__m256 av = _mm256_set1_ps(a);
	int i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i),
							_mm256_loadu_ps(y + i)));
	for (; i < n; i++)
		y[i] += a * x[i];
}

static float vec_dot_f32_plain(const float *x, const float *y, int n)
{
	float s;

	vec_dot_f32(n, &s, x, y);
	return s;
}

/*
 * As ggml: the squares rounded to float, summed in double, the mean rounded
 * to float; then x * scale, times the weight.
 */
static void rmsnorm(float *out, const float *x, const float *weight, int n, float eps)
{
	__m256d acc = _mm256_setzero_pd();
	double lanes[4], sum;
	float scale;
	int i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256 v = _mm256_loadu_ps(x + i), sq = _mm256_mul_ps(v, v);

		acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(sq)));
		acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(sq, 1)));
	}
	_mm256_storeu_pd(lanes, acc);
	sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
	for (; i < n; i++)
		sum += (double)(x[i] * x[i]);
	scale = 1.0f / sqrtf((float)(sum / n) + eps);
	__m256 sv = _mm256_set1_ps(scale);

	for (i = 0; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), sv),
							_mm256_loadu_ps(weight + i)));
	for (; i < n; i++)
		out[i] = x[i] * scale * weight[i];
}

static void vec_scale(float *x, float a, int n)
{
	__m256 av = _mm256_set1_ps(a);
	int i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), av));
	for (; i < n; i++)
		x[i] *= a;
}

/* As ggml_vec_soft_max_f32: 8 lanes at a time summed in double, expf after. */
static void softmax(float *x, int n)
{
	__m256 mv = _mm256_set1_ps(-INFINITY);
	double sum = 0;
	float max;
	int i;

	for (i = 0; i + 8 <= n; i += 8)
		mv = _mm256_max_ps(mv, _mm256_loadu_ps(x + i));
	max = hmax_ps(mv);
	for (; i < n; i++)
		max = fmaxf(max, x[i]);
	for (i = 0; i + 8 <= n; i += 8) {
		__m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_set1_ps(max)));
		__m128 h = _mm_add_ps(_mm256_extractf128_ps(e, 1), _mm256_castps256_ps128(e));

		_mm256_storeu_ps(x + i, e);
		h = _mm_add_ps(h, _mm_movehl_ps(h, h));
		h = _mm_add_ss(h, _mm_movehdup_ps(h));
		sum += (double)_mm_cvtss_f32(h);
	}
	for (; i < n; i++) {
		x[i] = expf(x[i] - max);
		sum += (double)x[i];
	}
	vec_scale(x, (float)(1.0 / sum), n);
}

/* silu(gate) as ggml_vec_silu_f32 (x / (1 + e^-x)), then times up. */
static void silu_mul(float *gate, const float *up, int n)
{
	__m256 one = _mm256_set1_ps(1.0f);
	int i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256 g = _mm256_loadu_ps(gate + i);
		__m256 e = exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), g));
		__m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));

		_mm256_storeu_ps(gate + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
	}
	for (; i < n; i++)
		gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

void llmos_kernels_fill_avx2(struct llmos_kernel_ops *ops)
{
	struct llmos_type_traits *t = ops->traits;

	t[LLMOS_TYPE_F32].vec_dot = vec_dot_f32;
	t[LLMOS_TYPE_F16].vec_dot = vec_dot_f16;
	ops->dot_f16_gemm = dot_f16_gemm;
	ops->gemm_lanes = 8;
	t[LLMOS_TYPE_F16].to_float = f16_to_float;
	t[LLMOS_TYPE_F16].from_float = f16_from_float;
	t[LLMOS_TYPE_BF16].vec_dot = vec_dot_bf16;
	t[LLMOS_TYPE_BF16].to_float = bf16_to_float;
	t[LLMOS_TYPE_BF16].from_float = bf16_from_float;
	LLMOS_KQUANT_FILL(ops, _avx2);
	t[LLMOS_TYPE_Q8_0].from_float = q8_0_from_float;
	t[LLMOS_TYPE_Q8_1].vec_dot = vec_dot_q8_1_q8_0;
	t[LLMOS_TYPE_Q8_1].from_float = q8_1_from_float;
	t[LLMOS_TYPE_Q4_0].vec_dot = vec_dot_q4_0_q8_0;
	t[LLMOS_TYPE_Q4_1].vec_dot = vec_dot_q4_1_q8_1;
	ops->rmsnorm = rmsnorm;
	ops->softmax = softmax;
	ops->silu_mul = silu_mul;
	ops->vec_add = vec_add;
	ops->vec_mad = vec_mad;
	ops->vec_dot_f32 = vec_dot_f32_plain;
}
