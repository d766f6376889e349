/* SPDX-License-Identifier: MIT */
/*
 * matmul.c - weight matrix times activations.  The activations are
 * converted once to the weight type's vec_dot_type; then the output is cut
 * into chunks of ROW_BLOCK rows by up to TOKEN_BLOCK tokens, handed out to
 * the pool's threads through an atomic counter.  Within a chunk each
 * weight row is dotted with every token of the block while it is in cache,
 * so prefill reads the weights once per TOKEN_BLOCK tokens.
 *
 * Where the SIMD level has a tile for the weight type, prefill goes by
 * tiles instead: tile_rows dots up to LLMOS_TILE_ROWS rows with up to
 * LLMOS_TILE_TOKENS tokens of the converted activations, unpacking each
 * row's quants once for all the tokens, and sums as llama.cpp sums a batch
 * (a single token takes vec_dot, whose order llama.cpp uses for it); for
 * Q4_0 with AVX-512 and rows of whole groups of 256, tile_dot does one row
 * against activations packed as llmos_block_q8x8.
 */
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "internal.h"
#include "kernels_impl.h"
#include "matmul.h"

#define ROW_BLOCK 16       /* rows per chunk for several tokens */
#define TOKEN_BLOCK 64     /* tokens per chunk */
#define PAR_CONVERT 16384  /* convert in parallel from this many elements */

struct matmul_job {
	const struct llmos_type_traits *wt;  /* weight type */
	const struct llmos_type_traits *xt;  /* vec_dot_type, or packed_traits */
	llmos_tile_dot_fn tile;              /* over packed activations, or NULL */
	llmos_tile_rows_fn tile_rows;        /* over converted activations, or NULL */
	bool batch;                          /* llama.cpp's batch order: tile_rows */
	float *out;
	const char *w;
	const char *x;       /* activations in vec_dot_type */
	const float *xf;     /* activations as given */
	size_t w_row;        /* bytes per weight row */
	size_t x_row;        /* bytes per converted activation row */
	int64_t rows;
	int cols;
	int n_tokens;
	int row_block;
	int row_chunks;      /* chunks along the rows */
	int n_chunks;
	_Alignas(64) _Atomic int next_chunk;
};

/* Convert blocks [b0, b1) of all tokens' rows, counted token after token. */
static void convert_blocks(const struct matmul_job *job, int64_t b0, int64_t b1)
{
	int64_t bs = job->xt->block_size;
	int64_t nb = job->cols / bs;

	while (b0 < b1) {
		int64_t t = b0 / nb, first = b0 % nb;
		int64_t last = t * nb + nb < b1 ? nb : b1 - t * nb;
		const float *src = job->xf + t * job->cols + first * bs;
		char *dst = (char *)job->x + t * job->x_row + first * (int64_t)job->xt->type_size;

		job->xt->from_float(src, dst, (last - first) * bs);
		b0 = t * nb + last;
	}
}

static void convert_worker(void *arg, int ith, int nth)
{
	const struct matmul_job *job = arg;
	int64_t total = (int64_t)job->n_tokens * (job->cols / job->xt->block_size);

	convert_blocks(job, total * ith / nth, total * (ith + 1) / nth);
}

/* n values as Q8_0 at the current level, then packed into groups of 8 blocks. */
static void q8x8_from_float(const float *src, void *dst, int64_t n)
{
	llmos_from_float_fn q8 = llmos_type_traits(LLMOS_TYPE_Q8_0)->from_float;
	struct block_q8_0 tmp[8];

	for (int64_t g = 0; g < n / LLMOS_QK_X8; g++) {
		q8(src + g * LLMOS_QK_X8, tmp, LLMOS_QK_X8);
		llmos_pack_q8x8(tmp, (struct llmos_block_q8x8 *)dst + g, 1);
	}
}

static const struct llmos_type_traits packed_traits = {
	.name = "q8x8",
	.block_size = LLMOS_QK_X8,
	.type_size = sizeof(struct llmos_block_q8x8),
	.from_float = q8x8_from_float,
};

static bool tile_possible(enum llmos_type wtype, int64_t cols)
{
	return llmos_tile_dot_scalar(wtype) && cols % LLMOS_QK_X8 == 0;
}

/* Token tiles outside, rows inside: both stay in L1 across the tile. */
static void run_chunk_tiled(const struct matmul_job *job, int64_t r0, int64_t r1, int t0, int t1)
{
	for (int t = t0; t < t1; t += LLMOS_TILE_TOKENS) {
		int nt = t1 - t < LLMOS_TILE_TOKENS ? t1 - t : LLMOS_TILE_TOKENS;
		const char *x = job->x + t * job->x_row;
		float *out = &job->out[t * job->rows];

		if (job->tile_rows) {
			for (int64_t r = r0; r < r1; r += LLMOS_TILE_ROWS) {
				int nr = r1 - r < LLMOS_TILE_ROWS ? (int)(r1 - r) : LLMOS_TILE_ROWS;

				job->tile_rows(job->cols, nr, nt, out + r, (size_t)job->rows,
					       job->w + r * job->w_row, job->w_row, x, job->x_row);
			}
			continue;
		}
		for (int64_t r = r0; r < r1; r++)
			job->tile(job->cols, nt, out + r, (size_t)job->rows, job->w + r * job->w_row, x,
				  job->x_row);
	}
}

/* Rows [r0, r1) against tokens [t0, t1). */
static void run_rows(const struct matmul_job *job, int64_t r0, int64_t r1, int t0, int t1)
{
	llmos_vec_dot_fn dot = job->wt->vec_dot;

	/* one token takes vec_dot: llama.cpp sums a batch and a token differently */
	if (job->tile || (job->tile_rows && job->batch)) {
		run_chunk_tiled(job, r0, r1, t0, t1);
		return;
	}
	for (int64_t r = r0; r < r1; r++) {
		const char *wrow = job->w + r * job->w_row;

		for (int t = t0; t < t1; t++)
			dot(job->cols, &job->out[t * job->rows + r], wrow, job->x + t * job->x_row);
	}
}

static void run_chunk(const struct matmul_job *job, int chunk)
{
	int64_t r0 = (int64_t)(chunk % job->row_chunks) * job->row_block;
	int64_t r1 = r0 + job->row_block < job->rows ? r0 + job->row_block : job->rows;
	int t0 = chunk / job->row_chunks * TOKEN_BLOCK;
	int t1 = t0 + TOKEN_BLOCK < job->n_tokens ? t0 + TOKEN_BLOCK : job->n_tokens;

	run_rows(job, r0, r1, t0, t1);
}

/*
 * One token (generation) streams the weights once: each thread takes one
 * contiguous share of the rows, so each core reads one sequential stream
 * the hardware prefetcher can follow (interleaved chunks measured 1.5x
 * slower on 2 cores).  Several tokens take chunks from a shared counter.
 */
static void matmul_worker(void *arg, int ith, int nth)
{
	struct matmul_job *job = arg;

	if (job->n_tokens == 1) {
		run_rows(job, job->rows * ith / nth, job->rows * (ith + 1) / nth, 0, 1);
		return;
	}

	for (int c = ith; c < job->n_chunks;
	     c = atomic_fetch_add_explicit(&job->next_chunk, 1, memory_order_relaxed))
		run_chunk(job, c);
	(void)nth;
}

static int check_args(const struct llmos_type_traits *wt, int64_t rows, int64_t cols,
		      int n_tokens)
{
	if (!wt || !wt->vec_dot)
		return llmos_fail(-EINVAL, "matmul: weight type has no vec_dot");
	if (rows <= 0 || cols <= 0 || n_tokens <= 0 || cols > INT_MAX)
		return llmos_fail(-EINVAL, "matmul: bad sizes %lld x %lld, %d tokens",
				  (long long)rows, (long long)cols, n_tokens);
	if (cols % wt->block_size)
		return llmos_fail(-EINVAL, "matmul: %lld columns not a multiple of %s's block %lld",
				  (long long)cols, wt->name, (long long)wt->block_size);
	return 0;
}

size_t llmos_matmul_scratch_size(enum llmos_type wtype, int64_t cols, int n_tokens)
{
	const struct llmos_type_traits *wt = llmos_type_traits(wtype);

	if (!wt || !wt->vec_dot || cols <= 0 || n_tokens <= 0 || cols % wt->block_size)
		return 0;
	if (wt->vec_dot_type == LLMOS_TYPE_F32)
		return 0;
	if (tile_possible(wtype, cols)) /* packed is the larger; any level may use it */
		return (size_t)(cols / LLMOS_QK_X8) * sizeof(struct llmos_block_q8x8) *
		       (size_t)n_tokens;
	return llmos_row_size(wt->vec_dot_type, cols) * (size_t)n_tokens;
}

static void convert_activations(struct llmos_pool *pool, struct matmul_job *job, void *scratch)
{
	if (job->xt == llmos_type_traits(LLMOS_TYPE_F32)) {
		job->x = (const char *)job->xf;
		return;
	}
	job->x = scratch;
	if ((int64_t)job->n_tokens * job->cols >= PAR_CONVERT)
		llmos_pool_run(pool, convert_worker, job);
	else
		convert_worker(job, 0, 1);
}

int llmos_matmul_quantize(struct llmos_pool *pool, enum llmos_type wtype, int64_t cols,
			  const float *x, int n_tokens, void *dst)
{
	const struct llmos_type_traits *wt = llmos_type_traits(wtype);
	int err = check_args(wt, 1, cols, n_tokens);
	struct matmul_job job;

	if (err)
		return err;
	if (wt->vec_dot_type == LLMOS_TYPE_F32)
		return llmos_fail(-EINVAL, "matmul: %s takes its activations as f32", wt->name);
	job = (struct matmul_job){
		.xt = llmos_type_traits(wt->vec_dot_type),
		.xf = x,
		.x_row = llmos_row_size(wt->vec_dot_type, cols),
		.cols = (int)cols,
		.n_tokens = n_tokens,
	};
	convert_activations(pool, &job, dst);
	return 0;
}

int llmos_matmul(struct llmos_pool *pool, float *out, const void *w, enum llmos_type wtype,
		 int64_t rows, int64_t cols, const float *x, int n_tokens, bool batch,
		 void *scratch)
{
	const struct llmos_type_traits *wt = llmos_type_traits(wtype);
	int err = check_args(wt, rows, cols, n_tokens);
	struct matmul_job job;

	if (err)
		return err;
	job = (struct matmul_job){
		.wt = wt,
		.xt = llmos_type_traits(wt->vec_dot_type),
		.out = out,
		.w = w,
		.xf = x,
		.w_row = llmos_row_size(wtype, cols),
		.x_row = llmos_row_size(wt->vec_dot_type, cols),
		.rows = rows,
		.cols = (int)cols,
		.n_tokens = n_tokens,
		.batch = batch,
		.row_block = ROW_BLOCK,
	};
	if (llmos_kernel_ops()->tile_rows[wtype]) {
		job.tile_rows = llmos_kernel_ops()->tile_rows[wtype];
	} else if (tile_possible(wtype, cols) && llmos_kernel_ops()->tile_dot[wtype]) {
		job.tile = llmos_kernel_ops()->tile_dot[wtype];
		job.xt = &packed_traits;
		job.x_row = (size_t)(cols / LLMOS_QK_X8) * sizeof(struct llmos_block_q8x8);
	}
	if (rows / job.row_block + 1 > INT_MAX / (n_tokens / TOKEN_BLOCK + 1))
		return llmos_fail(-EINVAL, "matmul: too many rows (%lld)", (long long)rows);
	job.row_chunks = (int)((rows + job.row_block - 1) / job.row_block);
	job.n_chunks = job.row_chunks * ((n_tokens + TOKEN_BLOCK - 1) / TOKEN_BLOCK);
	convert_activations(pool, &job, scratch);
	atomic_init(&job.next_chunk, llmos_pool_threads(pool));
	llmos_pool_run(pool, matmul_worker, &job);
	return 0;
}
