// SPDX-License-Identifier: GPL-2.0
/*
 * llmos_vnpu_dot.c - the virtual NPU's arithmetic, built with the FPU
 * enabled (Kbuild) and called only between kernel_fpu_begin() and
 * kernel_fpu_end() (kernel_neon_* on arm64).  Each dot is int8 x int8
 * summed in int32 per four values, then scaled and accumulated in float in
 * exactly the order of libllmos's one-token CPU kernels (the order of
 * llama.cpp's x86 vec_dot): eight lanes of fused multiply-adds, summed
 * pairwise at the end.  So the device's results equal the CPU's bit for bit
 * (tests/unit/test_vnpu_dot.c builds this file on the host to check that).
 */
#include <linux/types.h>
#include <linux/unaligned.h>
#include <uapi/linux/llmos.h>

#include "llmos_npu_matmul.h"

#define QK 32
#define Q8_0_BYTES 34
#define Q4_0_BYTES 18
#define LANES 8

/* IEEE half to single; exact for every value, subnormals included. */
static float fp16_to_f32(u16 h)
{
	u32 sign = (u32)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
	union {
		u32 u;
		float f;
	} v;

	if (exp == 0) {
		float f = (float)mant * 0x1p-24f;

		return sign ? -f : f;
	}
	v.u = sign | (exp == 31 ? 0x7f800000u : (exp + 112) << 23) | mant << 13;
	return v.f;
}

/* ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)), as the SIMD reduction. */
static float hsum_lanes(const float *a)
{
	float s0 = a[0] + a[4], s1 = a[1] + a[5], s2 = a[2] + a[6], s3 = a[3] + a[7];

	return (s0 + s2) + (s1 + s3);
}

/* Q8_0 weights: one chain of eight lanes. */
static float dot_q8_0(const u8 *w, const u8 *x, u32 nb)
{
	float acc[LANES] = { 0 };
	u32 b;
	int l;

	for (b = 0; b < nb; b++, w += Q8_0_BYTES, x += Q8_0_BYTES) {
		float d = fp16_to_f32(get_unaligned_le16(w)) * fp16_to_f32(get_unaligned_le16(x));
		const s8 *qw = (const s8 *)(w + 2), *qx = (const s8 *)(x + 2);

		for (l = 0; l < LANES; l++) {
			const s8 *a = qw + 4 * l, *y = qx + 4 * l;
			int s = a[0] * y[0] + a[1] * y[1] + a[2] * y[2] + a[3] * y[3];

			acc[l] = __builtin_fmaf(d, (float)s, acc[l]);
		}
	}
	return hsum_lanes(acc);
}

/* Value j (0..31) of a Q4_0 block's nibbles, unbiased. */
static int q4_0_value(const u8 *qs, int j)
{
	return (j < QK / 2 ? qs[j] & 0xf : qs[j - QK / 2] >> 4) - 8;
}

/* Q4_0 weights: two chains, even blocks and odd blocks, added at the end. */
static float dot_q4_0(const u8 *w, const u8 *x, u32 nb)
{
	float acc[2][LANES] = { { 0 } }, sum[LANES];
	u32 b;
	int l, j;

	for (b = 0; b < nb; b++, w += Q4_0_BYTES, x += Q8_0_BYTES) {
		float d = fp16_to_f32(get_unaligned_le16(w)) * fp16_to_f32(get_unaligned_le16(x));
		const s8 *qx = (const s8 *)(x + 2);

		for (l = 0; l < LANES; l++) {
			int s = 0;

			for (j = 4 * l; j < 4 * l + 4; j++)
				s += q4_0_value(w + 2, j) * qx[j];
			acc[b & 1][l] = __builtin_fmaf(d, (float)s, acc[b & 1][l]);
		}
	}
	for (l = 0; l < LANES; l++)
		sum[l] = acc[0][l] + acc[1][l];
	return hsum_lanes(sum);
}

/* Rows [r0, r1) of one MATMUL against its token t. */
void llmos_vnpu_matmul_rows(const struct llmos_npu_matmul *op, u32 r0, u32 r1, u32 t)
{
	float (*dot)(const u8 *, const u8 *, u32) =
		op->wtype == LLMOS_NPU_TYPE_Q4_0 ? dot_q4_0 : dot_q8_0;
	const u8 *x = op->x + t * op->x_stride;
	float *out = op->out + t * op->out_stride;
	u32 nb = op->cols / QK, r;

	for (r = r0; r < r1; r++)
		out[r] = dot(op->w + r * op->w_stride, x, nb);
}
