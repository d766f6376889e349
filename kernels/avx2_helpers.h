/* SPDX-License-Identifier: MIT */
/*
 * avx2_helpers.h - small AVX2 helpers shared by the files compiled for
 * AVX2 (kernels_avx2.c, kquants_avx2.c).  Include only from those.
 */
#ifndef LLMOS_AVX2_HELPERS_H
#define LLMOS_AVX2_HELPERS_H

#include <immintrin.h>

/* The sum of 8 lanes: halves, then pairs, then the last two. */
static inline float hsum_ps(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

#endif /* LLMOS_AVX2_HELPERS_H */
