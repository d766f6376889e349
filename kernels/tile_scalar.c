/* SPDX-License-Identifier: MIT */
/*
 * tile_scalar.c - the packed activation format of the row-tile dots
 * (struct llmos_block_q8x8) and the portable tile dots.  These mirror the
 * SIMD ones operation for operation (same integer sums per block, same
 * lane order, same fused multiply-adds and final sum order), so every
 * level gives the same bits.
 */
#include <math.h>

#include "kernels_impl.h"

void llmos_pack_q8x8(const struct block_q8_0 *src, struct llmos_block_q8x8 *dst,
		     int64_t n_groups)
{
	for (int64_t g = 0; g < n_groups; g++, src += 8, dst++) {
		for (int l = 0; l < 8; l++) {
			const struct block_q8_0 *b = &src[llmos_x8_order[l]];
			int32_t sum = 0;

			for (int j = 0; j < QK8_0; j++)
				sum += b->qs[j];
			dst->d[l] = llmos_fp16_to_fp32_inline(b->d);
			dst->sum[l] = sum;
		}
		for (int j = 0; j < 4; j++) {
			memcpy(dst->qs[j], src[2 * j].qs, 16);
			memcpy(dst->qs[j] + 16, src[2 * j + 1].qs, 16);
			memcpy(dst->qs[j] + 32, src[2 * j].qs + 16, 16);
			memcpy(dst->qs[j] + 48, src[2 * j + 1].qs + 16, 16);
		}
	}
}

/* Value e (0..31) of block b of a group, as the packed layout holds it. */
static int packed_y(const struct llmos_block_q8x8 *g, int b, int e)
{
	return g->qs[b / 2][(e >= 16) * 32 + (b & 1) * 16 + e % 16];
}

static int q4_0_value(const struct block_q4_0 *x, int e)
{
	return e < 16 ? (x->qs[e] & 0x0f) - 8 : (x->qs[e - 16] >> 4) - 8;
}

/* The eight lanes summed as hsum256_ps does: (l + h) pairs, then halves. */
static float lane_sum(const float *a)
{
	float t[4];

	for (int i = 0; i < 4; i++)
		t[i] = a[i] + a[i + 4];
	return (t[0] + t[2]) + (t[1] + t[3]);
}

#define TILE_DOT(name, xtype, value)                                                        \
	static void name(int n, int nt, float *s, size_t s_stride, const void *vx,          \
			 const void *vy, size_t y_stride)                                   \
	{                                                                                   \
		const xtype *x = vx;                                                        \
                                                                                            \
		for (int t = 0; t < nt; t++) {                                              \
			const struct llmos_block_q8x8 *y =                                  \
				(const void *)((const char *)vy + t * y_stride);            \
			float acc[8] = { 0 };                                               \
                                                                                            \
			for (int g = 0; g < n / LLMOS_QK_X8; g++) {                         \
				for (int l = 0; l < 8; l++) {                               \
					const xtype *xb = &x[g * 8 + llmos_x8_order[l]];    \
					float d = llmos_fp16_to_fp32_inline(xb->d) * y[g].d[l]; \
					int32_t p = 0;                                      \
                                                                                            \
					for (int e = 0; e < 32; e++)                        \
						p += value(xb, e) *                         \
						     packed_y(&y[g], llmos_x8_order[l], e); \
					acc[l] = fmaf((float)p, d, acc[l]);                 \
				}                                                           \
			}                                                                   \
			s[t * s_stride] = lane_sum(acc);                                    \
		}                                                                           \
	}

TILE_DOT(tile_dot_q4_0, struct block_q4_0, q4_0_value)

llmos_tile_dot_fn llmos_tile_dot_scalar(enum llmos_type t)
{
	switch (t) {
	case LLMOS_TYPE_Q4_0:
		return tile_dot_q4_0;
	default:
		return NULL;
	}
}
