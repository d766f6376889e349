/* SPDX-License-Identifier: MIT */
/*
 * detok.c - turning ids back into text, one id at a time, always giving
 * whole, valid UTF-8 characters.
 *
 * Every byte a token contributes goes through a small UTF-8 assembler: a
 * lead byte opens a character, which is written once its continuation
 * bytes have all come (so a character may span byte tokens); a byte that
 * cannot continue or start one makes U+FFFD, once per maximal invalid
 * subsequence, as the Unicode standard recommends.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tokenizer_impl.h"

static const char replacement_char[] = "\xef\xbf\xbd"; /* U+FFFD */

struct text_sink {
	char *out;
	size_t cap, n;
};

static void put(struct text_sink *s, const void *bytes, size_t n)
{
	if (s->n + n <= s->cap)
		memcpy(s->out + s->n, bytes, n);
	s->n += n;
}

/* The length of the character a lead byte opens; 0 if c cannot lead. */
static unsigned int utf8_seq_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

/* Can c come next in the pending character (no overlongs, no surrogates)? */
static int continues(const struct llmos_detok *d, unsigned char c)
{
	unsigned char lo = 0x80, hi = 0xbf;

	if (d->n_pending == 1) {
		switch (d->pending[0]) {
		case 0xe0:
			lo = 0xa0;
			break;
		case 0xed:
			hi = 0x9f;
			break;
		case 0xf0:
			lo = 0x90;
			break;
		case 0xf4:
			hi = 0x8f;
			break;
		}
	}
	return c >= lo && c <= hi;
}

static void start_char(struct llmos_detok *d, struct text_sink *s, unsigned char c)
{
	unsigned int len = utf8_seq_len(c);

	if (len == 1) {
		put(s, &c, 1);
	} else if (len == 0) {
		put(s, replacement_char, 3);
	} else {
		d->pending[0] = c;
		d->n_pending = 1;
		d->need = len;
	}
}

static void feed_byte(struct llmos_detok *d, struct text_sink *s, unsigned char c)
{
	if (d->n_pending == 0) {
		start_char(d, s, c);
		return;
	}
	if (continues(d, c)) {
		d->pending[d->n_pending++] = c;
		if (d->n_pending == d->need) {
			put(s, d->pending, d->n_pending);
			d->n_pending = 0;
		}
		return;
	}
	put(s, replacement_char, 3);
	d->n_pending = 0;
	start_char(d, s, c);
}

/* A normal piece, "▁" as a space, its first space dropped if strip_space. */
static void feed_normal(struct llmos_detok *d, struct text_sink *s, const char *p, size_t len,
			int strip_space)
{
	for (size_t i = 0; i < len; i++) {
		if (len - i >= 3 && memcmp(p + i, "\xe2\x96\x81", 3) == 0) {
			i += 2;
			if (!strip_space)
				feed_byte(d, s, ' ');
		} else if (p[i] == ' ' && strip_space) {
			/* a literal space is stripped too, as llama.cpp's lstrip does */
		} else {
			feed_byte(d, s, (unsigned char)p[i]);
		}
		strip_space = 0;
	}
}

/*
 * A byte-level BPE piece: each character stands for one byte (GPT-2's
 * alphabet); a character outside it is kept as it is.
 */
static void feed_byte_level(struct llmos_detok *d, struct text_sink *s, const char *p, size_t len)
{
	const unsigned char *u = (const unsigned char *)p;

	for (size_t i = 0; i < len;) {
		size_t n = u[i] < 0xc0 ? 1 : u[i] < 0xe0 ? 2 : u[i] < 0xf0 ? 3 : 4;
		uint32_t cp = n == 1 ? u[i] : u[i] & (0x3fu >> (n - 1));
		int byte;

		if (n > len - i)
			n = len - i;
		for (size_t k = 1; k < n; k++)
			cp = cp << 6 | (u[i + k] & 0x3fu);
		byte = tokenizer_bpe_byte(cp);
		if (byte >= 0) {
			feed_byte(d, s, (unsigned char)byte);
		} else {
			for (size_t k = 0; k < n; k++)
				feed_byte(d, s, u[i + k]);
		}
		i += n;
	}
}

static void feed_raw(struct llmos_detok *d, struct text_sink *s, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		feed_byte(d, s, (unsigned char)p[i]);
}

static void feed_token(struct llmos_detok *d, struct text_sink *s, int id)
{
	const struct llmos_tokenizer *tok = d->tok;
	const char *p = tok->text + tok->offs[id];
	size_t len = tok->lens[id];
	int strip_space = d->after_bos && !(d->flags & LLMOS_DETOK_KEEP_SPACE);

	switch (tok->types[id]) {
	case LLMOS_TOKEN_NORMAL:
		if (tok->merges)
			feed_byte_level(d, s, p, len);
		else
			feed_normal(d, s, p, len, strip_space);
		break;
	case LLMOS_TOKEN_BYTE:
		feed_byte(d, s, tok->byte_of[id]);
		break;
	case LLMOS_TOKEN_USER_DEFINED:
		feed_raw(d, s, p, len);
		break;
	case LLMOS_TOKEN_CONTROL:
	case LLMOS_TOKEN_UNKNOWN:
		if (d->flags & LLMOS_DETOK_SPECIAL)
			feed_raw(d, s, p, len);
		break;
	default: /* unused and undefined tokens have no text */
		break;
	}
	d->after_bos = id == tok->bos;
}

void llmos_detok_init(struct llmos_detok *d, const struct llmos_tokenizer *tok, unsigned int flags)
{
	memset(d, 0, sizeof(*d));
	d->tok = tok;
	d->flags = flags;
}

size_t llmos_detok_max_output(const struct llmos_detok *d)
{
	/* at most 3 bytes (U+FFFD) per byte pending or fed */
	return 3 * (d->tok->max_len + sizeof(d->pending));
}

int llmos_detok_push(struct llmos_detok *d, int token, char *out, size_t out_cap)
{
	struct text_sink s = {.out = out, .cap = out ? out_cap : 0};
	struct llmos_detok next = *d;

	if (token < 0 || token >= d->tok->n_vocab)
		return llmos_fail(-EINVAL, "detok: token %d outside 0..%d", token,
				  d->tok->n_vocab - 1);
	feed_token(&next, &s, token);
	if (s.n > s.cap)
		return llmos_fail(-ENOBUFS, "detok: token %d needs %zu bytes, not %zu", token, s.n,
				  s.cap);
	*d = next;
	return (int)s.n;
}

int llmos_detok_flush(struct llmos_detok *d, char *out, size_t out_cap)
{
	if (d->n_pending == 0)
		return 0;
	if (!out || out_cap < 3)
		return llmos_fail(-ENOBUFS, "detok: flushing needs 3 bytes, not %zu", out_cap);
	memcpy(out, replacement_char, 3);
	d->n_pending = 0;
	return 3;
}

/* Append n bytes of chunk to out as snprintf would; *total counts them all. */
static int append(char *out, size_t out_cap, size_t *total, const char *chunk, int n)
{
	if (n < 0)
		return n;
	if (*total < out_cap) {
		size_t room = out_cap - *total;

		memcpy(out + *total, chunk, (size_t)n < room ? (size_t)n : room);
	}
	*total += (size_t)n;
	if (*total > INT_MAX - 8)
		return llmos_fail(-EOVERFLOW, "detokenize: the text is too long");
	return 0;
}

int llmos_detokenize(const struct llmos_tokenizer *tok, const int32_t *ids, size_t n,
		     unsigned int flags, char *out, size_t out_cap)
{
	struct llmos_detok d;
	size_t total = 0, chunk_cap;
	char *chunk;
	int err = 0;

	llmos_detok_init(&d, tok, flags);
	chunk_cap = llmos_detok_max_output(&d);
	chunk = malloc(chunk_cap);
	if (!chunk)
		return llmos_fail(-ENOMEM, "detokenize: no memory");
	if (!out)
		out_cap = 0;
	for (size_t i = 0; i < n && !err; i++)
		err = append(out, out_cap, &total, chunk,
			     llmos_detok_push(&d, ids[i], chunk, chunk_cap));
	if (!err)
		err = append(out, out_cap, &total, chunk, llmos_detok_flush(&d, chunk, chunk_cap));
	free(chunk);
	if (err)
		return err;
	if (out_cap > 0)
		out[total < out_cap ? total : out_cap - 1] = '\0';
	return (int)total;
}
