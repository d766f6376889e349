/* SPDX-License-Identifier: MIT */
/*
 * tokenizer_special.c - special tokens: which they are, and cutting them
 * out of a text before the rest is encoded, as llama.cpp's
 * tokenizer_st_partition() does.
 *
 * Control, user-defined and unknown tokens are special.  Longest first,
 * each one's text is searched for in every text fragment still left, and
 * every occurrence becomes that token, splitting the fragment around it.
 * Without parse_special only user-defined tokens are split out: control
 * tokens ("<|im_start|>") then stay text.  A token marked LSTRIP or RSTRIP
 * eats the whitespace beside it.
 */
#define _GNU_SOURCE /* memmem, qsort_r */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tokenizer_impl.h"

static int is_special_type(int type)
{
	return type == LLMOS_TOKEN_CONTROL || type == LLMOS_TOKEN_USER_DEFINED ||
	       type == LLMOS_TOKEN_UNKNOWN;
}

static int longer_first(const void *a, const void *b, void *arg)
{
	const struct llmos_tokenizer *tok = arg;
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	uint32_t lx = tok->lens[x], ly = tok->lens[y];

	if (lx != ly)
		return lx > ly ? -1 : 1;
	return x < y ? -1 : x > y;
}

int tokenizer_specials_init(struct llmos_tokenizer *tok)
{
	int n = 0;

	if (!tok->attrs && !(tok->attrs = calloc((size_t)tok->n_vocab, 1)))
		return llmos_fail(-ENOMEM, "tokenizer: out of memory");
	free(tok->specials);
	tok->specials = NULL;
	tok->n_specials = 0;
	for (int id = 0; id < tok->n_vocab; id++)
		n += is_special_type(tok->types[id]) && tok->lens[id] > 0;
	if (!n)
		return 0;
	tok->specials = malloc((size_t)n * sizeof(*tok->specials));
	if (!tok->specials)
		return llmos_fail(-ENOMEM, "tokenizer: out of memory");
	for (int id = 0; id < tok->n_vocab; id++)
		if (is_special_type(tok->types[id]) && tok->lens[id] > 0)
			tok->specials[tok->n_specials++] = id;
	qsort_r(tok->specials, (size_t)n, sizeof(*tok->specials), longer_first, tok);
	return 0;
}

int llmos_tokenizer_mark_eog(struct llmos_tokenizer *tok, int id)
{
	if (id < 0 || id >= tok->n_vocab)
		return llmos_fail(-EINVAL, "tokenizer: token %d outside 0..%d", id,
				  tok->n_vocab - 1);
	tok->attrs[id] |= TOKEN_EOG;
	return 0;
}

int llmos_tokenizer_make_control(struct llmos_tokenizer *tok, const int *ids, int n)
{
	int changed = 0;

	for (int i = 0; i < n; i++) {
		if (ids[i] < 0 || ids[i] >= tok->n_vocab ||
		    tok->types[ids[i]] == LLMOS_TOKEN_CONTROL)
			continue;
		tok->types[ids[i]] = LLMOS_TOKEN_CONTROL;
		changed = 1;
	}
	return changed ? tokenizer_specials_init(tok) : 0;
}

int llmos_tokenizer_is_eog(const struct llmos_tokenizer *tok, int id)
{
	return id >= 0 && id < tok->n_vocab && (tok->attrs[id] & TOKEN_EOG);
}

void llmos_tokenizer_set_strip(struct llmos_tokenizer *tok, int id, int lstrip, int rstrip)
{
	if (id < 0 || id >= tok->n_vocab)
		return;
	tok->attrs[id] = (uint8_t)((tok->attrs[id] & ~(TOKEN_LSTRIP | TOKEN_RSTRIP)) |
				   (lstrip ? TOKEN_LSTRIP : 0) | (rstrip ? TOKEN_RSTRIP : 0));
}

struct frag_list {
	struct text_fragment *f;
	size_t n, cap;
};

static int add_frag(struct frag_list *l, int32_t token, size_t off, size_t len)
{
	if (token < 0 && len == 0)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct text_fragment *f = realloc(l->f, cap * sizeof(*f));

		if (!f)
			return llmos_fail(-ENOMEM, "tokenize: out of memory");
		l->f = f;
		l->cap = cap;
	}
	l->f[l->n++] = (struct text_fragment){ token, off, len };
	return 0;
}

/* Split one text fragment at every occurrence of special token id. */
static int split_fragment(const struct llmos_tokenizer *tok, const char *text,
			  struct text_fragment fr, int id, struct frag_list *out)
{
	const char *s = tok->text + tok->offs[id];
	size_t n = tok->lens[id], off = fr.off, end = fr.off + fr.len;
	int err = 0;

	while (!err) {
		const char *hit = memmem(text + off, end - off, s, n);
		size_t at = hit ? (size_t)(hit - text) : end, left_end = at, right = at + n;

		if (!hit)
			return add_frag(out, -1, off, end - off);
		if (tok->attrs[id] & TOKEN_LSTRIP)
			while (left_end > off && isspace((unsigned char)text[left_end - 1]))
				left_end--;
		if (tok->attrs[id] & TOKEN_RSTRIP)
			while (right < end && isspace((unsigned char)text[right]))
				right++;
		err = add_frag(out, -1, off, left_end - off);
		if (!err)
			err = add_frag(out, id, 0, 0);
		off = right;
	}
	return err;
}

int tokenizer_partition(const struct llmos_tokenizer *tok, const char *text, size_t len,
			int parse_special, struct text_fragment **frags, size_t *n_frags)
{
	struct frag_list cur = { 0 }, next = { 0 }, t;
	int err = add_frag(&cur, -1, 0, len);

	for (int k = 0; k < tok->n_specials && !err; k++) {
		int id = tok->specials[k];

		if (!parse_special && tok->types[id] != LLMOS_TOKEN_USER_DEFINED)
			continue;
		next.n = 0;
		for (size_t i = 0; i < cur.n && !err; i++)
			err = cur.f[i].token >= 0 ? add_frag(&next, cur.f[i].token, 0, 0)
						  : split_fragment(tok, text, cur.f[i], id, &next);
		t = cur, cur = next, next = t;
	}
	free(next.f);
	if (err) {
		free(cur.f);
		return err;
	}
	*frags = cur.f;
	*n_frags = cur.n;
	return 0;
}
