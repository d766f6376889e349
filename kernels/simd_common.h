/* SPDX-License-Identifier: MIT */
/*
 * simd_common.h - constants and helpers shared by the AVX2 and AVX-512
 * kernel files (no intrinsics here, so either file can include it).
 */
#ifndef LLMOS_SIMD_COMMON_H
#define LLMOS_SIMD_COMMON_H

/* expf: x = n ln2 + r, e^r by the Cephes polynomial, then scaled by 2^n. */
#define LLMOS_EXP_HI 88.3762626647949f   /* largest x with 2^n finite */
#define LLMOS_EXP_LO -87.3365447504f     /* below this, e^x is taken as 0 */
#define LLMOS_LOG2E 1.44269504088896341f
#define LLMOS_LN2_HI 0.693359375f
#define LLMOS_LN2_LO -2.12194440e-4f
#define LLMOS_EXP_P0 1.9875691500e-4f
#define LLMOS_EXP_P1 1.3981999507e-3f
#define LLMOS_EXP_P2 8.3334519073e-3f
#define LLMOS_EXP_P3 4.1665795894e-2f
#define LLMOS_EXP_P4 1.6666665459e-1f
#define LLMOS_EXP_P5 5.0000001201e-1f

/*
 * Hide a vector from the optimiser so a product stays rounded: GCC would
 * otherwise fuse it into a following add (FMA), and the quantizers must
 * round exactly as the scalar code does.
 */
#define llmos_opaque_ps(v)                     \
	({                                     \
		__typeof__(v) opaque_v_ = (v); \
		__asm__("" : "+v"(opaque_v_)); \
		opaque_v_;                     \
	})

#endif /* LLMOS_SIMD_COMMON_H */
