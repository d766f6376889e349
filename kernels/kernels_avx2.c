/* SPDX-License-Identifier: MIT */
/*
 * kernels_avx2.c - AVX2 + FMA + F16C kernels (placeholder, filled next).
 */
#include <immintrin.h>

#include "kernels_impl.h"

void llmos_kernels_fill_avx2(struct llmos_kernel_ops *ops)
{
	(void)ops;
}
