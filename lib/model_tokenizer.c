/* SPDX-License-Identifier: MIT */
/*
 * model_tokenizer.c - build a model's tokenizer from its GGUF metadata and
 * expose tokenizing and streaming detokenizing through the public API.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "internal.h"
#include "model.h"
#include "tokenizer.h"

struct tok_arrays {
	const char **pieces;
	size_t *lens;
	float *scores;
	int32_t *types;
};

static void free_arrays(struct tok_arrays *a)
{
	free(a->pieces);
	free(a->lens);
	free(a->scores);
	free(a->types);
}

static int get_token_id(const struct llmos_model *m, const char *key, int dflt, int *out)
{
	uint32_t v;
	int ret;

	*out = dflt;
	if (!gguf_find_key(m->gguf, key))
		return 0;
	ret = gguf_get_u32(m->gguf, key, &v);
	if (ret < 0)
		return ret;
	if (v >= (uint32_t)m->hp.n_vocab)
		return llmos_fail(-LLMOS_EFORMAT, "tokenizer: '%s' = %u is not below the vocabulary "
				  "size %d", key, v, m->hp.n_vocab);
	*out = (int)v;
	return 0;
}

static bool get_flag(const struct llmos_model *m, const char *key, bool dflt)
{
	bool v;

	return gguf_get_bool(m->gguf, key, &v) == 0 ? v : dflt;
}

/* tokens (required), scores and token_type (optional), each n_vocab long. */
static int read_arrays(const struct llmos_model *m, struct tok_arrays *a)
{
	const struct gguf_kv *tokens, *scores = NULL, *types = NULL;
	uint64_t i, n = (uint64_t)m->hp.n_vocab, len;
	int ret;

	ret = gguf_get_arr(m->gguf, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tokens);
	if (ret < 0)
		return llmos_fail(-LLMOS_EFORMAT, "tokenizer: 'tokenizer.ggml.tokens' is missing");
	if (tokens->v.arr.n != n)
		return llmos_fail(-LLMOS_EFORMAT, "tokenizer: %llu tokens but the embedding has %llu "
				  "rows", (unsigned long long)tokens->v.arr.n, (unsigned long long)n);
	if (gguf_find_key(m->gguf, "tokenizer.ggml.scores") &&
	    (ret = gguf_get_arr(m->gguf, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, &scores)))
		return ret;
	if (gguf_find_key(m->gguf, "tokenizer.ggml.token_type") &&
	    (ret = gguf_get_arr(m->gguf, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, &types)))
		return ret;
	if ((scores && scores->v.arr.n != n) || (types && types->v.arr.n != n))
		return llmos_fail(-LLMOS_EFORMAT, "tokenizer: scores or token types do not have "
				  "one entry per token");
	a->pieces = calloc(n, sizeof(*a->pieces));
	a->lens = calloc(n, sizeof(*a->lens));
	a->scores = calloc(n, sizeof(*a->scores));
	a->types = types ? calloc(n, sizeof(*a->types)) : NULL;
	if (!a->pieces || !a->lens || !a->scores || (types && !a->types))
		return llmos_fail(-ENOMEM, "tokenizer: out of memory");
	for (i = 0; i < n; i++) {
		if ((ret = gguf_arr_get_str(tokens, i, &a->pieces[i], &len)))
			return ret;
		a->lens[i] = len;
		if (scores && (ret = gguf_arr_get_f32(scores, i, &a->scores[i])))
			return ret;
		if (types && (ret = gguf_arr_get_i32(types, i, &a->types[i])))
			return ret;
	}
	return 0;
}

int llmos_model_load_tokenizer(struct llmos_model *m)
{
	struct tok_arrays a = { 0 };
	int bos, eos, unk, ret;
	const char *kind;
	uint64_t len;

	ret = gguf_get_str(m->gguf, "tokenizer.ggml.model", &kind, &len);
	if (ret < 0)
		return llmos_fail(-LLMOS_EFORMAT, "tokenizer: 'tokenizer.ggml.model' is missing");
	if (len != 5 || memcmp(kind, "llama", 5))
		return llmos_fail(-LLMOS_EUNSUPPORTED, "tokenizer: model '%.*s' is not supported "
				  "(supported: llama)", (int)(len > 32 ? 32 : len), kind);
	if ((ret = get_token_id(m, "tokenizer.ggml.bos_token_id", 1, &bos)) ||
	    (ret = get_token_id(m, "tokenizer.ggml.eos_token_id", 2, &eos)) ||
	    (ret = get_token_id(m, "tokenizer.ggml.unknown_token_id", 0, &unk)))
		return ret;
	m->add_bos = get_flag(m, "tokenizer.ggml.add_bos_token", true);
	if (!get_flag(m, "tokenizer.ggml.add_space_prefix", true))
		m->tokenize_flags |= LLMOS_TOKENIZE_NO_SPACE_PREFIX;
	ret = read_arrays(m, &a);
	if (!ret)
		ret = llmos_tokenizer_create(&m->tok, m->hp.n_vocab, a.pieces, a.lens, a.scores,
					     a.types, bos, eos, unk);
	free_arrays(&a);
	return ret;
}

size_t llmos_tokenize_bound(size_t text_len)
{
	return LLMOS_TOKENIZE_MAX_IDS(text_len);
}

int llmos_model_tokenize(const struct llmos_model *m, const char *text, size_t len,
			 unsigned int flags, int32_t *ids, size_t max_ids)
{
	unsigned int f = m->tokenize_flags;

	if (flags & ~LLMOS_TOKENIZE_BOS)
		return llmos_fail(-EINVAL, "tokenize: unknown flags 0x%x", flags);
	if (flags & LLMOS_TOKENIZE_BOS)
		f |= LLMOS_TOKENIZE_ADD_BOS;
	return llmos_tokenize(m->tok, text, len, f, ids, max_ids);
}

struct llmos_decoder {
	struct llmos_detok detok;
};

int llmos_decoder_create(struct llmos_decoder **out, const struct llmos_model *m)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return llmos_fail(-ENOMEM, "decoder: out of memory");
	llmos_detok_init(&(*out)->detok, m->tok, 0);
	return 0;
}

void llmos_decoder_free(struct llmos_decoder *d)
{
	free(d);
}

int llmos_decoder_push(struct llmos_decoder *d, int32_t token, char *out, size_t cap)
{
	return llmos_detok_push(&d->detok, token, out, cap);
}

int llmos_decoder_flush(struct llmos_decoder *d, char *out, size_t cap)
{
	return llmos_detok_flush(&d->detok, out, cap);
}
