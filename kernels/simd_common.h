/* SPDX-License-Identifier: MIT */
/*
 * simd_common.h - constants and helpers shared by the AVX2 and AVX-512
 * kernel files (no intrinsics here, so either file can include it).
 */
#ifndef LLMOS_SIMD_COMMON_H
#define LLMOS_SIMD_COMMON_H

/*
 * Hide a value (vector or scalar float) from the optimiser so a product
 * stays rounded: GCC would otherwise fuse it into a following add (FMA)
 * where ggml's build does not.
 */
#define llmos_opaque_ps(v)                     \
	({                                     \
		__typeof__(v) opaque_v_ = (v); \
		__asm__("" : "+v"(opaque_v_)); \
		opaque_v_;                     \
	})

#endif /* LLMOS_SIMD_COMMON_H */
