/* SPDX-License-Identifier: MIT */
/*
 * kernels.h - CPU math for libllmos: tensor types with ggml's block layouts,
 * a per-type traits table, and the row/vector kernels the forward pass uses.
 *
 * Every kernel has a portable scalar version (kernels_scalar.c); AVX2 and
 * AVX-512 versions (kernels_avx2.c, kernels_avx512.c) on x86, NEON, SDOT and
 * i8mm ones (kernels_neon.c, kernels_dotprod.c, kernels_i8mm.c) on arm64 are
 * chosen at run time by CPUID or HWCAP (dispatch.c).  Tests force each level
 * and compare with scalar.
 */
#ifndef LLMOS_KERNELS_H
#define LLMOS_KERNELS_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Tensor types, numbered as GGUF/ggml number them. */
enum llmos_type {
	LLMOS_TYPE_F32 = 0,
	LLMOS_TYPE_F16 = 1,
	LLMOS_TYPE_Q4_0 = 2,
	LLMOS_TYPE_Q4_1 = 3,
	LLMOS_TYPE_Q5_0 = 6,
	LLMOS_TYPE_Q5_1 = 7,
	LLMOS_TYPE_Q8_0 = 8,
	LLMOS_TYPE_Q8_1 = 9,
	LLMOS_TYPE_Q2_K = 10,
	LLMOS_TYPE_Q3_K = 11,
	LLMOS_TYPE_Q4_K = 12,
	LLMOS_TYPE_Q5_K = 13,
	LLMOS_TYPE_Q6_K = 14,
	LLMOS_TYPE_Q8_K = 15,
	LLMOS_TYPE_IQ4_NL = 20,
	LLMOS_TYPE_BF16 = 30,
	LLMOS_TYPE_COUNT = 31 /* one past the largest GGUF type id we know */
};

typedef uint16_t llmos_fp16; /* IEEE half, as stored in files */
typedef uint16_t llmos_bf16; /* bfloat16, as stored in files */

#define QK4_0 32
#define QK4_1 32
#define QK8_0 32
#define QK8_1 32

struct block_q4_0 {
	llmos_fp16 d;          /* scale */
	uint8_t qs[QK4_0 / 2]; /* nibbles: low = elements 0..15, high = 16..31, value - 8 */
};
static_assert(sizeof(struct block_q4_0) == 18, "block_q4_0 is 18 bytes");

struct block_q4_1 {
	llmos_fp16 d;          /* scale */
	llmos_fp16 m;          /* min */
	uint8_t qs[QK4_1 / 2]; /* nibbles: x = d * q + m */
};
static_assert(sizeof(struct block_q4_1) == 20, "block_q4_1 is 20 bytes");

struct block_q8_0 {
	llmos_fp16 d;      /* scale */
	int8_t qs[QK8_0];  /* x = d * q */
};
static_assert(sizeof(struct block_q8_0) == 34, "block_q8_0 is 34 bytes");

struct block_q5_0 {
	llmos_fp16 d;          /* x = d * (q - 16) */
	uint8_t qh[4];         /* fifth bits of the 32 values */
	uint8_t qs[16];        /* low nibbles: elements 0..15, high: 16..31 */
};
static_assert(sizeof(struct block_q5_0) == 22, "block_q5_0 is 22 bytes");

struct block_q5_1 {
	llmos_fp16 d, m;       /* x = d * q + m */
	uint8_t qh[4];
	uint8_t qs[16];
};
static_assert(sizeof(struct block_q5_1) == 24, "block_q5_1 is 24 bytes");

struct block_iq4_nl {
	llmos_fp16 d;          /* x = d * kvalues_iq4nl[q] */
	uint8_t qs[16];
};
static_assert(sizeof(struct block_iq4_nl) == 18, "block_iq4_nl is 18 bytes");

struct block_q8_1 {
	llmos_fp16 d;      /* scale */
	llmos_fp16 s;      /* d * sum(qs) */
	int8_t qs[QK8_1];
};
static_assert(sizeof(struct block_q8_1) == 36, "block_q8_1 is 36 bytes");

/*
 * K-quants: super-blocks of QK_K values with quantized sub-block scales, as
 * ggml lays them out (ggml-common.h).  Q8_K is only ever an activation type.
 */
#define QK_K 256
#define K_SCALE_SIZE 12

struct block_q2_K {
	uint8_t scales[QK_K / 16];     /* 16 scales (low nibble) and mins (high) */
	uint8_t qs[QK_K / 4];          /* 2-bit quants */
	llmos_fp16 d, dmin;            /* x = d * sc * q - dmin * m */
};
static_assert(sizeof(struct block_q2_K) == 84, "block_q2_K is 84 bytes");

struct block_q3_K {
	uint8_t hmask[QK_K / 8];       /* third bits (set: no offset of -4) */
	uint8_t qs[QK_K / 4];          /* low 2 bits */
	uint8_t scales[12];            /* 16 scales of 6 bits, offset by 32 */
	llmos_fp16 d;                  /* x = d * (sc - 32) * q */
};
static_assert(sizeof(struct block_q3_K) == 110, "block_q3_K is 110 bytes");

struct block_q4_K {
	llmos_fp16 d;                  /* scale of the sub-block scales */
	llmos_fp16 dmin;               /* scale of the sub-block mins */
	uint8_t scales[K_SCALE_SIZE];  /* 8 scales and 8 mins of 6 bits */
	uint8_t qs[QK_K / 2];          /* nibbles: x = d * sc * q - dmin * m */
};
static_assert(sizeof(struct block_q4_K) == 144, "block_q4_K is 144 bytes");

struct block_q5_K {
	llmos_fp16 d, dmin;            /* as Q4_K */
	uint8_t scales[K_SCALE_SIZE];
	uint8_t qh[QK_K / 8];          /* fifth bits */
	uint8_t qs[QK_K / 2];
};
static_assert(sizeof(struct block_q5_K) == 176, "block_q5_K is 176 bytes");

struct block_q6_K {
	uint8_t ql[QK_K / 2];          /* low 4 bits */
	uint8_t qh[QK_K / 4];          /* high 2 bits */
	int8_t scales[QK_K / 16];      /* 16 sub-block scales */
	llmos_fp16 d;                  /* x = d * sc * (q - 32) */
};
static_assert(sizeof(struct block_q6_K) == 210, "block_q6_K is 210 bytes");

struct block_q8_K {
	float d;                       /* x = d * q */
	int8_t qs[QK_K];
	int16_t bsums[QK_K / 16];      /* sums of qs in groups of 16 */
};
static_assert(sizeof(struct block_q8_K) == 292, "block_q8_K is 292 bytes");

/* Convert n values of a row; n is a multiple of the type's block size. */
typedef void (*llmos_to_float_fn)(const void *src, float *dst, int64_t n);
typedef void (*llmos_from_float_fn)(const float *src, void *dst, int64_t n);
/* *s = dot(x, y) over n elements; x of the weight type, y of its vec_dot_type. */
typedef void (*llmos_vec_dot_fn)(int n, float *s, const void *x, const void *y);

/*
 * struct llmos_type_traits - what the rest of the code needs to know of a
 * type; one table entry per type instead of switches everywhere.
 */
struct llmos_type_traits {
	const char *name;          /* "f32", "q8_0", ... as GGUF tools spell them */
	int64_t block_size;        /* elements per block (1 for float types) */
	size_t type_size;          /* bytes per block */
	llmos_to_float_fn to_float;
	llmos_from_float_fn from_float;
	llmos_vec_dot_fn vec_dot;  /* NULL if the type cannot be a matmul weight */
	enum llmos_type vec_dot_type; /* the type activations are converted to */
};

/* Three levels on every target; their names and kernels are the target's. */
enum llmos_simd_level {
	LLMOS_SIMD_SCALAR = 0,
	LLMOS_SIMD_AVX2 = 1,   /* x86: AVX2 + FMA + F16C */
	LLMOS_SIMD_AVX512 = 2, /* x86: AVX-512 F/BW/VL/DQ + VNNI (+ BF16 if present) */
	LLMOS_SIMD_NEON = 1,   /* arm64: Advanced SIMD */
	LLMOS_SIMD_DOTPROD = 2, /* arm64: and the dot-product extension (SDOT) */
};

/* Traits of type t for the selected SIMD level, or NULL if t is unknown. */
const struct llmos_type_traits *llmos_type_traits(enum llmos_type t);
/* Bytes taken by a row of n elements of type t (n a multiple of its block size). */
size_t llmos_row_size(enum llmos_type t, int64_t n);

/* The best level this CPU supports, and the level in use (best by default). */
enum llmos_simd_level llmos_simd_best(void);
enum llmos_simd_level llmos_simd_current(void);
/* Use a given level (tests, benchmarks); returns -1 if the CPU lacks it. */
int llmos_simd_select(enum llmos_simd_level level);
const char *llmos_simd_name(enum llmos_simd_level level);

/* Float conversions of single values. */
float llmos_fp16_to_fp32(llmos_fp16 h);
llmos_fp16 llmos_fp32_to_fp16(float f);
float llmos_bf16_to_fp32(llmos_bf16 h);
llmos_bf16 llmos_fp32_to_bf16(float f); /* round to nearest even, as ggml */

/*
 * Quantize n weights (a multiple of t's block size) to type t, choosing
 * each block's scale (and min) to minimise the squared error, weighted by
 * qw, the importance of each of the n values (for a matrix, quantize one
 * row at a time with the columns' importances), or NULL for none.  F32,
 * F16 and BF16 are converted.  -1 for a type that is not a weight type.
 */
int llmos_quantize_weights(enum llmos_type t, const float *x, void *dst, int64_t n,
			   const float *qw);

/* Float vector kernels of the forward pass (all dispatch by SIMD level). */
void llmos_rmsnorm(float *out, const float *x, const float *weight, int n, float eps);
void llmos_softmax(float *x, int n);
void llmos_silu_mul(float *gate, const float *up, int n); /* gate = silu(gate) * up */
void llmos_vec_add(float *y, const float *x, int n);       /* y += x */
void llmos_vec_mad(float *y, const float *x, float a, int n); /* y += a * x */
float llmos_vec_dot_f32(const float *x, const float *y, int n);
/*
 * fp16 dot of n values as llama.cpp sums it: in a batch (of two or more
 * tokens), as its prompt-time GEMM (llamafile's tinyBLAS) does where the
 * level has one and n suits it; else as its vec_dot.
 */
float llmos_dot_f16_batch(int n, const llmos_fp16 *x, const llmos_fp16 *y, bool batch);

#endif /* LLMOS_KERNELS_H */
