/* SPDX-License-Identifier: MIT */
/*
 * session.c - sessions: a KV cache sized from the context length (with the
 * activations, in a module buffer when llmos.ko has them), batched prefill
 * in chunks of n_batch tokens (each step under a grant of the module's
 * scheduler when there is one), incremental decode, and the logits.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "matmul.h"
#include "session.h"

#define DEFAULT_BATCH 64
#define MAX_CTX (1u << 20)

static void *alloc_floats(size_t n)
{
	return calloc(n ? n : 1, sizeof(float));
}

/* The largest scratch any matmul of this model needs for n_batch tokens. */
static size_t scratch_size(const struct llmos_model *m, uint32_t n_batch)
{
	size_t best = llmos_matmul_scratch_size(m->output.type, m->output.cols, (int)n_batch);
	int l;

	for (l = 0; l < m->hp.n_layers; l++) {
		const struct llmos_layer *L = &m->layers[l];
		const struct llmos_weight *w[] = { &L->wq, &L->wk,     &L->wv,   &L->wo,
						   &L->wqkv, &L->w_gate, &L->w_up, &L->w_down };
		size_t i, sz;

		for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
			sz = llmos_matmul_scratch_size(w[i]->type, w[i]->cols, (int)n_batch);
			if (sz > best)
				best = sz;
		}
	}
	return best;
}

/* Width of the widest fused matmul output (q|k|v or gate|up); 0 if none. */
static size_t fused_width(const struct llmos_model *m)
{
	size_t w = 0;

	for (int l = 0; l < m->hp.n_layers; l++) {
		const struct llmos_layer *L = &m->layers[l];

		if (L->wqkv.data && (size_t)L->wqkv.rows > w)
			w = (size_t)L->wqkv.rows;
		if (!L->w_gate.data && (size_t)L->w_up.rows > w)
			w = (size_t)L->w_up.rows;
	}
	return w;
}

/* Hands out a region's bytes in order, 64-byte aligned; while sizing (base NULL), NULL. */
struct carver {
	char *base;
	size_t used;
};

static void *carve(struct carver *c, size_t n, size_t size)
{
	void *p = c->base ? c->base + c->used : NULL;

	c->used += (n * size + 63) / 64 * 64;
	return p;
}

/* The KV cache and the activations, one after another in c. */
static void lay_out(struct llmos_session *s, struct carver *c)
{
	const struct llmos_hparams *hp = &s->m->hp;
	size_t kv = (size_t)hp->n_layers * s->n_kv * hp->n_kv_heads * hp->head_dim;
	size_t b = s->n_batch, q_dim = (size_t)hp->n_heads * hp->head_dim;
	size_t kv_dim = (size_t)hp->n_kv_heads * hp->head_dim, wide = fused_width(s->m);
	size_t nth = (size_t)llmos_pool_threads(s->pool);

	s->key_cache = carve(c, kv, sizeof(llmos_fp16));
	s->value_cache = carve(c, kv, sizeof(llmos_fp16));
	s->q16 = carve(c, b * q_dim, sizeof(llmos_fp16));
	s->k = carve(c, b * kv_dim, sizeof(float));
	s->v = carve(c, b * kv_dim, sizeof(float));
	s->probs16 = carve(c, nth * s->n_kv, sizeof(llmos_fp16));
	s->v16 = carve(c, b * kv_dim, sizeof(llmos_fp16));
	s->x = carve(c, b * hp->dim, sizeof(float));
	s->xb = carve(c, b * hp->dim, sizeof(float));
	s->q = carve(c, b * q_dim, sizeof(float));
	s->att = carve(c, b * q_dim, sizeof(float));
	s->hb = carve(c, b * hp->ffn_dim, sizeof(float));
	s->hb2 = carve(c, b * hp->ffn_dim, sizeof(float));
	s->wide = wide ? carve(c, b * wide, sizeof(float)) : NULL;
	s->scores = carve(c, nth * s->n_kv, sizeof(float));
	s->mm_scratch = carve(c, s->mm_scratch_size + 64, 1);
}

static int alloc_buffers(struct llmos_session *s)
{
	struct carver c = { NULL, 0 };
	char detail[400];
	int ret;

	s->mm_scratch_size = scratch_size(s->m, s->n_batch);
	lay_out(s, &c);
	/* the NPU reads and writes module memory only */
	if (s->device == LLMOS_DEVICE_NPU)
		ret = llmos_devbuf_create(s->dev, c.used, &s->mem);
	else
		ret = llmos_devbuf_alloc(s->dev, c.used, &s->mem);
	if (ret < 0) {
		snprintf(detail, sizeof(detail), "%s", llmos_last_error());
		return llmos_fail(ret, "session: no memory for a context of %u: %s", s->n_ctx,
				  detail);
	}
	c = (struct carver){ s->mem.data, 0 };
	lay_out(s, &c);
	s->logits = alloc_floats(s->m->hp.n_vocab);
	s->logits_cap = 1;
	if (!s->logits)
		return llmos_fail(-ENOMEM, "session: out of memory for the logits");
	return 0;
}

/*
 * The session's /dev/llmos handle: the model's for "llmos:NAME" (its
 * handles are in that file), else its own, standalone when there is no
 * usable module; then, for the NPU, that it has one.
 */
static int open_device(struct llmos_session *s)
{
	uint64_t types;
	int ret;

	if (s->m->src.dev) {
		s->dev = s->m->src.dev;
	} else {
		ret = llmos_open(&s->dev, 0);
		if (ret < 0 && s->device == LLMOS_DEVICE_NPU)
			return ret;
		if (ret < 0) {
			llmos_clear_error(); /* no usable module: standalone, as before */
			ret = llmos_open(&s->dev, LLMOS_OPEN_STANDALONE);
		}
		if (ret < 0)
			return ret;
		s->own_dev = true;
	}
	return s->device == LLMOS_DEVICE_NPU ? llmos_npu_probe(s->dev, &types) : 0;
}

/* The widest activation row of one token (the forward pass indexes with int). */
static uint64_t max_width(const struct llmos_model *m)
{
	const struct llmos_hparams *hp = &m->hp;
	uint64_t w = 0, q = (uint64_t)hp->n_heads * hp->head_dim;

	if ((uint64_t)hp->dim > w)
		w = (uint64_t)hp->dim;
	if (2 * (uint64_t)hp->ffn_dim > w)
		w = 2 * (uint64_t)hp->ffn_dim;
	if (3 * q > w)
		w = 3 * q;
	return w;
}

static int check_params(const struct llmos_model *m, const struct llmos_session_params *p,
			uint32_t *n_ctx, uint32_t *n_batch, int *n_threads)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	*n_ctx = p && p->n_ctx ? p->n_ctx : (uint32_t)m->hp.n_ctx_train;
	if (!(p && p->n_ctx) && *n_ctx > LLMOS_DEFAULT_CTX_MAX)
		*n_ctx = LLMOS_DEFAULT_CTX_MAX;
	if (*n_ctx > MAX_CTX)
		return llmos_fail(-EINVAL, "session: context %u is over the limit of %u", *n_ctx,
				  MAX_CTX);
	*n_batch = p && p->n_batch ? p->n_batch : DEFAULT_BATCH;
	if (*n_batch > *n_ctx)
		*n_batch = *n_ctx;
	if ((uint64_t)*n_batch * max_width(m) > INT32_MAX / 2)
		return llmos_fail(-EINVAL, "session: a batch of %u tokens is too large for this model",
				  *n_batch);
	*n_threads = p && p->n_threads ? (int)p->n_threads : (int)(cpus > 0 ? cpus : 1);
	if (*n_threads > 256)
		return llmos_fail(-EINVAL, "session: %d threads is too many", *n_threads);
	if (p && p->device != LLMOS_DEVICE_CPU && p->device != LLMOS_DEVICE_NPU)
		return llmos_fail(-EINVAL, "session: unknown device %u", p->device);
	return 0;
}

int llmos_session_create(struct llmos_session **out, const struct llmos_model *m,
			 const struct llmos_session_params *p)
{
	struct llmos_session *s;
	int n_threads = 1, ret;

	*out = NULL;
	if (m->vocab_only)
		return llmos_fail(-EINVAL, "session: the model was loaded without its weights "
				  "(a vocabulary only)");
	s = calloc(1, sizeof(*s));
	if (!s)
		return llmos_fail(-ENOMEM, "session: out of memory");
	s->m = m;
	ret = check_params(m, p, &s->n_ctx, &s->n_batch, &n_threads);
	if (ret < 0)
		goto out_free;
	s->device = p ? p->device : LLMOS_DEVICE_CPU;
	ret = open_device(s);
	if (ret < 0)
		goto out_free;
	s->n_kv = (s->n_ctx + 31) / 32 * 32;
	s->rope_theta_scale = powf(m->hp.rope_freq_base, -2.0f / (float)m->hp.rope_dim);
	/*
	 * LongRoPE: the long factors once the context (padded to 32, as
	 * llama.cpp pads it) outgrows the original one, else the short ones.
	 */
	if (m->rope_freqs)
		s->rope_factors = m->rope_freqs;
	else if (s->n_kv > (uint32_t)m->hp.n_ctx_orig)
		s->rope_factors = m->rope_long;
	else
		s->rope_factors = m->rope_short;
	if (n_threads > 1) {
		s->pool = llmos_pool_create(n_threads);
		if (!s->pool) {
			ret = llmos_fail(-errno, "session: cannot start %d threads", n_threads);
			goto out_free;
		}
	}
	ret = alloc_buffers(s);
	if (ret < 0)
		goto out_free;
	s->sched_class = LLMOS_CLASS_NORMAL;
	ret = llmos_sched_client_create(&s->sched, s->dev, LLMOS_CLASS_NORMAL, 0, 0);
	if (ret < 0)
		goto out_free;
	if (s->device == LLMOS_DEVICE_NPU && (ret = llmos_npu_create(&s->npu, s)) < 0)
		goto out_free;
	*out = s;
	return 0;
out_free:
	llmos_session_free(s);
	return ret;
}

void llmos_session_free(struct llmos_session *s)
{
	if (!s)
		return;
	llmos_sched_client_free(s->sched);
	llmos_npu_free(s->npu, s->dev);
	llmos_devbuf_free(s->dev, &s->mem);
	llmos_pool_destroy(s->pool);
	free(s->logits);
	if (s->own_dev)
		llmos_close(s->dev);
	free(s);
}

static int check_tokens(const struct llmos_session *s, const int32_t *ids, uint32_t n)
{
	uint32_t i;

	if (n == 0)
		return llmos_fail(-EINVAL, "eval: no tokens");
	for (i = 0; i < n; i++)
		if (ids[i] < 0 || ids[i] >= s->m->hp.n_vocab)
			return llmos_fail(-EINVAL, "eval: token %u is id %d, outside the vocabulary "
					  "of %d", i, ids[i], s->m->hp.n_vocab);
	if ((uint64_t)s->pos + n > s->n_ctx)
		return llmos_fail(-LLMOS_ECONTEXT, "eval: %u tokens at position %u do not fit in "
				  "the context of %u tokens (use a larger context, -c)", n, s->pos,
				  s->n_ctx);
	return 0;
}

static int reserve_logits(struct llmos_session *s, uint32_t rows)
{
	float *p;

	if (rows <= s->logits_cap)
		return 0;
	p = realloc(s->logits, (size_t)rows * s->m->hp.n_vocab * sizeof(float));
	if (!p)
		return llmos_fail(-ENOMEM, "eval: out of memory for %u rows of logits", rows);
	s->logits = p;
	s->logits_cap = rows;
	return 0;
}

/*
 * The size of the ubatch llama.cpp puts token done of an eval of n in: it
 * cuts a batch into ubatches of LLMOS_UBATCH and sums a lone token apart.
 */
static uint32_t ubatch_size(uint32_t n, uint32_t done)
{
	uint32_t start = done / LLMOS_UBATCH * LLMOS_UBATCH;

	return n - start < LLMOS_UBATCH ? n - start : LLMOS_UBATCH;
}

int llmos_session_eval(struct llmos_session *s, const int32_t *ids, uint32_t n,
		       unsigned int flags)
{
	int all = !!(flags & LLMOS_EVAL_ALL_LOGITS), ret, release;
	uint32_t done, chunk;

	if (flags & ~(LLMOS_EVAL_ALL_LOGITS | LLMOS_EVAL_KEEP_GRANT))
		return llmos_fail(-EINVAL, "eval: unknown flags 0x%x", flags);
	if ((ret = check_tokens(s, ids, n)) || (all && (ret = reserve_logits(s, n))))
		return ret;
	s->n_logits = 0;
	for (done = 0; done < n && !ret; done += chunk) {
		chunk = n - done < s->n_batch ? n - done : s->n_batch;
		s->in_batch = ubatch_size(n, done) >= 2;
		/* each step under a grant of the module's scheduler, if any */
		ret = llmos_sched_acquire(s->sched);
		if (!ret)
			ret = llmos_forward(s, ids + done, chunk, all, all ? done : 0);
		if (!ret)
			s->pos += chunk;
	}
	release = ret < 0 || !(flags & LLMOS_EVAL_KEEP_GRANT) ? llmos_sched_release(s->sched) : 0;
	if (ret < 0 || (ret = release) < 0)
		return ret;
	s->n_logits = all ? n : 1;
	s->logits_first = all ? 0 : n - 1;
	return 0;
}

const float *llmos_session_logits(const struct llmos_session *s, int32_t i)
{
	int64_t row = i < 0 ? (int64_t)s->n_logits + i : (int64_t)i - s->logits_first;

	if (!s->n_logits || row < 0 || row >= s->n_logits)
		return NULL;
	return s->logits + (size_t)row * s->m->hp.n_vocab;
}

uint32_t llmos_session_pos(const struct llmos_session *s)
{
	return s->pos;
}

uint32_t llmos_session_n_ctx(const struct llmos_session *s)
{
	return s->n_ctx;
}

void llmos_session_reset(struct llmos_session *s)
{
	s->pos = 0;
	s->n_logits = 0;
}

void llmos_session_device_info(const struct llmos_session *s,
			       struct llmos_session_device_info *info)
{
	memset(info, 0, sizeof(*info));
	info->device = s->device;
	info->module_memory = s->mem.handle != 0;
	llmos_npu_info(s->npu, s->m, info);
}
