/* SPDX-License-Identifier: MIT */
/*
 * kernels_avx512.c - AVX-512 (F/BW/VL/DQ + VNNI, BF16 when present) kernels
 * (placeholder, filled next).
 */
#include <immintrin.h>

#include "kernels_impl.h"

void llmos_kernels_fill_avx512(struct llmos_kernel_ops *ops, bool has_bf16)
{
	(void)ops;
	(void)has_bf16;
}
