/* SPDX-License-Identifier: MIT */
/*
 * forward.c - the transformer forward pass over a batch of tokens, read top
 * to bottom: embed, then per layer attention (RMSNorm, Q/K/V, RoPE, causal
 * grouped-query attention, output projection) and SwiGLU feed-forward, each
 * added to the residual stream; then the final norm and the logits.
 */
#include <math.h>
#include <string.h>

#include "matmul.h"
#include "session.h"

static int mm(struct llmos_session *s, float *out, const struct llmos_weight *w, const float *x,
	      uint32_t n)
{
	return llmos_matmul(s->pool, out, w->data, w->type, w->rows, w->cols, x, (int)n,
			    s->mm_scratch);
}

static void embed(struct llmos_session *s, const int32_t *ids, uint32_t n)
{
	const struct llmos_weight *e = &s->m->tok_embd;
	const struct llmos_type_traits *tr = llmos_type_traits(e->type);
	size_t row_size = llmos_row_size(e->type, e->cols);
	uint32_t t;

	for (t = 0; t < n; t++)
		tr->to_float((const char *)e->data + (size_t)ids[t] * row_size,
			     s->x + (size_t)t * e->cols, e->cols);
}

static void norm_rows(float *out, const float *x, const float *w, uint32_t n, int dim, float eps)
{
	uint32_t t;

	for (t = 0; t < n; t++)
		llmos_rmsnorm(out + (size_t)t * dim, x + (size_t)t * dim, w, dim, eps);
}

/*
 * Rotate the first rope_dim values of each of n_heads heads by position pos.
 * theta_i = pos * base^(-2i/rope_dim), computed by repeated multiplication
 * in float as ggml does, so results match it bit for bit where possible.
 */
static void rope(const struct llmos_session *s, float *vec, int n_heads, uint32_t pos)
{
	const struct llmos_hparams *hp = &s->m->hp;
	int half = hp->rope_dim / 2, h, i;
	int adjacent = s->m->arch->rope == LLMOS_ROPE_ADJACENT;

	for (h = 0; h < n_heads; h++) {
		float *v = vec + (size_t)h * hp->head_dim;
		float theta = (float)pos;

		for (i = 0; i < half; i++) {
			int a = adjacent ? 2 * i : i, b = adjacent ? 2 * i + 1 : i + half;
			float c = cosf(theta), sn = sinf(theta), x0 = v[a], x1 = v[b];

			v[a] = x0 * c - x1 * sn;
			v[b] = x0 * sn + x1 * c;
			theta *= s->rope_theta_scale;
		}
	}
}

struct attn_job {
	struct llmos_session *s;
	int layer;
	uint32_t n;
};

/* One (token, head) pair: causal softmax(q k^T / sqrt(d)) v over the cache. */
static void attend(struct llmos_session *s, int layer, uint32_t t, int h, float *scores)
{
	const struct llmos_hparams *hp = &s->m->hp;
	int hd = hp->head_dim, kv_dim = hp->n_kv_heads * hd, q_dim = hp->n_heads * hd;
	int kvh = h / (hp->n_heads / hp->n_kv_heads);
	size_t base = (size_t)layer * s->n_ctx * kv_dim + (size_t)kvh * hd;
	const float *q = s->q + (size_t)t * q_dim + (size_t)h * hd;
	float *out = s->att + (size_t)t * q_dim + (size_t)h * hd;
	float scale = 1.0f / sqrtf((float)hd);
	uint32_t j, last = s->pos + t;

	for (j = 0; j <= last; j++)
		scores[j] = llmos_vec_dot_f32(q, s->key_cache + base + (size_t)j * kv_dim, hd) *
			    scale;
	llmos_softmax(scores, (int)last + 1);
	memset(out, 0, hd * sizeof(float));
	for (j = 0; j <= last; j++)
		llmos_vec_mad(out, s->value_cache + base + (size_t)j * kv_dim, scores[j], hd);
}

static void attn_worker(void *arg, int ith, int nth)
{
	struct attn_job *job = arg;
	struct llmos_session *s = job->s;
	uint32_t n_heads = s->m->hp.n_heads, i;
	float *scores = s->scores + (size_t)ith * s->n_ctx;

	for (i = ith; i < job->n * n_heads; i += nth)
		attend(s, job->layer, i / n_heads, (int)(i % n_heads), scores);
}

static int attention_block(struct llmos_session *s, int l, uint32_t n)
{
	const struct llmos_hparams *hp = &s->m->hp;
	const struct llmos_layer *L = &s->m->layers[l];
	int q_dim = hp->n_heads * hp->head_dim, kv_dim = hp->n_kv_heads * hp->head_dim;
	size_t at = ((size_t)l * s->n_ctx + s->pos) * kv_dim;
	float *k = s->key_cache + at, *v = s->value_cache + at;
	struct attn_job job = { s, l, n };
	uint32_t t;
	int ret;

	norm_rows(s->xb, s->x, L->attn_norm, n, hp->dim, hp->norm_eps);
	if ((ret = mm(s, s->q, &L->wq, s->xb, n)) || (ret = mm(s, k, &L->wk, s->xb, n)) ||
	    (ret = mm(s, v, &L->wv, s->xb, n)))
		return ret;
	for (t = 0; t < n; t++) {
		rope(s, s->q + (size_t)t * q_dim, hp->n_heads, s->pos + t);
		rope(s, k + (size_t)t * kv_dim, hp->n_kv_heads, s->pos + t);
	}
	llmos_pool_run(s->pool, attn_worker, &job);
	if ((ret = mm(s, s->xb, &L->wo, s->att, n)))
		return ret;
	llmos_vec_add(s->x, s->xb, (int)(n * hp->dim));
	return 0;
}

static int ffn_block(struct llmos_session *s, int l, uint32_t n)
{
	const struct llmos_hparams *hp = &s->m->hp;
	const struct llmos_layer *L = &s->m->layers[l];
	int ret;

	norm_rows(s->xb, s->x, L->ffn_norm, n, hp->dim, hp->norm_eps);
	if ((ret = mm(s, s->hb, &L->w_gate, s->xb, n)) || (ret = mm(s, s->hb2, &L->w_up, s->xb, n)))
		return ret;
	llmos_silu_mul(s->hb, s->hb2, (int)(n * hp->ffn_dim));
	if ((ret = mm(s, s->xb, &L->w_down, s->hb, n)))
		return ret;
	llmos_vec_add(s->x, s->xb, (int)(n * hp->dim));
	return 0;
}

static int compute_logits(struct llmos_session *s, uint32_t n, int all, uint32_t row)
{
	const struct llmos_hparams *hp = &s->m->hp;
	float *out = s->logits + (size_t)row * hp->n_vocab;

	if (all) {
		norm_rows(s->xb, s->x, s->m->output_norm, n, hp->dim, hp->norm_eps);
		return mm(s, out, &s->m->output, s->xb, n);
	}
	norm_rows(s->xb, s->x + (size_t)(n - 1) * hp->dim, s->m->output_norm, 1, hp->dim,
		  hp->norm_eps);
	return mm(s, out, &s->m->output, s->xb, 1);
}

int llmos_forward(struct llmos_session *s, const int32_t *ids, uint32_t n, int all_logits,
		  uint32_t logits_row)
{
	int l, ret;

	embed(s, ids, n);
	for (l = 0; l < s->m->hp.n_layers; l++) {
		/* A safe point: a more urgent client may take the slot here. */
		if (l && (ret = llmos_sched_yield_if_preempted(s->sched)))
			return ret;
		if ((ret = attention_block(s, l, n)) || (ret = ffn_block(s, l, n)))
			return ret;
	}
	return compute_logits(s, n, all_logits, logits_row);
}
