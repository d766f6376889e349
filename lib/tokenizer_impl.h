/* SPDX-License-Identifier: MIT */
/*
 * tokenizer_impl.h - the inside of struct llmos_tokenizer, shared by the
 * files of the tokenizer only.
 */
#ifndef LLMOS_TOKENIZER_IMPL_H
#define LLMOS_TOKENIZER_IMPL_H

#include "tokenizer.h"

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
};

/* The id of the piece s[0..len), or -1. */
int tokenizer_lookup(const struct llmos_tokenizer *tok, const char *s, size_t len);

#endif /* LLMOS_TOKENIZER_IMPL_H */
