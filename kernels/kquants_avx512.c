/* SPDX-License-Identifier: MIT */
/*
 * kquants_avx512.c - the K-quant kernels of kquants_avx2.c compiled for the
 * AVX-512 level: with VNNI, VPDPWSSD adds each scaled pair sum in one
 * instruction, and 32 vector registers hold a tile's accumulators.  Same
 * integer sums and float steps, so the same results to the bit.
 */
#define KQ(name) name##_avx512
#include "kquants_avx2.c"
