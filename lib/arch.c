/* SPDX-License-Identifier: MIT */
/*
 * arch.c - the model families libllmos runs, described as data.
 */
#include <string.h>

#include "model.h"

static const struct llmos_arch llmos_archs[] = {
	{
		.name = "llama",
		.tok_embd = "token_embd.weight",
		.output_norm = "output_norm.weight",
		.output = "output.weight",
		.attn_norm = "blk.%d.attn_norm.weight",
		.wq = "blk.%d.attn_q.weight",
		.wk = "blk.%d.attn_k.weight",
		.wv = "blk.%d.attn_v.weight",
		.wo = "blk.%d.attn_output.weight",
		.ffn_norm = "blk.%d.ffn_norm.weight",
		.w_gate = "blk.%d.ffn_gate.weight",
		.w_up = "blk.%d.ffn_up.weight",
		.w_down = "blk.%d.ffn_down.weight",
		.rope = LLMOS_ROPE_ADJACENT,
		.output_tied_ok = true,
	},
};

const struct llmos_arch *llmos_arch_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(llmos_archs) / sizeof(llmos_archs[0]); i++)
		if (strlen(llmos_archs[i].name) == len && !memcmp(llmos_archs[i].name, name, len))
			return &llmos_archs[i];
	return NULL;
}
