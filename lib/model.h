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

enum llmos_ffn_act {
	LLMOS_ACT_SILU,	     /* SwiGLU: silu(gate) * up */
	LLMOS_ACT_GELU_TANH, /* GeGLU: gelu(gate) * up, ggml's tanh GELU */
};

enum llmos_swa {
	LLMOS_SWA_NONE,
	LLMOS_SWA_ALL,	/* every layer, when the file gives a window (phi3) */
	LLMOS_SWA_EVEN, /* layers 0, 2, 4, ... (gemma2) */
};

/*
 * struct llmos_arch - what distinguishes one model family: tensor names
 * (%d is the layer) and the few choices its forward pass makes.  New
 * families are new table entries in arch.c, not new forward passes.  A
 * NULL name is a tensor the family never has; optional tensors (biases,
 * the fused forms) are used when the file has them.
 */
struct llmos_arch {
	const char *name; /* general.architecture; also the metadata key prefix */
	const char *tok_embd, *output_norm, *output;
	const char *attn_norm, *wq, *wk, *wv, *wo;
	const char *wqkv;	    /* fused q|k|v rows, used when wq is absent */
	const char *bq, *bk, *bv;   /* optional biases of q, k, v */
	const char *bo;		    /* optional bias of the attention output */
	const char *b_gate, *b_up, *b_down; /* optional FFN biases */
	const char *attn_post_norm; /* norm of the attention output (gemma2) */
	const char *ffn_norm, *w_gate, *w_up, *w_down;
	const char *ffn_post_norm;  /* norm of the FFN output (gemma2) */
	const char *rope_freqs;	    /* per-pair frequency divisors (llama 3) */
	const char *rope_long, *rope_short; /* LongRoPE factors (phi3 128k) */
	enum llmos_rope_style rope;
	enum llmos_ffn_act act;
	enum llmos_swa swa;
	int default_swa;	 /* window when the file gives none; 0: none */
	bool embd_scale;	 /* embeddings times sqrt(dim) (gemma) */
	bool softcap;		 /* attention and final logit soft-capping (gemma2) */
	bool scale_q;		 /* q is scaled before q.k, not the product (phi3, gemma2) */
	bool output_tied_ok;	 /* output.weight may be absent: use tok_embd */
};

const struct llmos_arch *llmos_arch_find(const char *name, size_t len);
/* The families' names, comma-separated, for error messages. */
void llmos_arch_names(char *buf, size_t cap);

struct llmos_hparams {
	int n_vocab;
	int dim;        /* embedding length */
	int n_layers;
	int n_heads;
	int n_kv_heads;
	int head_dim;   /* attention.key_length, else dim / n_heads */
	int ffn_dim;
	int n_ctx_train;
	int rope_dim;   /* leading dims of each head that RoPE rotates */
	float rope_freq_base;
	float rope_freq_scale;  /* 1 / rope.scaling.factor for linear scaling */
	float rope_attn_factor; /* rope.scaling.attn_factor: scales cos and sin */
	int n_ctx_orig;         /* rope.scaling.original_context_length */
	float norm_eps;
	int n_swa;              /* sliding window; 0: none */
	float attn_softcap;     /* 0: none */
	float final_softcap;    /* 0: none */
	float attn_scale;       /* multiplies q.k */
};

/* A weight matrix of rows x cols in its stored type, inside the mapping. */
struct llmos_weight {
	const void *data;
	enum llmos_type type;
	int64_t rows, cols;
};

struct llmos_layer {
	float *attn_norm;          /* (dim), converted to f32 at load */
	struct llmos_weight wqkv;  /* (q_dim + 2 * kv_dim, dim) if fused, else data NULL */
	float *bq, *bk, *bv, *bo;  /* biases, or NULL */
	float *b_gate, *b_up, *b_down;
	float *attn_post_norm;     /* (dim) or NULL */
	float *ffn_post_norm;      /* (dim) or NULL */
	bool swa;                  /* attends to the last n_swa positions only */
	struct llmos_weight wq;    /* (n_heads * head_dim, dim) */
	struct llmos_weight wk;    /* (n_kv_heads * head_dim, dim) */
	struct llmos_weight wv;    /* (n_kv_heads * head_dim, dim) */
	struct llmos_weight wo;    /* (dim, n_heads * head_dim) */
	float *ffn_norm;           /* (dim) */
	struct llmos_weight w_gate;/* (ffn_dim, dim); data NULL if fused into w_up */
	struct llmos_weight w_up;  /* (ffn_dim, dim), or (2 * ffn_dim, dim): gate, up */
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
	float *rope_freqs;            /* (rope_dim / 2) divisors, or NULL */
	float *rope_long, *rope_short;/* LongRoPE factors, or NULL */
	struct llmos_tokenizer *tok;
	struct llmos_model_desc desc;
	unsigned int tokenize_flags;  /* LLMOS_TOKENIZE_NO_SPACE_PREFIX from metadata */
	bool add_bos;                 /* tokenizer.ggml.add_bos_token */
	bool add_eos;                 /* tokenizer.ggml.add_eos_token */
	bool vocab_only;              /* llmos_model_load_vocab(): no weights */
	uint8_t *tensor_used;         /* while loading: which file tensors were taken */
	char tok_kind[16];            /* tokenizer.ggml.model */
};

/* model_hparams.c: the hyperparameters of m->arch from the metadata. */
int llmos_model_load_hparams(struct llmos_model *m);

/* model_tokenizer.c: the tokenizer described by the GGUF metadata. */
int llmos_model_load_tokenizer(struct llmos_model *m);

#endif /* LLMOS_MODEL_H */
