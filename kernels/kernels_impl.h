/* SPDX-License-Identifier: MIT */
/*
 * kernels_impl.h - what the per-level kernel files and dispatch.c share:
 * the table of kernels for one SIMD level, the functions that fill it, and
 * portable inline fp16/bf16 conversions.  Not for use outside kernels/ and
 * the matmul.
 */
#ifndef LLMOS_KERNELS_IMPL_H
#define LLMOS_KERNELS_IMPL_H

#include <stdbool.h>
#include <string.h>

#include "kernels.h"

/*
 * Activations packed for the row-tile dots (matmul only): 8 Q8_0 blocks,
 * 256 values, laid out so one 256-bit register holds the same half of two
 * blocks.  Lane l of the tile kernels' accumulators belongs to block
 * llmos_x8_order[l]; d and sum are stored in that order.
 */
#define LLMOS_QK_X8 256
struct llmos_block_q8x8 {
	float d[8];          /* block scales, in llmos_x8_order */
	int32_t sum[8];      /* sum of each block's qs, in llmos_x8_order */
	int8_t qs[4][64];    /* pair j: lo16(2j) lo16(2j+1) hi16(2j) hi16(2j+1) */
};
static_assert(sizeof(struct llmos_block_q8x8) == 320, "llmos_block_q8x8 is 320 bytes");

static const int llmos_x8_order[8] = { 0, 2, 4, 6, 1, 3, 5, 7 };

/* Pack n_groups groups of 8 Q8_0 blocks (src) into dst. */
void llmos_pack_q8x8(const struct block_q8_0 *src, struct llmos_block_q8x8 *dst,
		     int64_t n_groups);

/*
 * s[t * s_stride] = dot(row x, token t of y) for t < nt <= LLMOS_TILE_TOKENS;
 * x is a weight row of n values (n a multiple of LLMOS_QK_X8), y the first
 * token's packed activations, the next token y_stride bytes on.
 */
#define LLMOS_TILE_TOKENS 4
typedef void (*llmos_tile_dot_fn)(int n, int nt, float *s, size_t s_stride, const void *x,
				  const void *y, size_t y_stride);

/*
 * s[t * s_stride + r] = dot(weight row r, token t) for r < nr <=
 * LLMOS_TILE_ROWS and t < nt <= LLMOS_TILE_TOKENS: weight rows x_stride
 * bytes apart, the tokens' activation rows (in the weight type's
 * vec_dot_type) y_stride bytes apart.
 */
#define LLMOS_TILE_ROWS 4
typedef void (*llmos_tile_rows_fn)(int n, int nr, int nt, float *s, size_t s_stride, const void *x,
				   size_t x_stride, const void *y, size_t y_stride);

/*
 * struct llmos_kernel_ops - every kernel of one SIMD level.  The scalar
 * level fills all of it; higher levels start from a copy of the level below
 * and replace what they speed up.
 */
struct llmos_kernel_ops {
	struct llmos_type_traits traits[LLMOS_TYPE_COUNT];
	void (*rmsnorm)(float *out, const float *x, const float *weight, int n, float eps);
	void (*softmax)(float *x, int n);
	void (*silu_mul)(float *gate, const float *up, int n);
	void (*vec_add)(float *y, const float *x, int n);
	void (*vec_mad)(float *y, const float *x, float a, int n);
	float (*vec_dot_f32)(const float *x, const float *y, int n);
	/* weight type -> tile dot over packed activations (y: llmos_block_q8x8) */
	llmos_tile_dot_fn tile_dot[LLMOS_TYPE_COUNT];
	/*
	 * weight type -> tile over the type's own vec_dot_type rows, for
	 * batches of two or more tokens: each token's sum is what llama.cpp
	 * computes in such a batch, which is vec_dot's sum for every type but
	 * IQ4_NL (one accumulator where vec_dot keeps two) and those marked in
	 * tile_block_order.  Preferred.
	 */
	llmos_tile_rows_fn tile_rows[LLMOS_TYPE_COUNT];
	/*
	 * weight type -> true where tile_rows sums instead as llama.cpp's i8mm
	 * batch kernels do (arm64 SMMLA): per block the whole integer sum,
	 * acc = acc + (float)isum * (dx * dy), each operation rounded.
	 */
	bool tile_block_order[LLMOS_TYPE_COUNT];
	/*
	 * fp16 dot as llama.cpp sums it for a batch of two or more tokens (its
	 * prompt-time GEMM, llamafile's tinyBLAS): one accumulator of
	 * gemm_lanes lanes, fused multiply-adds along n (a multiple of
	 * gemm_lanes), then a tree reduction.  NULL where ggml has no such GEMM.
	 */
	void (*dot_f16_gemm)(int n, float *s, const llmos_fp16 *x, const llmos_fp16 *y);
	int gemm_lanes;
};

/* The portable dot_f16_gemm of a level with that many lanes (tests). */
float llmos_dot_f16_gemm_ref(int n, int lanes, const llmos_fp16 *x, const llmos_fp16 *y);

void llmos_kernels_fill_scalar(struct llmos_kernel_ops *ops);

/* IQ4_NL's 16 non-linear levels, as ggml's kvalues_iq4nl. */
static const int8_t llmos_iq4nl_values[16] = { -127, -104, -83, -65, -49, -35, -22, -10,
					       1,    13,   25,  38,  53,  69,  89,  113 };

/* The 16 signed scales of a Q3_K block (6 bits each, offset 32), as ggml unpacks them. */
static inline void llmos_q3_K_scales(const uint8_t *packed, int8_t *out)
{
	uint32_t aux[4], tmp;

	memcpy(aux, packed, 12);
	tmp = aux[2];
	aux[2] = ((aux[0] >> 4) & 0x0f0f0f0f) | (((tmp >> 4) & 0x03030303) << 4);
	aux[3] = ((aux[1] >> 4) & 0x0f0f0f0f) | (((tmp >> 6) & 0x03030303) << 4);
	aux[0] = (aux[0] & 0x0f0f0f0f) | (((tmp >> 0) & 0x03030303) << 4);
	aux[1] = (aux[1] & 0x0f0f0f0f) | (((tmp >> 2) & 0x03030303) << 4);
	memcpy(out, aux, 16);
	for (int k = 0; k < 16; k++)
		out[k] = (int8_t)(out[k] - 32);
}

/* kquants_scalar.c: the K-quant rows and dots every level starts from. */
void llmos_q2_K_to_float(const void *src, float *y, int64_t n);
void llmos_q3_K_to_float(const void *src, float *y, int64_t n);
void llmos_q4_K_to_float(const void *src, float *y, int64_t n);
void llmos_q5_K_to_float(const void *src, float *y, int64_t n);
void llmos_q6_K_to_float(const void *src, float *y, int64_t n);
void llmos_q8_K_to_float(const void *src, float *y, int64_t n);
void llmos_q8_K_from_float(const float *x, void *dst, int64_t n);
void llmos_vec_dot_q2_K_q8_K(int n, float *s, const void *vx, const void *vy);
void llmos_vec_dot_q3_K_q8_K(int n, float *s, const void *vx, const void *vy);
void llmos_vec_dot_q4_K_q8_K(int n, float *s, const void *vx, const void *vy);
void llmos_vec_dot_q5_K_q8_K(int n, float *s, const void *vx, const void *vy);
void llmos_vec_dot_q6_K_q8_K(int n, float *s, const void *vx, const void *vy);
/* quants5_scalar.c */
void llmos_q5_0_to_float(const void *src, float *y, int64_t n);
void llmos_q5_1_to_float(const void *src, float *y, int64_t n);
void llmos_iq4_nl_to_float(const void *src, float *y, int64_t n);
void llmos_vec_dot_q5_0_q8_0(int n, float *s, const void *vx, const void *vy);
void llmos_vec_dot_q5_1_q8_1(int n, float *s, const void *vx, const void *vy);
void llmos_vec_dot_iq4_nl_q8_0(int n, float *s, const void *vx, const void *vy);
/*
 * quantize.c: weight quantizers with searched scales; qw, if not NULL, is
 * an importance weight per column (n of them) for the squared error.
 */
void llmos_quantize_q2_K(const float *x, void *dst, int64_t n, const float *qw);
void llmos_quantize_q3_K(const float *x, void *dst, int64_t n, const float *qw);
void llmos_quantize_q4_K(const float *x, void *dst, int64_t n, const float *qw);
void llmos_quantize_q5_K(const float *x, void *dst, int64_t n, const float *qw);
void llmos_quantize_q6_K(const float *x, void *dst, int64_t n, const float *qw);
void llmos_quantize_q5_0(const float *x, void *dst, int64_t n, const float *qw);
void llmos_quantize_q5_1(const float *x, void *dst, int64_t n, const float *qw);
void llmos_quantize_iq4_nl(const float *x, void *dst, int64_t n, const float *qw);
void llmos_q2_K_from_float(const float *x, void *dst, int64_t n);
void llmos_q3_K_from_float(const float *x, void *dst, int64_t n);
void llmos_q4_K_from_float(const float *x, void *dst, int64_t n);
void llmos_q5_K_from_float(const float *x, void *dst, int64_t n);
void llmos_q6_K_from_float(const float *x, void *dst, int64_t n);
void llmos_q5_0_from_float(const float *x, void *dst, int64_t n);
void llmos_q5_1_from_float(const float *x, void *dst, int64_t n);
void llmos_iq4_nl_from_float(const float *x, void *dst, int64_t n);
/* kquants_avx2.c (also the Q8_0 dot and tile), compiled as itself and as kquants_avx512.c */
/* The parameters of a llmos_tile_rows_fn, for declaring many. */
#define LLMOS_TILE_ROWS_PARAMS                                                              \
	int n, int nr, int nt, float *s, size_t s_stride, const void *vx, size_t x_stride, \
		const void *vy, size_t y_stride
#define LLMOS_KQUANT_DECLS(sfx)                                                               \
	void llmos_vec_dot_q2_K_q8_K##sfx(int n, float *s, const void *vx, const void *vy);   \
	void llmos_vec_dot_q3_K_q8_K##sfx(int n, float *s, const void *vx, const void *vy);   \
	void llmos_vec_dot_q4_K_q8_K##sfx(int n, float *s, const void *vx, const void *vy);   \
	void llmos_vec_dot_q5_K_q8_K##sfx(int n, float *s, const void *vx, const void *vy);   \
	void llmos_vec_dot_q6_K_q8_K##sfx(int n, float *s, const void *vx, const void *vy);   \
	void llmos_vec_dot_q5_0_q8_0##sfx(int n, float *s, const void *vx, const void *vy);   \
	void llmos_vec_dot_q5_1_q8_1##sfx(int n, float *s, const void *vx, const void *vy);   \
	void llmos_vec_dot_iq4_nl_q8_0##sfx(int n, float *s, const void *vx, const void *vy); \
	void llmos_vec_dot_q8_0_q8_0##sfx(int n, float *s, const void *vx, const void *vy);   \
	void llmos_tile_q2_K##sfx(LLMOS_TILE_ROWS_PARAMS);                                    \
	void llmos_tile_q3_K##sfx(LLMOS_TILE_ROWS_PARAMS);                                    \
	void llmos_tile_q4_K##sfx(LLMOS_TILE_ROWS_PARAMS);                                    \
	void llmos_tile_q5_K##sfx(LLMOS_TILE_ROWS_PARAMS);                                    \
	void llmos_tile_q6_K##sfx(LLMOS_TILE_ROWS_PARAMS);                                    \
	void llmos_tile_iq4_nl##sfx(LLMOS_TILE_ROWS_PARAMS);                                  \
	void llmos_tile_q5_0##sfx(LLMOS_TILE_ROWS_PARAMS);                                    \
	void llmos_tile_q8_0##sfx(LLMOS_TILE_ROWS_PARAMS);
LLMOS_KQUANT_DECLS(_avx2)
LLMOS_KQUANT_DECLS(_avx512)

/* Put one build of those kernels into a level's table. */
#define LLMOS_KQUANT_FILL(ops, sfx)                                                         \
	do {                                                                                \
		struct llmos_type_traits *kt_ = (ops)->traits;                              \
                                                                                            \
		kt_[LLMOS_TYPE_Q2_K].vec_dot = llmos_vec_dot_q2_K_q8_K##sfx;                 \
		kt_[LLMOS_TYPE_Q3_K].vec_dot = llmos_vec_dot_q3_K_q8_K##sfx;                 \
		kt_[LLMOS_TYPE_Q4_K].vec_dot = llmos_vec_dot_q4_K_q8_K##sfx;                 \
		kt_[LLMOS_TYPE_Q5_K].vec_dot = llmos_vec_dot_q5_K_q8_K##sfx;                 \
		kt_[LLMOS_TYPE_Q6_K].vec_dot = llmos_vec_dot_q6_K_q8_K##sfx;                 \
		kt_[LLMOS_TYPE_Q5_0].vec_dot = llmos_vec_dot_q5_0_q8_0##sfx;                 \
		kt_[LLMOS_TYPE_Q5_1].vec_dot = llmos_vec_dot_q5_1_q8_1##sfx;                 \
		kt_[LLMOS_TYPE_IQ4_NL].vec_dot = llmos_vec_dot_iq4_nl_q8_0##sfx;             \
		(ops)->tile_rows[LLMOS_TYPE_Q2_K] = llmos_tile_q2_K##sfx;                \
		(ops)->tile_rows[LLMOS_TYPE_Q3_K] = llmos_tile_q3_K##sfx;                \
		(ops)->tile_rows[LLMOS_TYPE_Q4_K] = llmos_tile_q4_K##sfx;                \
		(ops)->tile_rows[LLMOS_TYPE_Q5_K] = llmos_tile_q5_K##sfx;                \
		(ops)->tile_rows[LLMOS_TYPE_Q6_K] = llmos_tile_q6_K##sfx;                \
		(ops)->tile_rows[LLMOS_TYPE_IQ4_NL] = llmos_tile_iq4_nl##sfx;            \
		kt_[LLMOS_TYPE_Q8_0].vec_dot = llmos_vec_dot_q8_0_q8_0##sfx;                 \
		(ops)->tile_rows[LLMOS_TYPE_Q8_0] = llmos_tile_q8_0##sfx;                    \
		(ops)->tile_rows[LLMOS_TYPE_Q5_0] = llmos_tile_q5_0##sfx;                    \
	} while (0)
/* The portable tile dot for weight type t (tests), or NULL. */
llmos_tile_dot_fn llmos_tile_dot_scalar(enum llmos_type t);
void llmos_kernels_fill_avx2(struct llmos_kernel_ops *ops);
void llmos_kernels_fill_neon(struct llmos_kernel_ops *ops);
void llmos_kernels_fill_dotprod(struct llmos_kernel_ops *ops, bool has_i8mm);
void llmos_tiles_fill_i8mm(struct llmos_kernel_ops *ops);
void llmos_kernels_fill_avx512(struct llmos_kernel_ops *ops, bool has_bf16);
void llmos_tiles_fill_avx512(struct llmos_kernel_ops *ops);

/* The kernels of the level in use (initialises dispatch on first call). */
const struct llmos_kernel_ops *llmos_kernel_ops(void);

static inline uint32_t llmos_f32_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static inline float llmos_bits_f32(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static inline float llmos_fp16_to_fp32_inline(llmos_fp16 h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f;
	uint32_t man = h & 0x3ff;

	if (exp == 0x1f)
		return llmos_bits_f32(sign | 0x7f800000 | (man << 13));
	if (exp == 0) {
		/* zero or subnormal: man * 2^-24 is exact in fp32 */
		float f = (float)man * 0x1p-24f;

		return llmos_bits_f32(sign | llmos_f32_bits(f));
	}
	return llmos_bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

/* Round to nearest even; NaNs stay NaN (quiet), as F16C's VCVTPS2PH does. */
static inline llmos_fp16 llmos_fp32_to_fp16_inline(float f)
{
	uint32_t x = llmos_f32_bits(f);
	uint16_t sign = (uint16_t)((x >> 16) & 0x8000);

	x &= 0x7fffffff;
	if (x > 0x7f800000)
		return sign | 0x7e00 | ((x >> 13) & 0x3ff);
	if (x >= 0x477ff000) /* 65520 and above round to infinity */
		return sign | 0x7c00;
	if (x < 0x38800000) {
		/* below 2^-14: adding 0.5 leaves round(|f| * 2^24) in the mantissa */
		float r = llmos_bits_f32(x) + 0.5f;

		return sign | (uint16_t)(llmos_f32_bits(r) - 0x3f000000);
	}
	/* rebias the exponent by 15 - 127 and round the 13 dropped bits */
	x += 0xc8000fffu + ((x >> 13) & 1);
	return sign | (uint16_t)(x >> 13);
}

static inline float llmos_bf16_to_fp32_inline(llmos_bf16 h)
{
	return llmos_bits_f32((uint32_t)h << 16);
}

/* As ggml: NaNs are made quiet, everything else rounds to nearest even. */
static inline llmos_bf16 llmos_fp32_to_bf16_inline(float f)
{
	uint32_t u = llmos_f32_bits(f);

	if ((u & 0x7fffffff) > 0x7f800000)
		return (llmos_bf16)((u >> 16) | 64);
	return (llmos_bf16)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

#endif /* LLMOS_KERNELS_IMPL_H */
