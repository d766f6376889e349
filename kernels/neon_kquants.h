/* SPDX-License-Identifier: MIT */
/*
 * neon_kquants.h - the arm64 dots and tiles of Q2_K..Q6_K weights with Q8_K
 * activations, in the float order of kquants_avx2.c, so arm64 gives the
 * x86 AVX2 results bit for bit: per super-block, eight int32 lanes (two
 * int32x4) holding what AVX2's VPMADDUBSW/VPMADDWD lanes hold, each group's
 * scale times lanes4() of its 16 bytes; one fused multiply-add by d * y.d
 * into two float32x4; the mins in each type's own float order; hsum8 at
 * the end.  Included by kernels_neon.c and kernels_dotprod.c after their
 * lanes4() (widening multiplies or SDOT); only the integer sums differ.
 */
#ifndef LLMOS_NEON_KQUANTS_H
#define LLMOS_NEON_KQUANTS_H

#include <arm_neon.h>
#include <math.h>

#include "kernels_impl.h"
#include "neon_kquants_unpack.h"
#include "neon_qdot.h"

/* How a type's mins enter the float sums (kquants_avx2.c's order). */
enum kq_mins {
	KQ_NO_MINS, /* Q3_K, Q6_K */
	KQ_MINS_8,  /* Q2_K: 8 lanes, into the sum's accumulator before the block */
	KQ_MINS_4,  /* Q4_K: 4 lanes of their own, subtracted at the end */
	KQ_MINS_1,  /* Q5_K: one scalar fused multiply-add per block */
};

/* One token's float sums. */
struct kq_acc {
	float32x4_t lo, hi, m;
	float mins;
};

/*
 * The block's integer dot with 256 activations a, in AVX2's 8 lanes: lanes
 * 0-3 from the first 16 bytes of each 32 (even groups), 4-7 the second.
 */
static inline void kq_sumi(const struct kq_block *b, const int8_t *a, int32x4_t *lo, int32x4_t *hi)
{
	int32x4_t l = vdupq_n_s32(0), h = vdupq_n_s32(0);

	for (int g = 0; g < 16; g += 2) {
		l = vmlaq_n_s32(l, lanes4(b->q[g], vld1q_s8(a + 16 * g)), b->sc[g]);
		h = vmlaq_n_s32(h, lanes4(b->q[g + 1], vld1q_s8(a + 16 * g + 16)), b->sc[g + 1]);
	}
	*lo = l;
	*hi = h;
}

/*
 * min[g] * bsums[g], in pairs: 8 int32 lanes as Q2_K's VPMADDWD makes them
 * (Q4_K's 4 lanes are neighbours of these added, Q5_K sums them all).
 */
static inline void kq_min_lanes(const struct kq_block *b, const int16_t *bsums, int32x4_t *lo,
				int32x4_t *hi)
{
	int16x8_t s0 = vld1q_s16(bsums), s1 = vld1q_s16(bsums + 8);

	*lo = vpaddq_s32(vmull_s16(vget_low_s16(b->min[0]), vget_low_s16(s0)),
			 vmull_high_s16(b->min[0], s0));
	*hi = vpaddq_s32(vmull_s16(vget_low_s16(b->min[1]), vget_low_s16(s1)),
			 vmull_high_s16(b->min[1], s1));
}

/* A type's mins of one block into one token's sums. */
static inline __attribute__((always_inline)) void
kq_add_mins(struct kq_acc *acc, const struct kq_block *b, const struct block_q8_K *y,
	    enum kq_mins kind)
{
	int32x4_t lo, hi;

	if (kind == KQ_NO_MINS)
		return;
	kq_min_lanes(b, y->bsums, &lo, &hi);
	if (kind == KQ_MINS_8) {
		acc->lo = scaled(acc->lo, lo, -y->d * b->dmin);
		acc->hi = scaled(acc->hi, hi, -y->d * b->dmin);
	} else if (kind == KQ_MINS_4) {
		acc->m = scaled(acc->m, vpaddq_s32(lo, hi), b->dmin * y->d);
	} else {
		acc->mins = fmaf(y->d * b->dmin, (float)vaddvq_s32(vaddq_s32(lo, hi)), acc->mins);
	}
}

/* One block against one token: the mins, then d * y.d times the lanes. */
static inline __attribute__((always_inline)) void
kq_block_dot(struct kq_acc *acc, const struct kq_block *b, const struct block_q8_K *y,
	     enum kq_mins kind)
{
	int32x4_t lo, hi;

	kq_add_mins(acc, b, y, kind);
	kq_sumi(b, y->qs, &lo, &hi);
	acc->lo = scaled(acc->lo, lo, b->d * y->d);
	acc->hi = scaled(acc->hi, hi, b->d * y->d);
}

/* (m0 + m2) + (m1 + m3), as AVX2's 4-lane reduction. */
static inline float kq_hsum4(float32x4_t m)
{
	float32x2_t t = vadd_f32(vget_low_f32(m), vget_high_f32(m));

	return vget_lane_f32(t, 0) + vget_lane_f32(t, 1);
}

static inline float kq_result(const struct kq_acc *acc, enum kq_mins kind)
{
	float sum = hsum8(acc->lo, acc->hi);

	if (kind == KQ_MINS_4)
		return sum - kq_hsum4(acc->m);
	if (kind == KQ_MINS_1)
		return sum - acc->mins;
	return sum;
}

static inline __attribute__((always_inline)) enum kq_mins kq_mins_of(enum llmos_type t)
{
	switch (t) {
	case LLMOS_TYPE_Q2_K: return KQ_MINS_8;
	case LLMOS_TYPE_Q4_K: return KQ_MINS_4;
	case LLMOS_TYPE_Q5_K: return KQ_MINS_1;
	default: return KQ_NO_MINS;
	}
}

/* Super-block i of a row of type t, unpacked. */
static inline __attribute__((always_inline)) void
kq_unpack(enum llmos_type t, const void *row, int i, struct kq_block *b)
{
	switch (t) {
	case LLMOS_TYPE_Q2_K: kq_unpack_q2_K((const struct block_q2_K *)row + i, b); break;
	case LLMOS_TYPE_Q3_K: kq_unpack_q3_K((const struct block_q3_K *)row + i, b); break;
	case LLMOS_TYPE_Q4_K: kq_unpack_q4_K((const struct block_q4_K *)row + i, b); break;
	case LLMOS_TYPE_Q5_K: kq_unpack_q5_K((const struct block_q5_K *)row + i, b); break;
	default: kq_unpack_q6_K((const struct block_q6_K *)row + i, b); break;
	}
}

/*
 * One weight row of type t against nt tokens' Q8_K rows (y_stride bytes
 * apart): each block unpacked once, each token's float steps those of the
 * one-token dot (nt = 1), so a tile gives every token vec_dot's bits.
 */
static inline __attribute__((always_inline)) void
kq_row(enum llmos_type t, int n, int nt, float *s, size_t s_stride, const void *vx,
       const void *vy, size_t y_stride)
{
	struct kq_acc acc[LLMOS_TILE_TOKENS];
	enum kq_mins kind = kq_mins_of(t);

	for (int k = 0; k < nt; k++)
		acc[k] = (struct kq_acc){ vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), 0 };
	for (int i = 0; i < n / QK_K; i++) {
		struct kq_block b;

		kq_unpack(t, vx, i, &b);
		for (int k = 0; k < nt; k++) {
			const char *yk = (const char *)vy + k * y_stride;

			kq_block_dot(&acc[k], &b, (const struct block_q8_K *)yk + i, kind);
		}
	}
	for (int k = 0; k < nt; k++)
		s[k * s_stride] = kq_result(&acc[k], kind);
}

/* nr rows, one at a time, each token count with its own loop. */
static inline __attribute__((always_inline)) void
kq_rows(enum llmos_type t, int n, int nr, int nt, float *s, size_t s_stride, const void *vx,
	size_t x_stride, const void *vy, size_t y_stride)
{
	for (int r = 0; r < nr; r++, vx = (const char *)vx + x_stride) {
		switch (nt) {
		case 1: kq_row(t, n, 1, s + r, s_stride, vx, vy, y_stride); break;
		case 2: kq_row(t, n, 2, s + r, s_stride, vx, vy, y_stride); break;
		case 3: kq_row(t, n, 3, s + r, s_stride, vx, vy, y_stride); break;
		default: kq_row(t, n, 4, s + r, s_stride, vx, vy, y_stride); break;
		}
	}
}

/* A type's vec_dot (kq_dot_T) and tile_rows (kq_tile_T). */
#define KQ_DOT_AND_TILE(T)                                                                  \
	static void kq_dot_##T(int n, float *s, const void *vx, const void *vy)            \
	{                                                                                   \
		kq_row(LLMOS_TYPE_##T, n, 1, s, 0, vx, vy, 0);                              \
	}                                                                                   \
	static void kq_tile_##T(int n, int nr, int nt, float *s, size_t s_stride,          \
				const void *vx, size_t x_stride, const void *vy, size_t y_stride) \
	{                                                                                   \
		kq_rows(LLMOS_TYPE_##T, n, nr, nt, s, s_stride, vx, x_stride, vy, y_stride); \
	}

KQ_DOT_AND_TILE(Q2_K)
KQ_DOT_AND_TILE(Q3_K)
KQ_DOT_AND_TILE(Q4_K)
KQ_DOT_AND_TILE(Q5_K)
KQ_DOT_AND_TILE(Q6_K)

static inline void neon_kquants_fill(struct llmos_kernel_ops *ops)
{
	ops->traits[LLMOS_TYPE_Q2_K].vec_dot = kq_dot_Q2_K;
	ops->traits[LLMOS_TYPE_Q3_K].vec_dot = kq_dot_Q3_K;
	ops->traits[LLMOS_TYPE_Q4_K].vec_dot = kq_dot_Q4_K;
	ops->traits[LLMOS_TYPE_Q5_K].vec_dot = kq_dot_Q5_K;
	ops->traits[LLMOS_TYPE_Q6_K].vec_dot = kq_dot_Q6_K;
	ops->tile_rows[LLMOS_TYPE_Q2_K] = kq_tile_Q2_K;
	ops->tile_rows[LLMOS_TYPE_Q3_K] = kq_tile_Q3_K;
	ops->tile_rows[LLMOS_TYPE_Q4_K] = kq_tile_Q4_K;
	ops->tile_rows[LLMOS_TYPE_Q5_K] = kq_tile_Q5_K;
	ops->tile_rows[LLMOS_TYPE_Q6_K] = kq_tile_Q6_K;
}

#endif /* LLMOS_NEON_KQUANTS_H */
