/* SPDX-License-Identifier: MIT */
/*
 * model.c - load a GGUF model: architecture, hyperparameters, and weights
 * checked tensor by tensor (name, shape, type) before anything runs.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "internal.h"
#include "model.h"
#include "tokenizer.h"

static int load_arch(struct llmos_model *m)
{
	const char *name;
	uint64_t len;
	int ret;

	ret = gguf_get_str(m->gguf, "general.architecture", &name, &len);
	if (ret < 0)
		return llmos_fail(-LLMOS_EFORMAT, "model: metadata 'general.architecture' missing");
	m->arch = llmos_arch_find(name, len);
	if (!m->arch) {
		char names[256];

		llmos_arch_names(names, sizeof(names));
		return llmos_fail(-LLMOS_EUNSUPPORTED, "model: architecture '%.*s' is not supported "
				  "(supported: %s)", (int)(len > 64 ? 64 : len), name, names);
	}
	return 0;
}

static const struct gguf_tensor *find_tensor(const struct llmos_model *m, const char *fmt,
					     int layer, char *name, size_t cap)
{
	snprintf(name, cap, fmt, layer);
	return gguf_find_tensor(m->gguf, name);
}

/* Note that t is taken, for the check that no tensor is left unused. */
static void take(const struct llmos_model *m, const struct gguf_tensor *t)
{
	if (m->tensor_used)
		m->tensor_used[t - gguf_tensor_at(m->gguf, 0)] = 1;
}

static int check_shape(const struct gguf_tensor *t, int64_t rows, int64_t cols)
{
	if (t->ne[0] != (uint64_t)cols || t->ne[1] != (uint64_t)rows || t->ne[2] != 1 ||
	    t->ne[3] != 1)
		return llmos_fail(-LLMOS_EFORMAT, "model: tensor '%s' has shape [%llu, %llu, %llu, "
				  "%llu], expected [%lld, %lld]", t->name,
				  (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
				  (unsigned long long)t->ne[2], (unsigned long long)t->ne[3],
				  (long long)cols, (long long)rows);
	return 0;
}

/* A matrix used in matmuls: needs a vec_dot for its type. */
static int get_matrix(const struct llmos_model *m, const char *fmt, int layer, int64_t rows,
		      int64_t cols, struct llmos_weight *w)
{
	const struct llmos_type_traits *tr;
	const struct gguf_tensor *t;
	char name[96];
	int ret;

	t = find_tensor(m, fmt, layer, name, sizeof(name));
	if (!t)
		return llmos_fail(-LLMOS_EFORMAT, "model: tensor '%s' is missing", name);
	ret = check_shape(t, rows, cols);
	if (ret < 0)
		return ret;
	tr = llmos_type_traits((enum llmos_type)t->type);
	if (!tr || !tr->vec_dot || !tr->to_float)
		return llmos_fail(-LLMOS_EUNSUPPORTED, "model: tensor '%s' has type %s, which "
				  "llmos cannot multiply", name, gguf_ggml_type_name(t->type));
	take(m, t);
	w->data = t->data;
	w->type = (enum llmos_type)t->type;
	w->rows = rows;
	w->cols = cols;
	return 0;
}

/* A norm vector of n values, converted to an owned f32 array. */
static int get_vector(const struct llmos_model *m, const char *fmt, int layer, int64_t n,
		      float **out)
{
	const struct llmos_type_traits *tr;
	const struct gguf_tensor *t;
	char name[96];

	t = find_tensor(m, fmt, layer, name, sizeof(name));
	if (!t)
		return llmos_fail(-LLMOS_EFORMAT, "model: tensor '%s' is missing", name);
	if (t->n_elems != (uint64_t)n || t->ne[0] != (uint64_t)n)
		return llmos_fail(-LLMOS_EFORMAT, "model: tensor '%s' has %llu elements, expected "
				  "%lld", name, (unsigned long long)t->n_elems, (long long)n);
	tr = llmos_type_traits((enum llmos_type)t->type);
	if (!tr || !tr->to_float || n % tr->block_size)
		return llmos_fail(-LLMOS_EUNSUPPORTED, "model: tensor '%s' has unsupported type %s",
				  name, gguf_ggml_type_name(t->type));
	*out = malloc(n * sizeof(float));
	if (!*out)
		return llmos_fail(-ENOMEM, "model: out of memory");
	take(m, t);
	tr->to_float(t->data, *out, n);
	return 0;
}

/* A vector the family may have: NULL name or tensor absent gives NULL. */
static int get_vector_opt(const struct llmos_model *m, const char *fmt, int layer, int64_t n,
			  float **out)
{
	char name[96];

	*out = NULL;
	if (!fmt || !find_tensor(m, fmt, layer, name, sizeof(name)))
		return 0;
	return get_vector(m, fmt, layer, n, out);
}

static int has_tensor(const struct llmos_model *m, const char *fmt, int layer)
{
	char name[96];

	return fmt && find_tensor(m, fmt, layer, name, sizeof(name));
}

/* Q, K, V: separate matrices, or one fused q|k|v matrix (phi3). */
static int load_qkv(struct llmos_model *m, int i, int64_t q_dim, int64_t kv_dim)
{
	const struct llmos_arch *a = m->arch;
	struct llmos_layer *l = &m->layers[i];
	int dim = m->hp.dim, ret;

	if (a->wqkv && !has_tensor(m, a->wq, i))
		return get_matrix(m, a->wqkv, i, q_dim + 2 * kv_dim, dim, &l->wqkv);
	if ((ret = get_matrix(m, a->wq, i, q_dim, dim, &l->wq)) ||
	    (ret = get_matrix(m, a->wk, i, kv_dim, dim, &l->wk)) ||
	    (ret = get_matrix(m, a->wv, i, kv_dim, dim, &l->wv)) ||
	    (ret = get_vector_opt(m, a->bq, i, q_dim, &l->bq)) ||
	    (ret = get_vector_opt(m, a->bk, i, kv_dim, &l->bk)) ||
	    (ret = get_vector_opt(m, a->bv, i, kv_dim, &l->bv)))
		return ret;
	return 0;
}

/* Gate and up: separate matrices, or one up matrix of 2 * ffn rows (phi3). */
static int load_ffn(struct llmos_model *m, int i)
{
	const struct llmos_arch *a = m->arch;
	struct llmos_layer *l = &m->layers[i];
	int dim = m->hp.dim, ffn = m->hp.ffn_dim, ret;

	if (!has_tensor(m, a->w_gate, i))
		ret = get_matrix(m, a->w_up, i, 2 * (int64_t)ffn, dim, &l->w_up);
	else if (!(ret = get_matrix(m, a->w_gate, i, ffn, dim, &l->w_gate)) &&
		 !(ret = get_matrix(m, a->w_up, i, ffn, dim, &l->w_up)) &&
		 !(ret = get_vector_opt(m, a->b_gate, i, ffn, &l->b_gate)))
		ret = get_vector_opt(m, a->b_up, i, ffn, &l->b_up);
	if (!ret)
		ret = get_matrix(m, a->w_down, i, dim, ffn, &l->w_down);
	if (!ret)
		ret = get_vector_opt(m, a->b_down, i, dim, &l->b_down);
	return ret;
}

static int load_layer(struct llmos_model *m, int i)
{
	const struct llmos_hparams *hp = &m->hp;
	const struct llmos_arch *a = m->arch;
	struct llmos_layer *l = &m->layers[i];
	int64_t q_dim = (int64_t)hp->n_heads * hp->head_dim;
	int64_t kv_dim = (int64_t)hp->n_kv_heads * hp->head_dim;
	int ret;

	if ((ret = get_vector(m, a->attn_norm, i, hp->dim, &l->attn_norm)) ||
	    (ret = load_qkv(m, i, q_dim, kv_dim)) ||
	    (ret = get_matrix(m, a->wo, i, hp->dim, q_dim, &l->wo)) ||
	    (ret = get_vector_opt(m, a->bo, i, hp->dim, &l->bo)) ||
	    (ret = get_vector(m, a->ffn_norm, i, hp->dim, &l->ffn_norm)) ||
	    (ret = load_ffn(m, i)))
		return ret;
	if (a->attn_post_norm &&
	    ((ret = get_vector(m, a->attn_post_norm, i, hp->dim, &l->attn_post_norm)) ||
	     (ret = get_vector(m, a->ffn_post_norm, i, hp->dim, &l->ffn_post_norm))))
		return ret;
	l->swa = hp->n_swa > 0 && (a->swa == LLMOS_SWA_ALL || (a->swa == LLMOS_SWA_EVEN && !(i % 2)));
	return 0;
}

/* Rope frequency factors (llama 3) and LongRoPE's long and short ones. */
static int load_rope_factors(struct llmos_model *m)
{
	const struct llmos_arch *a = m->arch;
	int n = m->hp.rope_dim / 2, ret;

	if ((ret = get_vector_opt(m, a->rope_freqs, 0, n, &m->rope_freqs)) ||
	    (ret = get_vector_opt(m, a->rope_long, 0, n, &m->rope_long)) ||
	    (ret = get_vector_opt(m, a->rope_short, 0, n, &m->rope_short)))
		return ret;
	return 0;
}

static int load_embeddings(struct llmos_model *m)
{
	const struct llmos_hparams *hp = &m->hp;
	const struct gguf_tensor *t;
	char name[96];
	int ret;

	t = find_tensor(m, m->arch->tok_embd, 0, name, sizeof(name));
	if (!t)
		return llmos_fail(-LLMOS_EFORMAT, "model: tensor '%s' is missing", name);
	if (t->ne[1] < 1 || t->ne[1] > (1u << 24))
		return llmos_fail(-LLMOS_EFORMAT, "model: tensor '%s' has %llu rows", name,
				  (unsigned long long)t->ne[1]);
	m->hp.n_vocab = (int)t->ne[1];
	ret = get_matrix(m, m->arch->tok_embd, 0, hp->n_vocab, hp->dim, &m->tok_embd);
	if (ret < 0)
		return ret;
	t = find_tensor(m, m->arch->output, 0, name, sizeof(name));
	if (!t && m->arch->output_tied_ok) {
		m->output = m->tok_embd;
		return 0;
	}
	return get_matrix(m, m->arch->output, 0, hp->n_vocab, hp->dim, &m->output);
}

/*
 * A tensor the forward pass would not use means a file of another variant
 * (biases, experts, ...) that would run wrongly: refuse it, as llama.cpp does.
 */
static int check_all_used(const struct llmos_model *m)
{
	uint64_t n = gguf_tensor_count(m->gguf);

	for (uint64_t i = 0; i < n; i++)
		if (!m->tensor_used[i])
			return llmos_fail(-LLMOS_EUNSUPPORTED, "model: tensor '%s' is not part of "
					  "the %s architecture as llmos runs it",
					  gguf_tensor_at(m->gguf, i)->name, m->arch->name);
	return 0;
}

static int load_weights(struct llmos_model *m)
{
	int i, ret;

	m->tensor_used = calloc(gguf_tensor_count(m->gguf) + 1, 1);
	if (!m->tensor_used)
		return llmos_fail(-ENOMEM, "model: out of memory");
	ret = load_embeddings(m);
	if (ret < 0)
		return ret;
	ret = get_vector(m, m->arch->output_norm, 0, m->hp.dim, &m->output_norm);
	if (!ret)
		ret = load_rope_factors(m);
	if (ret < 0)
		return ret;
	m->layers = calloc(m->hp.n_layers, sizeof(*m->layers));
	if (!m->layers)
		return llmos_fail(-ENOMEM, "model: out of memory");
	for (i = 0; i < m->hp.n_layers; i++) {
		ret = load_layer(m, i);
		if (ret < 0)
			return ret;
	}
	ret = check_all_used(m);
	free(m->tensor_used);
	m->tensor_used = NULL;
	return ret;
}

/* Totals over all tensors, and the type holding most of the bytes. */
static void describe_tensors(const struct llmos_model *m, struct llmos_model_desc *d)
{
	uint64_t bytes_by_type[LLMOS_TYPE_COUNT] = { 0 }, i, n = gguf_tensor_count(m->gguf);
	unsigned int t, best = 0;

	for (i = 0; i < n; i++) {
		const struct gguf_tensor *ti = gguf_tensor_at(m->gguf, i);

		d->n_params += ti->n_elems;
		d->weight_bytes += ti->size;
		if (ti->type < LLMOS_TYPE_COUNT)
			bytes_by_type[ti->type] += ti->size;
	}
	for (t = 0; t < LLMOS_TYPE_COUNT; t++)
		if (bytes_by_type[t] > bytes_by_type[best])
			best = t;
	snprintf(d->weight_type, sizeof(d->weight_type), "%s", gguf_ggml_type_name(best));
}

static void fill_desc(struct llmos_model *m)
{
	struct llmos_model_desc *d = &m->desc;
	const struct llmos_hparams *hp = &m->hp;
	const char *name;
	uint64_t len;

	memset(d, 0, sizeof(*d));
	snprintf(d->arch, sizeof(d->arch), "%s", m->arch->name);
	if (!gguf_get_str(m->gguf, "general.name", &name, &len))
		snprintf(d->name, sizeof(d->name), "%.*s", (int)(len > 63 ? 63 : len), name);
	d->n_vocab = hp->n_vocab;
	d->dim = hp->dim;
	d->n_layers = hp->n_layers;
	d->n_heads = hp->n_heads;
	d->n_kv_heads = hp->n_kv_heads;
	d->head_dim = hp->head_dim;
	d->ffn_dim = hp->ffn_dim;
	d->n_ctx_train = hp->n_ctx_train;
	d->bos = llmos_tokenizer_bos(m->tok);
	d->eos = llmos_tokenizer_eos(m->tok);
	describe_tensors(m, d);
}

int llmos_model_load(struct llmos_model **out, const char *path)
{
	struct llmos_model *m;
	int ret;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return llmos_fail(-ENOMEM, "model: out of memory");
	ret = llmos_model_source_open(&m->src, path, &m->gguf);
	if (!ret)
		ret = load_arch(m);
	if (!ret)
		ret = llmos_model_load_hparams(m);
	if (!ret)
		ret = load_weights(m);
	if (!ret)
		ret = llmos_model_load_tokenizer(m);
	if (ret < 0) {
		llmos_model_free(m);
		return ret;
	}
	fill_desc(m);
	m->desc.add_bos = m->add_bos;
	m->desc.add_eos = m->add_eos;
	memcpy(m->desc.tokenizer, m->tok_kind, sizeof(m->desc.tokenizer));
	*out = m;
	return 0;
}

/* n_vocab of a file without tensors: the length of its token list. */
static int count_vocab(struct llmos_model *m)
{
	const struct gguf_kv *tokens;

	if (gguf_get_arr(m->gguf, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tokens) < 0)
		return llmos_fail(-LLMOS_EFORMAT, "tokenizer: 'tokenizer.ggml.tokens' is missing");
	if (tokens->v.arr.n < 1 || tokens->v.arr.n > (1u << 24))
		return llmos_fail(-LLMOS_EFORMAT, "tokenizer: %llu tokens",
				  (unsigned long long)tokens->v.arr.n);
	m->hp.n_vocab = (int)tokens->v.arr.n;
	return 0;
}

int llmos_model_load_vocab(struct llmos_model **out, const char *path)
{
	static const struct llmos_arch vocab_arch = { .name = "" };
	struct llmos_model *m;
	const char *name;
	uint64_t len;
	int ret;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return llmos_fail(-ENOMEM, "model: out of memory");
	m->vocab_only = true;
	m->arch = &vocab_arch;
	ret = llmos_model_source_open(&m->src, path, &m->gguf);
	if (!ret)
		ret = count_vocab(m);
	if (!ret)
		ret = llmos_model_load_tokenizer(m);
	if (ret < 0) {
		llmos_model_free(m);
		return ret;
	}
	m->desc.n_vocab = m->hp.n_vocab;
	m->desc.bos = llmos_tokenizer_bos(m->tok);
	m->desc.eos = llmos_tokenizer_eos(m->tok);
	m->desc.add_bos = m->add_bos;
	m->desc.add_eos = m->add_eos;
	m->desc.vocab_only = 1;
	memcpy(m->desc.tokenizer, m->tok_kind, sizeof(m->desc.tokenizer));
	if (!gguf_get_str(m->gguf, "general.architecture", &name, &len))
		snprintf(m->desc.arch, sizeof(m->desc.arch), "%.*s", (int)(len > 31 ? 31 : len),
			 name);
	*out = m;
	return 0;
}

void llmos_model_free(struct llmos_model *m)
{
	int i;

	if (!m)
		return;
	if (m->layers) {
		for (i = 0; i < m->hp.n_layers; i++) {
			struct llmos_layer *l = &m->layers[i];

			free(l->attn_norm);
			free(l->ffn_norm);
			free(l->bq);
			free(l->bk);
			free(l->bv);
			free(l->bo);
			free(l->b_gate);
			free(l->b_up);
			free(l->b_down);
			free(l->attn_post_norm);
			free(l->ffn_post_norm);
		}
		free(m->layers);
	}
	free(m->output_norm);
	free(m->tensor_used);
	free(m->rope_freqs);
	free(m->rope_long);
	free(m->rope_short);
	llmos_tokenizer_free(m->tok);
	gguf_close(m->gguf);
	llmos_model_source_close(&m->src);
	free(m);
}

void llmos_model_describe(const struct llmos_model *m, struct llmos_model_desc *d)
{
	*d = m->desc;
}
