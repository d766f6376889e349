/* SPDX-License-Identifier: MIT */
/*
 * session.h - a session's state: its KV cache, the activations of one
 * forward step, and the thread pool that computes them.
 */
#ifndef LLMOS_SESSION_H
#define LLMOS_SESSION_H

#include <stdint.h>

#include <stdbool.h>

#include "devbuf.h"
#include "model.h"
#include "npu.h"
#include "sched_client.h"
#include "threadpool.h"

struct llmos_session {
	const struct llmos_model *m;
	struct llmos_pool *pool;
	uint32_t n_ctx;
	uint32_t n_kv;         /* KV cells: n_ctx rounded up to 32, as llama.cpp pads it */
	uint32_t n_batch;
	uint32_t pos;          /* positions filled in the KV cache */
	/*
	 * How llama.cpp would sum this step: in_batch when its token lies in a
	 * ubatch (LLMOS_UBATCH) of two or more, the way it sums batches;
	 * mm_batch for the matmul at hand (the last layer's FFN and the logits
	 * have one row unless every token's logits are wanted).
	 */
	bool in_batch;
	bool mm_batch;

	/* /dev/llmos: the model's handle for "llmos:NAME", else the session's own */
	struct llmos *dev;
	bool own_dev;          /* dev is the session's, to close */
	uint32_t device;       /* LLMOS_DEVICE_* */
	struct llmos_npu *npu; /* the matmuls the NPU runs (LLMOS_DEVICE_NPU); else NULL */
	/*
	 * The KV cache and the activations below, in one region: a module
	 * buffer when the module has them (always with the NPU, which reads
	 * and writes them there), else anonymous memory.
	 */
	struct llmos_devbuf mem;

	/* Told each matmul's input before it runs (llmos imatrix); NULL for none. */
	void (*mm_observer)(void *ctx, const struct llmos_weight *w, const float *x, uint32_t n);
	void *mm_observer_ctx;

	struct llmos_sched_client *sched; /* NULL: steps run unscheduled */
	int sched_class;       /* LLMOS_CLASS_*, as set (NORMAL by default) */
	uint32_t sched_weight; /* as set; 0: the process's */

	/*
	 * The KV cache in fp16, laid out as llama.cpp keeps it by default (so
	 * that attention rounds where ggml rounds): keys by position, values
	 * transposed, by dimension.
	 */
	llmos_fp16 *key_cache;   /* (n_layers, n_kv, kv_dim), RoPE applied */
	llmos_fp16 *value_cache; /* (n_layers, kv_dim, n_kv) */
	float rope_theta_scale; /* base^(-2 / rope_dim) */
	const float *rope_factors; /* per-pair divisors of theta, or NULL */

	/* Activations of one step of up to n_batch tokens. */
	float *x;              /* (n_batch, dim) the residual stream */
	float *xb;             /* (n_batch, dim) normed input, or a matmul output */
	float *q;              /* (n_batch, n_heads * head_dim) */
	llmos_fp16 *q16;       /* the same, rounded to fp16 for the dots with keys */
	float *k, *v;          /* (n_batch, kv_dim): new keys and values before the cache */
	llmos_fp16 *v16;       /* (n_batch, kv_dim): the values in fp16, to transpose */
	float *att;            /* (n_batch, n_heads * head_dim) attention output */
	float *hb, *hb2;       /* (n_batch, ffn_dim) */
	float *wide;           /* (n_batch, fused q|k|v or gate|up width), or NULL */
	float *scores;         /* (n_threads, n_kv) attention weights */
	llmos_fp16 *probs16;   /* (n_threads, n_kv) the same after softmax, in fp16 */
	void *mm_scratch;      /* activations converted for quantized matmuls */
	size_t mm_scratch_size;

	float *logits;         /* (logits_cap, n_vocab), on the heap */
	uint32_t logits_cap;   /* rows allocated */
	uint32_t n_logits;     /* rows valid after the last eval */
	uint32_t logits_first; /* token index (in the last eval) of row 0 */
};

/* llama.cpp's default ubatch: the unit in which it decides batch or single token */
#define LLMOS_UBATCH 512

/* forward.c: run n tokens (n <= n_batch) at s->pos; logits of the last one
 * or, with all_logits, of each into s->logits starting at row logits_row. */
int llmos_forward(struct llmos_session *s, const int32_t *ids, uint32_t n, int all_logits,
		  uint32_t logits_row);

#endif /* LLMOS_SESSION_H */
