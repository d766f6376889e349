/* SPDX-License-Identifier: MIT */
/*
 * tokenizer_encode.c - text to ids, as llama.cpp's llama_tokenize(): the
 * special tokens are cut out first (tokenizer_special.c), then each text
 * fragment is encoded by the vocabulary's algorithm (SPM in
 * tokenizer_spm.c, byte-level BPE in tokenizer_bpe.c), between the BOS
 * and EOS the caller asks for.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "internal.h"
#include "tokenizer_impl.h"

static int encode_fragments(const struct llmos_tokenizer *tok, const char *text,
			    const struct text_fragment *f, size_t n, unsigned int flags,
			    struct id_sink *out)
{
	int prev_special = 1, err = 0; /* SPM: a text after a token gets a space */

	for (size_t i = 0; i < n && !err; i++) {
		if (f[i].token >= 0) {
			tokenizer_emit(out, f[i].token);
			prev_special = 1;
			continue;
		}
		if (tok->merges)
			err = tokenizer_encode_bpe(tok, text + f[i].off, f[i].len, out);
		else
			err = tokenizer_encode_spm(tok, text + f[i].off, f[i].len,
						   prev_special &&
							   !(flags & LLMOS_TOKENIZE_NO_SPACE_PREFIX),
						   out);
		prev_special = 0;
	}
	return err;
}

int llmos_tokenize(const struct llmos_tokenizer *tok, const char *text, size_t len,
		   unsigned int flags, int32_t *ids, size_t max_ids)
{
	struct id_sink out = {.ids = ids, .max = ids ? max_ids : 0};
	struct text_fragment *frags = NULL;
	size_t n_frags = 0;
	int err = 0;

	if (len > (INT_MAX - 16) / 8)
		return llmos_fail(-EOVERFLOW, "tokenize: %zu bytes of text are too many", len);
	if (flags & LLMOS_TOKENIZE_ADD_BOS)
		tokenizer_emit(&out, tok->bos);
	if (len > 0) {
		err = tokenizer_partition(tok, text, len, !!(flags & LLMOS_TOKENIZE_PARSE_SPECIAL),
					  &frags, &n_frags);
		if (!err)
			err = encode_fragments(tok, text, frags, n_frags, flags, &out);
		free(frags);
	}
	if (err)
		return err;
	if (flags & LLMOS_TOKENIZE_ADD_EOS)
		tokenizer_emit(&out, tok->eos);
	return (int)out.n;
}
