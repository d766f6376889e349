/* SPDX-License-Identifier: MIT */
/*
 * neon_qdot.h - the arm64 dots of the 32-value block types (Q4_0, Q4_1,
 * Q5_0, Q5_1, Q8_0, Q8_1, IQ4_NL weights) with Q8_0/Q8_1 activations, and
 * the row tiles of Q8_0, Q5_0 and IQ4_NL, in the float order of the x86
 * kernels (kernels_avx2.c, kquants_avx2.c): per block, eight int32 lanes of
 * four products each, scaled by the product of the two fp16 scales with
 * fused multiply-adds into eight float lanes (two float32x4), summed
 * pairwise at the end.  So arm64 gives the x86 results bit for bit.
 * Included by kernels_neon.c and kernels_dotprod.c, each defining
 * lanes4(): the four-product sums of a 16-byte half, by widening
 * multiplies or by SDOT.  Integer sums are exact, so only the float steps
 * need to follow x86.
 */
#ifndef LLMOS_NEON_QDOT_H
#define LLMOS_NEON_QDOT_H

#include <arm_neon.h>
#include <math.h>

#include "kernels_impl.h"

/*
 * Keep a float product rounded: GCC would otherwise fuse it into a
 * following add where the x86 build does not.
 */
#define neon_opaque(v)                         \
	({                                     \
		__typeof__(v) opaque_v_ = (v); \
		__asm__("" : "+w"(opaque_v_)); \
		opaque_v_;                     \
	})

/* ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)), as the x86 reduction. */
static inline float hsum8(float32x4_t lo, float32x4_t hi)
{
	float32x4_t s = vaddq_f32(lo, hi);
	float32x2_t t = vadd_f32(vget_low_f32(s), vget_high_f32(s));

	return vget_lane_f32(t, 0) + vget_lane_f32(t, 1);
}

/* acc += d * lanes, fused, as _mm256_fmadd_ps(set1(d), lanes, acc). */
static inline float32x4_t scaled(float32x4_t acc, int32x4_t lanes, float d)
{
	return vfmaq_f32(acc, vcvtq_f32_s32(lanes), vdupq_n_f32(d));
}

static inline float h2f(llmos_fp16 h)
{
	return llmos_fp16_to_fp32_inline(h);
}

static inline float block_d(llmos_fp16 a, llmos_fp16 b)
{
	return h2f(a) * h2f(b);
}

/* acc[0..1] += d * (w . y) over one block: w's 32 values (halves), y's 32 int8. */
static inline void fma_block(float32x4_t acc[2], int8x16x2_t w, const int8_t *y, float d)
{
	acc[0] = scaled(acc[0], lanes4(w.val[0], vld1q_s8(y)), d);
	acc[1] = scaled(acc[1], lanes4(w.val[1], vld1q_s8(y + 16)), d);
}

/* The sum of two eight-lane accumulators (even and odd blocks), reduced. */
static inline float hsum_pair(float32x4_t acc[2][2])
{
	return hsum8(vaddq_f32(acc[0][0], acc[1][0]), vaddq_f32(acc[0][1], acc[1][1]));
}

#define ACC_ZERO { vdupq_n_f32(0), vdupq_n_f32(0) }

/* ---- block values: the 32 weights of a block as int8, elements 0..15 and 16..31 ---- */

/* The 32 nibbles of 16 bytes: low ones are elements 0..15, high ones 16..31. */
static inline int8x16x2_t nibbles(const uint8_t *qs)
{
	uint8x16_t q = vld1q_u8(qs);
	int8x16x2_t v = { { vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0xf))),
			    vreinterpretq_s8_u8(vshrq_n_u8(q, 4)) } };

	return v;
}

/* 0xff in byte j (of 32) where bit j of the little-endian qh is set, else 0. */
static inline uint8x16x2_t fifth_bit_mask(const uint8_t *qhb)
{
	const uint8x16_t bit = vreinterpretq_u8_u64(vdupq_n_u64(0x8040201008040201ull));
	uint32_t qh;

	memcpy(&qh, qhb, sizeof(qh));
	uint8x8_t b = vcreate_u8(qh);
	uint8x16x2_t m = { { vtstq_u8(vcombine_u8(vdup_lane_u8(b, 0), vdup_lane_u8(b, 1)), bit),
			     vtstq_u8(vcombine_u8(vdup_lane_u8(b, 2), vdup_lane_u8(b, 3)), bit) } };

	return m;
}

static inline int8x16x2_t q4_0_values(const struct block_q4_0 *x)
{
	int8x16x2_t v = nibbles(x->qs);

	v.val[0] = vsubq_s8(v.val[0], vdupq_n_s8(8));
	v.val[1] = vsubq_s8(v.val[1], vdupq_n_s8(8));
	return v;
}

/* Q5_0: the nibble, minus 16 (0xf0 ORed in) where the fifth bit is clear. */
static inline int8x16x2_t q5_0_values(const struct block_q5_0 *x)
{
	int8x16x2_t v = nibbles(x->qs);
	uint8x16x2_t m = fifth_bit_mask(x->qh);

	for (int h = 0; h < 2; h++)
		v.val[h] = vorrq_s8(v.val[h], vreinterpretq_s8_u8(vbicq_u8(vdupq_n_u8(0xf0),
									  m.val[h])));
	return v;
}

/* Q5_1: the nibble, plus 16 where the fifth bit is set (0..31). */
static inline int8x16x2_t q5_1_values(const struct block_q5_1 *x)
{
	int8x16x2_t v = nibbles(x->qs);
	uint8x16x2_t m = fifth_bit_mask(x->qh);

	for (int h = 0; h < 2; h++)
		v.val[h] = vorrq_s8(v.val[h], vreinterpretq_s8_u8(vandq_u8(m.val[h],
									   vdupq_n_u8(16))));
	return v;
}

static inline int8x16x2_t iq4_nl_values(const struct block_iq4_nl *x)
{
	const int8x16_t levels = vld1q_s8(llmos_iq4nl_values);
	int8x16x2_t v = nibbles(x->qs);

	v.val[0] = vqtbl1q_s8(levels, vreinterpretq_u8_s8(v.val[0]));
	v.val[1] = vqtbl1q_s8(levels, vreinterpretq_u8_s8(v.val[1]));
	return v;
}

static inline int8x16x2_t q8_values(const int8_t *qs)
{
	int8x16x2_t v = { { vld1q_s8(qs), vld1q_s8(qs + 16) } };

	return v;
}

/* ---- two accumulators, even blocks and odd (kernels_avx2.c's Q4_0, Q4_1, Q8_1) ---- */

static void vec_dot_q4_0_q8_0(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_0 *x = vx;
	const struct block_q8_0 *y = vy;
	float32x4_t acc[2][2] = { ACC_ZERO, ACC_ZERO };

	for (int i = 0; i < n / QK4_0; i++)
		fma_block(acc[i & 1], q4_0_values(&x[i]), y[i].qs, block_d(x[i].d, y[i].d));
	*s = hsum_pair(acc);
}

/* Q8_1 weights with Q8_0 activations (not in ggml; s unused). */
static void vec_dot_q8_1_q8_0(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q8_1 *x = vx;
	const struct block_q8_0 *y = vy;
	float32x4_t acc[2][2] = { ACC_ZERO, ACC_ZERO };

	for (int i = 0; i < n / QK8_1; i++)
		fma_block(acc[i & 1], q8_values(x[i].qs), y[i].qs, block_d(x[i].d, y[i].d));
	*s = hsum_pair(acc);
}

/*
 * The mins times Q8_1's sums as the x86 build computes them: GCC contracts
 * kernels_avx2.c's summs += m0 s0 + m1 s1 into fma(m0, s0, round(m1 s1))
 * added to summs, and a last odd block's m s into one fma with summs.
 */
static void vec_dot_q4_1_q8_1(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_1 *x = vx;
	const struct block_q8_1 *y = vy;
	float32x4_t acc[2][2] = { ACC_ZERO, ACC_ZERO };
	float summs = 0.0f;
	int nb = n / QK4_1, i = 0;

	for (; i + 1 < nb; i += 2) {
		float m1s1 = neon_opaque(h2f(x[i + 1].m) * h2f(y[i + 1].s));

		summs += fmaf(h2f(x[i].m), h2f(y[i].s), m1s1);
		fma_block(acc[0], nibbles(x[i].qs), y[i].qs, block_d(x[i].d, y[i].d));
		fma_block(acc[1], nibbles(x[i + 1].qs), y[i + 1].qs, block_d(x[i + 1].d, y[i + 1].d));
	}
	if (i < nb) {
		summs = fmaf(h2f(x[i].m), h2f(y[i].s), summs);
		fma_block(acc[0], nibbles(x[i].qs), y[i].qs, block_d(x[i].d, y[i].d));
	}
	*s = hsum_pair(acc) + summs;
}

/* Even and odd blocks; an odd last block in scalar, its product unfused (ggml's order). */
static void vec_dot_iq4_nl_q8_0(int n, float *s, const void *vx, const void *vy)
{
	const struct block_iq4_nl *x = vx;
	const struct block_q8_0 *y = vy;
	float32x4_t acc[2][2] = { ACC_ZERO, ACC_ZERO };
	int nb = n / 32, i;
	float sum;

	for (i = 0; i < (nb & ~1); i++)
		fma_block(acc[i & 1], iq4_nl_values(&x[i]), y[i].qs, block_d(x[i].d, y[i].d));
	sum = hsum_pair(acc);
	if (i < nb) {
		int8x16x2_t w = iq4_nl_values(&x[i]);
		int32x4_t p = vaddq_s32(lanes4(w.val[0], vld1q_s8(y[i].qs)),
					lanes4(w.val[1], vld1q_s8(y[i].qs + 16)));

		sum += neon_opaque(block_d(x[i].d, y[i].d) * (float)vaddvq_s32(p));
	}
	*s = sum;
}

/* ---- one accumulator ---- */

static void vec_dot_q5_1_q8_1(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q5_1 *x = vx;
	const struct block_q8_1 *y = vy;
	float32x4_t acc[2] = ACC_ZERO;
	float mins = 0;

	for (int i = 0; i < n / 32; i++) {
		fma_block(acc, q5_1_values(&x[i]), y[i].qs, block_d(x[i].d, y[i].d));
		mins = fmaf(h2f(x[i].m), h2f(y[i].s), mins);
	}
	*s = hsum8(acc[0], acc[1]) + mins;
}

/*
 * The types with one scale per block and signed values (Q8_0, Q5_0,
 * IQ4_NL): each (row, token) one eight-lane FMA chain over the blocks, as
 * kquants_avx2.c's chain_tile, which is vec_dot's order for Q8_0 and Q5_0
 * and llama.cpp's batch order for all three.  A tile takes one row at a
 * time, its block values made once for all the tokens.
 */
static inline int8x16x2_t q8_0_block(const void *row, int b)
{
	return q8_values(((const struct block_q8_0 *)row)[b].qs);
}

static inline int8x16x2_t q5_0_block(const void *row, int b)
{
	return q5_0_values((const struct block_q5_0 *)row + b);
}

static inline int8x16x2_t iq4_nl_block(const void *row, int b)
{
	return iq4_nl_values((const struct block_iq4_nl *)row + b);
}

/* The fp16 scale of block b of a row whose blocks are size bytes, d first. */
static inline float block_scale(const void *row, size_t size, int b)
{
	llmos_fp16 d;

	memcpy(&d, (const char *)row + (size_t)b * size, sizeof(d));
	return h2f(d);
}

/* s[t * s_stride] = the chain of row x with token t, for t < nt. */
static inline __attribute__((always_inline)) void
chain_row(int n, int nt, float *s, size_t s_stride, const void *x, const void *vy,
	  size_t y_stride, int8x16x2_t (*block)(const void *, int), size_t size)
{
	float32x4_t acc[LLMOS_TILE_TOKENS][2] = { 0 };

	for (int b = 0; b < n / 32; b++) {
		int8x16x2_t w = block(x, b);
		float dw = block_scale(x, size, b);

#pragma GCC unroll 4
		for (int t = 0; t < nt; t++) {
			const struct block_q8_0 *y =
				(const struct block_q8_0 *)((const char *)vy + t * y_stride) + b;

			fma_block(acc[t], w, y->qs, dw * h2f(y->d));
		}
	}
#pragma GCC unroll 4
	for (int t = 0; t < nt; t++)
		s[t * s_stride] = hsum8(acc[t][0], acc[t][1]);
}

/* nr rows, one at a time; a full set of tokens gets its own unrolled loop. */
static inline __attribute__((always_inline)) void
chain_tile(int n, int nr, int nt, float *s, size_t s_stride, const void *vx, size_t x_stride,
	   const void *vy, size_t y_stride, int8x16x2_t (*block)(const void *, int), size_t size)
{
	for (int r = 0; r < nr; r++, vx = (const char *)vx + x_stride, s++) {
		if (nt == LLMOS_TILE_TOKENS)
			chain_row(n, LLMOS_TILE_TOKENS, s, s_stride, vx, vy, y_stride, block, size);
		else
			chain_row(n, nt, s, s_stride, vx, vy, y_stride, block, size);
	}
}

static void vec_dot_q8_0_q8_0(int n, float *s, const void *vx, const void *vy)
{
	chain_row(n, 1, s, 0, vx, vy, 0, q8_0_block, sizeof(struct block_q8_0));
}

static void vec_dot_q5_0_q8_0(int n, float *s, const void *vx, const void *vy)
{
	chain_row(n, 1, s, 0, vx, vy, 0, q5_0_block, sizeof(struct block_q5_0));
}

static void tile_q8_0(LLMOS_TILE_ROWS_PARAMS)
{
	chain_tile(n, nr, nt, s, s_stride, vx, x_stride, vy, y_stride, q8_0_block,
		   sizeof(struct block_q8_0));
}

static void tile_q5_0(LLMOS_TILE_ROWS_PARAMS)
{
	chain_tile(n, nr, nt, s, s_stride, vx, x_stride, vy, y_stride, q5_0_block,
		   sizeof(struct block_q5_0));
}

static void tile_iq4_nl(LLMOS_TILE_ROWS_PARAMS)
{
	chain_tile(n, nr, nt, s, s_stride, vx, x_stride, vy, y_stride, iq4_nl_block,
		   sizeof(struct block_iq4_nl));
}

/* Put these dots and tiles into a level's table. */
static inline void neon_qdot_fill(struct llmos_kernel_ops *ops)
{
	struct llmos_type_traits *t = ops->traits;

	t[LLMOS_TYPE_Q4_0].vec_dot = vec_dot_q4_0_q8_0;
	t[LLMOS_TYPE_Q4_1].vec_dot = vec_dot_q4_1_q8_1;
	t[LLMOS_TYPE_Q5_0].vec_dot = vec_dot_q5_0_q8_0;
	t[LLMOS_TYPE_Q5_1].vec_dot = vec_dot_q5_1_q8_1;
	t[LLMOS_TYPE_Q8_0].vec_dot = vec_dot_q8_0_q8_0;
	t[LLMOS_TYPE_Q8_1].vec_dot = vec_dot_q8_1_q8_0;
	t[LLMOS_TYPE_IQ4_NL].vec_dot = vec_dot_iq4_nl_q8_0;
	ops->tile_rows[LLMOS_TYPE_Q8_0] = tile_q8_0;
	ops->tile_rows[LLMOS_TYPE_Q5_0] = tile_q5_0;
	ops->tile_rows[LLMOS_TYPE_IQ4_NL] = tile_iq4_nl;
}

#endif /* LLMOS_NEON_QDOT_H */
