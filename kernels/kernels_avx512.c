/* SPDX-License-Identifier: MIT */
/*
 * kernels_avx512.c - AVX-512 kernels (F/BW/VL/DQ + VNNI; BF16 dots use
 * VDPBF16PS when the CPU has AVX512_BF16).  Int8 dots handle two blocks per
 * 512-bit register with VPDPBUSD: it multiplies unsigned by signed bytes,
 * so q8 weights go in as |x| against y negated where x < 0, and 4-bit
 * weights go in as their unsigned nibbles with 8 * sum(y) taken off after.
 * Float kernels finish with masked loads and stores instead of scalar tails.
 */
#include <math.h>
#include <immintrin.h>

#include "kernels_impl.h"

static inline float fp16(llmos_fp16 h)
{
	return _cvtsh_ss(h);
}

static inline __mmask16 tail_mask16(int left)
{
	return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

/*
 * Int8 dots run on 256-bit registers, one block each, two accumulators:
 * on Zen 4 (512-bit ops split in two) that beats packing two blocks into a
 * zmm, which costs lane inserts for the data and the scales.
 */
static inline float hsum256_ps(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* 8 int32 lanes summing to dot(x, y) of int8 (y != -128). */
static inline __m256i dot_i8_block(const int8_t *xq, const int8_t *yq)
{
	__m256i x = _mm256_loadu_si256((const __m256i *)xq);
	__m256i y = _mm256_loadu_si256((const __m256i *)yq);

	return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(x, x),
				   _mm256_sign_epi8(y, x));
}

static inline __m256i nibbles_block(const uint8_t *q)
{
	__m128i b = _mm_loadu_si128((const __m128i *)q);

	return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(0x0f));
}

/* sum((q - 8) * y) = dpbusd(q, y) - dpbusd(8, y) */
static inline __m256i dot_q4_0_block(const uint8_t *xq, const int8_t *yq)
{
	__m256i zero = _mm256_setzero_si256();
	__m256i y = _mm256_loadu_si256((const __m256i *)yq);

	return _mm256_sub_epi32(_mm256_dpbusd_epi32(zero, nibbles_block(xq), y),
				_mm256_dpbusd_epi32(zero, _mm256_set1_epi8(8), y));
}

static inline __m256i dot_u4_block(const uint8_t *xq, const int8_t *yq)
{
	return _mm256_dpbusd_epi32(_mm256_setzero_si256(), nibbles_block(xq),
				   _mm256_loadu_si256((const __m256i *)yq));
}

static inline __m256 scaled(__m256i p, float d, __m256 acc)
{
	return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(p), acc);
}

/* The loop shared by the int8-style dots; BLOCK_DOT gives block i's int32 lanes. */
#define QDOT_LOOP(nb, BLOCK_DOT, SCALE, EXTRA)                             \
	__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();     \
	int i = 0;                                                         \
	for (; i + 1 < (nb); i += 2) {                                     \
		acc0 = scaled(BLOCK_DOT(i), SCALE(i), acc0);               \
		acc1 = scaled(BLOCK_DOT(i + 1), SCALE(i + 1), acc1);       \
		EXTRA(i);                                                  \
		EXTRA(i + 1);                                              \
	}                                                                  \
	if (i < (nb)) {                                                    \
		acc0 = scaled(BLOCK_DOT(i), SCALE(i), acc0);               \
		EXTRA(i);                                                  \
	}

#define SCALE_XY(i) (fp16(x[i].d) * fp16(y[i].d))
#define NO_EXTRA(i) ((void)0)
#define DOT_Q8(i) dot_i8_block(x[i].qs, y[i].qs)
#define DOT_Q4_0(i) dot_q4_0_block(x[i].qs, y[i].qs)
#define DOT_Q4_1(i) dot_u4_block(x[i].qs, y[i].qs)
#define SUM_MS(i) (summs += fp16(x[i].m) * fp16(y[i].s))

static void vec_dot_q8_1_q8_0(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q8_1 *x = vx;
	const struct block_q8_0 *y = vy;

	QDOT_LOOP(n / QK8_1, DOT_Q8, SCALE_XY, NO_EXTRA)
	*s = hsum256_ps(_mm256_add_ps(acc0, acc1));
}

static void vec_dot_q4_0_q8_0(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_0 *x = vx;
	const struct block_q8_0 *y = vy;

	QDOT_LOOP(n / QK4_0, DOT_Q4_0, SCALE_XY, NO_EXTRA)
	*s = hsum256_ps(_mm256_add_ps(acc0, acc1));
}

static void vec_dot_q4_1_q8_1(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_1 *x = vx;
	const struct block_q8_1 *y = vy;
	float summs = 0.0f;

	QDOT_LOOP(n / QK4_1, DOT_Q4_1, SCALE_XY, SUM_MS)
	*s = hsum256_ps(_mm256_add_ps(acc0, acc1)) + summs;
}

/* ---- float dots and rows ---- */

static inline __m512 load_f16x16(const llmos_fp16 *p, __mmask16 m)
{
	return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

static inline __m512 load_bf16x16(const llmos_bf16 *p, __mmask16 m)
{
	__m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));

	return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}

static inline __m512 load_f32x16(const float *p, __mmask16 m)
{
	return _mm512_maskz_loadu_ps(m, p);
}

#define FLOAT_DOT(name, type, load)                                                   \
	static void name(int n, float *s, const void *vx, const void *vy)              \
	{                                                                               \
		const type *x = vx, *y = vy;                                            \
		__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;             \
		const __mmask16 all = 0xffff;                                           \
		int i = 0;                                                              \
                                                                                        \
		for (; i + 64 <= n; i += 64) {                                          \
			a0 = _mm512_fmadd_ps(load(x + i, all), load(y + i, all), a0);   \
			a1 = _mm512_fmadd_ps(load(x + i + 16, all), load(y + i + 16, all), a1); \
			a2 = _mm512_fmadd_ps(load(x + i + 32, all), load(y + i + 32, all), a2); \
			a3 = _mm512_fmadd_ps(load(x + i + 48, all), load(y + i + 48, all), a3); \
		}                                                                       \
		for (; i < n; i += 16) {                                                \
			__mmask16 m = tail_mask16(n - i);                               \
			a0 = _mm512_fmadd_ps(load(x + i, m), load(y + i, m), a0);       \
		}                                                                       \
		*s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1),          \
							_mm512_add_ps(a2, a3)));        \
	}

/* F16 dots (and BF16 ones without AVX512_BF16) keep the AVX2 kernel: faster on Zen 4. */
FLOAT_DOT(vec_dot_f32, float, load_f32x16)

/* BF16 pairs multiplied and summed into fp32 by VDPBF16PS, 32 per step. */
/* llama.cpp's prompt-time fp16 GEMM order (kernels_impl.h): one 16-lane chain. */
static void dot_f16_gemm(int n, float *s, const llmos_fp16 *x, const llmos_fp16 *y)
{
	__m512 acc = _mm512_setzero_ps();

	for (int i = 0; i < n; i += 16)
		acc = _mm512_fmadd_ps(load_f16x16(x + i, 0xffff), load_f16x16(y + i, 0xffff), acc);
	*s = _mm512_reduce_add_ps(acc);
}

/*
 * fp16 dot as ggml's AVX-512 build sums it: four 16-lane accumulators over
 * steps of 64, folded 0+2, 1+3, then 0+1, reduced; the rest added one by one
 * in double.  Attention's q.k and p.v run through it, so they round alike.
 */
static void vec_dot_f16(int n, float *s, const void *vx, const void *vy)
{
	const llmos_fp16 *x = vx, *y = vy;
	__m512 a[4] = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
			_mm512_setzero_ps() };
	int np = n & ~63, i;
	double sum;

	for (i = 0; i < np; i += 64)
		for (int j = 0; j < 4; j++)
			a[j] = _mm512_fmadd_ps(load_f16x16(x + i + 16 * j, 0xffff),
					       load_f16x16(y + i + 16 * j, 0xffff), a[j]);
	a[0] = _mm512_add_ps(a[0], a[2]);
	a[1] = _mm512_add_ps(a[1], a[3]);
	a[0] = _mm512_add_ps(a[0], a[1]);
	sum = (double)_mm512_reduce_add_ps(a[0]);
	for (i = np; i < n; i++)
		sum += (double)(_cvtsh_ss(x[i]) * _cvtsh_ss(y[i]));
	*s = (float)sum;
}

static void vec_dot_bf16_dp(int n, float *s, const void *vx, const void *vy)
{
	const llmos_bf16 *x = vx, *y = vy;
	__m512 a0 = _mm512_setzero_ps(), a1 = a0;
	int i = 0;

	for (; i + 64 <= n; i += 64) {
		a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512(x + i),
				      (__m512bh)_mm512_loadu_si512(y + i));
		a1 = _mm512_dpbf16_ps(a1, (__m512bh)_mm512_loadu_si512(x + i + 32),
				      (__m512bh)_mm512_loadu_si512(y + i + 32));
	}
	for (; i < n; i += 32) {
		__mmask32 m = n - i >= 32 ? (__mmask32)0xffffffff : (__mmask32)((1u << (n - i)) - 1);

		a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_maskz_loadu_epi16(m, x + i),
				      (__m512bh)_mm512_maskz_loadu_epi16(m, y + i));
	}
	*s = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

static void f16_to_float(const void *src, float *dst, int64_t n)
{
	const llmos_fp16 *h = src;

	for (int64_t i = 0; i < n; i += 16) {
		__mmask16 m = tail_mask16((int)(n - i < 16 ? n - i : 16));

		_mm512_mask_storeu_ps(dst + i, m, load_f16x16(h + i, m));
	}
}

static void f16_from_float(const float *src, void *dst, int64_t n)
{
	llmos_fp16 *h = dst;

	for (int64_t i = 0; i < n; i += 16) {
		__mmask16 m = tail_mask16((int)(n - i < 16 ? n - i : 16));
		__m256i v = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, src + i),
					    _MM_FROUND_TO_NEAREST_INT);

		_mm256_mask_storeu_epi16(h + i, m, v);
	}
}

static void bf16_to_float(const void *src, float *dst, int64_t n)
{
	const llmos_bf16 *h = src;

	for (int64_t i = 0; i < n; i += 16) {
		__mmask16 m = tail_mask16((int)(n - i < 16 ? n - i : 16));

		_mm512_mask_storeu_ps(dst + i, m, load_bf16x16(h + i, m));
	}
}

/* As llmos_fp32_to_bf16_inline on 16 lanes (not VCVTNEPS2BF16: it flushes subnormals). */
static void bf16_from_float(const float *src, void *dst, int64_t n)
{
	llmos_bf16 *h = dst;

	for (int64_t i = 0; i < n; i += 16) {
		__mmask16 m = tail_mask16((int)(n - i < 16 ? n - i : 16));
		__m512i u = _mm512_castps_si512(_mm512_maskz_loadu_ps(m, src + i));
		__m512i hi = _mm512_srli_epi32(u, 16);
		__m512i r = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_and_si512(hi, _mm512_set1_epi32(1)),
								 _mm512_set1_epi32(0x7fff)));
		__mmask16 nan = _mm512_cmpgt_epi32_mask(
			_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));

		r = _mm512_mask_or_epi32(_mm512_srli_epi32(r, 16), nan, hi, _mm512_set1_epi32(64));
		_mm256_mask_storeu_epi16(h + i, m, _mm512_cvtepi32_epi16(r));
	}
}

/* ---- activation quantizers: ggml x86 rounding, bit-exact with the scalar ones ---- */

static inline float quantize_block_q8(const float *x, int8_t *qs, int *sum)
{
	__m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
	float max = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
	__m512 id = _mm512_set1_ps(max != 0.0f ? 127.0f / max : 0.0f);
	__m512i q0 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v0, id),
					      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m512i q1 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v1, id),
					      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);

	*sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
	_mm_storeu_si128((__m128i *)qs, _mm512_cvtsepi32_epi8(q0));
	_mm_storeu_si128((__m128i *)(qs + 16), _mm512_cvtsepi32_epi8(q1));
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
 * e^x on 16 lanes, as ggml's AVX-512 build computes it (ggml_v_expf, after
 * Arm's optimized routines): so softmax and SiLU round as llama.cpp's do.
 */
static inline __m512 exp_ps(__m512 x)
{
	const __m512 r = _mm512_set1_ps(0x1.8p23f);
	const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), r);
	const __m512 n = _mm512_sub_ps(z, r);
	const __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f),
					  _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
	const __mmask16 d = _mm512_cmp_ps_mask(_mm512_abs_ps(n), _mm512_set1_ps(192), _CMP_GT_OQ);
	const __m512 u = _mm512_mul_ps(b, b);
	const __m512 j = _mm512_fmadd_ps(
		_mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b,
						_mm512_set1_ps(0x1.573e2ep-5f)),
				u,
				_mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b,
						_mm512_set1_ps(0x1.fffdb6p-2f))),
		u, _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b, _mm512_set1_ps(1.0f)));
	const __m512 res = _mm512_scalef_ps(j, n);

	if (_mm512_kortestz(d, d))
		return res;
	return _mm512_mask_blend_ps(d, res,
				    _mm512_mask_blend_ps(_mm512_cmp_ps_mask(n, _mm512_setzero_ps(),
									    _CMP_LE_OQ),
							 _mm512_set1_ps(INFINITY),
							 _mm512_setzero_ps()));
}

static void vec_add(float *y, const float *x, int n)
{
	for (int i = 0; i < n; i += 16) {
		__mmask16 m = tail_mask16(n - i);

		_mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, y + i),
							      _mm512_maskz_loadu_ps(m, x + i)));
	}
}

static void vec_mad(float *y, const float *x, float a, int n)
{
	__m512 av = _mm512_set1_ps(a);

	for (int i = 0; i < n; i += 16) {
		__mmask16 m = tail_mask16(n - i);

		_mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i),
								_mm512_maskz_loadu_ps(m, y + i)));
	}
}

static void vec_scale(float *x, float a, int n)
{
	__m512 av = _mm512_set1_ps(a);

	for (int i = 0; i < n; i += 16) {
		__mmask16 m = tail_mask16(n - i);

		_mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), av));
	}
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
	__m512d acc = _mm512_setzero_pd();
	double sum;
	int i = 0;

	for (; i + 16 <= n; i += 16) {
		__m512 v = _mm512_loadu_ps(x + i), sq = _mm512_mul_ps(v, v);

		acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_castps512_ps256(sq)));
		acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_extractf32x8_ps(sq, 1)));
	}
	sum = _mm512_reduce_add_pd(acc);
	for (; i < n; i++)
		sum += (double)(x[i] * x[i]);
	__m512 sv = _mm512_set1_ps(1.0f / sqrtf((float)(sum / n) + eps));

	for (i = 0; i < n; i += 16) {
		__mmask16 m = tail_mask16(n - i);
		__m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), sv);

		_mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, weight + i)));
	}
}

/* As ggml_vec_soft_max_f32: 16 lanes at a time summed in double, expf after. */
static void softmax(float *x, int n)
{
	__m512 mv = _mm512_set1_ps(-INFINITY);
	double sum = 0;
	float max;
	int i = 0;

	for (int k = 0; k < n; k += 16)
		mv = _mm512_max_ps(mv, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY),
							    tail_mask16(n - k), x + k));
	max = _mm512_reduce_max_ps(mv);
	for (; i + 16 <= n; i += 16) {
		__m512 e = exp_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), _mm512_set1_ps(max)));

		_mm512_storeu_ps(x + i, e);
		sum += (double)_mm512_reduce_add_ps(e);
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
	int i = 0;

	for (; i + 16 <= n; i += 16) {
		__m512 g = _mm512_loadu_ps(gate + i);
		__m512 e = exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), g));
		__m512 silu = _mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e));

		_mm512_storeu_ps(gate + i, _mm512_mul_ps(silu, _mm512_loadu_ps(up + i)));
	}
	for (; i < n; i++)
		gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

void llmos_kernels_fill_avx512(struct llmos_kernel_ops *ops, bool has_bf16)
{
	struct llmos_type_traits *t = ops->traits;

	t[LLMOS_TYPE_F32].vec_dot = vec_dot_f32;
	t[LLMOS_TYPE_F16].vec_dot = vec_dot_f16;
	ops->dot_f16_gemm = dot_f16_gemm;
	ops->gemm_lanes = 16;
	t[LLMOS_TYPE_F16].to_float = f16_to_float;
	t[LLMOS_TYPE_F16].from_float = f16_from_float;
	if (has_bf16)
		t[LLMOS_TYPE_BF16].vec_dot = vec_dot_bf16_dp;
	t[LLMOS_TYPE_BF16].to_float = bf16_to_float;
	t[LLMOS_TYPE_BF16].from_float = bf16_from_float;
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
	LLMOS_KQUANT_FILL(ops, _avx512);
	llmos_tiles_fill_avx512(ops);
}
