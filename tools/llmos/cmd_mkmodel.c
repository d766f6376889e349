/* SPDX-License-Identifier: MIT */
/*
 * cmd_mkmodel.c - `llmos mkmodel`: write a synthetic model of a given
 * family, shape and weight type (random weights; a made-up vocabulary or a
 * real one copied from another GGUF), so that tests and benchmarks on
 * realistic shapes need no download.  Each family's extra tensors and keys
 * (biases, fused matrices, post norms, rope factors, windows) are written
 * as llama.cpp's converter writes them, so llama.cpp runs the same file.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chat.h"
#include "cli.h"
#include "gguf_write.h"
#include "hash.h"
#include "kernels.h"
#include "mkmodel.h"

struct shape {
	long dim, hidden, layers, heads, kv_heads, vocab, ctx, seed;
	enum llmos_type type;
	const char *arch;      /* llama, qwen2, phi3, gemma2 */
	long head_dim;         /* 0: dim / heads */
	long swa;              /* sliding window (phi3, gemma2); -1: no key written */
	int tied;              /* no output.weight */
	int rope_freqs;        /* llama: write rope_freqs.weight */
	int long_rope;         /* phi3: LongRoPE factors and keys */
	int biases;            /* llama: every optional bias */
	float scale;           /* weights are uniform in [-scale, scale] */
	struct mk_vocab vocab_src; /* from NULL: the made-up vocabulary */
};

enum fill_kind { FILL_RANDOM, FILL_ONE, FILL_RAMP };

struct filler {
	const struct shape *sh;
	enum llmos_type type;
	int64_t cols;
	uint64_t rng;
	enum fill_kind kind;
	float *row;
};

static void mk_usage(FILE *out)
{
	fprintf(out,
		"usage: llmos mkmodel [--arch A] [--preset 15m|110m] [shape options] [--type T]\n"
		"                     [--vocab-from FILE.gguf] OUT.gguf\n"
		"\n"
		"Write a GGUF model with random weights and a synthetic or copied vocabulary.\n"
		"\n"
		"  --arch A         llama (default), qwen2, phi3, gemma2\n"
		"  --vocab-from F   copy the tokenizer of GGUF file F (a model or a vocabulary)\n"
		"  --pre NAME       with --vocab-from: set tokenizer.ggml.pre to NAME\n"
		"  --chat-template NAME  write that template as tokenizer.chat_template, adding\n"
		"                   its control tokens to a copied vocabulary that lacks them\n"
		"                   (names: llmos chat --help)\n"
		"  --tied           no output.weight: the output reuses token_embd\n"
		"  --head-dim N     attention.key_length/value_length (default dim / heads)\n"
		"  --swa N          sliding window (phi3, gemma2; gemma2 defaults to 4096;\n"
		"                   phi3: 0 is none, as Phi-4 writes it; default the context)\n"
		"  --rope-freqs     llama: a rope_freqs.weight of frequency factors (Llama 3)\n"
		"  --long-rope      phi3: LongRoPE long/short factors and their keys\n"
		"  --biases         biases on q, k, v, the attention output and the FFN (llama\n"
		"                   runs them; other families refuse such files, as llama.cpp)\n"
		"  --scale S        weights uniform in [-S, S] (default 0.05)\n"
		"  --preset P       15m: dim 288, hidden 768, 6 layers, 6 heads, vocab 32000\n"
		"                   110m: dim 768, hidden 2048, 12 layers, 12 heads, vocab 32000\n"
		"  --dim N          embedding length\n"
		"  --hidden N       feed-forward length\n"
		"  --layers N       blocks\n"
		"  --heads N        attention heads\n"
		"  --kv-heads N     key/value heads (default: --heads)\n"
		"  --vocab N        vocabulary size (at least 259)\n"
		"  --ctx N          context length in the metadata (default 1024)\n"
		"  --type T         weight type: f32 f16 bf16 q8_0 q8_1 q4_0 q4_1 q5_0 q5_1\n"
		"                   q2_K q3_K q4_K q5_K q6_K iq4_nl (default q8_0)\n"
		"  --seed S         random seed (default 1)\n"
		"  -h, --help       this help\n");
}

/* Any type the kernels can write, by name (case-insensitive: q4_k or q4_K). */
static int parse_type(const char *s, enum llmos_type *t)
{
	for (int i = 0; i < LLMOS_TYPE_COUNT; i++) {
		const struct llmos_type_traits *tr = llmos_type_traits((enum llmos_type)i);

		if (tr && tr->from_float && i != LLMOS_TYPE_Q8_K && !strcasecmp(tr->name, s)) {
			*t = (enum llmos_type)i;
			return 0;
		}
	}
	fprintf(stderr, "llmos mkmodel: unknown type '%s'\n", s);
	return -1;
}

static void preset(struct shape *sh, const char *name)
{
	long d = strcmp(name, "110m") ? 288 : 768;

	sh->dim = d;
	sh->hidden = d == 768 ? 2048 : 768;
	sh->layers = sh->heads = sh->kv_heads = d == 768 ? 12 : 6;
	sh->vocab = 32000;
	sh->ctx = 1024;
	sh->seed = 1;
}

/* Options that take no shape number. */
static int parse_other(int c, struct shape *sh)
{
	switch (c) {
	case 'A':
		if (strcmp(optarg, "llama") && strcmp(optarg, "qwen2") && strcmp(optarg, "phi3") &&
		    strcmp(optarg, "gemma2")) {
			fprintf(stderr, "llmos mkmodel: unknown --arch '%s' (llama, qwen2, phi3, "
					"gemma2)\n", optarg);
			return 1;
		}
		sh->arch = optarg;
		return 0;
	case 'V': sh->vocab_src.from = optarg; return 0;
	case 'R': sh->vocab_src.pre = optarg; return 0;
	case 'C':
		sh->vocab_src.chat_template = llmos_chat_template_text(optarg);
		sh->vocab_src.extra_tokens = llmos_chat_template_tokens(optarg);
		if (!sh->vocab_src.chat_template) {
			fprintf(stderr, "llmos mkmodel: unknown --chat-template '%s'\n", optarg);
			return 1;
		}
		return 0;
	case 't': sh->tied = 1; return 0;
	case 'F': sh->rope_freqs = 1; return 0;
	case 'L': sh->long_rope = 1; return 0;
	case 'B': sh->biases = 1; return 0;
	case 'S': return cli_float("mkmodel", "--scale", optarg, &sh->scale);
	default: mk_usage(stderr); return 1;
	}
}

static int parse_mk(int argc, char **argv, struct shape *sh, const char **out)
{
	static const struct option longopts[] = {
		{ "preset", 1, NULL, 'P' },	 { "dim", 1, NULL, 'd' },
		{ "hidden", 1, NULL, 'f' },	 { "layers", 1, NULL, 'l' },
		{ "heads", 1, NULL, 'H' },	 { "kv-heads", 1, NULL, 'k' },
		{ "vocab", 1, NULL, 'v' },	 { "ctx", 1, NULL, 'c' },
		{ "type", 1, NULL, 'T' },	 { "seed", 1, NULL, 's' },
		{ "arch", 1, NULL, 'A' },	 { "vocab-from", 1, NULL, 'V' },
		{ "pre", 1, NULL, 'R' },	 { "chat-template", 1, NULL, 'C' },
		{ "tied", 0, NULL, 't' },	 { "head-dim", 1, NULL, 'D' },
		{ "swa", 1, NULL, 'W' },	 { "rope-freqs", 0, NULL, 'F' },
		{ "long-rope", 0, NULL, 'L' },	 { "scale", 1, NULL, 'S' },
		{ "biases", 0, NULL, 'B' },
		{ "help", 0, NULL, 'h' },	 { NULL, 0, NULL, 0 },
	};
	const long big = 1L << 20;
	int c, bad = 0;

	while (!bad && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'P':
			if (strcmp(optarg, "15m") && strcmp(optarg, "110m")) {
				fprintf(stderr, "llmos mkmodel: unknown preset '%s'\n", optarg);
				return 1;
			}
			preset(sh, optarg);
			break;
		case 'd': bad = cli_int("mkmodel", "--dim", optarg, 1, big, &sh->dim); break;
		case 'f': bad = cli_int("mkmodel", "--hidden", optarg, 1, big, &sh->hidden); break;
		case 'l': bad = cli_int("mkmodel", "--layers", optarg, 1, 1024, &sh->layers); break;
		case 'H': bad = cli_int("mkmodel", "--heads", optarg, 1, 4096, &sh->heads); break;
		case 'k': bad = cli_int("mkmodel", "--kv-heads", optarg, 1, 4096, &sh->kv_heads); break;
		case 'v': bad = cli_int("mkmodel", "--vocab", optarg, 259, 1L << 24, &sh->vocab); break;
		case 'c': bad = cli_int("mkmodel", "--ctx", optarg, 1, big, &sh->ctx); break;
		case 's': bad = cli_int("mkmodel", "--seed", optarg, 0, 0x7fffffffL, &sh->seed); break;
		case 'D': bad = cli_int("mkmodel", "--head-dim", optarg, 2, 4096, &sh->head_dim); break;
		case 'W': bad = cli_int("mkmodel", "--swa", optarg, 0, big, &sh->swa); break;
		case 'T': bad = parse_type(optarg, &sh->type); break;
		case 'h': mk_usage(stdout); return -1;
		default: bad = parse_other(c, sh); break;
		}
	}
	if (bad)
		return 1;
	if (optind != argc - 1) {
		fprintf(stderr, "llmos mkmodel: give exactly one output file\n");
		mk_usage(stderr);
		return 1;
	}
	*out = argv[optind];
	return 0;
}

static int check_shape(struct shape *sh)
{
	int64_t bs = llmos_type_traits(sh->type)->block_size;

	if (!sh->kv_heads)
		sh->kv_heads = sh->heads;
	if (!sh->head_dim && sh->dim % sh->heads) {
		fprintf(stderr, "llmos mkmodel: dim must be a multiple of heads (or give --head-dim)\n");
		return 1;
	}
	if (!sh->head_dim)
		sh->head_dim = sh->dim / sh->heads;
	if (sh->heads % sh->kv_heads || sh->head_dim % 2) {
		fprintf(stderr, "llmos mkmodel: heads must be a multiple of kv-heads, and the head "
				"size even\n");
		return 1;
	}
	if (sh->vocab_src.pre && !sh->vocab_src.from) {
		fprintf(stderr, "llmos mkmodel: --pre needs --vocab-from\n");
		return 1;
	}
	if (sh->dim % bs || sh->hidden % bs || (sh->head_dim * sh->heads) % bs) {
		fprintf(stderr, "llmos mkmodel: dim and hidden must be multiples of %lld for %s\n",
			(long long)bs, llmos_type_traits(sh->type)->name);
		return 1;
	}
	return 0;
}

static float next_uniform(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (float)((*s >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

/* Rows of random values in [-0.05, 0.05] (or a constant), converted to the type. */
static int fill_rows(void *ctx, void *buf, uint64_t pos, size_t len)
{
	struct filler *f = ctx;
	const struct llmos_type_traits *tr = llmos_type_traits(f->type);
	size_t row_size = llmos_row_size(f->type, f->cols), r;
	int64_t i;

	(void)pos;
	for (r = 0; r < len / row_size; r++) {
		for (i = 0; i < f->cols; i++)
			f->row[i] = f->kind == FILL_ONE	   ? 1.0f
				    : f->kind == FILL_RAMP ? 1.0f + 0.5f * (float)i
							   : f->sh->scale * next_uniform(&f->rng);
		tr->from_float(f->row, (char *)buf + r * row_size, f->cols);
	}
	return 0;
}

/*
 * The writer calls fill only when it writes, so each tensor needs a filler
 * of its own that lives until then.
 */
static int add_tensor(struct gguf_writer *w, struct filler *f, const char *name,
		      enum llmos_type type, int64_t rows, int64_t cols, enum fill_kind kind)
{
	uint64_t ne[2] = { (uint64_t)cols, (uint64_t)rows };

	f->type = type;
	f->cols = cols;
	f->kind = kind;
	/* each tensor's values depend on the seed and its name only */
	f->rng = (llmos_hash_bytes(name, strlen(name)) ^ 0x9e3779b97f4a7c15ull) +
		 (uint64_t)f->sh->seed * 1000003u;
	if (!f->rng)
		f->rng = 1;
	return gguf_writer_add_tensor_fill(w, name, type, rows > 1 ? 2 : 1, ne, fill_rows, f);
}

/* Vocabulary: <unk> <s> </s>, the 256 byte pieces, then "▁w<n>" words. */
static int add_vocab(struct gguf_writer *w, const struct shape *sh)
{
	char **pieces = calloc(sh->vocab, sizeof(*pieces));
	float *scores = calloc(sh->vocab, sizeof(*scores));
	int32_t *types = calloc(sh->vocab, sizeof(*types));
	long i;
	int ret = -1;

	if (!pieces || !scores || !types)
		goto out;
	for (i = 0; i < sh->vocab; i++) {
		pieces[i] = malloc(32);
		if (!pieces[i])
			goto out;
		if (i < 3)
			snprintf(pieces[i], 32, "%s", (const char *[]){ "<unk>", "<s>", "</s>" }[i]);
		else if (i < 259)
			snprintf(pieces[i], 32, "<0x%02lX>", i - 3);
		else
			snprintf(pieces[i], 32, "\xe2\x96\x81w%ld", i);
		types[i] = i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1;
		scores[i] = i < 259 ? 0.0f : -(float)i;
	}
	ret = gguf_writer_add_str(w, "tokenizer.ggml.model", "llama");
	if (!ret)
		ret = gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)pieces,
					      sh->vocab);
	if (!ret)
		ret = gguf_writer_add_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores,
					  sh->vocab);
	if (!ret)
		ret = gguf_writer_add_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types,
					  sh->vocab);
	if (!ret)
		ret = gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", 1);
	if (!ret)
		ret = gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", 2);
	if (!ret)
		ret = gguf_writer_add_u32(w, "tokenizer.ggml.unknown_token_id", 0);
	if (!ret && sh->vocab_src.chat_template)
		ret = gguf_writer_add_str(w, "tokenizer.chat_template", sh->vocab_src.chat_template);
out:
	for (i = 0; pieces && i < sh->vocab; i++)
		free(pieces[i]);
	free(pieces);
	free(scores);
	free(types);
	return ret;
}

/* "<arch>.<suffix>" = v */
static int add_key_u32(struct gguf_writer *w, const struct shape *sh, const char *suffix,
		       uint32_t v)
{
	char key[128];

	snprintf(key, sizeof(key), "%s.%s", sh->arch, suffix);
	return gguf_writer_add_u32(w, key, v);
}

static int add_key_f32(struct gguf_writer *w, const struct shape *sh, const char *suffix, float v)
{
	char key[128];

	snprintf(key, sizeof(key), "%s.%s", sh->arch, suffix);
	return gguf_writer_add_f32(w, key, v);
}

/* The keys only some families have. */
static int add_family_keys(struct gguf_writer *w, const struct shape *sh)
{
	int ret = 0;

	if (sh->head_dim * sh->heads != sh->dim || !strcmp(sh->arch, "gemma2")) {
		ret = add_key_u32(w, sh, "attention.key_length", (uint32_t)sh->head_dim);
		if (!ret)
			ret = add_key_u32(w, sh, "attention.value_length", (uint32_t)sh->head_dim);
	}
	if (!ret && sh->swa >= 0)
		ret = add_key_u32(w, sh, "attention.sliding_window", (uint32_t)sh->swa);
	if (!ret && !strcmp(sh->arch, "gemma2")) {
		ret = add_key_f32(w, sh, "attn_logit_softcapping", 50.0f);
		if (!ret)
			ret = add_key_f32(w, sh, "final_logit_softcapping", 30.0f);
	}
	if (!ret && sh->long_rope) {
		ret = add_key_u32(w, sh, "rope.scaling.original_context_length",
				  (uint32_t)(sh->ctx / 4));
		if (!ret)
			ret = add_key_f32(w, sh, "rope.scaling.attn_factor", 1.1902380714238083f);
	}
	return ret;
}

static int add_hparams(struct gguf_writer *w, const struct shape *sh)
{
	int ret = gguf_writer_add_str(w, "general.architecture", sh->arch);

	if (!ret)
		ret = gguf_writer_add_str(w, "general.name", "llmos synthetic");
	if (!ret)
		ret = add_key_u32(w, sh, "context_length", (uint32_t)sh->ctx);
	if (!ret)
		ret = add_key_u32(w, sh, "embedding_length", (uint32_t)sh->dim);
	if (!ret)
		ret = add_key_u32(w, sh, "block_count", (uint32_t)sh->layers);
	if (!ret)
		ret = add_key_u32(w, sh, "feed_forward_length", (uint32_t)sh->hidden);
	if (!ret)
		ret = add_key_u32(w, sh, "rope.dimension_count", (uint32_t)sh->head_dim);
	if (!ret)
		ret = add_key_u32(w, sh, "attention.head_count", (uint32_t)sh->heads);
	if (!ret)
		ret = add_key_u32(w, sh, "attention.head_count_kv", (uint32_t)sh->kv_heads);
	if (!ret)
		ret = add_key_f32(w, sh, "attention.layer_norm_rms_epsilon", 1e-5f);
	if (!ret)
		ret = add_key_f32(w, sh, "rope.freq_base", 10000.0f);
	if (!ret)
		ret = add_family_keys(w, sh);
	return ret;
}

/* A tensor of the layer: its name suffix, shape, and how it is filled. */
struct mk_tensor {
	const char *name;
	int64_t rows, cols;
	enum fill_kind kind; /* norms are ones, biases and matrices random */
	int f32;	     /* stored as F32 whatever the weight type */
};

/* The layer's tensors as the family names and shapes them; returns how many. */
static int layer_tensors(const struct shape *sh, struct mk_tensor *t)
{
	int64_t q = sh->head_dim * sh->heads, kv = sh->head_dim * sh->kv_heads, d = sh->dim;
	int phi3 = !strcmp(sh->arch, "phi3"), gemma2 = !strcmp(sh->arch, "gemma2"), n = 0;

	t[n++] = (struct mk_tensor){ "attn_norm", 1, d, FILL_ONE, 1 };
	if (phi3) {
		t[n++] = (struct mk_tensor){ "attn_qkv", q + 2 * kv, d, FILL_RANDOM, 0 };
	} else {
		t[n++] = (struct mk_tensor){ "attn_q", q, d, FILL_RANDOM, 0 };
		t[n++] = (struct mk_tensor){ "attn_k", kv, d, FILL_RANDOM, 0 };
		t[n++] = (struct mk_tensor){ "attn_v", kv, d, FILL_RANDOM, 0 };
	}
	if (!strcmp(sh->arch, "qwen2") || sh->biases) {
		t[n++] = (struct mk_tensor){ "attn_q", 1, q, FILL_RANDOM, 2 };
		t[n++] = (struct mk_tensor){ "attn_k", 1, kv, FILL_RANDOM, 2 };
		t[n++] = (struct mk_tensor){ "attn_v", 1, kv, FILL_RANDOM, 2 };
	}
	t[n++] = (struct mk_tensor){ "attn_output", d, q, FILL_RANDOM, 0 };
	if (sh->biases) {
		t[n++] = (struct mk_tensor){ "attn_output", 1, d, FILL_RANDOM, 2 };
		t[n++] = (struct mk_tensor){ "ffn_gate", 1, sh->hidden, FILL_RANDOM, 2 };
		t[n++] = (struct mk_tensor){ "ffn_up", 1, sh->hidden, FILL_RANDOM, 2 };
		t[n++] = (struct mk_tensor){ "ffn_down", 1, d, FILL_RANDOM, 2 };
	}
	if (gemma2)
		t[n++] = (struct mk_tensor){ "post_attention_norm", 1, d, FILL_ONE, 1 };
	t[n++] = (struct mk_tensor){ "ffn_norm", 1, d, FILL_ONE, 1 };
	if (!phi3)
		t[n++] = (struct mk_tensor){ "ffn_gate", sh->hidden, d, FILL_RANDOM, 0 };
	t[n++] = (struct mk_tensor){ "ffn_up", (phi3 ? 2 : 1) * sh->hidden, d, FILL_RANDOM, 0 };
	t[n++] = (struct mk_tensor){ "ffn_down", d, sh->hidden, FILL_RANDOM, 0 };
	if (gemma2)
		t[n++] = (struct mk_tensor){ "post_ffw_norm", 1, d, FILL_ONE, 1 };
	return n;
}

#define MK_LAYER_TENSORS 20

static int add_layer(struct gguf_writer *w, struct filler *f, const struct shape *sh, int l)
{
	struct mk_tensor t[MK_LAYER_TENSORS];
	int n = layer_tensors(sh, t), ret = 0;
	char name[64];

	for (int i = 0; i < n && !ret; i++) {
		/* f32 == 2: a bias */
		snprintf(name, sizeof(name), "blk.%d.%s.%s", l, t[i].name,
			 t[i].f32 == 2 ? "bias" : "weight");
		ret = add_tensor(w, &f[i], name, t[i].f32 ? LLMOS_TYPE_F32 : sh->type, t[i].rows,
				 t[i].cols, t[i].kind);
	}
	return ret;
}

/* token_embd, output_norm, output (unless tied) and the rope factors. */
static int add_globals(struct gguf_writer *w, struct filler *f, const struct shape *sh)
{
	int64_t half = sh->head_dim / 2;
	int ret, tied = sh->tied || !strcmp(sh->arch, "gemma2");

	ret = add_tensor(w, &f[0], "token_embd.weight", sh->type, sh->vocab, sh->dim, FILL_RANDOM);
	if (!ret)
		ret = add_tensor(w, &f[1], "output_norm.weight", LLMOS_TYPE_F32, 1, sh->dim, FILL_ONE);
	if (!ret && !tied)
		ret = add_tensor(w, &f[2], "output.weight", sh->type, sh->vocab, sh->dim,
				 FILL_RANDOM);
	if (!ret && sh->rope_freqs)
		ret = add_tensor(w, &f[3], "rope_freqs.weight", LLMOS_TYPE_F32, 1, half, FILL_RAMP);
	if (!ret && sh->long_rope)
		ret = add_tensor(w, &f[4], "rope_factors_long.weight", LLMOS_TYPE_F32, 1, half,
				 FILL_RAMP);
	if (!ret && sh->long_rope)
		ret = add_tensor(w, &f[5], "rope_factors_short.weight", LLMOS_TYPE_F32, 1, half,
				 FILL_ONE);
	return ret;
}

static int check_family(struct shape *sh)
{
	if (sh->rope_freqs && strcmp(sh->arch, "llama")) {
		fprintf(stderr, "llmos mkmodel: --rope-freqs is for --arch llama\n");
		return 1;
	}
	if (sh->long_rope && strcmp(sh->arch, "phi3")) {
		fprintf(stderr, "llmos mkmodel: --long-rope is for --arch phi3\n");
		return 1;
	}
	if (!strcmp(sh->arch, "phi3") && sh->swa < 0)
		sh->swa = sh->ctx; /* llama.cpp needs the key for phi3 */
	if (!strcmp(sh->arch, "gemma2") && !sh->swa) {
		fprintf(stderr, "llmos mkmodel: gemma2 needs a window of at least 1\n");
		return 1;
	}
	return 0;
}

static struct filler *make_fillers(const struct shape *sh, size_t n)
{
	struct filler *f = calloc(n, sizeof(*f));
	size_t width = (size_t)(sh->dim > 2 * sh->hidden ? sh->dim : 2 * sh->hidden);

	if (width < (size_t)(sh->head_dim * sh->heads))
		width = (size_t)(sh->head_dim * sh->heads);
	for (size_t i = 0; f && i < n; i++) {
		f[i].row = malloc(sizeof(float) * width);
		f[i].sh = sh;
		if (!f[i].row)
			return f; /* the caller checks and frees */
	}
	return f;
}

static int write_model(struct gguf_writer *w, struct filler *f, struct shape *sh,
		       const char *out)
{
	int ret = add_hparams(w, sh), l;

	if (!ret)
		ret = sh->vocab_src.from ? mk_copy_vocab(w, &sh->vocab_src, &sh->vocab)
					 : add_vocab(w, sh);
	if (!ret)
		ret = add_globals(w, f, sh);
	for (l = 0; !ret && l < sh->layers; l++)
		ret = add_layer(w, f + 6 + (size_t)l * MK_LAYER_TENSORS, sh, l);
	if (!ret)
		ret = gguf_writer_write(w, out, 0);
	return ret;
}

int cmd_mkmodel(int argc, char **argv)
{
	struct shape sh = { .dim = 288, .hidden = 768, .layers = 6, .heads = 6, .vocab = 32000,
			    .ctx = 1024, .seed = 1, .type = LLMOS_TYPE_Q8_0, .arch = "llama",
			    .swa = -1,
			    .scale = 0.05f };
	struct gguf_writer *w = NULL;
	struct filler *f = NULL;
	const char *out;
	size_t n_fill, i;
	int ret;

	ret = parse_mk(argc, argv, &sh, &out);
	if (ret)
		return ret < 0 ? 0 : 2;
	if (check_shape(&sh) || check_family(&sh))
		return 2;
	n_fill = 6 + MK_LAYER_TENSORS * (size_t)sh.layers;
	f = make_fillers(&sh, n_fill);
	for (i = 0; f && i < n_fill && f[i].row; i++)
		;
	if (!f || i < n_fill || gguf_writer_new(&w) < 0) {
		fprintf(stderr, "llmos mkmodel: out of memory\n");
		ret = -12;
	} else {
		ret = write_model(w, f, &sh, out);
		if (ret < 0)
			cli_error("mkmodel", out, ret);
		else
			fprintf(stderr, "llmos mkmodel: wrote %s\n", out);
	}
	gguf_writer_free(w);
	for (i = 0; f && i < n_fill; i++)
		free(f[i].row);
	free(f);
	return ret < 0 ? 1 : 0;
}
