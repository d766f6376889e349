/* SPDX-License-Identifier: MIT */
/*
 * kernels_dotprod.c - arm64 kernels for the dot-product extension
 * (armv8.2-a+dotprod, chosen at run time by HWCAP_ASIMDDP): the Q8_0 and
 * Q4_0 dots of neon_qdot.h with SDOT making each lane's four-product sum.
 */
#include <arm_neon.h>

static inline int32x4_t lanes4(int8x16_t a, int8x16_t b)
{
	return vdotq_s32(vdupq_n_s32(0), a, b);
}

#include "neon_qdot.h"

void llmos_kernels_fill_dotprod(struct llmos_kernel_ops *ops)
{
	ops->traits[LLMOS_TYPE_Q8_0].vec_dot = vec_dot_q8_0_q8_0;
	ops->traits[LLMOS_TYPE_Q4_0].vec_dot = vec_dot_q4_0_q8_0;
}
