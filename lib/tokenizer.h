/* SPDX-License-Identifier: MIT */
/*
 * tokenizer.h - the tokenizers of GGUF vocabularies (llama's SentencePiece
 * style and GPT-2's byte-level BPE) and a streaming detokenizer, giving
 * the same ids and text as llama.cpp.
 *
 * The tokenizer is built from plain arrays (as a GGUF file stores them in
 * tokenizer.ggml.tokens / scores / token_type) and keeps its own copy, so
 * the arrays can be freed after llmos_tokenizer_create().  A tokenizer is
 * read-only after creation: any number of threads may use it at once.
 */
#ifndef LLMOS_TOKENIZER_H
#define LLMOS_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

/* Token types, as in GGUF's tokenizer.ggml.token_type. */
enum llmos_token_type {
	LLMOS_TOKEN_UNDEFINED = 0,
	LLMOS_TOKEN_NORMAL = 1,
	LLMOS_TOKEN_UNKNOWN = 2,
	LLMOS_TOKEN_CONTROL = 3,
	LLMOS_TOKEN_USER_DEFINED = 4,
	LLMOS_TOKEN_UNUSED = 5,
	LLMOS_TOKEN_BYTE = 6, /* piece "<0xNN>": the single byte NN */
};

struct llmos_tokenizer;

/*
 * llmos_tokenizer_create() - build a tokenizer from a vocabulary.
 * @pieces:      n_vocab piece texts, "▁" (U+2581) standing for a space
 * @piece_lens:  their lengths in bytes; NULL if the pieces are NUL-terminated
 * @scores:      merge scores (higher merges first); NULL for all 0
 * @token_types: enum llmos_token_type values; NULL for all NORMAL
 *
 * bos_id, eos_id and unk_id may be -1 for none.
 * Fails with -EINVAL on bad arguments (n_vocab <= 0, NULL pieces, special
 * ids out of range), -LLMOS_EFORMAT on a bad vocabulary (duplicate pieces,
 * a BYTE token not spelt <0xNN>), -ENOMEM.  An unknown token type reads as
 * LLMOS_TOKEN_UNDEFINED, as in llama.cpp.
 * Empty pieces are allowed but can never be produced by llmos_tokenize().
 */
int llmos_tokenizer_create(struct llmos_tokenizer **out, int n_vocab, const char *const *pieces,
			   const size_t *piece_lens, const float *scores,
			   const int32_t *token_types, int bos_id, int eos_id, int unk_id);
void llmos_tokenizer_free(struct llmos_tokenizer *tok);

struct llmos_pretok;
/*
 * llmos_tokenizer_set_bpe() - make tok a byte-level BPE tokenizer: the
 * merges ("first second", by rank) and the pre-tokenizer (pretok.h).
 */
int llmos_tokenizer_set_bpe(struct llmos_tokenizer *tok, const char *const *merges,
			    const size_t *merge_lens, size_t n_merges,
			    const struct llmos_pretok *pretok);
/* Is it byte-level BPE? */
int llmos_tokenizer_is_bpe(const struct llmos_tokenizer *tok);

/* Token id ends a generation (an end-of-turn token). */
int llmos_tokenizer_mark_eog(struct llmos_tokenizer *tok, int id);
/* Make n tokens CONTROL tokens (ids out of range are skipped). */
int llmos_tokenizer_make_control(struct llmos_tokenizer *tok, const int *ids, int n);
int llmos_tokenizer_is_eog(const struct llmos_tokenizer *tok, int id);
/* Whether special token id eats the whitespace before / after it. */
void llmos_tokenizer_set_strip(struct llmos_tokenizer *tok, int id, int lstrip, int rstrip);

int llmos_tokenizer_n_vocab(const struct llmos_tokenizer *tok);
int llmos_tokenizer_bos(const struct llmos_tokenizer *tok);
int llmos_tokenizer_eos(const struct llmos_tokenizer *tok);
int llmos_tokenizer_unk(const struct llmos_tokenizer *tok);
/* The longest piece, in bytes. */
size_t llmos_tokenizer_max_piece_len(const struct llmos_tokenizer *tok);

/*
 * llmos_tokenizer_piece() - the vocabulary text of token id, as stored
 * ("▁Once", "<0x0A>", "<s>"), not NUL-terminated; its length in *len.
 * Returns the piece, or NULL with *len = 0 if id is out of range.
 */
const char *llmos_tokenizer_piece(const struct llmos_tokenizer *tok, int id, size_t *len);
/* The type of token id, or -EINVAL if id is out of range. */
int llmos_tokenizer_token_type(const struct llmos_tokenizer *tok, int id);
/* The id of a piece given exactly, or -ENOENT. */
int llmos_tokenizer_find(const struct llmos_tokenizer *tok, const char *piece, size_t len);

/* Flags for llmos_tokenize(). */
#define LLMOS_TOKENIZE_ADD_BOS (1u << 0)	 /* prepend the BOS token */
#define LLMOS_TOKENIZE_NO_SPACE_PREFIX (1u << 1) /* GGUF add_space_prefix = false */
#define LLMOS_TOKENIZE_ADD_EOS (1u << 2)	 /* append the EOS token */
#define LLMOS_TOKENIZE_PARSE_SPECIAL (1u << 3)	 /* control tokens' texts are tokens */

/*
 * llmos_tokenize() - the ids of len bytes of text (any bytes: NULs and
 * invalid UTF-8 included), as llama.cpp's llama_tokenize() gives them.
 * Special tokens are split out of the text first: user-defined ones
 * always, control ones with LLMOS_TOKENIZE_PARSE_SPECIAL.  Writes at most
 * max_ids ids and returns how many the text has, like snprintf: call it
 * again with a larger array if the result exceeds max_ids.  An empty text
 * gives just BOS/EOS (as flagged) or nothing.  Never more than
 * LLMOS_TOKENIZE_MAX_IDS(len) ids.  Fails with -EOVERFLOW or -ENOMEM.
 */
#define LLMOS_TOKENIZE_MAX_IDS(len) (8 * ((size_t)(len) + 1) + 2)
int llmos_tokenize(const struct llmos_tokenizer *tok, const char *text, size_t len,
		   unsigned int flags, int32_t *ids, size_t max_ids);

/* Flags for llmos_detok_init(). */
#define LLMOS_DETOK_SPECIAL (1u << 0)	 /* render control and unknown tokens ("<s>") */
#define LLMOS_DETOK_KEEP_SPACE (1u << 1) /* keep the leading space after BOS */

/*
 * A streaming detokenizer: feed it ids one at a time and it gives back
 * valid UTF-8 text.  Byte tokens are gathered until they complete a
 * character; bytes that cannot form one come out as U+FFFD, one per
 * maximal invalid subsequence.  "▁" becomes a space; control, unknown and
 * unused tokens give no text (unless LLMOS_DETOK_SPECIAL); the leading
 * space of the first token after BOS is dropped, as SentencePiece does
 * (unless LLMOS_DETOK_KEEP_SPACE: llama.cpp's per-token printing keeps it).
 * It is a plain struct so that it can live on the stack; do not touch its
 * fields.
 */
struct llmos_detok {
	const struct llmos_tokenizer *tok;
	unsigned int flags;
	int after_bos;		  /* the previous token was BOS */
	unsigned char pending[4]; /* the start of an incomplete character */
	unsigned int n_pending;
	unsigned int need; /* the full length of that character */
};

void llmos_detok_init(struct llmos_detok *d, const struct llmos_tokenizer *tok, unsigned int flags);
/* An out_cap this large always lets one push or flush succeed. */
size_t llmos_detok_max_output(const struct llmos_detok *d);
/*
 * llmos_detok_push() - add token and write the text it completes to out
 * (not NUL-terminated).  Returns the number of bytes written, -EINVAL for
 * an id out of range, or -ENOBUFS if out_cap is too small (nothing is then
 * consumed: push again with more room).
 */
int llmos_detok_push(struct llmos_detok *d, int token, char *out, size_t out_cap);
/* At the end of the stream: U+FFFD for an incomplete character, if any. */
int llmos_detok_flush(struct llmos_detok *d, char *out, size_t out_cap);

/*
 * llmos_detokenize() - the text of n ids, through a fresh detokenizer with
 * the given flags, NUL-terminated if out_cap > 0.  Returns its length
 * without the NUL, like snprintf (truncated if it is >= out_cap), or a
 * negative error.
 */
int llmos_detokenize(const struct llmos_tokenizer *tok, const int32_t *ids, size_t n,
		     unsigned int flags, char *out, size_t out_cap);

#endif /* LLMOS_TOKENIZER_H */
