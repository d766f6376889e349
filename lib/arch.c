/* SPDX-License-Identifier: MIT */
/*
 * arch.c - the model families libllmos runs, described as data: tensor
 * names as llama.cpp's GGUF files spell them, and the choices of each
 * family's forward pass (forward.c follows them).
 */
#include <stdio.h>
#include <string.h>

#include "model.h"

/* The tensors every llama-like family shares. */
#define LLAMA_LIKE_TENSORS                                                                         \
	.tok_embd = "token_embd.weight", .output_norm = "output_norm.weight",                     \
	.output = "output.weight", .attn_norm = "blk.%d.attn_norm.weight",                        \
	.wq = "blk.%d.attn_q.weight", .wk = "blk.%d.attn_k.weight", .wv = "blk.%d.attn_v.weight", \
	.wo = "blk.%d.attn_output.weight", .ffn_norm = "blk.%d.ffn_norm.weight",                  \
	.w_gate = "blk.%d.ffn_gate.weight", .w_up = "blk.%d.ffn_up.weight",                       \
	.w_down = "blk.%d.ffn_down.weight", .output_tied_ok = true

#define QKV_BIASES                                                                                 \
	.bq = "blk.%d.attn_q.bias", .bk = "blk.%d.attn_k.bias", .bv = "blk.%d.attn_v.bias"

static const struct llmos_arch llmos_archs[] = {
	{
		.name = "llama",
		LLAMA_LIKE_TENSORS,
		QKV_BIASES,
		.bo = "blk.%d.attn_output.bias",
		.b_gate = "blk.%d.ffn_gate.bias",
		.b_up = "blk.%d.ffn_up.bias",
		.b_down = "blk.%d.ffn_down.bias",
		.rope_freqs = "rope_freqs.weight",
		.rope = LLMOS_ROPE_ADJACENT,
	},
	{
		.name = "qwen2",
		LLAMA_LIKE_TENSORS,
		QKV_BIASES,
		.rope = LLMOS_ROPE_HALVES,
	},
	{
		.name = "phi3",
		LLAMA_LIKE_TENSORS,
		.wqkv = "blk.%d.attn_qkv.weight",
		.rope_long = "rope_factors_long.weight",
		.rope_short = "rope_factors_short.weight",
		.rope = LLMOS_ROPE_HALVES,
		.swa = LLMOS_SWA_ALL,
		.scale_q = true,
	},
	{
		.name = "gemma2",
		LLAMA_LIKE_TENSORS,
		.attn_post_norm = "blk.%d.post_attention_norm.weight",
		.ffn_post_norm = "blk.%d.post_ffw_norm.weight",
		.rope = LLMOS_ROPE_HALVES,
		.act = LLMOS_ACT_GELU_TANH,
		.swa = LLMOS_SWA_EVEN,
		.default_swa = 4096,
		.embd_scale = true,
		.softcap = true,
		.scale_q = true,
	},
};

#define N_ARCHS (sizeof(llmos_archs) / sizeof(llmos_archs[0]))

const struct llmos_arch *llmos_arch_find(const char *name, size_t len)
{
	for (size_t i = 0; i < N_ARCHS; i++)
		if (strlen(llmos_archs[i].name) == len && !memcmp(llmos_archs[i].name, name, len))
			return &llmos_archs[i];
	return NULL;
}

void llmos_arch_names(char *buf, size_t cap)
{
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_ARCHS && at < cap; i++)
		at += (size_t)snprintf(buf + at, cap - at, "%s%s", i ? ", " : "",
				       llmos_archs[i].name);
}
