/* SPDX-License-Identifier: MIT */
/*
 * quant_mix.c - which type each tensor gets in each file type of `llmos
 * quantize`: llama.cpp's choices (llama_tensor_get_type() of its
 * llama-quant.cpp, for dense models), so that a q4_K_M file of llmos's is
 * laid out as llama-quantize's is: the output in q6_K, half the attention
 * values and FFN downs in q6_K, and so on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "quant_mix.h"

enum {
	FT_F32 = 0, FT_F16 = 1, FT_Q4_0 = 2, FT_Q4_1 = 3, FT_Q8_0 = 7, FT_Q5_0 = 8, FT_Q5_1 = 9,
	FT_Q2_K = 10, FT_Q3_K_S = 11, FT_Q3_K_M = 12, FT_Q3_K_L = 13, FT_Q4_K_S = 14,
	FT_Q4_K_M = 15, FT_Q5_K_S = 16, FT_Q5_K_M = 17, FT_Q6_K = 18, FT_IQ4_NL = 25, FT_BF16 = 32,
};

static const struct quant_ftype ftypes[] = {
	{ "q4_0", FT_Q4_0, LLMOS_TYPE_Q4_0, "4.5 bits per weight, symmetric" },
	{ "q4_1", FT_Q4_1, LLMOS_TYPE_Q4_1, "5.0 bpw, with a min" },
	{ "q5_0", FT_Q5_0, LLMOS_TYPE_Q5_0, "5.5 bpw, symmetric" },
	{ "q5_1", FT_Q5_1, LLMOS_TYPE_Q5_1, "6.0 bpw, with a min" },
	{ "q8_0", FT_Q8_0, LLMOS_TYPE_Q8_0, "8.5 bpw" },
	{ "q2_K", FT_Q2_K, LLMOS_TYPE_Q2_K, "mix: q2_K, attention values and FFN downs q3_K/q4_K" },
	{ "q3_K_S", FT_Q3_K_S, LLMOS_TYPE_Q3_K, "mix: q3_K" },
	{ "q3_K_M", FT_Q3_K_M, LLMOS_TYPE_Q3_K, "mix: q3_K, more bits for values, downs, outputs" },
	{ "q3_K_L", FT_Q3_K_L, LLMOS_TYPE_Q3_K, "mix: q3_K, q5_K for values, downs, outputs" },
	{ "q4_K_S", FT_Q4_K_S, LLMOS_TYPE_Q4_K, "mix: q4_K, q5_K for the first layers' values, downs" },
	{ "q4_K_M", FT_Q4_K_M, LLMOS_TYPE_Q4_K, "mix: q4_K, q6_K for half the values and downs" },
	{ "q5_K_S", FT_Q5_K_S, LLMOS_TYPE_Q5_K, "mix: q5_K" },
	{ "q5_K_M", FT_Q5_K_M, LLMOS_TYPE_Q5_K, "mix: q5_K, q6_K for half the values and downs" },
	{ "q6_K", FT_Q6_K, LLMOS_TYPE_Q6_K, "6.56 bpw" },
	{ "iq4_nl", FT_IQ4_NL, LLMOS_TYPE_IQ4_NL, "4.5 bpw, non-linear levels" },
	{ "f16", FT_F16, LLMOS_TYPE_F16, "16-bit float" },
	{ "bf16", FT_BF16, LLMOS_TYPE_BF16, "bfloat16" },
	{ "f32", FT_F32, LLMOS_TYPE_F32, "32-bit float" },
};

#define N_FTYPES ((int)(sizeof(ftypes) / sizeof(ftypes[0])))

const struct quant_ftype *quant_ftype_at(int i)
{
	return i >= 0 && i < N_FTYPES ? &ftypes[i] : NULL;
}

const struct quant_ftype *quant_ftype_find(const char *name)
{
	static const char *const aliases[][2] = {
		{ "q3_K", "q3_K_M" }, { "q4_K", "q4_K_M" }, { "q5_K", "q5_K_M" },
	};

	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcasecmp(name, aliases[i][0]))
			name = aliases[i][1];
	for (int i = 0; i < N_FTYPES; i++)
		if (!strcasecmp(name, ftypes[i].name))
			return &ftypes[i];
	return NULL;
}

static int layer_of(const char *name)
{
	int l = -1;

	return sscanf(name, "blk.%d.", &l) == 1 ? l : -1;
}

int quant_tensor_order(const char *a, const char *b)
{
	int la = layer_of(a), lb = layer_of(b);

	return la != lb ? (la < lb ? -1 : 1) : strcmp(a, b);
}

static bool has(const char *name, const char *part)
{
	return strstr(name, part) != NULL;
}

bool quant_tensor_quantized(const char *name, uint32_t n_dims, bool keep_output)
{
	static const char *const never[] = { "_norm.weight", "ffn_gate_inp.weight",
					      "ssm_conv1d.weight", "attn_rel_b.weight",
					      "time_mix_" };
	size_t len = strlen(name);

	if (len < 6 || strcmp(name + len - 6, "weight") || n_dims < 2)
		return false;
	if ((keep_output && !strcmp(name, "output.weight")) || !strcmp(name, "position_embd.weight") ||
	    !strcmp(name, "token_types.weight"))
		return false;
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		if (has(name, never[i]))
			return false;
	return true;
}

/* Layers that get more bits in the _M mixes: the first and last eighth, and every third. */
static bool use_more_bits(int i, int n)
{
	return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

static enum llmos_type attn_v_type(uint32_t ft, enum llmos_type t, const struct quant_model *m,
				   int i)
{
	if (ft == FT_Q2_K)
		return m->n_gqa >= 4 ? LLMOS_TYPE_Q4_K : LLMOS_TYPE_Q3_K;
	if (ft == FT_Q3_K_M)
		return i < 2 ? LLMOS_TYPE_Q5_K : LLMOS_TYPE_Q4_K;
	if (ft == FT_Q3_K_L)
		return LLMOS_TYPE_Q5_K;
	if (ft == FT_IQ4_NL && m->n_gqa >= 4)
		return LLMOS_TYPE_Q5_K;
	if ((ft == FT_Q4_K_M || ft == FT_Q5_K_M) && use_more_bits(i, m->n_attn_v))
		return LLMOS_TYPE_Q6_K;
	if (ft == FT_Q4_K_S && i < 4)
		return LLMOS_TYPE_Q5_K;
	return t;
}

static enum llmos_type ffn_down_type(uint32_t ft, enum llmos_type t, const struct quant_model *m,
				     int i)
{
	int n = m->n_layer;

	if (ft == FT_Q2_K)
		return LLMOS_TYPE_Q3_K;
	if (ft == FT_Q3_K_M)
		return i < n / 16 ? LLMOS_TYPE_Q5_K : LLMOS_TYPE_Q4_K;
	if (ft == FT_Q3_K_L)
		return LLMOS_TYPE_Q5_K;
	if (ft == FT_Q4_K_M)
		return use_more_bits(i, n) ? LLMOS_TYPE_Q6_K : t;
	if (i < n / 8 && ft == FT_IQ4_NL && !m->has_imatrix)
		return LLMOS_TYPE_Q5_K;
	if (ft == FT_Q5_K_M && use_more_bits(i, n))
		return LLMOS_TYPE_Q6_K;
	if (ft == FT_Q4_K_S && i < n / 8)
		return LLMOS_TYPE_Q5_K;
	if ((ft == FT_Q4_0 || ft == FT_Q5_0) && m->has_imatrix && i < n / 8)
		return ft == FT_Q4_0 ? LLMOS_TYPE_Q4_1 : LLMOS_TYPE_Q5_1;
	return t;
}

/* The rules by tensor, before the fallback for rows no block divides. */
static enum llmos_type mix_type(const struct quant_ftype *ft, const struct quant_model *m,
				struct quant_counters *c, const char *name, int64_t ne0)
{
	uint32_t f = ft->ftype;
	enum llmos_type t = ft->base;

	if (!strcmp(name, "output.weight") || (!m->has_output && !strcmp(name, "token_embd.weight"))) {
		if (ne0 % llmos_type_traits(t)->block_size)
			return LLMOS_TYPE_Q8_0;
		return t != LLMOS_TYPE_Q8_0 ? LLMOS_TYPE_Q6_K : t;
	}
	if (!strcmp(name, "token_embd.weight"))
		return t;
	if (has(name, "attn_v.weight"))
		return attn_v_type(f, t, m, c->i_attn_v++);
	if (has(name, "attn_k.weight") || has(name, "attn_q.weight"))
		return t;
	if (has(name, "ffn_down"))
		return ffn_down_type(f, t, m, c->i_ffn_down++);
	if (has(name, "attn_output.weight"))
		return f == FT_Q2_K ? LLMOS_TYPE_Q3_K : f == FT_Q3_K_M ? LLMOS_TYPE_Q4_K :
		       f == FT_Q3_K_L ? LLMOS_TYPE_Q5_K : t;
	if (has(name, "attn_qkv.weight"))
		return f == FT_Q3_K_M || f == FT_Q3_K_L ? LLMOS_TYPE_Q4_K :
		       f == FT_Q4_K_M ? LLMOS_TYPE_Q5_K : f == FT_Q5_K_M ? LLMOS_TYPE_Q6_K : t;
	return t;
}

/* llama.cpp's fallback for a type whose block does not divide the rows. */
static enum llmos_type fallback_type(enum llmos_type t)
{
	switch (t) {
	case LLMOS_TYPE_Q2_K:
	case LLMOS_TYPE_Q3_K: return LLMOS_TYPE_IQ4_NL;
	case LLMOS_TYPE_Q4_K: return LLMOS_TYPE_Q5_0;
	case LLMOS_TYPE_Q5_K: return LLMOS_TYPE_Q5_1;
	case LLMOS_TYPE_Q6_K: return LLMOS_TYPE_Q8_0;
	default: return LLMOS_TYPE_F16;
	}
}

enum llmos_type quant_tensor_type(const struct quant_ftype *ft, const struct quant_model *m,
				  struct quant_counters *c, const char *name, int64_t ne0,
				  bool *fallback)
{
	enum llmos_type t = ft->base;

	*fallback = false;
	if (!llmos_type_traits(t) || llmos_type_traits(t)->block_size == 1)
		return t; /* f32, f16, bf16: no rules (llama.cpp applies them to quantized types) */
	t = mix_type(ft, m, c, name, ne0);
	if (ne0 % llmos_type_traits(t)->block_size) {
		*fallback = true;
		t = fallback_type(t);
		if (ne0 % llmos_type_traits(t)->block_size)
			t = LLMOS_TYPE_F16;
	}
	return t;
}
