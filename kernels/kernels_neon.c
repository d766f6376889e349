/* SPDX-License-Identifier: MIT */
/*
 * kernels_neon.c - arm64 Advanced SIMD kernels (every armv8-a CPU): the
 * Q8_0 and Q4_0 dots of neon_qdot.h, their four-product lane sums made by
 * widening multiplies and pairwise adds.  Other kernels stay the scalar
 * ones at this level.
 */
#include <arm_neon.h>

/* Sums of bytes 0-3, 4-7, 8-11, 12-15 of a * b (products fit int16). */
static inline int32x4_t lanes4(int8x16_t a, int8x16_t b)
{
	int32x4_t lo = vpaddlq_s16(vmull_s8(vget_low_s8(a), vget_low_s8(b)));
	int32x4_t hi = vpaddlq_s16(vmull_high_s8(a, b));

	return vpaddq_s32(lo, hi);
}

#include "neon_qdot.h"

void llmos_kernels_fill_neon(struct llmos_kernel_ops *ops)
{
	ops->traits[LLMOS_TYPE_Q8_0].vec_dot = vec_dot_q8_0_q8_0;
	ops->traits[LLMOS_TYPE_Q4_0].vec_dot = vec_dot_q4_0_q8_0;
}
