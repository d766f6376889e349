/* SPDX-License-Identifier: MIT */
/*
 * kernels_dotprod.c - arm64 kernels for the dot-product extension
 * (armv8.2-a+dotprod, chosen at run time by HWCAP_ASIMDDP): the integer
 * dots of neon_qdot.h with SDOT making each lane's four-product sum.  The
 * float kernels are the NEON level's, inherited.  Where the CPU also has
 * i8mm, the Q8_0 and Q4_0 tiles are kernels_i8mm.c's.
 */
#include <arm_neon.h>

static inline int32x4_t lanes4(int8x16_t a, int8x16_t b)
{
	return vdotq_s32(vdupq_n_s32(0), a, b);
}

#include "neon_qdot.h"
#include "neon_kquants.h"

void llmos_kernels_fill_dotprod(struct llmos_kernel_ops *ops, bool has_i8mm)
{
	neon_qdot_fill(ops);
	neon_kquants_fill(ops);
	if (has_i8mm)
		llmos_tiles_fill_i8mm(ops);
}
