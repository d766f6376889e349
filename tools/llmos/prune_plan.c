/* SPDX-License-Identifier: MIT */
/*
 * prune_plan.c - which FFN channels and attention head groups `llmos
 * prune` keeps, and what that means for each tensor.  A channel j of layer
 * L is row j of ffn_gate and ffn_up (rows j and ffn + j of a fused
 * gate|up), column j of ffn_down and entry j of their biases; a KV group g
 * is rows g of attn_k and attn_v, its n_head / n_kv query heads' rows of
 * attn_q and columns of attn_output (or their rows of a fused attn_qkv).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imatrix.h"
#include "internal.h"
#include "kernels.h"
#include "prune_plan.h"

static int arch_u32(struct gguf_file *f, const char *arch, const char *key, uint32_t *v)
{
	char k[160];

	snprintf(k, sizeof(k), "%s.%s", arch, key);
	return gguf_get_u32(f, k, v);
}

int prune_shape_read(struct gguf_file *f, struct prune_shape *s)
{
	uint32_t layers = 0, heads = 0, kv = 0, ffn = 0, dim = 0, kl = 0;
	const char *a;
	uint64_t len;

	memset(s, 0, sizeof(*s));
	if (gguf_get_str(f, "general.architecture", &a, &len) || len >= sizeof(s->arch))
		return llmos_fail(-LLMOS_EFORMAT, "prune: no general.architecture");
	memcpy(s->arch, a, len);
	if (arch_u32(f, s->arch, "block_count", &layers) ||
	    arch_u32(f, s->arch, "attention.head_count", &heads) ||
	    arch_u32(f, s->arch, "feed_forward_length", &ffn) ||
	    arch_u32(f, s->arch, "embedding_length", &dim))
		return llmos_fail(-LLMOS_EUNSUPPORTED, "prune: %s: the block count, head count, FFN "
				  "length and embedding length must be single numbers", s->arch);
	if (arch_u32(f, s->arch, "attention.head_count_kv", &kv))
		kv = heads;
	if (arch_u32(f, s->arch, "attention.key_length", &kl))
		kl = heads ? dim / heads : 0;
	if (!layers || !heads || !kv || heads % kv || !kl || !ffn)
		return llmos_fail(-LLMOS_EFORMAT, "prune: a shape of %u layers, %u heads, %u KV "
				  "heads, head size %u, FFN %u", layers, heads, kv, kl, ffn);
	s->n_layer = (int)layers;
	s->n_head = (int)heads;
	s->n_kv = (int)kv;
	s->head_dim = (int)kl;
	s->ffn = (int)ffn;
	return 0;
}

/* Element i of a float tensor (F32, F16 or BF16). */
static double elem(const struct gguf_tensor *t, uint64_t i)
{
	if (t->type == LLMOS_TYPE_F32)
		return ((const float *)t->data)[i];
	if (t->type == LLMOS_TYPE_F16)
		return llmos_fp16_to_fp32(((const llmos_fp16 *)t->data)[i]);
	return llmos_bf16_to_fp32(((const llmos_bf16 *)t->data)[i]);
}

static const struct gguf_tensor *layer_tensor(struct gguf_file *f, int l, const char *what)
{
	char name[GGUF_MAX_NAME];

	snprintf(name, sizeof(name), "blk.%d.%s", l, what);
	return gguf_find_tensor(f, name);
}

/* Squared norm of rows [r0, r0 + n) (by_rows) or columns [r0, r0 + n) of a 2-D tensor. */
static double norm2(const struct gguf_tensor *t, uint64_t r0, uint64_t n, bool by_rows)
{
	uint64_t cols = t->ne[0], rows = t->n_elems / cols;
	double s = 0;

	if (!t)
		return 0;
	for (uint64_t r = by_rows ? r0 : 0; r < (by_rows ? r0 + n : rows); r++)
		for (uint64_t c = by_rows ? 0 : r0; c < (by_rows ? cols : r0 + n); c++) {
			double v = elem(t, r * cols + c);

			s += v * v;
		}
	return s;
}

/* Activation weight of columns [c0, c0 + n) of a tensor's input, or 1 without a matrix. */
static double act(const struct llmos_imatrix *im, const char *name, int64_t c0, int64_t n)
{
	int64_t len;
	const float *v = im ? llmos_imatrix_find(im, name, &len) : NULL;
	double s = 0;

	if (!v || c0 + n > len)
		return 1;
	for (int64_t c = c0; c < c0 + n; c++)
		s += v[c];
	return s / (double)n;
}

/* A channel's score: its weights' squared norms (magnitude), or its output's energy (activation). */
static double ffn_score(struct gguf_file *f, const struct prune_shape *s, int l, int j,
			const struct llmos_imatrix *im)
{
	const struct gguf_tensor *gate = layer_tensor(f, l, "ffn_gate.weight"),
				 *up = layer_tensor(f, l, "ffn_up.weight"),
				 *down = layer_tensor(f, l, "ffn_down.weight");
	double d = norm2(down, (uint64_t)j, 1, false);

	if (im)
		return act(im, down->name, j, 1) * d;
	d += norm2(up, (uint64_t)j, 1, true) + norm2(gate, (uint64_t)j, 1, true);
	if (!gate) /* gate|up fused in ffn_up */
		d += norm2(up, (uint64_t)(s->ffn + j), 1, true);
	return d;
}

static double group_score(struct gguf_file *f, const struct prune_shape *s, int l, int g,
			  const struct llmos_imatrix *im)
{
	const struct gguf_tensor *q = layer_tensor(f, l, "attn_q.weight"),
				 *k = layer_tensor(f, l, "attn_k.weight"),
				 *v = layer_tensor(f, l, "attn_v.weight"),
				 *o = layer_tensor(f, l, "attn_output.weight"),
				 *qkv = layer_tensor(f, l, "attn_qkv.weight");
	uint64_t hd = (uint64_t)s->head_dim, rep = (uint64_t)(s->n_head / s->n_kv);
	uint64_t q0 = (uint64_t)g * rep * hd, qn = rep * hd, k0 = (uint64_t)g * hd;
	uint64_t qdim = (uint64_t)s->n_head * hd, kvdim = (uint64_t)s->n_kv * hd;
	double out = norm2(o, q0, qn, false);

	if (im)
		return act(im, o->name, (int64_t)q0, (int64_t)qn) * out;
	if (qkv)
		return out + norm2(qkv, q0, qn, true) + norm2(qkv, qdim + k0, hd, true) +
		       norm2(qkv, qdim + kvdim + k0, hd, true);
	return out + norm2(q, q0, qn, true) + norm2(k, k0, hd, true) + norm2(v, k0, hd, true);
}

static const double *sort_scores;

static int by_score_desc(const void *a, const void *b)
{
	double x = sort_scores[*(const int *)a], y = sort_scores[*(const int *)b];

	return x < y ? 1 : x > y ? -1 : *(const int *)a - *(const int *)b;
}

static int by_index(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The keep highest-scoring of n, ascending, into out. */
static void choose(const double *score, int n, int keep, int *out)
{
	int *order = malloc((size_t)n * sizeof(*order));

	for (int i = 0; i < n; i++)
		order[i] = i;
	sort_scores = score;
	qsort(order, (size_t)n, sizeof(*order), by_score_desc);
	memcpy(out, order, (size_t)keep * sizeof(*out));
	qsort(out, (size_t)keep, sizeof(*out), by_index);
	free(order);
}

/* Every tensor a plan touches must be a float one, of the shape the metadata says. */
static int check_tensors(struct gguf_file *f, const struct prune_shape *s)
{
	static const char *const parts[] = { "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight",
					     "attn_q.weight", "attn_k.weight", "attn_v.weight",
					     "attn_output.weight", "attn_qkv.weight" };

	for (int l = 0; l < s->n_layer; l++)
		for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
			const struct gguf_tensor *t = layer_tensor(f, l, parts[i]);

			if (t && t->type != LLMOS_TYPE_F32 && t->type != LLMOS_TYPE_F16 &&
			    t->type != LLMOS_TYPE_BF16)
				return llmos_fail(-LLMOS_EUNSUPPORTED, "prune: %s is %s: prune a float "
						  "model (f32, f16, bf16), then quantize it", t->name,
						  gguf_ggml_type_name(t->type));
		}
	if (!layer_tensor(f, 0, "ffn_down.weight") || !layer_tensor(f, 0, "attn_output.weight"))
		return llmos_fail(-LLMOS_EUNSUPPORTED, "prune: no blk.0.ffn_down or attn_output");
	return 0;
}

int prune_plan_make(struct gguf_file *f, const struct prune_shape *s, double ffn_frac,
		    double heads_frac, const struct llmos_imatrix *im, struct prune_plan *p)
{
	int n = s->ffn > s->n_kv ? s->ffn : s->n_kv, ret = check_tensors(f, s);
	double *score = malloc((size_t)n * sizeof(*score));

	memset(p, 0, sizeof(*p));
	p->s = *s;
	p->ffn_keep = s->ffn - (int)lround(s->ffn * ffn_frac);
	p->kv_keep = s->n_kv - (int)lround(s->n_kv * heads_frac);
	if (!ret && (p->ffn_keep < 1 || p->kv_keep < 1))
		ret = llmos_fail(-EINVAL, "prune: that leaves %d FFN channels and %d KV heads per "
				 "layer; at least one of each must stay", p->ffn_keep, p->kv_keep);
	p->ffn_idx = malloc((size_t)s->n_layer * (size_t)p->ffn_keep * sizeof(int) + 1);
	p->kv_idx = malloc((size_t)s->n_layer * (size_t)p->kv_keep * sizeof(int) + 1);
	if (!ret && (!score || !p->ffn_idx || !p->kv_idx))
		ret = llmos_fail(-ENOMEM, "prune: out of memory");
	for (int l = 0; !ret && l < s->n_layer; l++) {
		for (int j = 0; j < s->ffn; j++)
			score[j] = ffn_score(f, s, l, j, im);
		choose(score, s->ffn, p->ffn_keep, p->ffn_idx + (size_t)l * p->ffn_keep);
		for (int g = 0; g < s->n_kv; g++)
			score[g] = group_score(f, s, l, g, im);
		choose(score, s->n_kv, p->kv_keep, p->kv_idx + (size_t)l * p->kv_keep);
	}
	free(score);
	if (ret)
		prune_plan_free(p);
	return ret;
}

void prune_plan_free(struct prune_plan *p)
{
	free(p->ffn_idx);
	free(p->kv_idx);
	p->ffn_idx = p->kv_idx = NULL;
}

/* Append [base + i * width, + width) for each i of idx[0..n) to out at *k. */
static void spans(const int *idx, int n, int width, int base, int *out, int *k)
{
	for (int i = 0; i < n; i++)
		for (int w = 0; w < width; w++)
			out[(*k)++] = base + idx[i] * width + w;
}

/* The query heads of the kept groups, as group indices scaled to heads. */
static void kept_heads(const struct prune_plan *p, int l, int *heads)
{
	int rep = p->s.n_head / p->s.n_kv, k = 0;

	for (int i = 0; i < p->kv_keep; i++)
		for (int r = 0; r < rep; r++)
			heads[k++] = p->kv_idx[(size_t)l * p->kv_keep + i] * rep + r;
}

int prune_tensor_selection(const struct prune_plan *p, const char *name, uint64_t rows,
			   int **idx, int *n, bool *by_rows)
{
	const struct prune_shape *s = &p->s;
	int l, hd = s->head_dim, rep = s->n_head / s->n_kv, k = 0, *heads, *out;
	const int *ffn, *kv;
	char what[GGUF_MAX_NAME];

	*n = -1;
	*by_rows = true;
	if (sscanf(name, "blk.%d.%63s", &l, what) != 2 || l < 0 || l >= s->n_layer)
		return 0;
	ffn = p->ffn_idx + (size_t)l * p->ffn_keep;
	kv = p->kv_idx + (size_t)l * p->kv_keep;
	out = malloc((size_t)(2 * s->ffn + (s->n_head + 2 * s->n_kv) * hd) * sizeof(*out));
	heads = malloc((size_t)s->n_head * sizeof(*heads));
	if (!out || !heads) {
		free(out);
		free(heads);
		return llmos_fail(-ENOMEM, "prune: out of memory");
	}
	kept_heads(p, l, heads);
	if (!strcmp(what, "ffn_gate.weight") || !strcmp(what, "ffn_gate.bias") ||
	    !strcmp(what, "ffn_down.weight")) {
		spans(ffn, p->ffn_keep, 1, 0, out, &k);
		*by_rows = strcmp(what, "ffn_down.weight") != 0;
	} else if (!strcmp(what, "ffn_up.weight") || !strcmp(what, "ffn_up.bias")) {
		spans(ffn, p->ffn_keep, 1, 0, out, &k);
		if (rows == 2 * (uint64_t)s->ffn) /* gate|up fused: up's rows follow gate's */
			spans(ffn, p->ffn_keep, 1, s->ffn, out, &k);
	} else if (!strcmp(what, "attn_q.weight") || !strcmp(what, "attn_q.bias") ||
		   !strcmp(what, "attn_output.weight")) {
		spans(heads, p->kv_keep * rep, hd, 0, out, &k);
		*by_rows = strcmp(what, "attn_output.weight") != 0;
	} else if (!strcmp(what, "attn_k.weight") || !strcmp(what, "attn_k.bias") ||
		   !strcmp(what, "attn_v.weight") || !strcmp(what, "attn_v.bias")) {
		spans(kv, p->kv_keep, hd, 0, out, &k);
	} else if (!strcmp(what, "attn_qkv.weight") || !strcmp(what, "attn_qkv.bias")) {
		spans(heads, p->kv_keep * rep, hd, 0, out, &k);
		spans(kv, p->kv_keep, hd, s->n_head * hd, out, &k);
		spans(kv, p->kv_keep, hd, (s->n_head + s->n_kv) * hd, out, &k);
	}
	free(heads);
	if (!k) {
		free(out);
		return 0;
	}
	*idx = out;
	*n = k;
	return 0;
}
