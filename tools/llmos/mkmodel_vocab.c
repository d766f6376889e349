/* SPDX-License-Identifier: MIT */
/*
 * mkmodel_vocab.c - `llmos mkmodel --vocab-from FILE`: copy a real
 * tokenizer (every tokenizer.* key of a GGUF file) into a synthetic model,
 * optionally with another pre-tokenizer name and extra control tokens
 * appended (those a chat template needs and the vocabulary lacks).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "gguf_write.h"
#include "mkmodel.h"

/* A string array, plus extra strings at the end, as NUL-terminated copies. */
static int copy_str_array(struct gguf_writer *w, const char *key, const struct gguf_kv *kv,
			  const char *const *extra, int n_extra)
{
	uint64_t n = kv->v.arr.n, i, len;
	char **s = calloc(n + (uint64_t)n_extra, sizeof(*s));
	int ret = s ? 0 : -ENOMEM;

	for (i = 0; !ret && i < n; i++) {
		const char *p;

		ret = gguf_arr_get_str(kv, i, &p, &len);
		if (!ret && !(s[i] = strndup(p, len)))
			ret = -ENOMEM;
	}
	for (i = 0; !ret && i < (uint64_t)n_extra; i++)
		if (!(s[n + i] = strdup(extra[i])))
			ret = -ENOMEM;
	if (!ret)
		ret = gguf_writer_add_arr_str(w, key, (const char *const *)s, n + n_extra);
	for (i = 0; s && i < n + (uint64_t)n_extra; i++)
		free(s[i]);
	free(s);
	return ret;
}

/* A numeric array, plus n_extra copies of the value at *fill. */
static int copy_num_array(struct gguf_writer *w, const char *key, const struct gguf_kv *kv,
			  const void *fill, int n_extra)
{
	size_t es = gguf_type_size(kv->v.arr.type), n = kv->v.arr.n;
	char *buf = malloc((n + (size_t)n_extra) * es + 1);
	int ret;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, kv->v.arr.data, n * es);
	for (int i = 0; i < n_extra; i++)
		memcpy(buf + (n + (size_t)i) * es, fill, es);
	ret = gguf_writer_add_arr(w, key, kv->v.arr.type, buf, n + (size_t)n_extra);
	free(buf);
	return ret;
}

static int copy_key(struct gguf_writer *w, const struct gguf_kv *kv, const struct mk_vocab *v,
		    const char *const *extra, int n_extra)
{
	int32_t control = 3;
	float score = 0.0f;
	char k[256];

	snprintf(k, sizeof(k), "%.*s", (int)(kv->key.len < 255 ? kv->key.len : 255), kv->key.ptr);
	if ((v->pre && !strcmp(k, "tokenizer.ggml.pre")) ||
	    (v->chat_template && !strcmp(k, "tokenizer.chat_template")))
		return 0;
	if (n_extra && !strcmp(k, "tokenizer.ggml.tokens"))
		return copy_str_array(w, k, kv, extra, n_extra);
	if (n_extra && !strcmp(k, "tokenizer.ggml.token_type"))
		return copy_num_array(w, k, kv, &control, n_extra);
	if (n_extra && !strcmp(k, "tokenizer.ggml.scores"))
		return copy_num_array(w, k, kv, &score, n_extra);
	return gguf_writer_copy_kv(w, kv);
}

/* Which of v->extra_tokens the vocabulary lacks. */
static int missing_tokens(const struct gguf_kv *tokens, const struct mk_vocab *v,
			  const char **extra)
{
	int n = 0;

	for (int j = 0; v->extra_tokens && v->extra_tokens[j]; j++) {
		int found = 0;

		for (uint64_t i = 0; i < tokens->v.arr.n && !found; i++) {
			const char *p;
			uint64_t len;

			found = !gguf_arr_get_str(tokens, i, &p, &len) &&
				len == strlen(v->extra_tokens[j]) && !memcmp(p, v->extra_tokens[j], len);
		}
		if (!found)
			extra[n++] = v->extra_tokens[j];
	}
	return n;
}

int mk_copy_vocab(struct gguf_writer *w, const struct mk_vocab *v, long *n_vocab)
{
	const char *extra[MK_MAX_EXTRA_TOKENS];
	const struct gguf_kv *tokens;
	struct gguf_file *f;
	int ret = gguf_open(&f, v->from), n_extra;

	if (ret < 0)
		return ret;
	ret = gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tokens);
	if (ret < 0) {
		gguf_close(f);
		return ret;
	}
	n_extra = missing_tokens(tokens, v, extra);
	*n_vocab = (long)tokens->v.arr.n + n_extra;
	for (uint64_t i = 0; !ret && i < gguf_kv_count(f); i++) {
		const struct gguf_kv *kv = gguf_kv_at(f, i);

		if (kv->key.len > 10 && !strncmp(kv->key.ptr, "tokenizer.", 10))
			ret = copy_key(w, kv, v, extra, n_extra);
	}
	if (!ret && v->pre)
		ret = gguf_writer_add_str(w, "tokenizer.ggml.pre", v->pre);
	if (!ret && v->chat_template)
		ret = gguf_writer_add_str(w, "tokenizer.chat_template", v->chat_template);
	gguf_close(f);
	return ret;
}
