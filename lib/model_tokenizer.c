/* SPDX-License-Identifier: MIT */
/*
 * model_tokenizer.c - build a model's tokenizer from its GGUF metadata
 * (SentencePiece "llama" or byte-level BPE "gpt2" with its pre-tokenizer,
 * special token ids, end-of-generation tokens) and expose tokenizing and
 * streaming detokenizing through the public API.
 */
#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "internal.h"
#include "model.h"
#include "pretok.h"
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

/* A token id key; dflt (-1: none) if absent or, as llama.cpp, out of range. */
static int get_token_id(const struct llmos_model *m, const char *key, int dflt, int *out)
{
	uint32_t v;
	int ret;

	*out = dflt < m->hp.n_vocab ? dflt : -1;
	if (!gguf_find_key(m->gguf, key))
		return 0;
	ret = gguf_get_u32(m->gguf, key, &v);
	if (ret < 0)
		return ret;
	if (v < (uint32_t)m->hp.n_vocab)
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

/* What each tokenizer.ggml.model value means. */
static const struct tok_kind {
	const char *name;
	bool bpe;
	int bos, eos, unk; /* default ids */
	bool add_bos;	   /* default of add_bos_token (BPE: the pre-tokenizer's) */
} tok_kinds[] = {
	{ "llama", false, 1, 2, 0, true },
	{ "gpt2", true, 11, 11, -1, false },
};

static const struct tok_kind *find_kind(const char *name, uint64_t len)
{
	for (size_t i = 0; i < sizeof(tok_kinds) / sizeof(tok_kinds[0]); i++)
		if (strlen(tok_kinds[i].name) == len && !memcmp(tok_kinds[i].name, name, len))
			return &tok_kinds[i];
	return NULL;
}

static int read_merges(const struct llmos_model *m, const char ***merges, size_t **lens,
		       size_t *n)
{
	const struct gguf_kv *kv;
	uint64_t len;
	int ret = gguf_get_arr(m->gguf, "tokenizer.ggml.merges", GGUF_TYPE_STRING, &kv);

	if (ret < 0)
		return llmos_fail(-LLMOS_EFORMAT, "tokenizer: a gpt2 vocabulary needs "
				  "'tokenizer.ggml.merges'");
	*n = kv->v.arr.n;
	*merges = calloc(*n ? *n : 1, sizeof(**merges));
	*lens = calloc(*n ? *n : 1, sizeof(**lens));
	if (!*merges || !*lens)
		return llmos_fail(-ENOMEM, "tokenizer: out of memory");
	for (uint64_t i = 0; i < *n; i++) {
		if ((ret = gguf_arr_get_str(kv, i, &(*merges)[i], &len)))
			return ret;
		(*lens)[i] = len;
	}
	return 0;
}

static int find_pretok(const struct llmos_model *m, const struct llmos_pretok **out)
{
	const char *pre = NULL;
	uint64_t len = 0;
	char names[1024];

	if (gguf_find_key(m->gguf, "tokenizer.ggml.pre") &&
	    gguf_get_str(m->gguf, "tokenizer.ggml.pre", &pre, &len) < 0)
		return llmos_fail(-LLMOS_EFORMAT, "tokenizer: 'tokenizer.ggml.pre' is not a string");
	*out = llmos_pretok_find(pre, len);
	if (*out)
		return 0;
	llmos_pretok_names(names, sizeof(names));
	return llmos_fail(-LLMOS_EUNSUPPORTED, "tokenizer: pre-tokenizer '%.*s' is not supported "
			  "(supported: %s)", (int)(len > 64 ? 64 : len), pre, names);
}

static int make_bpe(struct llmos_model *m, const struct llmos_pretok *pre)
{
	const char **merges = NULL;
	size_t *lens = NULL, n = 0;
	int ret = read_merges(m, &merges, &lens, &n);

	if (!ret)
		ret = llmos_tokenizer_set_bpe(m->tok, merges, lens, n, pre);
	if (!ret && !gguf_find_key(m->gguf, "tokenizer.ggml.add_bos_token"))
		m->add_bos = pre->add_bos;
	free(merges);
	free(lens);
	return ret;
}

/*
 * Special tokens llama.cpp recognises by their text (metadata rarely lists
 * them): each becomes a control token, and those that end a turn end a
 * generation.  FIM texts in DeepSeek's spelling use fullwidth bars and "▁".
 */
#define FW_BAR "\xef\xbd\x9c" /* U+FF5C */
#define SP_MARK "\xe2\x96\x81" /* U+2581 */
static const struct special_text {
	const char *text;
	bool eog;
} special_texts[] = {
	{ "<|eot_id|>", true },	     { "<|im_end|>", true },	 { "<|end|>", true },
	{ "<end_of_turn>", true },   { "<|endoftext|>", true },	 { "<|eom_id|>", true },
	{ "<EOT>", true },
	{ "<" FW_BAR "end" SP_MARK "of" SP_MARK "sentence" FW_BAR ">", true },
	{ "<|fim_prefix|>", false }, { "<fim-prefix>", false },
	{ "<" FW_BAR "fim" SP_MARK "begin" FW_BAR ">", false },	 { "<PRE>", false },
	{ "<|fim_suffix|>", false }, { "<fim-suffix>", false },
	{ "<" FW_BAR "fim" SP_MARK "hole" FW_BAR ">", false },	 { "<SUF>", false },
	{ "<|fim_middle|>", false }, { "<fim-middle>", false },
	{ "<" FW_BAR "fim" SP_MARK "end" FW_BAR ">", false },	 { "<MID>", false },
	{ "<|fim_pad|>", true },     { "<fim-pad>", true },	 { "<PAD>", true },
	{ "<|fim_repo|>", true },    { "<|repo_name|>", true },	 { "<fim-repo>", true },
	{ "<REPO>", true },	     { "<|file_sep|>", true },
};
#define N_SPECIAL_TEXTS (sizeof(special_texts) / sizeof(special_texts[0]))

/* Metadata ids that end a generation; their token types stay as they are. */
static const char *const eog_keys[] = {
	"tokenizer.ggml.eos_token_id",	   "tokenizer.ggml.eot_token_id",
	"tokenizer.ggml.eom_token_id",	   "tokenizer.ggml.fim_pad_token_id",
	"tokenizer.ggml.fim_rep_token_id", "tokenizer.ggml.fim_sep_token_id",
};

static int mark_special_tokens(struct llmos_model *m, int eos)
{
	int ids[N_SPECIAL_TEXTS], ret = eos >= 0 ? llmos_tokenizer_mark_eog(m->tok, eos) : 0;

	for (size_t i = 0; i < sizeof(eog_keys) / sizeof(eog_keys[0]) && !ret; i++) {
		int id;

		ret = get_token_id(m, eog_keys[i], -1, &id);
		if (!ret && id >= 0)
			ret = llmos_tokenizer_mark_eog(m->tok, id);
	}
	for (size_t i = 0; i < N_SPECIAL_TEXTS && !ret; i++) {
		ids[i] = llmos_tokenizer_find(m->tok, special_texts[i].text,
					      strlen(special_texts[i].text));
		if (ids[i] >= 0 && special_texts[i].eog)
			ret = llmos_tokenizer_mark_eog(m->tok, ids[i]);
	}
	return ret ? ret : llmos_tokenizer_make_control(m->tok, ids, (int)N_SPECIAL_TEXTS);
}

/* Does metadata string key contain any of subs (case-insensitively)? */
static bool key_mentions(const struct llmos_model *m, const char *key, const char *const *subs,
			 int n)
{
	char lower[128] = "";
	const char *v;
	uint64_t len;

	if (gguf_get_str(m->gguf, key, &v, &len) < 0)
		return false;
	for (uint64_t i = 0; i < len && i + 1 < sizeof(lower); i++)
		lower[i] = (char)(v[i] >= 'A' && v[i] <= 'Z' ? v[i] + 32 : v[i]);
	for (int i = 0; i < n; i++)
		if (strstr(lower, subs[i]))
			return true;
	return false;
}

static void set_strip(struct llmos_model *m, const char *text, int lstrip, int rstrip)
{
	llmos_tokenizer_set_strip(m->tok, llmos_tokenizer_find(m->tok, text, strlen(text)), lstrip,
				  rstrip);
}

/*
 * Whitespace-eating special tokens, which llama.cpp sets by the model: jina
 * v2's <mask> eats the space before it; Phi-3's special tokens eat the
 * whitespace after them, except <unk>, <s> and <|endoftext|>.
 */
static void set_strip_attrs(struct llmos_model *m)
{
	static const char *const jina[] = { "jina-v2-de", "jina-v2-es", "jina-v2-code" };
	static const char *const phi3[] = { "phi-3", "phi3" };
	static const char *const keep[] = { "<unk>", "<s>", "<|endoftext|>" };
	int n = llmos_tokenizer_n_vocab(m->tok);

	if (key_mentions(m, "tokenizer.ggml.pre", jina, 3)) {
		set_strip(m, "<mask>", 1, 0);
		return;
	}
	if (!key_mentions(m, "general.name", phi3, 2))
		return;
	for (int id = 0; id < n; id++) {
		int t = llmos_tokenizer_token_type(m->tok, id);

		if (t == LLMOS_TOKEN_CONTROL || t == LLMOS_TOKEN_USER_DEFINED ||
		    t == LLMOS_TOKEN_UNKNOWN)
			llmos_tokenizer_set_strip(m->tok, id, 0, 1);
	}
	set_strip(m, "</s>", 0, 1);
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		set_strip(m, keep[i], 0, 0);
}

static int read_kind(const struct llmos_model *m, const struct tok_kind **kind)
{
	const char *name;
	uint64_t len;
	int ret = gguf_get_str(m->gguf, "tokenizer.ggml.model", &name, &len);

	if (ret < 0)
		return llmos_fail(-LLMOS_EFORMAT, "tokenizer: 'tokenizer.ggml.model' is missing");
	*kind = find_kind(name, len);
	if (!*kind)
		return llmos_fail(-LLMOS_EUNSUPPORTED, "tokenizer: model '%.*s' is not supported "
				  "(supported: llama, gpt2)", (int)(len > 32 ? 32 : len), name);
	return 0;
}

int llmos_model_load_tokenizer(struct llmos_model *m)
{
	const struct llmos_pretok *pre = NULL;
	const struct tok_kind *kind;
	struct tok_arrays a = { 0 };
	int bos, eos, unk, ret;

	if (!(ret = read_kind(m, &kind)))
		snprintf(m->tok_kind, sizeof(m->tok_kind), "%s", kind->name);
	if (!ret && kind->bpe)
		ret = find_pretok(m, &pre);
	if (ret ||
	    (ret = get_token_id(m, "tokenizer.ggml.bos_token_id",
				pre && pre->no_bos ? -1 : kind->bos, &bos)) ||
	    (ret = get_token_id(m, "tokenizer.ggml.eos_token_id", kind->eos, &eos)) ||
	    (ret = get_token_id(m, "tokenizer.ggml.unknown_token_id", kind->unk, &unk)))
		return ret;
	m->add_bos = get_flag(m, "tokenizer.ggml.add_bos_token", kind->add_bos);
	m->add_eos = get_flag(m, "tokenizer.ggml.add_eos_token", false);
	if (!get_flag(m, "tokenizer.ggml.add_space_prefix", !kind->bpe))
		m->tokenize_flags |= LLMOS_TOKENIZE_NO_SPACE_PREFIX;
	ret = read_arrays(m, &a);
	if (!ret)
		ret = llmos_tokenizer_create(&m->tok, m->hp.n_vocab, a.pieces, a.lens, a.scores,
					     a.types, bos, eos, unk);
	free_arrays(&a);
	if (!ret && pre)
		ret = make_bpe(m, pre);
	if (!ret)
		ret = mark_special_tokens(m, eos);
	if (!ret)
		set_strip_attrs(m);
	return ret;
}

int llmos_token_is_eog(const struct llmos_model *m, int32_t token)
{
	return llmos_tokenizer_is_eog(m->tok, token);
}

const char *llmos_model_chat_template(const struct llmos_model *m)
{
	const char *text;
	uint64_t len;
	char *copy;
	const char *name;

	if (gguf_get_str(m->gguf, "tokenizer.chat_template", &text, &len) < 0)
		return NULL;
	copy = strndup(text, len);
	name = copy ? llmos_chat_template_detect(copy) : NULL;
	free(copy);
	return name;
}

size_t llmos_tokenize_bound(size_t text_len)
{
	return LLMOS_TOKENIZE_MAX_IDS(text_len);
}

int llmos_model_tokenize(const struct llmos_model *m, const char *text, size_t len,
			 unsigned int flags, int32_t *ids, size_t max_ids)
{
	unsigned int f = m->tokenize_flags;
	int n;

	if (flags & ~(LLMOS_TOKENIZE_BOS | LLMOS_TOKENIZE_EOS | LLMOS_TOKENIZE_SPECIAL))
		return llmos_fail(-EINVAL, "tokenize: unknown flags 0x%x", flags);
	if ((flags & LLMOS_TOKENIZE_BOS) && llmos_tokenizer_bos(m->tok) >= 0)
		f |= LLMOS_TOKENIZE_ADD_BOS;
	if ((flags & LLMOS_TOKENIZE_EOS) && llmos_tokenizer_eos(m->tok) >= 0)
		f |= LLMOS_TOKENIZE_ADD_EOS;
	if (flags & LLMOS_TOKENIZE_SPECIAL)
		f |= LLMOS_TOKENIZE_PARSE_SPECIAL;
	n = llmos_tokenize(m->tok, text, len, f, ids, max_ids);
	if (n > 0 && (size_t)n > max_ids)
		return llmos_fail(-ENOSPC, "tokenize: the text has %d tokens, more than %zu", n,
				  max_ids);
	return n;
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
