/* SPDX-License-Identifier: MIT */
/*
 * mkmodel.h - the parts of `llmos mkmodel` in more than one file.
 */
#ifndef LLMOS_MKMODEL_H
#define LLMOS_MKMODEL_H

struct gguf_writer;

#define MK_MAX_EXTRA_TOKENS 8

/* Where a synthetic model's tokenizer comes from (--vocab-from). */
struct mk_vocab {
	const char *from;		 /* a GGUF file with a tokenizer */
	const char *pre;		 /* overrides tokenizer.ggml.pre, or NULL */
	const char *chat_template;	 /* tokenizer.chat_template to write, or NULL */
	const char *const *extra_tokens; /* control tokens to append if absent */
};

/* Copy the tokenizer.* keys; *n_vocab gets the token count. */
int mk_copy_vocab(struct gguf_writer *w, const struct mk_vocab *v, long *n_vocab);

#endif /* LLMOS_MKMODEL_H */
