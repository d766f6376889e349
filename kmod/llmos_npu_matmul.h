/* SPDX-License-Identifier: GPL-2.0 */
/*
 * llmos_npu_matmul.h - one MATMUL as a backend sees it, and the virtual
 * NPU's arithmetic on it.  It needs only <linux/types.h>, so that the host
 * unit tests build llmos_vnpu_dot.c too (tests/unit/test_vnpu_dot.c).
 */
#ifndef LLMOS_NPU_MATMUL_H
#define LLMOS_NPU_MATMUL_H

#include <linux/types.h>

/*
 * struct llmos_npu_matmul - kernel addresses, already checked against the
 * memory they lie in.  out[t * out_stride + r] = dot(w + r * w_stride,
 * x + t * x_stride), over cols values; out_stride counts floats.
 */
struct llmos_npu_matmul {
	u32 wtype;            /* LLMOS_NPU_TYPE_Q8_0 or _Q4_0 */
	u32 rows, cols, n_tokens;
	const u8 *w;
	size_t w_stride;
	const u8 *x;          /* Q8_0 */
	size_t x_stride;
	float *out;
	size_t out_stride;
};

/* llmos_vnpu_dot.c: rows [r0, r1) against token t, between kernel_fpu_begin() and _end(). */
void llmos_vnpu_matmul_rows(const struct llmos_npu_matmul *op, u32 r0, u32 r1, u32 t);

#endif /* LLMOS_NPU_MATMUL_H */
