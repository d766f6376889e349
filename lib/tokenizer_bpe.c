/* SPDX-License-Identifier: MIT */
/*
 * tokenizer_bpe.c - byte-level BPE (tokenizer.ggml.model = "gpt2"), as
 * llama.cpp encodes it.
 *
 * The text is read as code points (an invalid byte reads as U+FFFD, as in
 * llama.cpp), cut into words by the vocabulary's pre-tokenizer (pretok.c),
 * and each word's UTF-8 bytes are spelt with GPT-2's byte-to-unicode
 * alphabet (printable bytes stand for themselves, the other 68 for
 * U+0100..U+0143).  The word's characters are then merged pair by pair in
 * the order of the merge list (tokenizer_spm.c's engine), or taken whole
 * when the pre-tokenizer says merges may be skipped and the word is a
 * piece.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "internal.h"
#include "pretok.h"
#include "tokenizer_impl.h"

struct bpe_merge {
	size_t off;	       /* "first" then "second", back to back, in text */
	uint32_t a_len, b_len;
	int32_t rank;
};

struct bpe_merges {
	char *text;
	struct bpe_merge *m;
	int32_t *slots; /* open addressing over m; -1 free */
	size_t n_slots;
};

/* ---- GPT-2's byte-to-unicode alphabet ---- */

static int byte_is_printable(int b)
{
	return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
}

static uint32_t byte_to_cp(int b)
{
	int n = 0;

	if (byte_is_printable(b))
		return (uint32_t)b;
	for (int i = 0; i < b; i++)
		n += !byte_is_printable(i);
	return 0x100u + (uint32_t)n;
}

int tokenizer_bpe_byte(uint32_t cp)
{
	uint32_t n = 0;

	if (cp < 0x100)
		return byte_is_printable((int)cp) ? (int)cp : -1;
	for (int b = 0; b < 256; b++)
		if (!byte_is_printable(b) && 0x100u + n++ == cp)
			return b;
	return -1;
}

/* ---- the merge list ---- */

static uint64_t pair_hash(const char *a, size_t a_len, const char *b, size_t b_len)
{
	char sep = (char)0xff; /* a byte no UTF-8 piece has */

	return llmos_hash_bytes(b, b_len) ^
	       (llmos_hash_bytes(a, a_len) * 31 + llmos_hash_bytes(&sep, 1));
}

static int find_pair(const struct bpe_merges *bm, const char *a, size_t a_len, const char *b,
		     size_t b_len, size_t *slot)
{
	size_t mask = bm->n_slots - 1, i = pair_hash(a, a_len, b, b_len) & mask;

	for (;; i = (i + 1) & mask) {
		int32_t k = bm->slots[i];
		const struct bpe_merge *m = &bm->m[k < 0 ? 0 : k];

		if (k < 0) {
			*slot = i;
			return -1;
		}
		if (m->a_len == a_len && m->b_len == b_len && !memcmp(bm->text + m->off, a, a_len) &&
		    !memcmp(bm->text + m->off + a_len, b, b_len))
			return k;
	}
}

int tokenizer_merge_rank(const struct llmos_tokenizer *tok, const char *a, size_t a_len,
			 const char *b, size_t b_len)
{
	size_t slot;
	int k = find_pair(tok->merges, a, a_len, b, b_len, &slot);

	return k < 0 ? -1 : tok->merges->m[k].rank;
}

/* Split a merge line as llama.cpp does: at the first space after byte 0. */
static void split_merge(const char *s, size_t len, size_t *a_len, size_t *b_off)
{
	const char *sp = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;

	*a_len = sp ? (size_t)(sp - s) : 0;
	*b_off = sp ? *a_len + 1 : len;
}

static int alloc_merges(struct bpe_merges *bm, const size_t *lens, size_t n)
{
	size_t text = 1;

	bm->n_slots = 16;
	while (bm->n_slots < 2 * n)
		bm->n_slots *= 2;
	for (size_t i = 0; i < n; i++)
		text += lens[i];
	bm->text = malloc(text);
	bm->m = calloc(n ? n : 1, sizeof(*bm->m));
	bm->slots = malloc(bm->n_slots * sizeof(*bm->slots));
	if (!bm->text || !bm->m || !bm->slots)
		return llmos_fail(-ENOMEM, "tokenizer: no memory for %zu merges", n);
	memset(bm->slots, 0xff, bm->n_slots * sizeof(*bm->slots));
	return 0;
}

static int build_merges(struct bpe_merges *bm, const char *const *merges, const size_t *lens,
			size_t n)
{
	size_t pos = 0, used = 0;
	int err = alloc_merges(bm, lens, n);

	for (size_t i = 0; i < n && !err; i++) {
		struct bpe_merge *m = &bm->m[used];
		size_t a_len, b_off, slot;

		split_merge(merges[i], lens[i], &a_len, &b_off);
		m->off = pos;
		m->a_len = (uint32_t)a_len;
		m->b_len = (uint32_t)(lens[i] - b_off);
		m->rank = (int32_t)i;
		memcpy(bm->text + pos, merges[i], a_len);
		memcpy(bm->text + pos + a_len, merges[i] + b_off, m->b_len);
		/* a repeated pair keeps its first rank, as llama.cpp's emplace does */
		if (find_pair(bm, bm->text + pos, a_len, bm->text + pos + a_len, m->b_len, &slot) >=
		    0)
			continue;
		bm->slots[slot] = (int32_t)used++;
		pos += a_len + m->b_len;
	}
	return err;
}

void tokenizer_bpe_free(struct llmos_tokenizer *tok)
{
	if (tok->merges) {
		free(tok->merges->text);
		free(tok->merges->m);
		free(tok->merges->slots);
		free(tok->merges);
		tok->merges = NULL;
	}
	pretok_free(tok->regexes);
	tok->regexes = NULL;
}

int llmos_tokenizer_set_bpe(struct llmos_tokenizer *tok, const char *const *merges,
			    const size_t *merge_lens, size_t n_merges,
			    const struct llmos_pretok *pretok)
{
	int err;

	if (n_merges >= (1u << 24))
		return llmos_fail(-LLMOS_EFORMAT, "tokenizer: %zu merges are too many", n_merges);
	tokenizer_bpe_free(tok);
	tok->merges = calloc(1, sizeof(*tok->merges));
	if (!tok->merges)
		return llmos_fail(-ENOMEM, "tokenizer: out of memory");
	err = build_merges(tok->merges, merges, merge_lens, n_merges);
	if (!err)
		err = pretok_compile(pretok, &tok->regexes);
	if (err) {
		tokenizer_bpe_free(tok);
		return err;
	}
	tok->pretok = pretok;
	return 0;
}

/* ---- encoding ---- */

/*
 * One code point at s[*i] as llama.cpp reads it: the lead byte gives the
 * length, continuation bytes are checked but not overlongs or surrogates;
 * an invalid byte is U+FFFD and one byte long.
 */
static uint32_t read_cp(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char c = s[*i];
	int n = c < 0x80 ? 0 : c < 0xc0 ? -1 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : c < 0xf8 ? 3 : -1;
	uint32_t cp;

	if (n < 0 || *i + (size_t)n >= len + (n == 0))
		goto invalid;
	cp = n ? c & (0x3fu >> n) : c;
	for (int k = 1; k <= n; k++) {
		if ((s[*i + k] & 0xc0) != 0x80)
			goto invalid;
		cp = cp << 6 | (s[*i + k] & 0x3fu);
	}
	*i += (size_t)n + 1;
	return cp;
invalid:
	*i += 1;
	return 0xfffd;
}

static size_t put_utf8(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18 & 0x07));
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A word's code points, re-encoded, each byte spelt in the GPT-2 alphabet. */
static size_t spell_word(const uint32_t *cpts, size_t n, char *out)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		char utf8[4];
		size_t k = put_utf8(cpts[i], utf8);

		for (size_t j = 0; j < k; j++)
			len += put_utf8(byte_to_cp((unsigned char)utf8[j]), out + len);
	}
	return len;
}

/*
 * The code point the pre-tokenizer's patterns see.  llama.cpp matches every
 * non-ASCII whitespace as U+000B (its std::regex knows no other), so do we;
 * U+180E, which PCRE2 counts as a space and llama.cpp does not, and what
 * PCRE2 cannot take (surrogates, beyond U+10FFFF) match as a private-use
 * character, in llama.cpp's "other" class like them.
 */
static uint32_t regex_cp(uint32_t cp)
{
	static const uint32_t spaces[] = { 0x85,   0xa0,   0x1680, 0x2028,
					   0x2029, 0x202f, 0x205f, 0x3000 };

	if (cp < 0x80)
		return cp;
	if (cp >= 0x2000 && cp <= 0x200a)
		return 0x0b;
	for (size_t k = 0; k < sizeof(spaces) / sizeof(spaces[0]); k++)
		if (cp == spaces[k])
			return 0x0b;
	if (cp == 0x180e || (cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff)
		return 0xe000;
	return cp;
}

static int encode_words(const struct llmos_tokenizer *tok, const uint32_t *cpts,
			const size_t *lens, size_t n_words, char *buf, struct id_sink *out)
{
	size_t at = 0;
	int err = 0;

	for (size_t w = 0; w < n_words && !err; w++) {
		size_t len = spell_word(cpts + at, lens[w], buf);
		int id = tok->pretok->ignore_merges ? tokenizer_lookup(tok, buf, len) : -1;

		at += lens[w];
		if (id >= 0)
			tokenizer_emit(out, id);
		else
			err = tokenizer_merge_text(tok, buf, len, out);
	}
	return err;
}

int tokenizer_encode_bpe(const struct llmos_tokenizer *tok, const char *text, size_t len,
			 struct id_sink *out)
{
	uint32_t *cpts = malloc((len + 1) * sizeof(*cpts));
	uint32_t *subj = malloc((len + 1) * sizeof(*subj));
	char *buf = malloc(8 * len + 8); /* 4 bytes a code point, 2 bytes a byte */
	size_t n = 0, i = 0, *lens = NULL, n_words = 0;
	int err;

	if (!cpts || !subj || !buf) {
		err = llmos_fail(-ENOMEM, "tokenize: no memory for %zu bytes of text", len);
		goto out;
	}
	while (i < len) {
		cpts[n] = read_cp((const unsigned char *)text, len, &i);
		subj[n] = regex_cp(cpts[n]);
		n++;
	}
	err = pretok_split(tok->regexes, subj, n, &lens, &n_words);
	if (!err)
		err = encode_words(tok, cpts, lens, n_words, buf, out);
out:
	free(lens);
	free(cpts);
	free(subj);
	free(buf);
	return err;
}
