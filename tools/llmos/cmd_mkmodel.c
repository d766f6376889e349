/* SPDX-License-Identifier: MIT */
/*
 * cmd_mkmodel.c - `llmos mkmodel`: write a synthetic llama model of a given
 * shape and weight type (random weights, a made-up vocabulary), so that
 * benchmarks on realistic shapes need no download.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gguf_write.h"
#include "kernels.h"

struct shape {
	long dim, hidden, layers, heads, kv_heads, vocab, ctx, seed;
	enum llmos_type type;
};

struct filler {
	const struct shape *sh;
	enum llmos_type type;
	int64_t cols;
	uint64_t rng;
	float value; /* > 0: every element is this (norms) */
	float *row;
};

static void mk_usage(FILE *out)
{
	fprintf(out,
		"usage: llmos mkmodel [--preset 15m|110m] [shape options] [--type T] OUT.gguf\n"
		"\n"
		"Write a llama-architecture GGUF with random weights and a synthetic vocabulary.\n"
		"\n"
		"  --preset P       15m: dim 288, hidden 768, 6 layers, 6 heads, vocab 32000\n"
		"                   110m: dim 768, hidden 2048, 12 layers, 12 heads, vocab 32000\n"
		"  --dim N          embedding length\n"
		"  --hidden N       feed-forward length\n"
		"  --layers N       blocks\n"
		"  --heads N        attention heads\n"
		"  --kv-heads N     key/value heads (default: --heads)\n"
		"  --vocab N        vocabulary size (at least 259)\n"
		"  --ctx N          context length in the metadata (default 1024)\n"
		"  --type T         weight type: f32 f16 bf16 q8_0 q4_0 q4_1 q8_1 (default q8_0)\n"
		"  --seed S         random seed (default 1)\n"
		"  -h, --help       this help\n");
}

static int parse_type(const char *s, enum llmos_type *t)
{
	static const enum llmos_type types[] = { LLMOS_TYPE_F32,  LLMOS_TYPE_F16,
						 LLMOS_TYPE_BF16, LLMOS_TYPE_Q8_0,
						 LLMOS_TYPE_Q4_0, LLMOS_TYPE_Q4_1,
						 LLMOS_TYPE_Q8_1 };
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(llmos_type_traits(types[i])->name, s)) {
			*t = types[i];
			return 0;
		}
	fprintf(stderr, "llmos mkmodel: unknown type '%s'\n", s);
	return -1;
}

static void preset(struct shape *sh, const char *name)
{
	if (!strcmp(name, "110m"))
		*sh = (struct shape){ 768, 2048, 12, 12, 12, 32000, 1024, 1, sh->type };
	else
		*sh = (struct shape){ 288, 768, 6, 6, 6, 32000, 1024, 1, sh->type };
}

static int parse_mk(int argc, char **argv, struct shape *sh, const char **out)
{
	static const struct option longopts[] = {
		{ "preset", 1, NULL, 'P' }, { "dim", 1, NULL, 'd' },   { "hidden", 1, NULL, 'f' },
		{ "layers", 1, NULL, 'l' }, { "heads", 1, NULL, 'H' }, { "kv-heads", 1, NULL, 'k' },
		{ "vocab", 1, NULL, 'v' },  { "ctx", 1, NULL, 'c' },   { "type", 1, NULL, 'T' },
		{ "seed", 1, NULL, 's' },   { "help", 0, NULL, 'h' },  { NULL, 0, NULL, 0 },
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
		case 'T': bad = parse_type(optarg, &sh->type); break;
		case 'h': mk_usage(stdout); return -1;
		default: mk_usage(stderr); return 1;
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
	if (sh->dim % sh->heads || sh->heads % sh->kv_heads || (sh->dim / sh->heads) % 2) {
		fprintf(stderr, "llmos mkmodel: dim must be a multiple of heads, heads of kv-heads, "
				"and the head size even\n");
		return 1;
	}
	if (sh->dim % bs || sh->hidden % bs) {
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
			f->row[i] = f->value > 0 ? f->value : 0.05f * next_uniform(&f->rng);
		tr->from_float(f->row, (char *)buf + r * row_size, f->cols);
	}
	return 0;
}

/*
 * The writer calls fill only when it writes, so each tensor needs a filler
 * of its own that lives until then.
 */
static int add_tensor(struct gguf_writer *w, struct filler *f, const char *name,
		      enum llmos_type type, int64_t rows, int64_t cols, float value)
{
	uint64_t ne[2] = { (uint64_t)cols, (uint64_t)rows };

	f->type = type;
	f->cols = cols;
	f->value = value;
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
out:
	for (i = 0; pieces && i < sh->vocab; i++)
		free(pieces[i]);
	free(pieces);
	free(scores);
	free(types);
	return ret;
}

static int add_hparams(struct gguf_writer *w, const struct shape *sh)
{
	int ret = gguf_writer_add_str(w, "general.architecture", "llama");

	if (!ret)
		ret = gguf_writer_add_str(w, "general.name", "llmos synthetic");
	if (!ret)
		ret = gguf_writer_add_u32(w, "llama.context_length", (uint32_t)sh->ctx);
	if (!ret)
		ret = gguf_writer_add_u32(w, "llama.embedding_length", (uint32_t)sh->dim);
	if (!ret)
		ret = gguf_writer_add_u32(w, "llama.block_count", (uint32_t)sh->layers);
	if (!ret)
		ret = gguf_writer_add_u32(w, "llama.feed_forward_length", (uint32_t)sh->hidden);
	if (!ret)
		ret = gguf_writer_add_u32(w, "llama.rope.dimension_count",
					  (uint32_t)(sh->dim / sh->heads));
	if (!ret)
		ret = gguf_writer_add_u32(w, "llama.attention.head_count", (uint32_t)sh->heads);
	if (!ret)
		ret = gguf_writer_add_u32(w, "llama.attention.head_count_kv", (uint32_t)sh->kv_heads);
	if (!ret)
		ret = gguf_writer_add_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	if (!ret)
		ret = gguf_writer_add_f32(w, "llama.rope.freq_base", 10000.0f);
	return ret;
}

static int add_layer(struct gguf_writer *w, struct filler *f, const struct shape *sh, int l)
{
	int64_t kv = sh->dim / sh->heads * sh->kv_heads;
	const struct {
		const char *name;
		int64_t rows, cols;
	} mats[] = {
		{ "attn_q", sh->dim, sh->dim },	     { "attn_k", kv, sh->dim },
		{ "attn_v", kv, sh->dim },	     { "attn_output", sh->dim, sh->dim },
		{ "ffn_gate", sh->hidden, sh->dim }, { "ffn_up", sh->hidden, sh->dim },
		{ "ffn_down", sh->dim, sh->hidden },
	};
	char name[64];
	size_t i;
	int ret;

	snprintf(name, sizeof(name), "blk.%d.attn_norm.weight", l);
	if ((ret = add_tensor(w, &f[0], name, LLMOS_TYPE_F32, 1, sh->dim, 1.0f)))
		return ret;
	snprintf(name, sizeof(name), "blk.%d.ffn_norm.weight", l);
	if ((ret = add_tensor(w, &f[1], name, LLMOS_TYPE_F32, 1, sh->dim, 1.0f)))
		return ret;
	for (i = 0; i < sizeof(mats) / sizeof(mats[0]); i++) {
		snprintf(name, sizeof(name), "blk.%d.%s.weight", l, mats[i].name);
		if ((ret = add_tensor(w, &f[2 + i], name, sh->type, mats[i].rows, mats[i].cols, 0)))
			return ret;
	}
	return 0;
}

int cmd_mkmodel(int argc, char **argv)
{
	struct shape sh = { 288, 768, 6, 6, 0, 32000, 1024, 1, LLMOS_TYPE_Q8_0 };
	struct gguf_writer *w = NULL;
	struct filler *f = NULL;
	const char *out;
	size_t n_tensors, i;
	int ret, l;

	ret = parse_mk(argc, argv, &sh, &out);
	if (ret)
		return ret < 0 ? 0 : 2;
	if (check_shape(&sh))
		return 2;
	n_tensors = 3 + 9 * (size_t)sh.layers;
	f = calloc(n_tensors, sizeof(*f));
	if (!f || gguf_writer_new(&w) < 0) {
		fprintf(stderr, "llmos mkmodel: out of memory\n");
		free(f);
		return 1;
	}
	for (i = 0; i < n_tensors; i++) {
		f[i].rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)sh.seed * 1000003u + i);
		f[i].row = malloc(sizeof(float) * (size_t)(sh.dim > sh.hidden ? sh.dim : sh.hidden));
		f[i].sh = &sh;
	}
	i = 0;
	ret = add_hparams(w, &sh);
	if (!ret)
		ret = add_vocab(w, &sh);
	if (!ret)
		ret = add_tensor(w, &f[i++], "token_embd.weight", sh.type, sh.vocab, sh.dim, 0);
	if (!ret)
		ret = add_tensor(w, &f[i++], "output_norm.weight", LLMOS_TYPE_F32, 1, sh.dim, 1.0f);
	if (!ret)
		ret = add_tensor(w, &f[i++], "output.weight", sh.type, sh.vocab, sh.dim, 0);
	for (l = 0; !ret && l < sh.layers; l++, i += 9)
		ret = add_layer(w, &f[i], &sh, l);
	if (!ret)
		ret = gguf_writer_write(w, out, 0);
	if (ret < 0)
		cli_error("mkmodel", out, ret);
	else
		fprintf(stderr, "llmos mkmodel: wrote %s\n", out);
	gguf_writer_free(w);
	for (i = 0; i < n_tensors; i++)
		free(f[i].row);
	free(f);
	return ret < 0 ? 1 : 0;
}
