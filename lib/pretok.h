/* SPDX-License-Identifier: MIT */
/*
 * pretok.h - the pre-tokenizers of byte-level BPE vocabularies: how the
 * text is cut into words before merges run, chosen by tokenizer.ggml.pre.
 */
#ifndef LLMOS_PRETOK_H
#define LLMOS_PRETOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PRETOK_MAX_NAMES 10
#define PRETOK_MAX_PATTERNS 6

/*
 * One row of the table in pretok.c: the tokenizer.ggml.pre names it
 * answers to, its regular expressions (applied in turn, each one cutting
 * the pieces the previous ones left; text between matches is a piece too),
 * and the vocabulary settings llama.cpp ties to it.
 */
struct llmos_pretok {
	const char *names[PRETOK_MAX_NAMES];
	const char *patterns[PRETOK_MAX_PATTERNS];
	bool ignore_merges; /* a word that is a piece is taken whole */
	bool add_bos;	    /* default of tokenizer.ggml.add_bos_token */
	bool no_bos;	    /* no BOS token unless the metadata names one */
};

/* The row for a tokenizer.ggml.pre value (NULL, len 0: "default"), or NULL. */
const struct llmos_pretok *llmos_pretok_find(const char *name, size_t len);
/* Every name the table knows, comma-separated, for error messages. */
void llmos_pretok_names(char *buf, size_t cap);

struct pretok_regexes;

/* Compile a row's patterns (PCRE2, with its JIT where it has one). */
int pretok_compile(const struct llmos_pretok *p, struct pretok_regexes **out);
void pretok_free(struct pretok_regexes *r);

/*
 * pretok_split() - cut n code points into words: *lens gets each word's
 * length in code points (they add up to n), *n_words their number.  The
 * caller frees *lens.  cpts must hold code points PCRE2 accepts (no
 * surrogates, nothing above U+10FFFF).
 */
int pretok_split(const struct pretok_regexes *r, const uint32_t *cpts, size_t n, size_t **lens,
		 size_t *n_words);

#endif /* LLMOS_PRETOK_H */
