/* SPDX-License-Identifier: MIT */
/*
 * neon_kquants_unpack.h - one K-quant super-block (Q2_K..Q6_K) unpacked with
 * NEON into a common form: 256 signed byte values, an integer scale (and
 * min) per group of 16, the fp16 scales as floats.  neon_kquants.h sums
 * that form against Q8_K activations; a tile unpacks each block once for
 * all its tokens.
 */
#ifndef LLMOS_NEON_KQUANTS_UNPACK_H
#define LLMOS_NEON_KQUANTS_UNPACK_H

#include <arm_neon.h>
#include <string.h>

#include "kernels_impl.h"

/*
 * A super-block as values q (group g: values 16g..16g+15) with scale sc[g]:
 * the block's integer dot is sum_g sc[g] * (q[g] . a[g]).  min[g] is the
 * min that multiplies Q8_K's bsums[g] (zero for Q3_K and Q6_K; Q4_K and
 * Q5_K's min of 32 values is in both of its groups).
 */
struct kq_block {
	int8x16_t q[16];
	int32_t sc[16];
	int16x8_t min[2]; /* groups 0..7, 8..15 */
	float d, dmin;
};

static inline float kq_h2f(llmos_fp16 h)
{
	return llmos_fp16_to_fp32_inline(h);
}

/* Q2_K: 2-bit values 0..3; scale in the low nibble, min in the high one. */
static inline void kq_unpack_q2_K(const struct block_q2_K *x, struct kq_block *b)
{
	uint8x16_t sc = vld1q_u8(x->scales);
	uint8x16_t m = vshrq_n_u8(sc, 4);

	for (int g = 0; g < 16; g++) {
		int h = g / 8, j = g % 8 / 2, half = g % 2;
		uint8x16_t v = vld1q_u8(x->qs + 32 * h + 16 * half);

		v = vshlq_u8(v, vdupq_n_s8((int8_t)(-2 * j)));
		b->q[g] = vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(3)));
		b->sc[g] = x->scales[g] & 0xf;
	}
	b->min[0] = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(m)));
	b->min[1] = vreinterpretq_s16_u16(vmovl_high_u8(m));
	b->d = kq_h2f(x->d);
	b->dmin = kq_h2f(x->dmin);
}

/* Q3_K: the 2-bit field minus 4 where the group's hmask bit is clear. */
static inline void kq_unpack_q3_K(const struct block_q3_K *x, struct kq_block *b)
{
	int8_t sc[16];

	llmos_q3_K_scales(x->scales, sc);
	for (int g = 0; g < 16; g++) {
		int h = g / 8, j = g % 8 / 2, half = g % 2;
		uint8x16_t v = vld1q_u8(x->qs + 32 * h + 16 * half);
		uint8x16_t hm = vld1q_u8(x->hmask + 16 * half);
		uint8x16_t set = vtstq_u8(hm, vdupq_n_u8((uint8_t)(1 << (4 * h + j))));
		uint8x16_t off = vbicq_u8(vdupq_n_u8(4), set);

		v = vandq_u8(vshlq_u8(v, vdupq_n_s8((int8_t)(-2 * j))), vdupq_n_u8(3));
		b->q[g] = vsubq_s8(vreinterpretq_s8_u8(v), vreinterpretq_s8_u8(off));
		b->sc[g] = sc[g];
	}
	b->min[0] = b->min[1] = vdupq_n_s16(0);
	b->d = kq_h2f(x->d);
	b->dmin = 0;
}

/* The 8 scales (out[0..7]) and 8 mins (out[8..15]) of a Q4_K/Q5_K block, as ggml unpacks them. */
static inline void kq_k45_scales(const uint8_t *packed, uint8_t *out)
{
	uint32_t u[3], w[4];

	memcpy(u, packed, 12);
	w[0] = u[0] & 0x3f3f3f3f;
	w[1] = (u[2] & 0x0f0f0f0f) | (((u[0] >> 6) & 0x03030303) << 4);
	w[2] = u[1] & 0x3f3f3f3f;
	w[3] = ((u[2] >> 4) & 0x0f0f0f0f) | (((u[1] >> 6) & 0x03030303) << 4);
	memcpy(out, w, 16);
}

/*
 * Q4_K (qh NULL) and Q5_K: 32-value sub-block 2c + nib holds the low
 * (nib 0) or high nibbles of qs[32c..32c+31], and Q5_K's fifth bit is bit
 * 2c + nib of qh[0..31].  Its groups are 4c + 2nib and 4c + 2nib + 1.
 */
static inline void kq_unpack_k45(const uint8_t *scales, const uint8_t *qs, const uint8_t *qh,
				 struct kq_block *b)
{
	uint8_t sm[16];
	int16_t mins[16];

	kq_k45_scales(scales, sm);
	for (int g = 0; g < 16; g++) {
		int c = g / 4, nib = g % 4 / 2, half = g % 2;
		uint8x16_t v = vld1q_u8(qs + 32 * c + 16 * half);

		v = nib ? vshrq_n_u8(v, 4) : vandq_u8(v, vdupq_n_u8(0xf));
		if (qh) {
			uint8x16_t bit = vdupq_n_u8((uint8_t)(1 << (2 * c + nib)));

			v = vorrq_u8(v, vandq_u8(vtstq_u8(vld1q_u8(qh + 16 * half), bit),
						 vdupq_n_u8(16)));
		}
		b->q[g] = vreinterpretq_s8_u8(v);
		b->sc[g] = sm[g / 2];
		mins[g] = sm[8 + g / 2];
	}
	b->min[0] = vld1q_s16(mins);
	b->min[1] = vld1q_s16(mins + 8);
}

static inline void kq_unpack_q4_K(const struct block_q4_K *x, struct kq_block *b)
{
	kq_unpack_k45(x->scales, x->qs, NULL, b);
	b->d = kq_h2f(x->d);
	b->dmin = kq_h2f(x->dmin);
}

static inline void kq_unpack_q5_K(const struct block_q5_K *x, struct kq_block *b)
{
	kq_unpack_k45(x->scales, x->qs, x->qh, b);
	b->d = kq_h2f(x->d);
	b->dmin = kq_h2f(x->dmin);
}

/*
 * Q6_K: half h (128 values) takes ql[64h..], qh[32h..]; its quarter k the
 * low (k < 2) or high nibbles of ql[32(k & 1)..], bits 2k, 2k + 1 of qh
 * as bits 4, 5; values stored plus 32.
 */
static inline void kq_unpack_q6_K(const struct block_q6_K *x, struct kq_block *b)
{
	for (int g = 0; g < 16; g++) {
		int h = g / 8, k = g % 8 / 2, half = g % 2;
		uint8x16_t l = vld1q_u8(x->ql + 64 * h + 32 * (k & 1) + 16 * half);
		uint8x16_t hi = vld1q_u8(x->qh + 32 * h + 16 * half);

		l = k & 2 ? vshrq_n_u8(l, 4) : vandq_u8(l, vdupq_n_u8(0xf));
		hi = vandq_u8(vshlq_u8(hi, vdupq_n_s8((int8_t)(4 - 2 * k))), vdupq_n_u8(0x30));
		b->q[g] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(l, hi)), vdupq_n_s8(32));
		b->sc[g] = x->scales[g];
	}
	b->min[0] = b->min[1] = vdupq_n_s16(0);
	b->d = kq_h2f(x->d);
	b->dmin = 0;
}

#endif /* LLMOS_NEON_KQUANTS_UNPACK_H */
