/* SPDX-License-Identifier: MIT */
/*
 * tokenizer.c - the vocabulary (pieces, scores, types and a hash index of
 * the pieces) and the queries on it.  Encoding starts in
 * tokenizer_encode.c and decoding is in detok.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "internal.h"
#include "tokenizer_impl.h"

#define MAX_PIECE_LEN (1u << 20)

int tokenizer_lookup(const struct llmos_tokenizer *tok, const char *s, size_t len)
{
	size_t mask = tok->n_slots - 1;
	size_t i = llmos_hash_bytes(s, len) & mask;

	for (;; i = (i + 1) & mask) {
		int32_t id = tok->slots[i];

		if (id < 0)
			return -1;
		if (tok->lens[id] == len && memcmp(tok->text + tok->offs[id], s, len) == 0)
			return id;
	}
}

/* Returns 0, or -LLMOS_EFORMAT if the piece of id is already indexed. */
static int index_piece(struct llmos_tokenizer *tok, int32_t id)
{
	const char *s = tok->text + tok->offs[id];
	size_t mask = tok->n_slots - 1;
	size_t i = llmos_hash_bytes(s, tok->lens[id]) & mask;

	for (; tok->slots[i] >= 0; i = (i + 1) & mask) {
		int32_t other = tok->slots[i];

		if (tok->lens[other] == tok->lens[id] &&
		    memcmp(tok->text + tok->offs[other], s, tok->lens[id]) == 0)
			return llmos_fail(-LLMOS_EFORMAT,
					  "tokenizer: tokens %d and %d are both \"%.*s\"", other,
					  id, (int)tok->lens[id], s);
	}
	tok->slots[i] = id;
	return 0;
}

static int build_index(struct llmos_tokenizer *tok)
{
	size_t n_slots = 16;

	while (n_slots < 2 * (size_t)tok->n_vocab)
		n_slots *= 2;
	tok->slots = malloc(n_slots * sizeof(*tok->slots));
	if (!tok->slots)
		return llmos_fail(-ENOMEM, "tokenizer: no memory for the piece index");
	tok->n_slots = n_slots;
	memset(tok->slots, 0xff, n_slots * sizeof(*tok->slots));
	for (int32_t id = 0; id < tok->n_vocab; id++) {
		int err;

		if (tok->lens[id] == 0)
			continue; /* never matches a non-empty symbol */
		err = index_piece(tok, id);
		if (err)
			return err;
	}
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The byte of a piece spelt "<0xNN>", or -1. */
static int parse_byte_piece(const char *s, size_t len)
{
	int hi, lo;

	if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>')
		return -1;
	hi = hex_digit(s[3]);
	lo = hex_digit(s[4]);
	if (hi < 0 || lo < 0)
		return -1;
	return hi << 4 | lo;
}

/* Record the byte of each BYTE token, which must be spelt <0xNN>. */
static int parse_byte_tokens(struct llmos_tokenizer *tok)
{
	for (int id = 0; id < tok->n_vocab; id++) {
		int byte;

		if (tok->types[id] != LLMOS_TOKEN_BYTE)
			continue;
		byte = parse_byte_piece(tok->text + tok->offs[id], tok->lens[id]);
		if (byte < 0)
			return llmos_fail(-LLMOS_EFORMAT,
					  "tokenizer: byte token %d is \"%.*s\", not <0xNN>", id,
					  (int)tok->lens[id], tok->text + tok->offs[id]);
		tok->byte_of[id] = (unsigned char)byte;
	}
	return 0;
}

/*
 * The token that stands for a byte no piece covers: "<0xNN>" (upper case,
 * whatever its type, as llama.cpp looks it up), else the one-byte piece,
 * else UNK (where llama.cpp would throw).
 */
static void build_byte_fallback(struct llmos_tokenizer *tok)
{
	static const char hex[] = "0123456789ABCDEF";

	for (int b = 0; b < 256; b++) {
		char name[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
		char one = (char)b;
		int id = tokenizer_lookup(tok, name, sizeof(name));

		if (id < 0 && b != 0)
			id = tokenizer_lookup(tok, &one, 1);
		tok->byte_fallback[b] = id >= 0 ? id : tok->unk;
	}
}

static int check_args(int n_vocab, const char *const *pieces, const size_t *piece_lens, int bos_id,
		      int eos_id, int unk_id)
{
	if (n_vocab <= 0 || n_vocab > INT32_MAX / 4)
		return llmos_fail(-EINVAL, "tokenizer: bad vocabulary size %d", n_vocab);
	if (!pieces)
		return llmos_fail(-EINVAL, "tokenizer: no pieces");
	if (bos_id < -1 || bos_id >= n_vocab || eos_id < -1 || eos_id >= n_vocab || unk_id < -1 ||
	    unk_id >= n_vocab)
		return llmos_fail(-EINVAL, "tokenizer: BOS %d, EOS %d or UNK %d outside 0..%d",
				  bos_id, eos_id, unk_id, n_vocab - 1);
	for (int id = 0; id < n_vocab; id++) {
		if (!pieces[id])
			return llmos_fail(-EINVAL, "tokenizer: piece %d is NULL", id);
		if (piece_lens && piece_lens[id] > MAX_PIECE_LEN)
			return llmos_fail(-LLMOS_EFORMAT, "tokenizer: piece %d is %zu bytes long",
					  id, piece_lens[id]);
	}
	return 0;
}

static int alloc_arrays(struct llmos_tokenizer *tok, size_t text_size)
{
	size_t n = (size_t)tok->n_vocab;

	tok->text = malloc(text_size);
	tok->offs = calloc(n, sizeof(*tok->offs));
	tok->lens = calloc(n, sizeof(*tok->lens));
	tok->scores = calloc(n, sizeof(*tok->scores));
	tok->types = calloc(n, sizeof(*tok->types));
	tok->byte_of = calloc(n, sizeof(*tok->byte_of));
	if (!tok->text || !tok->offs || !tok->lens || !tok->scores || !tok->types || !tok->byte_of)
		return llmos_fail(-ENOMEM, "tokenizer: no memory for %zu pieces", n);
	return 0;
}

/* Copy the pieces (each followed by a NUL), scores and types. */
static int copy_vocab(struct llmos_tokenizer *tok, const char *const *pieces,
		      const size_t *piece_lens, const float *scores, const int32_t *token_types)
{
	size_t text_size = 0, pos = 0;
	int err;

	for (int id = 0; id < tok->n_vocab; id++) {
		size_t len = piece_lens ? piece_lens[id] : strnlen(pieces[id], MAX_PIECE_LEN + 1);

		if (len > MAX_PIECE_LEN)
			return llmos_fail(-LLMOS_EFORMAT, "tokenizer: piece %d is too long", id);
		text_size += len + 1;
	}
	err = alloc_arrays(tok, text_size);
	if (err)
		return err;
	for (int id = 0; id < tok->n_vocab; id++) {
		size_t len = piece_lens ? piece_lens[id] : strlen(pieces[id]);
		int type = token_types ? token_types[id] : LLMOS_TOKEN_NORMAL;

		memcpy(tok->text + pos, pieces[id], len);
		tok->text[pos + len] = '\0';
		tok->offs[id] = pos;
		tok->lens[id] = (uint32_t)len;
		tok->scores[id] = scores ? scores[id] : 0.0f;
		/* an unknown type is undefined, as llama.cpp reads it */
		tok->types[id] = (uint8_t)(type >= 0 && type <= LLMOS_TOKEN_BYTE ? type
										 : LLMOS_TOKEN_UNDEFINED);
		if (len > tok->max_len)
			tok->max_len = len;
		pos += len + 1;
	}
	return 0;
}

int llmos_tokenizer_create(struct llmos_tokenizer **out, int n_vocab, const char *const *pieces,
			   const size_t *piece_lens, const float *scores,
			   const int32_t *token_types, int bos_id, int eos_id, int unk_id)
{
	struct llmos_tokenizer *tok;
	int err;

	if (!out)
		return llmos_fail(-EINVAL, "tokenizer: no result pointer");
	*out = NULL;
	err = check_args(n_vocab, pieces, piece_lens, bos_id, eos_id, unk_id);
	if (err)
		return err;
	tok = calloc(1, sizeof(*tok));
	if (!tok)
		return llmos_fail(-ENOMEM, "tokenizer: no memory");
	tok->n_vocab = n_vocab;
	tok->bos = bos_id;
	tok->eos = eos_id;
	tok->unk = unk_id;
	err = copy_vocab(tok, pieces, piece_lens, scores, token_types);
	if (!err)
		err = parse_byte_tokens(tok);
	if (!err)
		err = build_index(tok);
	if (err) {
		llmos_tokenizer_free(tok);
		return err;
	}
	build_byte_fallback(tok);
	err = tokenizer_specials_init(tok);
	if (err) {
		llmos_tokenizer_free(tok);
		return err;
	}
	*out = tok;
	return 0;
}

void llmos_tokenizer_free(struct llmos_tokenizer *tok)
{
	if (!tok)
		return;
	free(tok->text);
	free(tok->offs);
	free(tok->lens);
	free(tok->scores);
	free(tok->types);
	free(tok->byte_of);
	free(tok->slots);
	free(tok->attrs);
	free(tok->specials);
	tokenizer_bpe_free(tok);
	free(tok);
}

int llmos_tokenizer_n_vocab(const struct llmos_tokenizer *tok)
{
	return tok->n_vocab;
}

int llmos_tokenizer_is_bpe(const struct llmos_tokenizer *tok)
{
	return tok->merges != NULL;
}

int llmos_tokenizer_bos(const struct llmos_tokenizer *tok)
{
	return tok->bos;
}

int llmos_tokenizer_eos(const struct llmos_tokenizer *tok)
{
	return tok->eos;
}

int llmos_tokenizer_unk(const struct llmos_tokenizer *tok)
{
	return tok->unk;
}

size_t llmos_tokenizer_max_piece_len(const struct llmos_tokenizer *tok)
{
	return tok->max_len;
}

const char *llmos_tokenizer_piece(const struct llmos_tokenizer *tok, int id, size_t *len)
{
	if (id < 0 || id >= tok->n_vocab) {
		*len = 0;
		return NULL;
	}
	*len = tok->lens[id];
	return tok->text + tok->offs[id];
}

int llmos_tokenizer_token_type(const struct llmos_tokenizer *tok, int id)
{
	if (id < 0 || id >= tok->n_vocab)
		return llmos_fail(-EINVAL, "tokenizer: token %d outside 0..%d", id,
				  tok->n_vocab - 1);
	return tok->types[id];
}

int llmos_tokenizer_find(const struct llmos_tokenizer *tok, const char *piece, size_t len)
{
	int id = len ? tokenizer_lookup(tok, piece, len) : -1;

	return id >= 0 ? id : -ENOENT;
}
