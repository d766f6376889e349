/* SPDX-License-Identifier: MIT */
/*
 * tokenizer_impl.h - the inside of struct llmos_tokenizer, shared by the
 * files of the tokenizer only.
 */
#ifndef LLMOS_TOKENIZER_IMPL_H
#define LLMOS_TOKENIZER_IMPL_H

#include "tokenizer.h"

struct bpe_merges;
struct pretok_regexes;
struct llmos_pretok;

/* Token attributes llama.cpp sets by model name (tokenizer_special.c). */
#define TOKEN_LSTRIP (1u << 0) /* eat the whitespace before it */
#define TOKEN_RSTRIP (1u << 1) /* eat the whitespace after it */
#define TOKEN_EOG (1u << 2)    /* ends a generation (EOS, EOT, <|im_end|>, ...) */

struct llmos_tokenizer {
	int n_vocab;
	int bos, eos, unk;
	char *text;	/* every piece, each followed by a NUL */
	size_t *offs;	/* where each piece starts in text */
	uint32_t *lens; /* its length */
	float *scores;
	uint8_t *types;		/* enum llmos_token_type */
	unsigned char *byte_of; /* the byte of each BYTE token */
	size_t max_len;
	int32_t *slots;		    /* open-addressing index of the pieces; -1 free */
	size_t n_slots;		    /* a power of two, at least twice n_vocab */
	int32_t byte_fallback[256]; /* the token for each byte no piece covers */

	/* Byte-level BPE (tokenizer_bpe.c); merges is NULL for SPM. */
	struct bpe_merges *merges;
	const struct llmos_pretok *pretok;
	struct pretok_regexes *regexes;

	/* Special tokens (tokenizer_special.c). */
	uint8_t *attrs;		/* TOKEN_* bits per token */
	int32_t *specials;	/* CONTROL, USER_DEFINED, UNKNOWN ids, longest first */
	int n_specials;
};

/* Where encoders put ids: at most max are stored, n counts them all. */
struct id_sink {
	int32_t *ids;
	size_t max, n;
};

void tokenizer_emit(struct id_sink *out, int32_t id);

/* tokenizer_spm.c: SPM on one fragment (with the "▁" escaping). */
int tokenizer_encode_spm(const struct llmos_tokenizer *tok, const char *text, size_t len,
			 int space_prefix, struct id_sink *out);
/* Merge the characters of text by score (SPM) or merge rank (BPE). */
int tokenizer_merge_text(const struct llmos_tokenizer *tok, const char *text, size_t len,
			 struct id_sink *out);

/* tokenizer_bpe.c */
int tokenizer_merge_rank(const struct llmos_tokenizer *tok, const char *a, size_t a_len,
			 const char *b, size_t b_len);
int tokenizer_encode_bpe(const struct llmos_tokenizer *tok, const char *text, size_t len,
			 struct id_sink *out);
void tokenizer_bpe_free(struct llmos_tokenizer *tok);
/* The byte a code point of a byte-level piece stands for, or -1. */
int tokenizer_bpe_byte(uint32_t cp);

/* tokenizer_special.c */
int tokenizer_specials_init(struct llmos_tokenizer *tok);

/*
 * A part of the text after special tokens are split out: a token, or a
 * run of text [off, off + len) to encode.
 */
struct text_fragment {
	int32_t token; /* -1 for text */
	size_t off, len;
};

/* The fragments of text; the caller frees *frags. */
int tokenizer_partition(const struct llmos_tokenizer *tok, const char *text, size_t len,
			int parse_special, struct text_fragment **frags, size_t *n_frags);

/* The id of the piece s[0..len), or -1. */
int tokenizer_lookup(const struct llmos_tokenizer *tok, const char *s, size_t len);

#endif /* LLMOS_TOKENIZER_IMPL_H */
