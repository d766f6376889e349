/* SPDX-License-Identifier: MIT */
/*
 * tokenizer_spm.c - encoding text as llama.cpp's SPM tokenizer does, and
 * the symbol-merging engine that its byte-level BPE shares.
 *
 * The text gets a leading space, spaces become "▁" (U+2581) and it is cut
 * into UTF-8 characters (a lead byte says how many bytes to take, without
 * checking them; a stray byte is a character of its own).  Then, as long
 * as possible, the adjacent pair of symbols whose concatenation is a piece
 * with the highest score (leftmost on ties) is merged, through a max-heap
 * of candidate pairs; a candidate is stale, and skipped, once either side
 * has changed.  Last, each symbol is its piece's id, or if it is no piece
 * (only unmerged characters can be) one byte token per byte.  llama.cpp's
 * "rev_merge" re-segmentation never applies, since merged symbols are
 * always pieces.
 *
 * Byte-level BPE (tokenizer_bpe.c) merges the same way, by the rank of the
 * pair in the merge list instead of a score (lowest first, leftmost on
 * ties), and spells an unknown symbol with the one-byte pieces it has.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tokenizer_impl.h"

struct spm_symbol {
	int prev, next; /* neighbours in the chain of live symbols, -1 at the ends */
	size_t off, n;	/* bytes of the text; n = 0 once merged into the left one */
};

struct spm_bigram {
	int left, right;
	float score;
	size_t size; /* bytes of both symbols when queued */
};

struct spm_work {
	const struct llmos_tokenizer *tok;
	const char *text;
	size_t len;
	struct spm_symbol *sym;
	int n_sym;
	struct spm_bigram *heap;
	size_t n_heap;
};

void tokenizer_emit(struct id_sink *out, int32_t id)
{
	if (out->n < out->max)
		out->ids[out->n] = id;
	out->n++;
}

/* Does a come out of the heap before b? */
static int bigram_before(const struct spm_bigram *a, const struct spm_bigram *b)
{
	return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void heap_push(struct spm_work *w, struct spm_bigram bg)
{
	size_t i = w->n_heap++;

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!bigram_before(&bg, &w->heap[parent]))
			break;
		w->heap[i] = w->heap[parent];
		i = parent;
	}
	w->heap[i] = bg;
}

static struct spm_bigram heap_pop(struct spm_work *w)
{
	struct spm_bigram top = w->heap[0];
	struct spm_bigram last = w->heap[--w->n_heap];
	size_t i = 0, n = w->n_heap;

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= n)
			break;
		if (child + 1 < n && bigram_before(&w->heap[child + 1], &w->heap[child]))
			child++;
		if (!bigram_before(&w->heap[child], &last))
			break;
		w->heap[i] = w->heap[child];
		i = child;
	}
	if (n > 0)
		w->heap[i] = last;
	return top;
}

static void try_add_bigram(struct spm_work *w, int left, int right)
{
	struct spm_bigram bg;
	int id;

	if (left < 0 || right < 0)
		return;
	bg.size = w->sym[left].n + w->sym[right].n;
	if (w->tok->merges) {
		int rank = tokenizer_merge_rank(w->tok, w->text + w->sym[left].off,
						w->sym[left].n, w->text + w->sym[right].off,
						w->sym[right].n);

		if (rank < 0)
			return;
		bg.score = -(float)rank; /* exact: ranks are below 2^24 */
	} else {
		id = tokenizer_lookup(w->tok, w->text + w->sym[left].off, bg.size);
		if (id < 0)
			return;
		bg.score = w->tok->scores[id];
	}
	bg.left = left;
	bg.right = right;
	heap_push(w, bg);
}

/* The escaped text: an optional leading "▁", then every space as "▁". */
static char *escape_text(const char *text, size_t len, int space_prefix, size_t *out_len)
{
	static const char ws[] = "\xe2\x96\x81";
	char *buf = malloc(3 * (len + 1));
	size_t n = 0;

	if (!buf)
		return NULL;
	if (space_prefix) {
		memcpy(buf, ws, 3);
		n = 3;
	}
	for (size_t i = 0; i < len; i++) {
		if (text[i] == ' ') {
			memcpy(buf + n, ws, 3);
			n += 3;
		} else {
			buf[n++] = text[i];
		}
	}
	*out_len = n;
	return buf;
}

/* How many bytes a character starting with c takes, as llama.cpp sees it. */
static size_t utf8_len(unsigned char c)
{
	static const unsigned char len_by_high_bits[16] = {1, 1, 1, 1, 1, 1, 1, 1,
							   1, 1, 1, 1, 2, 2, 3, 4};

	return len_by_high_bits[c >> 4];
}

static void split_chars(struct spm_work *w)
{
	size_t off = 0;
	int i = 0;

	while (off < w->len) {
		size_t n = utf8_len((unsigned char)w->text[off]);

		if (n > w->len - off)
			n = w->len - off;
		w->sym[i].off = off;
		w->sym[i].n = n;
		w->sym[i].prev = i - 1;
		off += n;
		w->sym[i].next = off == w->len ? -1 : i + 1;
		i++;
	}
	w->n_sym = i;
}

static void merge_symbols(struct spm_work *w)
{
	for (int i = 1; i < w->n_sym; i++)
		try_add_bigram(w, i - 1, i);

	while (w->n_heap > 0) {
		struct spm_bigram bg = heap_pop(w);
		struct spm_symbol *left = &w->sym[bg.left];
		struct spm_symbol *right = &w->sym[bg.right];

		if (left->n == 0 || right->n == 0 || left->n + right->n != bg.size)
			continue; /* stale */
		left->n += right->n;
		right->n = 0;
		left->next = right->next;
		if (right->next >= 0)
			w->sym[right->next].prev = bg.left;
		try_add_bigram(w, left->prev, bg.left);
		try_add_bigram(w, bg.left, left->next);
	}
}

/* An unknown symbol: SPM's byte tokens, or BPE's one-byte pieces if any. */
static void emit_bytes(const struct llmos_tokenizer *tok, const char *s, size_t n,
		       struct id_sink *out)
{
	for (size_t j = 0; j < n; j++) {
		int id = tok->merges ? tokenizer_lookup(tok, s + j, 1)
				     : tok->byte_fallback[(unsigned char)s[j]];

		if (id >= 0)
			tokenizer_emit(out, id);
	}
}

static void emit_symbols(const struct spm_work *w, struct id_sink *out)
{
	for (int i = 0; i != -1; i = w->sym[i].next) {
		const char *s = w->text + w->sym[i].off;
		int id = tokenizer_lookup(w->tok, s, w->sym[i].n);

		if (id >= 0)
			tokenizer_emit(out, id);
		else
			emit_bytes(w->tok, s, w->sym[i].n, out);
	}
}

int tokenizer_merge_text(const struct llmos_tokenizer *tok, const char *text, size_t len,
			 struct id_sink *out)
{
	struct spm_work w = {.tok = tok, .text = text, .len = len};
	int err = 0;

	if (len == 0)
		return 0;
	/* At most one symbol per byte; one bigram per pair and two per merge. */
	w.sym = malloc(len * sizeof(*w.sym));
	w.heap = malloc(3 * len * sizeof(*w.heap));
	if (!w.sym || !w.heap) {
		err = llmos_fail(-ENOMEM, "tokenize: no memory for %zu bytes of text", len);
		goto out;
	}
	split_chars(&w);
	merge_symbols(&w);
	emit_symbols(&w, out);
out:
	free(w.sym);
	free(w.heap);
	return err;
}

int tokenizer_encode_spm(const struct llmos_tokenizer *tok, const char *text, size_t len,
			 int space_prefix, struct id_sink *out)
{
	size_t n;
	char *escaped = escape_text(text, len, space_prefix, &n);
	int err;

	if (!escaped)
		return llmos_fail(-ENOMEM, "tokenize: no memory for %zu bytes of text", len);
	err = tokenizer_merge_text(tok, escaped, n, out);
	free(escaped);
	return err;
}
