/* SPDX-License-Identifier: MIT */
/*
 * tile_avx512.c - row-tile dots for Q4_0 weights against packed
 * activations (struct llmos_block_q8x8), with AVX-512 VNNI on 256-bit
 * registers.  Per group of 8 blocks a weight row is unpacked once into
 * registers holding the same half of two blocks, then dotted with up to
 * LLMOS_TILE_TOKENS tokens: VPDPBUSD takes the weights as unsigned bytes
 * (nibbles 0..15) and the activations as signed; three
 * VPHADDD fold the eight blocks into one lane each; the precomputed block
 * sums of the activations take off the offset (8 times the sum);
 * then the eight block scales are applied with one multiply and one FMA.
 */
#include <immintrin.h>

#include "kernels_impl.h"

#define INLINE static inline __attribute__((always_inline))

INLINE float hsum256_ps(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

INLINE __m256i load_pair16(const int8_t *a, const int8_t *b)
{
	return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)a)),
				       _mm_loadu_si128((const __m128i *)b), 1);
}

INLINE uint16_t load_u16(const void *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The fp16 scales of 8 blocks stride bytes apart, in llmos_x8_order. */
INLINE __m256 scales_x8(const char *p, size_t stride)
{
	__m128i h = _mm_cvtsi32_si128(load_u16(p));

	h = _mm_insert_epi16(h, load_u16(p + 2 * stride), 1);
	h = _mm_insert_epi16(h, load_u16(p + 4 * stride), 2);
	h = _mm_insert_epi16(h, load_u16(p + 6 * stride), 3);
	h = _mm_insert_epi16(h, load_u16(p + 1 * stride), 4);
	h = _mm_insert_epi16(h, load_u16(p + 3 * stride), 5);
	h = _mm_insert_epi16(h, load_u16(p + 5 * stride), 6);
	h = _mm_insert_epi16(h, load_u16(p + 7 * stride), 7);
	return _mm256_cvtph_ps(h);
}

/* One token: the group's 8 block dots (weights w[] as lo/hi pairs), scaled into acc. */
INLINE __m256 group_dot(const __m256i *w, const struct llmos_block_q8x8 *y, __m256 dx,
			int shift, __m256 acc)
{
	__m256i p[4];

	for (int j = 0; j < 4; j++) {
		__m256i ylo = _mm256_loadu_si256((const __m256i *)y->qs[j]);
		__m256i yhi = _mm256_loadu_si256((const __m256i *)(y->qs[j] + 32));

		p[j] = _mm256_dpbusd_epi32(_mm256_setzero_si256(), w[2 * j], ylo);
		p[j] = _mm256_dpbusd_epi32(p[j], w[2 * j + 1], yhi);
	}
	__m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
	__m256i off = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)y->sum), shift);
	__m256 d = _mm256_mul_ps(dx, _mm256_loadu_ps(y->d));

	return _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(h, off)), d, acc);
}

/* Nibbles of blocks 2j and 2j+1: w[2j] = low halves, w[2j+1] = high halves. */
INLINE void unpack_q4_0(const struct block_q4_0 *x, __m256i *w)
{
	const __m256i m = _mm256_set1_epi8(0x0f);

	for (int j = 0; j < 4; j++) {
		__m256i v = load_pair16((const int8_t *)x[2 * j].qs, (const int8_t *)x[2 * j + 1].qs);

		w[2 * j] = _mm256_and_si256(v, m);
		w[2 * j + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m);
	}
}

/* nt tokens (a compile-time constant after inlining) for one weight row. */
#define TILE_BODY(xtype, unpack, shift)                                                   \
	const xtype *x = vx;                                                              \
	__m256 acc[LLMOS_TILE_TOKENS];                                                    \
                                                                                          \
	for (int t = 0; t < nt; t++)                                                      \
		acc[t] = _mm256_setzero_ps();                                             \
	for (int g = 0; g < n / LLMOS_QK_X8; g++) {                                       \
		__m256i w[8];                                                             \
		__m256 dx = scales_x8((const char *)&x[g * 8].d, sizeof(xtype));          \
                                                                                          \
		unpack(&x[g * 8], w);                                                     \
		for (int t = 0; t < nt; t++) {                                            \
			const struct llmos_block_q8x8 *y =                                \
				(const void *)((const char *)vy + t * y_stride);          \
			acc[t] = group_dot(w, &y[g], dx, shift, acc[t]);                  \
		}                                                                         \
	}                                                                                 \
	for (int t = 0; t < nt; t++)                                                      \
		s[t * s_stride] = hsum256_ps(acc[t]);

INLINE void q4_0_tile(int n, int nt, float *s, size_t s_stride, const void *vx,
		      const void *vy, size_t y_stride)
{
	TILE_BODY(struct block_q4_0, unpack_q4_0, 3)
}

/* Dispatch on nt so each tile size gets its own unrolled loop. */
#define TILE_DOT(name, tile)                                                              \
	static void name(int n, int nt, float *s, size_t s_stride, const void *x,        \
			 const void *y, size_t y_stride)                                 \
	{                                                                                 \
		switch (nt) {                                                             \
		case 1:                                                                   \
			tile(n, 1, s, s_stride, x, y, y_stride);                          \
			break;                                                            \
		case 2:                                                                   \
			tile(n, 2, s, s_stride, x, y, y_stride);                          \
			break;                                                            \
		case 3:                                                                   \
			tile(n, 3, s, s_stride, x, y, y_stride);                          \
			break;                                                            \
		default:                                                                  \
			tile(n, 4, s, s_stride, x, y, y_stride);                          \
			break;                                                            \
		}                                                                         \
	}

TILE_DOT(tile_dot_q4_0, q4_0_tile)

void llmos_tiles_fill_avx512(struct llmos_kernel_ops *ops)
{
	ops->tile_dot[LLMOS_TYPE_Q4_0] = tile_dot_q4_0;
}
