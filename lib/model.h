/* SPDX-License-Identifier: MIT */
/*
 * model.h - a loaded model inside libllmos: hyperparameters, weights that
 * point into the mapped GGUF file, the tokenizer, and the architecture
 * description the forward pass follows.
 */
#ifndef LLMOS_MODEL_H
#define LLMOS_MODEL_H

#include <stdbool.h>

#include "kernels.h"
#include "llmos/llmos.h"
#include "store.h"

struct gguf_file;
struct llmos_tokenizer;

enum llmos_rope_style {
	LLMOS_ROPE_ADJACENT, /* rotate pairs (2i, 2i+1): llama in GGUF */
	LLMOS_ROPE_HALVES,   /* rotate pairs (i, i + d/2): GPT-NeoX style */
};

/*
 * struct llmos_arch - what distinguishes one model family: tensor names
 * (%d is the layer) and the few choices its forward pass makes.  New
 * families are new table entries in arch.c, not new forward passes.
 */
struct llmos_arch {
	const char *name; /* general.architecture; also the metadata key prefix */
	const char *tok_embd, *output_norm, *output;
	const char *attn_norm, *wq, *wk, *wv, *wo;
	const char *ffn_norm, *w_gate, *w_up, *w_down;
	enum llmos_rope_style rope;
	bool output_tied_ok; /* output.weight may be absent: use tok_embd */
};

const struct llmos_arch *llmos_arch_find(const char *name, size_t len);

struct llmos_hparams {
	int n_vocab;
	int dim;        /* embedding length */
	int n_layers;
	int n_heads;
	int n_kv_heads;
	int head_dim;   /* dim / n_heads */
	int ffn_dim;
	int n_ctx_train;
	int rope_dim;   /* leading dims of each head that RoPE rotates */
	float rope_freq_base;
	float norm_eps;
};

/* A weight matrix of rows x cols in its stored type, inside the mapping. */
struct llmos_weight {
	const void *data;
	enum llmos_type type;
	int64_t rows, cols;
};

struct llmos_layer {
	float *attn_norm;          /* (dim), converted to f32 at load */
	struct llmos_weight wq;    /* (n_heads * head_dim, dim) */
	struct llmos_weight wk;    /* (n_kv_heads * head_dim, dim) */
	struct llmos_weight wv;    /* (n_kv_heads * head_dim, dim) */
	struct llmos_weight wo;    /* (dim, n_heads * head_dim) */
	float *ffn_norm;           /* (dim) */
	struct llmos_weight w_gate;/* (ffn_dim, dim) */
	struct llmos_weight w_up;  /* (ffn_dim, dim) */
	struct llmos_weight w_down;/* (dim, ffn_dim) */
};

/*
 * model_source.c: the bytes of a model.  A plain path is mapped by
 * gguf_open() (dev stays NULL); "llmos:NAME" is a model the module holds,
 * mapped read-only through dev, the model's own /dev/llmos handle.
 */
struct llmos_model_source {
	struct llmos *dev;
	struct llmos_store_map map;
};

int llmos_model_source_open(struct llmos_model_source *src, const char *path,
			    struct gguf_file **gguf);
/* After gguf_close() of what it parsed. */
void llmos_model_source_close(struct llmos_model_source *src);

struct llmos_model {
	struct llmos_model_source src;
	struct gguf_file *gguf;
	const struct llmos_arch *arch;
	struct llmos_hparams hp;
	struct llmos_weight tok_embd; /* (n_vocab, dim) */
	float *output_norm;           /* (dim) */
	struct llmos_weight output;   /* (n_vocab, dim) */
	struct llmos_layer *layers;   /* (n_layers) */
	struct llmos_tokenizer *tok;
	struct llmos_model_desc desc;
	unsigned int tokenize_flags;  /* LLMOS_TOKENIZE_NO_SPACE_PREFIX from metadata */
	bool add_bos;                 /* tokenizer.ggml.add_bos_token */
	bool add_eos;                 /* tokenizer.ggml.add_eos_token */
	bool vocab_only;              /* llmos_model_load_vocab(): no weights */
	char tok_kind[16];            /* tokenizer.ggml.model */
};

/* model_tokenizer.c: the tokenizer described by the GGUF metadata. */
int llmos_model_load_tokenizer(struct llmos_model *m);

#endif /* LLMOS_MODEL_H */
