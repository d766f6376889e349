/* SPDX-License-Identifier: MIT */
/*
 * matmul.h - out = W x for a weight matrix of any llmos_type and F32
 * activations, split across a thread pool.
 */
#ifndef LLMOS_MATMUL_H
#define LLMOS_MATMUL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels.h"
#include "threadpool.h"

/*
 * Bytes of scratch llmos_matmul() needs to hold n_tokens activation rows
 * converted to wtype's vec_dot_type (0 when that is F32); 0 also for an
 * unknown type or a cols that is not a multiple of the block size.
 */
size_t llmos_matmul_scratch_size(enum llmos_type wtype, int64_t cols, int n_tokens);

/*
 * out[t * rows + r] = dot(row r of w, x + t * cols) for t < n_tokens and
 * r < rows.  w holds rows rows of llmos_row_size(wtype, cols) bytes each;
 * scratch holds llmos_matmul_scratch_size() bytes (64-byte alignment is
 * best, none is required).  pool may be NULL (single-threaded).  batch:
 * sum as llama.cpp sums a batch of two or more tokens (its GEMM order),
 * not as one token (its vec_dot order), whatever n_tokens is; the two
 * differ for IQ4_NL only.
 * Returns 0, or -EINVAL for a type with no vec_dot, a cols that is not a
 * multiple of the block size, or sizes out of range.
 */
int llmos_matmul(struct llmos_pool *pool, float *out, const void *w, enum llmos_type wtype,
		 int64_t rows, int64_t cols, const float *x, int n_tokens, bool batch,
		 void *scratch);

/*
 * The activations as llmos_matmul() converts them for wtype's vec_dot
 * (byte for byte): n_tokens rows of llmos_row_size(vec_dot_type, cols)
 * bytes into dst.  -EINVAL as llmos_matmul(), and for a type that takes
 * f32 activations.
 */
int llmos_matmul_quantize(struct llmos_pool *pool, enum llmos_type wtype, int64_t cols,
			  const float *x, int n_tokens, void *dst);

#endif /* LLMOS_MATMUL_H */
