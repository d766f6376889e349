/* SPDX-License-Identifier: MIT */
/*
 * kquants_avx2.c - the K-quant dots and tiles against Q8_K (and Q8_0, Q5_0,
 * Q5_1, IQ4_NL against Q8_0/Q8_1) with AVX2: each 32-byte group of quants is multiplied
 * with its activations by VPMADDUBSW (the weight quants as unsigned bytes,
 * offsets taken off after), the pairs widened with the sub-block scale by
 * VPMADDWD, and the integer sums scaled once per (super-)block, in the
 * order ggml's AVX2 dots use, as kquants_scalar.c and quants5_scalar.c do
 * in C.  Each type's one-token dot and its tile share one body.
 */
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "avx2_helpers.h"
#include "kernels_impl.h"
#include "simd_common.h"

/*
 * Compiled twice: as itself for AVX2, and through kquants_avx512.c for
 * AVX-512 VNNI, where KQ() names the functions ..._avx512 and each scaled
 * pair sum is added by one VPDPWSSD.  The integer sums, and so the
 * results, are the same.
 */
#ifndef KQ
#define KQ(name) name##_avx2
#endif

/* acc + madd(p, sc): the int16 pairs of p times sc, summed into int32 lanes. */
static inline __m256i madd_acc(__m256i acc, __m256i p, __m256i sc)
{
#ifdef __AVX512VNNI__
	return _mm256_dpwssd_epi32(acc, p, sc);
#else
	return _mm256_add_epi32(acc, _mm256_madd_epi16(p, sc));
#endif
}

/* fp16 to fp32 in one F16C instruction. */
static inline float h2f(llmos_fp16 h)
{
	return _cvtsh_ss(h);
}

/* h2f(a) * h2f(b), the two converted by one instruction: the same product. */
static inline float h2f_product(llmos_fp16 a, llmos_fp16 b)
{
	__m128 v = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)a | (uint32_t)b << 16)));

	return _mm_cvtss_f32(_mm_mul_ss(v, _mm_movehdup_ps(v)));
}

/*
 * A Q4_K/Q5_K block's 8 scales (int16 lanes 0..7) and 8 mins (8..15), as
 * ggml unpacks them: the 12 packed bytes rearranged in four words.
 */
static inline __m256i scales_and_mins(const uint8_t *packed)
{
	uint32_t u[4], aux;

	memcpy(u, packed, 12);
	u[3] = ((u[2] >> 4) & 0x0f0f0f0f) | (((u[1] >> 6) & 0x03030303) << 4);
	aux = u[1] & 0x3f3f3f3f;
	u[1] = (u[2] & 0x0f0f0f0f) | (((u[0] >> 6) & 0x03030303) << 4);
	u[2] = aux;
	u[0] &= 0x3f3f3f3f;
	return _mm256_cvtepu8_epi16(_mm_set_epi32((int)u[3], (int)u[2], (int)u[1], (int)u[0]));
}

/* int16 lane k of v (lanes 0..7 of a 128-bit half, copied to both) in every lane. */
static inline __m256i lane16(__m256i both, int k)
{
	return _mm256_shuffle_epi8(both, _mm256_set1_epi16((short)(0x0100 * (2 * k + 1) + 2 * k)));
}

/* The mins times the Q8_K group sums: 4 int32 lanes to sum. */
static inline __m128i mins_times_bsums(__m256i sm, const int16_t *bsums)
{
	__m256i b = _mm256_loadu_si256((const __m256i *)bsums);
	__m128i pairs = _mm_hadd_epi16(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));

	return _mm_madd_epi16(_mm256_extracti128_si256(sm, 1), pairs);
}

static_assert(offsetof(struct block_q5_K, scales) == offsetof(struct block_q4_K, scales) &&
		      offsetof(struct block_q5_K, dmin) == offsetof(struct block_q4_K, dmin),
	      "Q4_K and Q5_K share their header");

/* Bit b (constant) of each byte of qh, moved to bit 4: 16 where set, else 0. */
static inline __m256i fifth_bit(__m256i qh, int b)
{
	__m256i v = b <= 4 ? _mm256_slli_epi16(qh, 4 - b) : _mm256_srli_epi16(qh, b - 4);

	return _mm256_and_si256(v, _mm256_set1_epi8(16));
}

/* Block i of each of nt tokens' Q8_K rows (y_stride bytes apart), integer sums zeroed. */
static inline __attribute__((always_inline)) void
tile_blocks(int nt, const void *vy, size_t y_stride, int i, const struct block_q8_K **y,
	    __m256i *sumi)
{
#pragma GCC unroll 4
	for (int t = 0; t < nt; t++) {
		y[t] = (const struct block_q8_K *)((const char *)vy + t * y_stride) + i;
		sumi[t] = _mm256_setzero_si256();
	}
}

/* acc[t] += (dx * y[t]->d) * sumi[t]: a super-block's one FMA per token. */
static inline __attribute__((always_inline)) void
tile_scale(int nt, __m256 *acc, const __m256i *sumi, float dx, const struct block_q8_K *const *y)
{
#pragma GCC unroll 4
	for (int t = 0; t < nt; t++)
		acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dx * y[t]->d), _mm256_cvtepi32_ps(sumi[t]),
					 acc[t]);
}

/*
 * sumi[t] += scl * ((q - off) . a) in pairs, a token t's 32 activations at
 * offset o (Q3_K and Q6_K: quants stored with an offset, off per byte).
 */
static inline __attribute__((always_inline)) void
tile_offset_dots(int nt, __m256i *sumi, const struct block_q8_K *const *y, int o, __m256i q,
		 __m256i off, __m256i scl)
{
#pragma GCC unroll 4
	for (int t = 0; t < nt; t++) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(y[t]->qs + o));

		sumi[t] = madd_acc(sumi[t],
				   _mm256_sub_epi16(_mm256_maddubs_epi16(q, a), _mm256_maddubs_epi16(off, a)),
				   scl);
	}
}

/*
 * Q4_K and Q5_K share their header (d, dmin, 12 bytes of scales and mins)
 * and their arithmetic; Q5_K adds a fifth bit per value from qh (bits 2j
 * and 2j + 1 for chunk j).  qh_off < 0: no fifth bits.  The mins' sum
 * follows ggml's float order: 4 lanes for Q4_K, one scalar for Q5_K.
 *
 * One weight row against nt tokens' Q8_K rows (y_stride bytes apart): the
 * row is unpacked once per 64 values for all of them, and each token's
 * float operations are exactly those of the one-token dot (vec_dot is this
 * with nt = 1), so a tile gives every token vec_dot's bits.  Always
 * inlined, so each caller gets its own specialised loop.
 */
static inline __attribute__((always_inline)) void
k45_tile(int n, int nt, float *s, size_t s_stride, const void *vx, size_t stride, int qs_off,
	 int qh_off, const void *vy, size_t y_stride)
{
	const __m256i low4 = _mm256_set1_epi8(0xf);
	__m256 acc[LLMOS_TILE_TOKENS];
	__m128 acc_m[LLMOS_TILE_TOKENS];
	float mins[LLMOS_TILE_TOKENS];

#pragma GCC unroll 4
	for (int t = 0; t < nt; t++) {
		acc[t] = _mm256_setzero_ps();
		acc_m[t] = _mm_setzero_ps();
		mins[t] = 0;
	}
	for (int i = 0; i < n / QK_K; i++) {
		const struct block_q4_K *hd = (const void *)((const char *)vx + i * stride);
		const uint8_t *q = (const uint8_t *)hd + qs_off;
		__m256i qh = qh_off < 0 ? _mm256_setzero_si256()
					: _mm256_loadu_si256((const __m256i *)((const uint8_t *)hd + qh_off));
		__m256i sm = scales_and_mins(hd->scales);
		__m256i sc = _mm256_broadcastsi128_si256(_mm256_castsi256_si128(sm));
		__m256i sumi[LLMOS_TILE_TOKENS];
		const struct block_q8_K *y[LLMOS_TILE_TOKENS];

		tile_blocks(nt, vy, y_stride, i, y, sumi);
#pragma GCC unroll 4
		for (int t = 0; t < nt; t++) {
			__m128i mb = mins_times_bsums(sm, y[t]->bsums);

			if (qh_off < 0) {
				acc_m[t] = _mm_fmadd_ps(_mm_set1_ps(h2f(hd->dmin) * y[t]->d),
							_mm_cvtepi32_ps(mb), acc_m[t]);
			} else {
				mb = _mm_hadd_epi32(_mm_hadd_epi32(mb, mb), mb);
				mins[t] += y[t]->d * h2f(hd->dmin) * (float)_mm_cvtsi128_si32(mb);
			}
		}
#pragma GCC unroll 4
		for (int j = 0; j < QK_K / 64; j++, q += 32) {
			__m256i v = _mm256_loadu_si256((const __m256i *)q);
			__m256i lo = _mm256_and_si256(v, low4);
			__m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
			__m256i sc_lo = lane16(sc, 2 * j), sc_hi = lane16(sc, 2 * j + 1);

			if (qh_off >= 0) {
				lo = _mm256_or_si256(lo, fifth_bit(qh, 2 * j));
				hi = _mm256_or_si256(hi, fifth_bit(qh, 2 * j + 1));
			}
#pragma GCC unroll 4
			for (int t = 0; t < nt; t++) {
				const int8_t *q8 = y[t]->qs + 64 * j;
				sumi[t] = madd_acc(sumi[t],
					_mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)q8)),
					sc_lo);
				sumi[t] = madd_acc(sumi[t],
					_mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(q8 + 32))),
					sc_hi);
			}
		}
		tile_scale(nt, acc, sumi, h2f(hd->d), y);
	}
#pragma GCC unroll 4
	for (int t = 0; t < nt; t++) {
		acc_m[t] = _mm_add_ps(acc_m[t], _mm_movehl_ps(acc_m[t], acc_m[t]));
		acc_m[t] = _mm_add_ss(acc_m[t], _mm_movehdup_ps(acc_m[t]));
		s[t * s_stride] = hsum_ps(acc[t]) - (qh_off < 0 ? _mm_cvtss_f32(acc_m[t]) : mins[t]);
	}
}

/* s[t * s_stride] = the horizontal sum of acc[t], for each of nt tokens. */
static inline __attribute__((always_inline)) void store_sums(int nt, const __m256 *acc, float *s,
							    size_t s_stride)
{
#pragma GCC unroll 4
	for (int t = 0; t < nt; t++)
		s[t * s_stride] = hsum_ps(acc[t]);
}

/*
 * A tile of nr rows: one row at a time (the row's unpacking is what the
 * tokens share), dispatched on nt so each token count gets its own
 * unrolled loop.
 */
#define TILE_BY_COUNT(call)                                                      \
	for (int r = 0; r < nr; r++, vx = (const char *)vx + x_stride, s++) {    \
		switch (nt) {                                                    \
		case 1: call(1); break;                                          \
		case 2: call(2); break;                                          \
		case 3: call(3); break;                                          \
		default: call(4); break;                                         \
		}                                                                \
	}

/* A type's one-token dot and its tile, both from its TILE(k) macro. */
#define DOT_AND_TILE(dot, tile, TILE)                                                         \
	void KQ(dot)(int n, float *s, const void *vx, const void *vy)                         \
	{                                                                                     \
		size_t s_stride = 0, y_stride = 0;                                            \
                                                                                              \
		TILE(1);                                                                      \
	}                                                                                     \
	void KQ(tile)(int n, int nr, int nt, float *s, size_t s_stride, const void *vx,       \
		      size_t x_stride, const void *vy, size_t y_stride)                       \
	{                                                                                     \
		TILE_BY_COUNT(TILE)                                                           \
	}

#define Q4_K_TILE(k)                                                                        \
	k45_tile(n, k, s, s_stride, vx, sizeof(struct block_q4_K), offsetof(struct block_q4_K, qs), \
		 -1, vy, y_stride)
#define Q5_K_TILE(k)                                                                        \
	k45_tile(n, k, s, s_stride, vx, sizeof(struct block_q5_K), offsetof(struct block_q5_K, qs), \
		 offsetof(struct block_q5_K, qh), vy, y_stride)

DOT_AND_TILE(llmos_vec_dot_q4_K_q8_K, llmos_tile_q4_K, Q4_K_TILE)

DOT_AND_TILE(llmos_vec_dot_q5_K_q8_K, llmos_tile_q5_K, Q5_K_TILE)

/* int16 lane 2k of a 128-bit half below, lane 2k + 1 above (both halves the same). */
static inline __m256i pair_lanes(__m256i half, int k)
{
	return _mm256_shuffle_epi8(
		half, _mm256_set_m128i(_mm_set1_epi16((short)(0x0100 * (4 * k + 3) + 4 * k + 2)),
				       _mm_set1_epi16((short)(0x0100 * (4 * k + 1) + 4 * k))));
}

/* Quarter k (0..3) of a 128-value half: 32 six-bit quants 0..63. */
static inline __m256i q6_quarter(__m256i ql0, __m256i ql1, __m256i qh, int k)
{
	const __m256i low4 = _mm256_set1_epi8(0xf), bits45 = _mm256_set1_epi8(0x30);
	__m256i lo = k & 1 ? ql1 : ql0, hi;

	lo = k & 2 ? _mm256_and_si256(_mm256_srli_epi16(lo, 4), low4) : _mm256_and_si256(lo, low4);
	switch (k) {
	case 0: hi = _mm256_slli_epi16(qh, 4); break;
	case 1: hi = _mm256_slli_epi16(qh, 2); break;
	case 2: hi = qh; break;
	default: hi = _mm256_srli_epi16(qh, 2); break;
	}
	return _mm256_or_si256(lo, _mm256_and_si256(hi, bits45));
}

/* Q6_K: one row against nt tokens, each token's float steps those of vec_dot (nt = 1). */
static inline __attribute__((always_inline)) void
q6_K_tile(int n, int nt, float *s, size_t s_stride, const void *vx, const void *vy,
	  size_t y_stride)
{
	const struct block_q6_K *x = vx;
	const __m256i m32 = _mm256_set1_epi8(32);
	__m256 acc[LLMOS_TILE_TOKENS];

#pragma GCC unroll 4
	for (int t = 0; t < nt; t++)
		acc[t] = _mm256_setzero_ps();
	for (int i = 0; i < n / QK_K; i++) {
		const uint8_t *ql = x[i].ql, *qh = x[i].qh;
		__m256i all_sc = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales));
		__m256i sumi[LLMOS_TILE_TOKENS];
		const struct block_q8_K *y[LLMOS_TILE_TOKENS];

		tile_blocks(nt, vy, y_stride, i, y, sumi);
#pragma GCC unroll 2
		for (int h = 0; h < 2; h++, ql += 64, qh += 32) {
			__m256i half_sc = h ? _mm256_permute2x128_si256(all_sc, all_sc, 0x11)
					    : _mm256_permute2x128_si256(all_sc, all_sc, 0x00);
			__m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
			__m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
			__m256i hb = _mm256_loadu_si256((const __m256i *)qh);

#pragma GCC unroll 4 /* k constant: the quarter's shifts and shuffles fold */
			for (int k = 0; k < 4; k++) {
				tile_offset_dots(nt, sumi, y, 128 * h + 32 * k, q6_quarter(l0, l1, hb, k),
						 m32, pair_lanes(half_sc, k));
			}
		}
		tile_scale(nt, acc, sumi, h2f(x[i].d), y);
	}
	store_sums(nt, acc, s, s_stride);
}

#define Q6_K_TILE(k) q6_K_tile(n, k, s, s_stride, vx, vy, y_stride)

DOT_AND_TILE(llmos_vec_dot_q6_K_q8_K, llmos_tile_q6_K, Q6_K_TILE)

/* The 32 nibbles of a 16-byte block: elements 0..15 low, 16..31 high. */
static inline __m256i nibbles32(const uint8_t *qs)
{
	__m128i q = _mm_loadu_si128((const __m128i *)qs);

	return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0xf));
}

/* 0xff in byte j where bit j of the 32-bit qh is set, else 0. */
static inline __m256i fifth_bit_mask(const uint8_t *qhb)
{
	uint32_t qh;
	const __m256i pick = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2,
					      2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
	const __m256i bit = _mm256_set1_epi64x(0x8040201008040201LL);
	__m256i b;

	memcpy(&qh, qhb, sizeof(qh));
	b = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), pick), bit);
	return _mm256_cmpeq_epi8(b, bit);
}

/* 0x10 in byte j where bit j of the 32-bit qh is set. */
static inline __m256i fifth_bits(const uint8_t *qhb)
{
	return _mm256_and_si256(fifth_bit_mask(qhb), _mm256_set1_epi8(16));
}

/* Q5_0's 32 values as signed bytes: the nibble, minus 16 (0xf0 ORed) where the bit is clear. */
static inline __m256i q5_0_values(const struct block_q5_0 *x)
{
	return _mm256_or_si256(nibbles32(x->qs),
			       _mm256_andnot_si256(fifth_bit_mask(x->qh), _mm256_set1_epi8((char)0xf0)));
}

/* Signed bytes x times signed bytes y, summed in pairs then fours: 8 int32. */
static inline __m256i dot_i8(__m256i x, __m256i y)
{
#ifdef __AVX512VNNI__
	return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(x, x),
				   _mm256_sign_epi8(y, x));
#else
	__m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));

	return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
#endif
}

void KQ(llmos_vec_dot_q5_1_q8_1)(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q5_1 *x = vx;
	const struct block_q8_1 *y = vy;
	__m256 acc = _mm256_setzero_ps();
	float mins = 0;

	for (int i = 0; i < n / 32; i++) {
		__m256i q = _mm256_or_si256(nibbles32(x[i].qs), fifth_bits(x[i].qh));
		__m256i p = _mm256_madd_epi16(
			_mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)y[i].qs)),
			_mm256_set1_epi16(1));

		acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f_product(x[i].d, y[i].d)),
				      _mm256_cvtepi32_ps(p), acc);
		mins += h2f(x[i].m) * h2f(y[i].s);
	}
	*s = hsum_ps(acc) + mins;
}

/* Even blocks into one accumulator, odd into another, an odd last block in scalar: ggml's order. */
void KQ(llmos_vec_dot_iq4_nl_q8_0)(int n, float *s, const void *vx, const void *vy)
{
	const struct block_iq4_nl *x = vx;
	const struct block_q8_0 *y = vy;
	const __m256i values = _mm256_setr_epi8(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25,
						38, 53, 69, 89, 113, -127, -104, -83, -65, -49,
						-35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
	__m256 acc[2] = { _mm256_setzero_ps(), _mm256_setzero_ps() };
	int nb = n / 32, i = 0;
	float sum;

	for (; i + 1 < nb; i += 2) {
#pragma GCC unroll 2
		for (int k = 0; k < 2; k++) {
			__m256i q = _mm256_shuffle_epi8(values, nibbles32(x[i + k].qs));
			__m256i p = dot_i8(q, _mm256_loadu_si256((const __m256i *)y[i + k].qs));

			acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(h2f_product(x[i + k].d, y[i + k].d)),
						 _mm256_cvtepi32_ps(p), acc[k]);
		}
	}
	sum = hsum_ps(_mm256_add_ps(acc[0], acc[1]));
	if (i < nb) {
		int sumi = 0;

		for (int j = 0; j < 16; j++)
			sumi += y[i].qs[j] * llmos_iq4nl_values[x[i].qs[j] & 0xf] +
				y[i].qs[j + 16] * llmos_iq4nl_values[x[i].qs[j] >> 4];
		/* ggml's build rounds the product before adding it: keep it unfused */
		sum += llmos_opaque_ps(h2f(x[i].d) * h2f(y[i].d) * (float)sumi);
	}
	*s = sum;
}

/*
 * The 32-value block types with one scale per block (Q8_0, Q5_0, IQ4_NL):
 * llama.cpp sums each (row, token) in one 8-lane FMA chain over the blocks,
 * in its vec_dot for Q8_0 and Q5_0 and in its batches (tinyBLAS) for all
 * three.  A tile keeps those chains in registers: with AVX-512's 32 of them
 * 4 rows x 4 tokens, each block of a row made signed bytes once for the
 * tokens, each token's block loaded once for the rows; with AVX2's 16, one
 * row at a time.  The lane sums are vec_dot's four-product sums: with VNNI
 * the weights' signs reach the activations through mask registers (VPSIGNB
 * has no EVEX form) and VPDPBUSD adds, else VPSIGNB and VPMADDUBSW.
 */
#ifdef __AVX512VNNI__
#define CHAIN_ROWS LLMOS_TILE_ROWS
#else
#define CHAIN_ROWS 1
#endif

static inline __m256i q8_0_block(const void *row, int b)
{
	return _mm256_loadu_si256((const __m256i *)((const struct block_q8_0 *)row)[b].qs);
}

static inline __m256i q5_0_block(const void *row, int b)
{
	return q5_0_values((const struct block_q5_0 *)row + b);
}

static inline __m256i iq4_nl_block(const void *row, int b)
{
	const __m256i values = _mm256_broadcastsi128_si256(
		_mm_loadu_si128((const __m128i *)llmos_iq4nl_values));

	return _mm256_shuffle_epi8(values, nibbles32(((const struct block_iq4_nl *)row)[b].qs));
}

/* The fp16 scale of block b of a row whose blocks are size bytes, d first. */
static inline float block_scale(const void *row, size_t size, int b)
{
	llmos_fp16 d;

	memcpy(&d, (const char *)row + (size_t)b * size, sizeof(d));
	return h2f(d);
}

static inline __attribute__((always_inline)) void
chain_tile(int n, int nr, int nt, float *s, size_t s_stride, const void *vx, size_t x_stride,
	   const void *vy, size_t y_stride, __m256i (*block)(const void *, int), size_t size)
{
	__m256 acc[LLMOS_TILE_TOKENS][CHAIN_ROWS] = { 0 };

	for (int b = 0; b < n / 32; b++) {
		__m256i aw[CHAIN_ROWS] = { 0 }, w[CHAIN_ROWS] = { 0 };
		float dw[CHAIN_ROWS] = { 0 };
#ifdef __AVX512VNNI__
		__mmask32 neg[CHAIN_ROWS] = { 0 };
#endif

#pragma GCC unroll 4
		for (int r = 0; r < nr; r++) {
			const void *row = (const char *)vx + r * x_stride;

			w[r] = block(row, b);
			aw[r] = _mm256_sign_epi8(w[r], w[r]);
#ifdef __AVX512VNNI__
			neg[r] = _mm256_movepi8_mask(w[r]);
#endif
			dw[r] = block_scale(row, size, b);
		}
#pragma GCC unroll 4
		for (int t = 0; t < nt; t++) {
			const struct block_q8_0 *y =
				(const struct block_q8_0 *)((const char *)vy + t * y_stride) + b;
			__m256i a = _mm256_loadu_si256((const __m256i *)y->qs);
			float dy = h2f(y->d);

#pragma GCC unroll 4
			for (int r = 0; r < nr; r++) {
#ifdef __AVX512VNNI__
				__m256i sa = _mm256_mask_sub_epi8(a, neg[r], _mm256_setzero_si256(), a);
				__m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), aw[r], sa);
#else
				__m256i p = _mm256_madd_epi16(
					_mm256_maddubs_epi16(aw[r], _mm256_sign_epi8(a, w[r])),
					_mm256_set1_epi16(1));
#endif

				acc[t][r] = _mm256_fmadd_ps(_mm256_set1_ps(dw[r] * dy),
							    _mm256_cvtepi32_ps(p), acc[t][r]);
			}
		}
	}
#pragma GCC unroll 4
	for (int t = 0; t < nt; t++)
#pragma GCC unroll 4
		for (int r = 0; r < nr; r++)
			s[t * s_stride + r] = hsum_ps(acc[t][r]);
}

/*
 * A type's chain tile, CHAIN_ROWS rows at a time (full CHAIN_ROWS x 4
 * tiles get their own fully unrolled loop), and with nr = nt = 1 its
 * one-token dot where that is llama.cpp's vec_dot (Q8_0, Q5_0).
 */
#define CHAIN_TILE_FN(name, block, xtype)                                                  \
	void KQ(name)(int n, int nr, int nt, float *s, size_t s_stride, const void *vx,    \
		      size_t x_stride, const void *vy, size_t y_stride)                    \
	{                                                                                  \
		for (int r = 0; r < nr; r += CHAIN_ROWS) {                                 \
			const void *x = (const char *)vx + r * x_stride;                   \
			int k = nr - r < CHAIN_ROWS ? nr - r : CHAIN_ROWS;                 \
                                                                                           \
			if (k == CHAIN_ROWS && nt == LLMOS_TILE_TOKENS)                    \
				chain_tile(n, CHAIN_ROWS, LLMOS_TILE_TOKENS, s + r, s_stride, x, \
					   x_stride, vy, y_stride, block, sizeof(xtype));  \
			else                                                               \
				chain_tile(n, k, nt, s + r, s_stride, x, x_stride, vy,     \
					   y_stride, block, sizeof(xtype));                \
		}                                                                          \
	}
#define CHAIN_DOT_FN(name, block, xtype)                                                   \
	void KQ(name)(int n, float *s, const void *vx, const void *vy)                     \
	{                                                                                  \
		chain_tile(n, 1, 1, s, 0, vx, 0, vy, 0, block, sizeof(xtype));             \
	}

CHAIN_TILE_FN(llmos_tile_q8_0, q8_0_block, struct block_q8_0)
CHAIN_TILE_FN(llmos_tile_q5_0, q5_0_block, struct block_q5_0)
CHAIN_TILE_FN(llmos_tile_iq4_nl, iq4_nl_block, struct block_iq4_nl)
CHAIN_DOT_FN(llmos_vec_dot_q8_0_q8_0, q8_0_block, struct block_q8_0)
CHAIN_DOT_FN(llmos_vec_dot_q5_0_q8_0, q5_0_block, struct block_q5_0)

/* Q2_K and Q3_K: the 2-bit fields of bit pair j of a 32-byte group, 0..3. */
static inline __m256i pair_bits(__m256i q, int j)
{
	return _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), _mm256_set1_epi8(3));
}

/* Q2_K: one row against nt tokens; each token's float steps those of vec_dot (nt = 1). */
static inline __attribute__((always_inline)) void
q2_K_tile(int n, int nt, float *s, size_t s_stride, const void *vx, const void *vy,
	  size_t y_stride)
{
	const struct block_q2_K *x = vx;
	__m256 acc[LLMOS_TILE_TOKENS];

#pragma GCC unroll 4
	for (int t = 0; t < nt; t++)
		acc[t] = _mm256_setzero_ps();
	for (int i = 0; i < n / QK_K; i++) {
		__m128i sc = _mm_loadu_si128((const __m128i *)x[i].scales);
		__m256i sumi[LLMOS_TILE_TOKENS];
		const struct block_q8_K *y[LLMOS_TILE_TOKENS];
		__m256i m16 = _mm256_cvtepu8_epi16(_mm_srli_epi16(
			_mm_and_si128(sc, _mm_set1_epi8((char)0xf0)), 4));
		__m256i s16 = _mm256_cvtepu8_epi16(_mm_and_si128(sc, _mm_set1_epi8(0xf)));

		tile_blocks(nt, vy, y_stride, i, y, sumi);
#pragma GCC unroll 4
		for (int t = 0; t < nt; t++) {
			/* ggml adds the mins first, in the same 8-lane accumulator */
			acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(-y[t]->d * h2f(x[i].dmin)),
						 _mm256_cvtepi32_ps(_mm256_madd_epi16(m16,
							_mm256_loadu_si256((const __m256i *)y[t]->bsums))),
						 acc[t]);
		}
#pragma GCC unroll 2
		for (int h = 0; h < 2; h++) {
			__m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * h));
			__m256i half = _mm256_permute2x128_si256(s16, s16, h ? 0x11 : 0x00);

#pragma GCC unroll 4
			for (int j = 0; j < 4; j++) {
				/* scales 8h + 2j and 8h + 2j + 1 for the two 16-value halves */
				__m256i bits = pair_bits(q, j), scl = pair_lanes(half, j);

#pragma GCC unroll 4
				for (int t = 0; t < nt; t++) {
					const int8_t *q8 = y[t]->qs + 128 * h + 32 * j;

					sumi[t] = madd_acc(sumi[t], _mm256_maddubs_epi16(bits,
							   _mm256_loadu_si256((const __m256i *)q8)), scl);
				}
			}
		}
		tile_scale(nt, acc, sumi, h2f(x[i].d), y);
	}
	store_sums(nt, acc, s, s_stride);
}

#define Q2_K_TILE(k) q2_K_tile(n, k, s, s_stride, vx, vy, y_stride)

DOT_AND_TILE(llmos_vec_dot_q2_K_q8_K, llmos_tile_q2_K, Q2_K_TILE)

/* The 16 Q3_K scales (minus 32) as int16 lanes, unpacked in registers. */
static inline __m256i q3_scales16(const uint8_t *packed)
{
	uint32_t a[4], tmp;

	memcpy(a, packed, 12);
	tmp = a[2];
	a[2] = ((a[0] >> 4) & 0x0f0f0f0f) | (((tmp >> 4) & 0x03030303) << 4);
	a[3] = ((a[1] >> 4) & 0x0f0f0f0f) | (((tmp >> 6) & 0x03030303) << 4);
	a[0] = (a[0] & 0x0f0f0f0f) | (((tmp >> 0) & 0x03030303) << 4);
	a[1] = (a[1] & 0x0f0f0f0f) | (((tmp >> 2) & 0x03030303) << 4);
	return _mm256_cvtepi8_epi16(_mm_sub_epi8(_mm_set_epi32((int)a[3], (int)a[2], (int)a[1],
								 (int)a[0]),
						 _mm_set1_epi8(32)));
}

/*
 * Q3_K: the 2-bit field minus 4 where the hmask bit is clear.  One row
 * against nt tokens; each token's float steps those of vec_dot (nt = 1).
 */
static inline __attribute__((always_inline)) void
q3_K_tile(int n, int nt, float *s, size_t s_stride, const void *vx, const void *vy,
	  size_t y_stride)
{
	const struct block_q3_K *x = vx;
	const __m256i four = _mm256_set1_epi8(4);
	__m256 acc[LLMOS_TILE_TOKENS];

#pragma GCC unroll 4
	for (int t = 0; t < nt; t++)
		acc[t] = _mm256_setzero_ps();
	for (int i = 0; i < n / QK_K; i++) {
		__m256i hm = _mm256_loadu_si256((const __m256i *)x[i].hmask);
		__m256i all = q3_scales16(x[i].scales);
		__m256i sumi[LLMOS_TILE_TOKENS];
		const struct block_q8_K *y[LLMOS_TILE_TOKENS];

		tile_blocks(nt, vy, y_stride, i, y, sumi);
#pragma GCC unroll 2
		for (int h = 0; h < 2; h++) {
			__m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * h));
			__m256i half = _mm256_permute2x128_si256(all, all, h ? 0x11 : 0x00);

#pragma GCC unroll 4
			for (int j = 0; j < 4; j++) {
				__m256i bit = _mm256_set1_epi8((char)(1 << (4 * h + j)));
				__m256i off = _mm256_and_si256(
					_mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), _mm256_setzero_si256()),
					four);
				tile_offset_dots(nt, sumi, y, 128 * h + 32 * j, pair_bits(q, j), off,
						 pair_lanes(half, j));
			}
		}
		tile_scale(nt, acc, sumi, h2f(x[i].d), y);
	}
	store_sums(nt, acc, s, s_stride);
}

#define Q3_K_TILE(k) q3_K_tile(n, k, s, s_stride, vx, vy, y_stride)

DOT_AND_TILE(llmos_vec_dot_q3_K_q8_K, llmos_tile_q3_K, Q3_K_TILE)
