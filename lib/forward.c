/* SPDX-License-Identifier: MIT */
/*
 * forward.c - the transformer forward pass over a batch of tokens, read top
 * to bottom: embed, then per layer attention (RMSNorm, Q/K/V, RoPE, causal
 * grouped-query attention, output projection) and a gated feed-forward,
 * each added to the residual stream; then the final norm and the logits.
 * The family's choices (struct llmos_arch: biases, fused matrices, post
 * norms, GELU, sliding windows, soft-capping, rope factors) are data the
 * steps below consult; there is one forward pass for every family.  With
 * the NPU (LLMOS_DEVICE_NPU) the matmuls of its weight types are its jobs;
 * everything else runs here.
 */
#include <math.h>
#include <string.h>

#include "matmul.h"
#include "npu.h"
#include "session.h"

#define MM_SHARED_MAX 3 /* q, k and v */

/*
 * out[i] = w[i] x for count (at most MM_SHARED_MAX) weights that take the
 * same input: those of the NPU's types (with LLMOS_DEVICE_NPU) in one NPU
 * job, the others on the CPU.
 */
static int mm_shared(struct llmos_session *s, float *const out[],
		     const struct llmos_weight *const w[], int count, const float *x, uint32_t n)
{
	struct llmos_npu_matmul npu[MM_SHARED_MAX];
	int i, n_npu = 0, ret = 0;

	for (i = 0; i < count && !ret; i++) {
		if (s->mm_observer)
			s->mm_observer(s->mm_observer_ctx, w[i], x, n);
		if (llmos_npu_runs(s->npu, w[i]->type))
			npu[n_npu++] = (struct llmos_npu_matmul){ out[i], w[i] };
		else
			ret = llmos_matmul(s->pool, out[i], w[i]->data, w[i]->type, w[i]->rows,
					   w[i]->cols, x, (int)n, s->mm_batch, s->mm_scratch);
	}
	return ret || !n_npu ? ret : llmos_npu_run(s, npu, n_npu, x, n);
}

static int mm(struct llmos_session *s, float *out, const struct llmos_weight *w, const float *x,
	      uint32_t n)
{
	return mm_shared(s, &out, &w, 1, x, n);
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
	if (s->m->arch->embd_scale) { /* gemma: times sqrt(dim), as ggml_scale does */
		float scale = sqrtf((float)e->cols);

		for (size_t i = 0; i < (size_t)n * e->cols; i++)
			s->x[i] *= scale;
	}
}

/* Add a bias vector of width w to each of n rows (of stride w). */
static void add_bias(float *rows, const float *bias, uint32_t n, int w)
{
	if (bias)
		for (uint32_t t = 0; t < n; t++)
			llmos_vec_add(rows + (size_t)t * w, bias, w);
}

/* Copy columns [off, off + w) of n rows of stride ld into rows of stride w. */
static void take_cols(float *dst, const float *src, uint32_t n, int ld, int off, int w)
{
	for (uint32_t t = 0; t < n; t++)
		memcpy(dst + (size_t)t * w, src + (size_t)t * ld + off, (size_t)w * sizeof(float));
}

/*
 * ggml's GELU (tanh form) as its CPU backend computes it: the input rounded
 * to fp16, the result looked up in a table of fp16 values, and the ends
 * clamped.  gate = gelu(gate) * up.
 */
static void gelu_mul(float *gate, const float *up, size_t n)
{
	const float sqrt_2_over_pi = 0.79788456080286535587989211986876f, coef_a = 0.044715f;

	for (size_t i = 0; i < n; i++) {
		float x = gate[i], g;

		if (x <= -10.0f) {
			g = 0.0f;
		} else if (x >= 10.0f) {
			g = x;
		} else {
			float h = llmos_fp16_to_fp32(llmos_fp32_to_fp16(x));

			/* ggml's build fuses 1 + a h h as fma(a h, h, 1) */
			g = 0.5f * h * (1.0f + tanhf(sqrt_2_over_pi * h * fmaf(coef_a * h, h, 1.0f)));
			g = llmos_fp16_to_fp32(llmos_fp32_to_fp16(g));
		}
		gate[i] = g * up[i];
	}
}

/* x = tanh(x / cap) * cap, as ggml_scale, ggml_tanh, ggml_scale do it. */
static void softcap(float *x, size_t n, float cap)
{
	for (size_t i = 0; i < n; i++)
		x[i] = tanhf(x[i] * (1.0f / cap)) * cap;
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
 * in float as ggml does, so results match it bit for bit where possible;
 * then divided by the pair's frequency factor (llama 3, LongRoPE), times
 * the linear scaling, with cos and sin times the attention factor.
 */
static void rope(const struct llmos_session *s, float *vec, int n_heads, uint32_t pos)
{
	const struct llmos_hparams *hp = &s->m->hp;
	const float *ff = s->rope_factors;
	float fs = hp->rope_freq_scale, ms = hp->rope_attn_factor;
	int half = hp->rope_dim / 2, h, i;
	int adjacent = s->m->arch->rope == LLMOS_ROPE_ADJACENT;

	for (h = 0; h < n_heads; h++) {
		float *v = vec + (size_t)h * hp->head_dim;
		float theta_base = (float)pos;

		for (i = 0; i < half; i++) {
			int a = adjacent ? 2 * i : i, b = adjacent ? 2 * i + 1 : i + half;
			float theta = ff ? fs * (theta_base / ff[i]) : fs * theta_base;
			float c = cosf(theta), sn = sinf(theta), x0 = v[a], x1 = v[b];

			if (ms != 1.0f) {
				c *= ms;
				sn *= ms;
			}
			/* ggml's build fuses these as fma(x0, c, -(x1 sn)) and fma(x0, sn, x1 c) */
			v[a] = fmaf(x0, c, -(x1 * sn));
			v[b] = fmaf(x0, sn, x1 * c);
			theta_base *= s->rope_theta_scale;
		}
	}
}

struct attn_job {
	struct llmos_session *s;
	int layer;
	uint32_t n;
	uint32_t kv_end; /* kv_extent() of the step */
};

/*
 * The KV length ggml uses for a batch ending at position end: the cells in
 * use rounded up to 32 (llama.cpp's padding without flash attention), at
 * least 32, at most the cache (whose cells are n_ctx rounded up to 32).
 */
static uint32_t kv_extent(const struct llmos_session *s, uint32_t end)
{
	uint32_t padded = (end + 31) & ~31u;

	return padded < s->n_kv ? padded : s->n_kv;
}

/*
 * One (token, head) pair: causal softmax(q k^T * scale) v over the cache,
 * over the last n_swa positions only in a sliding-window layer, the scores
 * soft-capped where the family does that.  As in ggml with an fp16 cache,
 * q and the softmax weights are rounded to fp16 for their dot products.
 *
 * ggml computes every row over the batch's whole KV length (kv_end, see
 * kv_extent()) with masked positions at -inf; its sums go in SIMD lanes
 * counted from position 0.  So do we, starting at the window's first
 * position rounded down to a multiple of 64 (masked positions add exact
 * zeros), so that every sum is rounded as ggml rounds it.
 */
static void attend(struct llmos_session *s, int layer, uint32_t t, int h, uint32_t kv_end,
		   float *scores, llmos_fp16 *probs)
{
	const struct llmos_hparams *hp = &s->m->hp;
	int hd = hp->head_dim, kv_dim = hp->n_kv_heads * hd, q_dim = hp->n_heads * hd;
	int kvh = h / (hp->n_heads / hp->n_kv_heads), d;
	const llmos_fp16 *keys = s->key_cache + (size_t)layer * s->n_kv * kv_dim + (size_t)kvh * hd;
	const llmos_fp16 *vals = s->value_cache + ((size_t)layer * kv_dim + (size_t)kvh * hd) *
							  s->n_kv;
	const llmos_fp16 *q = s->q16 + (size_t)t * q_dim + (size_t)h * hd;
	float *out = s->att + (size_t)t * q_dim + (size_t)h * hd;
	float scale = s->m->arch->scale_q ? 1.0f : hp->attn_scale;
	uint32_t j, last = s->pos + t, first = 0, from, n;

	if (s->m->layers[layer].swa && last + 1 > (uint32_t)hp->n_swa)
		first = last + 1 - (uint32_t)hp->n_swa;
	from = first & ~63u;
	n = kv_end - from;
	for (j = first; j <= last; j++)
		scores[j - from] = llmos_dot_f16_batch(hd, keys + (size_t)j * kv_dim, q, s->in_batch);
	/* ggml caps q.k, then scales it inside its softmax, then masks */
	if (hp->attn_softcap > 0.0f)
		softcap(scores + (first - from), last + 1 - first, hp->attn_softcap);
	if (scale != 1.0f)
		for (j = first; j <= last; j++)
			scores[j - from] *= scale;
	for (j = from; j < kv_end; j++)
		if (j < first || j > last)
			scores[j - from] = -INFINITY;
	llmos_softmax(scores, (int)n);
	llmos_type_traits(LLMOS_TYPE_F16)->from_float(scores, probs, n);
	for (d = 0; d < hd; d++)
		out[d] = llmos_dot_f16_batch((int)n, vals + (size_t)d * s->n_kv + from, probs,
					     s->in_batch);
}

static void attn_worker(void *arg, int ith, int nth)
{
	struct attn_job *job = arg;
	struct llmos_session *s = job->s;
	uint32_t n_heads = s->m->hp.n_heads, i;
	float *scores = s->scores + (size_t)ith * s->n_kv;
	llmos_fp16 *probs = s->probs16 + (size_t)ith * s->n_kv;

	for (i = ith; i < job->n * n_heads; i += nth)
		attend(s, job->layer, i / n_heads, (int)(i % n_heads), job->kv_end, scores, probs);
}

/* Q into s->q, K and V into the cache at s->pos: fused or not, biased or not. */
static int project_qkv(struct llmos_session *s, const struct llmos_layer *L, float *k, float *v,
		       uint32_t n)
{
	const struct llmos_hparams *hp = &s->m->hp;
	int q_dim = hp->n_heads * hp->head_dim, kv_dim = hp->n_kv_heads * hp->head_dim;
	int ret;

	if (L->wqkv.data) {
		int w = q_dim + 2 * kv_dim;

		if ((ret = mm(s, s->wide, &L->wqkv, s->xb, n)))
			return ret;
		take_cols(s->q, s->wide, n, w, 0, q_dim);
		take_cols(k, s->wide, n, w, q_dim, kv_dim);
		take_cols(v, s->wide, n, w, q_dim + kv_dim, kv_dim);
		return 0;
	}
	if ((ret = mm_shared(s, (float *[]){ s->q, k, v },
			     (const struct llmos_weight *[]){ &L->wq, &L->wk, &L->wv }, 3, s->xb, n)))
		return ret;
	add_bias(s->q, L->bq, n, q_dim);
	add_bias(k, L->bk, n, kv_dim);
	add_bias(v, L->bv, n, kv_dim);
	return 0;
}

/*
 * Round the new tokens' q to fp16 (scaled first where the family scales
 * q) and store their keys and values in the cache, values transposed.
 */
static void store_qkv(struct llmos_session *s, int l, uint32_t n)
{
	const struct llmos_hparams *hp = &s->m->hp;
	int q_dim = hp->n_heads * hp->head_dim, kv_dim = hp->n_kv_heads * hp->head_dim;
	llmos_from_float_fn to_f16 = llmos_type_traits(LLMOS_TYPE_F16)->from_float;
	llmos_fp16 *keys = s->key_cache + ((size_t)l * s->n_kv + s->pos) * kv_dim;
	llmos_fp16 *vals = s->value_cache + (size_t)l * kv_dim * s->n_kv + s->pos;

	if (s->m->arch->scale_q)
		for (size_t i = 0; i < (size_t)n * q_dim; i++)
			s->q[i] *= hp->attn_scale;
	to_f16(s->q, s->q16, (int64_t)n * q_dim);
	to_f16(s->k, keys, (int64_t)n * kv_dim);
	to_f16(s->v, s->v16, (int64_t)n * kv_dim);
	for (uint32_t t = 0; t < n; t++)
		for (int d = 0; d < kv_dim; d++)
			vals[(size_t)d * s->n_kv + t] = s->v16[(size_t)t * kv_dim + d];
}

static int attention_block(struct llmos_session *s, int l, uint32_t n)
{
	const struct llmos_hparams *hp = &s->m->hp;
	const struct llmos_layer *L = &s->m->layers[l];
	int q_dim = hp->n_heads * hp->head_dim, kv_dim = hp->n_kv_heads * hp->head_dim;
	struct attn_job job = { s, l, n, kv_extent(s, s->pos + n) };
	uint32_t t;
	int ret;

	norm_rows(s->xb, s->x, L->attn_norm, n, hp->dim, hp->norm_eps);
	if ((ret = project_qkv(s, L, s->k, s->v, n)))
		return ret;
	for (t = 0; t < n; t++) {
		rope(s, s->q + (size_t)t * q_dim, hp->n_heads, s->pos + t);
		rope(s, s->k + (size_t)t * kv_dim, hp->n_kv_heads, s->pos + t);
	}
	store_qkv(s, l, n);
	llmos_pool_run(s->pool, attn_worker, &job);
	if ((ret = mm(s, s->xb, &L->wo, s->att, n)))
		return ret;
	add_bias(s->xb, L->bo, n, hp->dim);
	if (L->attn_post_norm)
		norm_rows(s->xb, s->xb, L->attn_post_norm, n, hp->dim, hp->norm_eps);
	llmos_vec_add(s->x, s->xb, (int)(n * hp->dim));
	return 0;
}

/* hb = gate, hb2 = up: two matrices, or the halves of one (phi3). */
static int project_gate_up(struct llmos_session *s, const struct llmos_layer *L, uint32_t n)
{
	int ffn = s->m->hp.ffn_dim, ret;

	if (L->w_gate.data) {
		if ((ret = mm_shared(s, (float *[]){ s->hb, s->hb2 },
				     (const struct llmos_weight *[]){ &L->w_gate, &L->w_up }, 2,
				     s->xb, n)))
			return ret;
		add_bias(s->hb, L->b_gate, n, ffn);
		add_bias(s->hb2, L->b_up, n, ffn);
		return 0;
	}
	if ((ret = mm(s, s->wide, &L->w_up, s->xb, n)))
		return ret;
	take_cols(s->hb, s->wide, n, 2 * ffn, 0, ffn);
	take_cols(s->hb2, s->wide, n, 2 * ffn, ffn, ffn);
	return 0;
}

static int ffn_block(struct llmos_session *s, int l, uint32_t n)
{
	const struct llmos_hparams *hp = &s->m->hp;
	const struct llmos_layer *L = &s->m->layers[l];
	int ret;

	norm_rows(s->xb, s->x, L->ffn_norm, n, hp->dim, hp->norm_eps);
	if ((ret = project_gate_up(s, L, n)))
		return ret;
	if (s->m->arch->act == LLMOS_ACT_GELU_TANH)
		gelu_mul(s->hb, s->hb2, (size_t)n * hp->ffn_dim);
	else
		llmos_silu_mul(s->hb, s->hb2, (int)(n * hp->ffn_dim));
	if ((ret = mm(s, s->xb, &L->w_down, s->hb, n)))
		return ret;
	add_bias(s->xb, L->b_down, n, hp->dim);
	if (L->ffn_post_norm)
		norm_rows(s->xb, s->xb, L->ffn_post_norm, n, hp->dim, hp->norm_eps);
	llmos_vec_add(s->x, s->xb, (int)(n * hp->dim));
	return 0;
}

static int compute_logits(struct llmos_session *s, uint32_t n, int all, uint32_t row)
{
	const struct llmos_hparams *hp = &s->m->hp;
	float *out = s->logits + (size_t)row * hp->n_vocab;
	uint32_t rows = all ? n : 1;
	int ret;

	norm_rows(s->xb, s->x + (all ? 0 : (size_t)(n - 1) * hp->dim), s->m->output_norm, rows,
		  hp->dim, hp->norm_eps);
	ret = mm(s, out, &s->m->output, s->xb, rows);
	if (!ret && hp->final_softcap > 0.0f)
		softcap(out, (size_t)rows * hp->n_vocab, hp->final_softcap);
	return ret;
}

int llmos_forward(struct llmos_session *s, const int32_t *ids, uint32_t n, int all_logits,
		  uint32_t logits_row)
{
	int l, ret, last = s->m->hp.n_layers - 1;
	uint32_t rows = n;

	embed(s, ids, n);
	s->mm_batch = s->in_batch;
	for (l = 0; l <= last; l++) {
		/* A safe point: a more urgent client may take the slot here. */
		if (l && (ret = llmos_sched_yield_if_preempted(s->sched)))
			return ret;
		if ((ret = attention_block(s, l, n)))
			return ret;
		/* and another between attention and FFN: a wait is at most half a layer */
		if ((ret = llmos_sched_yield_if_preempted(s->sched)))
			return ret;
		/*
		 * As llama.cpp: past the last attention only the rows whose logits
		 * are wanted go on, summed as a batch only if there are several.
		 */
		if (l == last && !all_logits) {
			memmove(s->x, s->x + (size_t)(n - 1) * s->m->hp.dim,
				(size_t)s->m->hp.dim * sizeof(float));
			rows = 1;
			s->mm_batch = false;
		}
		if ((ret = ffn_block(s, l, rows)))
			return ret;
	}
	return compute_logits(s, rows, all_logits, logits_row);
}
