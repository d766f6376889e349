/* SPDX-License-Identifier: MIT */
/*
 * model_hparams.c - a model's hyperparameters from its "<arch>.*" metadata:
 * shape, head size, RoPE and its scaling, sliding window, soft-capping,
 * with llama.cpp's defaults, each checked before anything is sized by it.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gguf.h"
#include "internal.h"
#include "model.h"

#define MAX_DIM (1 << 16)
#define MAX_LAYERS 1024
#define MAX_CTX (1 << 22)
#define MAX_WIDTH (1 << 20) /* heads x head size, for q and for k/v */

/* Metadata key "<arch>.<suffix>". */
static void arch_key(const struct llmos_model *m, char *key, size_t cap, const char *suffix)
{
	snprintf(key, cap, "%s.%s", m->arch->name, suffix);
}

static int has_arch_key(const struct llmos_model *m, const char *suffix)
{
	char key[128];

	arch_key(m, key, sizeof(key), suffix);
	return gguf_find_key(m->gguf, key) != NULL;
}

/* A required (dflt < 0) or optional integer hyperparameter in [min, max]. */
static int get_range(const struct llmos_model *m, const char *suffix, int dflt, int min, int max,
		     int *out)
{
	uint32_t v;
	char key[128];
	int ret;

	arch_key(m, key, sizeof(key), suffix);
	if (!gguf_find_key(m->gguf, key)) {
		if (dflt < 0)
			return llmos_fail(-LLMOS_EFORMAT, "model: metadata key '%s' is missing", key);
		*out = dflt;
		return 0;
	}
	ret = gguf_get_u32(m->gguf, key, &v);
	if (ret < 0)
		return ret;
	if (v < (uint32_t)min || v > (uint32_t)max)
		return llmos_fail(-LLMOS_EFORMAT, "model: '%s' = %u is out of range [%d, %d]", key,
				  v, min, max);
	*out = (int)v;
	return 0;
}

static int get_hparam(const struct llmos_model *m, const char *suffix, int dflt, int max,
		      int *out)
{
	return get_range(m, suffix, dflt, 1, max, out);
}

static int get_hparam_f32(const struct llmos_model *m, const char *suffix, float dflt, float *out)
{
	char key[128];

	arch_key(m, key, sizeof(key), suffix);
	if (!gguf_find_key(m->gguf, key)) {
		*out = dflt;
		return 0;
	}
	return gguf_get_f32(m->gguf, key, out);
}

static int check_hparams(const struct llmos_hparams *hp)
{
	if (hp->n_kv_heads > hp->n_heads || hp->n_heads % hp->n_kv_heads)
		return llmos_fail(-LLMOS_EFORMAT, "model: head count %d is not a multiple of the "
				  "KV head count %d", hp->n_heads, hp->n_kv_heads);
	if ((int64_t)hp->n_heads * hp->head_dim > MAX_WIDTH)
		return llmos_fail(-LLMOS_EFORMAT, "model: %d heads of %d are too wide", hp->n_heads,
				  hp->head_dim);
	if (hp->rope_dim > hp->head_dim || hp->rope_dim % 2)
		return llmos_fail(-LLMOS_EFORMAT, "model: rope dimension %d must be even and at "
				  "most the head size %d", hp->rope_dim, hp->head_dim);
	if (!(hp->norm_eps > 0.0f && hp->norm_eps < 1.0f))
		return llmos_fail(-LLMOS_EFORMAT, "model: norm epsilon %g out of range",
				  (double)hp->norm_eps);
	if (!(hp->rope_freq_base > 1.0f && isfinite(hp->rope_freq_base)))
		return llmos_fail(-LLMOS_EFORMAT, "model: rope freq base %g out of range",
				  (double)hp->rope_freq_base);
	if (!(hp->rope_freq_scale > 0.0f && hp->rope_freq_scale < 1e6f) ||
	    !(hp->rope_attn_factor > 0.0f && hp->rope_attn_factor < 100.0f))
		return llmos_fail(-LLMOS_EFORMAT, "model: rope scaling factor %g or attention "
				  "factor %g out of range", (double)(1.0f / hp->rope_freq_scale),
				  (double)hp->rope_attn_factor);
	if (!(isfinite(hp->attn_scale) && hp->attn_scale > 0.0f))
		return llmos_fail(-LLMOS_EFORMAT, "model: no attention scale for %d heads of a "
				  "%d-wide model", hp->n_heads, hp->dim);
	return 0;
}

/*
 * rope.scaling.type: absent means linear, as in llama.cpp (a factor of 1,
 * or none given, scales nothing); the factor may also come from the older
 * rope.scale_linear key.  YaRN and other kinds are refused by name.
 */
static int load_rope_scaling(struct llmos_model *m)
{
	struct llmos_hparams *hp = &m->hp;
	const char *type = "linear";
	uint64_t len = 6;
	char key[128];
	float factor;
	int ret;

	arch_key(m, key, sizeof(key), "rope.scaling.type");
	if (gguf_find_key(m->gguf, key) && (ret = gguf_get_str(m->gguf, key, &type, &len)))
		return ret;
	if ((ret = get_hparam_f32(m, "rope.scale_linear", 0.0f, &factor)) ||
	    (ret = get_hparam_f32(m, "rope.scaling.factor", factor, &factor)) ||
	    (ret = get_hparam_f32(m, "rope.scaling.attn_factor", 1.0f, &hp->rope_attn_factor)) ||
	    (ret = get_hparam(m, "rope.scaling.original_context_length", hp->n_ctx_train, MAX_CTX,
			      &hp->n_ctx_orig)))
		return ret;
	hp->rope_freq_scale = 1.0f;
	if (len == 6 && !memcmp(type, "linear", 6)) {
		hp->rope_freq_scale = factor == 0.0f ? 1.0f : 1.0f / factor;
	} else if (!(len == 4 && !memcmp(type, "none", 4))) {
		return llmos_fail(-LLMOS_EUNSUPPORTED, "model: rope scaling '%.*s' is not supported "
				  "(supported: none, linear)", (int)(len > 32 ? 32 : len), type);
	}
	return 0;
}

/*
 * Phi-3 files written before the window had a key: llama.cpp's defaults by
 * shape (layers, KV heads or 0 for any, context length).
 */
static const struct swa_default {
	const char *arch;
	int layers, kv_heads, ctx, window;
} swa_defaults[] = {
	{ "phi3", 32, 0, 4096, 2047 },	     { "phi3", 40, 0, 4096, 2047 },
	{ "phi3", 32, 32, 131072, 262144 }, { "phi3", 40, 0, 131072, 131072 },
};

/* The sliding window: 0 is none (Phi-4 writes 0); gemma2 must have one. */
static int load_sliding_window(struct llmos_model *m)
{
	struct llmos_hparams *hp = &m->hp;
	const struct llmos_arch *a = m->arch;

	hp->n_swa = 0;
	if (a->swa == LLMOS_SWA_NONE)
		return 0;
	if (has_arch_key(m, "attention.sliding_window") || a->default_swa)
		return get_range(m, "attention.sliding_window", a->default_swa,
				 a->swa == LLMOS_SWA_EVEN, MAX_CTX, &hp->n_swa);
	for (size_t i = 0; i < sizeof(swa_defaults) / sizeof(swa_defaults[0]); i++) {
		const struct swa_default *d = &swa_defaults[i];

		if (!strcmp(d->arch, a->name) && d->layers == hp->n_layers &&
		    (!d->kv_heads || d->kv_heads == hp->n_kv_heads) && d->ctx == hp->n_ctx_train) {
			hp->n_swa = d->window;
			return 0;
		}
	}
	return llmos_fail(-LLMOS_EFORMAT, "model: metadata key '%s.attention.sliding_window' is "
			  "missing", a->name);
}

/* Soft-capping: finite and positive where the family caps. */
static int load_softcaps(struct llmos_model *m)
{
	struct llmos_hparams *hp = &m->hp;
	int ret;

	hp->attn_softcap = hp->final_softcap = 0.0f;
	if (!m->arch->softcap)
		return 0;
	if ((ret = get_hparam_f32(m, "attn_logit_softcapping", 50.0f, &hp->attn_softcap)) ||
	    (ret = get_hparam_f32(m, "final_logit_softcapping", 30.0f, &hp->final_softcap)))
		return ret;
	if (!(hp->attn_softcap > 0.0f && isfinite(hp->attn_softcap)) ||
	    !(hp->final_softcap > 0.0f && isfinite(hp->final_softcap)))
		return llmos_fail(-LLMOS_EFORMAT, "model: soft-capping %g and %g must be positive",
				  (double)hp->attn_softcap, (double)hp->final_softcap);
	return 0;
}

/* Head size, window and soft-capping: the keys some families add. */
static int load_attention_keys(struct llmos_model *m)
{
	struct llmos_hparams *hp = &m->hp;
	int kl, vl, ret;

	if ((ret = get_hparam(m, "attention.key_length", hp->dim / hp->n_heads ? hp->dim / hp->n_heads
									       : 1,
			      MAX_DIM, &kl)) ||
	    (ret = get_hparam(m, "attention.value_length", kl, MAX_DIM, &vl)))
		return ret;
	if (kl != vl)
		return llmos_fail(-LLMOS_EUNSUPPORTED, "model: key length %d and value length %d "
				  "differ", kl, vl);
	if (kl * hp->n_heads != hp->dim && !has_arch_key(m, "attention.key_length"))
		return llmos_fail(-LLMOS_EFORMAT, "model: embedding length %d is not a multiple "
				  "of the head count %d", hp->dim, hp->n_heads);
	hp->head_dim = kl;
	if ((ret = load_sliding_window(m)) || (ret = load_softcaps(m)))
		return ret;
	/* q.k / sqrt(head size); gemma2 27B (46 layers) uses dim / heads instead */
	hp->attn_scale = 1.0f / sqrtf((float)(m->arch->softcap && hp->n_layers == 46
						      ? hp->dim / hp->n_heads
						      : hp->head_dim));
	return 0;
}

int llmos_model_load_hparams(struct llmos_model *m)
{
	struct llmos_hparams *hp = &m->hp;
	int ret;

	if ((ret = get_hparam(m, "embedding_length", -1, MAX_DIM, &hp->dim)) ||
	    (ret = get_hparam(m, "block_count", -1, MAX_LAYERS, &hp->n_layers)) ||
	    (ret = get_hparam(m, "attention.head_count", -1, MAX_DIM, &hp->n_heads)) ||
	    (ret = get_hparam(m, "feed_forward_length", -1, 1 << 20, &hp->ffn_dim)) ||
	    (ret = get_hparam(m, "context_length", 2048, MAX_CTX, &hp->n_ctx_train)))
		return ret;
	if ((ret = get_hparam(m, "attention.head_count_kv", hp->n_heads, MAX_DIM,
			      &hp->n_kv_heads)))
		return ret;
	if ((ret = load_attention_keys(m)) ||
	    (ret = get_hparam(m, "rope.dimension_count", hp->head_dim, MAX_DIM, &hp->rope_dim)) ||
	    (ret = get_hparam_f32(m, "rope.freq_base", 10000.0f, &hp->rope_freq_base)) ||
	    (ret = get_hparam_f32(m, "attention.layer_norm_rms_epsilon", 1e-5f, &hp->norm_eps)) ||
	    (ret = load_rope_scaling(m)))
		return ret;
	return check_hparams(hp);
}
