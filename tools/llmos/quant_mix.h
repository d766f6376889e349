/* SPDX-License-Identifier: MIT */
/*
 * quant_mix.h - `llmos quantize`'s file types (the names people download:
 * q4_K_M, q8_0, ...) and the type each tensor gets in them.
 */
#ifndef LLMOS_QUANT_MIX_H
#define LLMOS_QUANT_MIX_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels.h"

/* One file type: llama.cpp's LLAMA_FTYPE number and the type most tensors get. */
struct quant_ftype {
	const char *name;
	uint32_t ftype;             /* general.file_type */
	enum llmos_type base;
	const char *about;
};

/* The file type named name (case-insensitive; q4_K is q4_K_M, as in llama-quantize), or NULL. */
const struct quant_ftype *quant_ftype_find(const char *name);
/* All of them, for --help and error messages. */
const struct quant_ftype *quant_ftype_at(int i);

/* What the type choice knows of the model. */
struct quant_model {
	int n_layer;
	int n_gqa;          /* attention heads per KV head */
	int n_attn_v;       /* attn_v / attn_qkv tensors */
	bool has_output;    /* an output.weight (else token_embd is the output too) */
	bool has_imatrix;
};

/* Per-file counters of the choice, as llama.cpp keeps them (tensors in its order). */
struct quant_counters {
	int i_attn_v, i_ffn_down;
};

/*
 * The type of tensor name (rows of ne0 values) in file type ft: llama.cpp's
 * rules for its mixes, then, where ne0 is not a multiple of that type's
 * block, the fallback it uses.  Call it for the tensors in llama.cpp's order
 * (quant_tensor_order()).  *fallback tells whether the fallback was taken.
 */
enum llmos_type quant_tensor_type(const struct quant_ftype *ft, const struct quant_model *m,
				  struct quant_counters *c, const char *name, int64_t ne0,
				  bool *fallback);

/* Is a tensor of this name and number of dimensions quantized at all? */
bool quant_tensor_quantized(const char *name, uint32_t n_dims, bool keep_output);

/* llama.cpp's order of tensors: by layer ("blk.N."; others first), then name. */
int quant_tensor_order(const char *a, const char *b);

#endif /* LLMOS_QUANT_MIX_H */
