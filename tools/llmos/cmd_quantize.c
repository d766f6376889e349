/* SPDX-License-Identifier: MIT */
/*
 * cmd_quantize.c - `llmos quantize IN OUT TYPE`: a GGUF model in F32, F16
 * or BF16 (or already quantized, with a warning) rewritten in a weight type
 * or one of the mixes people download (q4_K_M, ...), each tensor in the
 * type llama.cpp's rules give it (quant_mix.c), each block's scale searched
 * (kernels/quantize.c), weighted by an importance matrix when one is given.
 * The output keeps every metadata pair and is written through OUT.tmp, so a
 * failure (a bad input, a full disk) never leaves a partial file at OUT.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gguf.h"
#include "gguf_write.h"
#include "imatrix.h"
#include "internal.h"
#include "quant_mix.h"
#include "threadpool.h"

struct q_opts {
	const char *in, *out, *imatrix;
	const struct quant_ftype *ft;
	bool keep_output;
	long threads;
};

/* Progress over all the values to quantize, as a bar on a terminal. */
struct q_progress {
	uint64_t total, done;
	bool tty;
	const char *tensor;
};

/* One tensor being quantized: produced row by row by the writer's fill callback. */
struct q_tensor {
	const struct gguf_tensor *src;
	enum llmos_type type;
	const float *qw;   /* importance per column, or NULL */
	size_t row_bytes;  /* of the output */
	struct llmos_pool *pool;
	float *scratch;    /* ne0 floats per thread */
	struct q_progress *progress;
	/* the rows of the current fill call */
	void *buf;
	uint64_t r0, nr;
	int err;
};

static void q_usage(FILE *out)
{
	fprintf(out,
		"usage: llmos quantize IN.gguf OUT.gguf TYPE [--imatrix FILE] [--keep-output]\n"
		"                      [--threads N]\n"
		"\n"
		"Rewrite a model in a quantized type. Each tensor gets the type llama.cpp's\n"
		"llama-quantize gives it in that file type (the mixes keep some tensors at\n"
		"higher precision); each block's scale is searched to minimise the squared\n"
		"error, weighted by the importance matrix when one is given (llmos imatrix,\n"
		"or llama.cpp's llama-imatrix). Rows a type's block does not divide fall back\n"
		"to one that does, as llama-quantize does, and the tool says which.\n"
		"\n"
		"  --imatrix FILE    importance matrix (mean squared activations per column)\n"
		"  --keep-output     leave output.weight as it is\n"
		"  -t, --threads N   threads (default: one per CPU)\n"
		"  -h, --help        this help\n"
		"\nTYPE:\n");
	for (int i = 0; quant_ftype_at(i); i++)
		fprintf(out, "  %-8s %s\n", quant_ftype_at(i)->name, quant_ftype_at(i)->about);
}

static int q_parse(int argc, char **argv, struct q_opts *o)
{
	static const struct option longopts[] = {
		{ "imatrix", 1, NULL, 1 }, { "keep-output", 0, NULL, 2 },
		{ "threads", 1, NULL, 't' }, { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 1: o->imatrix = optarg; break;
		case 2: o->keep_output = true; break;
		case 't': if (cli_int("quantize", "-t", optarg, 1, 256, &o->threads)) return 2; break;
		case 'h': q_usage(stdout); return -1;
		default: q_usage(stderr); return 2;
		}
	}
	if (argc - optind != 3) {
		fprintf(stderr, "llmos quantize: IN.gguf OUT.gguf TYPE are required\n");
		q_usage(stderr);
		return 2;
	}
	o->in = argv[optind];
	o->out = argv[optind + 1];
	o->ft = quant_ftype_find(argv[optind + 2]);
	if (!o->ft) {
		fprintf(stderr, "llmos quantize: unknown type '%s'; the types are:", argv[optind + 2]);
		for (int i = 0; quant_ftype_at(i); i++)
			fprintf(stderr, " %s", quant_ftype_at(i)->name);
		fprintf(stderr, "\n");
		return 2;
	}
	return 0;
}

static void progress_show(struct q_progress *p)
{
	int width = 40, filled = p->total ? (int)(width * p->done / p->total) : width;

	if (!p->tty)
		return;
	fprintf(stderr, "\r[%.*s%*s] %3d%% %-40.40s", filled,
		"========================================", width - filled, "",
		p->total ? (int)(100 * p->done / p->total) : 100, p->tensor);
	fflush(stderr);
}

/* Rows ith, ith + nth, ... of the current fill: source row to floats, then quantized. */
static void quantize_rows(void *arg, int ith, int nth)
{
	struct q_tensor *q = arg;
	const struct gguf_tensor *src = q->src;
	const struct llmos_type_traits *st = llmos_type_traits((enum llmos_type)src->type);
	int64_t ne0 = (int64_t)src->ne[0];
	size_t src_row = llmos_row_size((enum llmos_type)src->type, ne0);
	float *f = q->scratch + (size_t)ith * (size_t)ne0;

	for (uint64_t r = (uint64_t)ith; r < q->nr; r += (uint64_t)nth) {
		const char *in = (const char *)src->data + (q->r0 + r) * src_row;

		st->to_float(in, f, ne0);
		if (llmos_quantize_weights(q->type, f, (char *)q->buf + r * q->row_bytes, ne0, q->qw))
			q->err = -EINVAL;
	}
}

static int fill_tensor(void *ctx, void *buf, uint64_t pos, size_t len)
{
	struct q_tensor *q = ctx;

	q->buf = buf;
	q->r0 = pos / q->row_bytes;
	q->nr = len / q->row_bytes;
	q->err = 0;
	q->progress->tensor = q->src->name;
	llmos_pool_run(q->pool, quantize_rows, q);
	q->progress->done += q->nr * q->src->ne[0];
	progress_show(q->progress);
	return q->err;
}

/* What the rules need of the model: layers, GQA, who is the output. */
static void model_facts(struct gguf_file *f, bool has_imatrix, struct quant_model *m)
{
	const char *s;
	uint64_t len;
	uint32_t heads = 1, kv = 1, layers = 0;
	char arch[64] = "llama", key[128];

	memset(m, 0, sizeof(*m));
	if (!gguf_get_str(f, "general.architecture", &s, &len))
		snprintf(arch, sizeof(arch), "%.*s", (int)(len < 63 ? len : 63), s);
	snprintf(key, sizeof(key), "%s.block_count", arch);
	gguf_get_u32(f, key, &layers);
	snprintf(key, sizeof(key), "%s.attention.head_count", arch);
	gguf_get_u32(f, key, &heads);
	snprintf(key, sizeof(key), "%s.attention.head_count_kv", arch);
	if (gguf_get_u32(f, key, &kv))
		kv = heads;
	m->n_layer = (int)layers;
	m->n_gqa = kv ? (int)(heads / kv) : 1;
	m->has_output = gguf_find_tensor(f, "output.weight") != NULL;
	m->has_imatrix = has_imatrix;
	for (uint64_t i = 0; i < gguf_tensor_count(f); i++) {
		const char *n = gguf_tensor_at(f, i)->name;

		m->n_attn_v += strstr(n, "attn_v.weight") || strstr(n, "attn_qkv.weight");
	}
}

static const struct gguf_file *sort_file;

static int by_llama_order(const void *a, const void *b)
{
	return quant_tensor_order(gguf_tensor_at(sort_file, *(const uint64_t *)a)->name,
				  gguf_tensor_at(sort_file, *(const uint64_t *)b)->name);
}

/* A fallback taken: planned type, used type, row length; how often, an example. */
struct q_fallback {
	enum llmos_type used;
	uint64_t ne0;
	int count;
	const char *example;
};

/* Say once per kind which fallbacks were taken. */
static void report_fallbacks(const struct q_fallback *fb, int n)
{
	for (int i = 0; i < n; i++)
		fprintf(stderr, "llmos quantize: %d tensor%s (%s%s) ha%s rows of %" PRIu64 " values, "
				"not whole blocks of the planned type: %s instead\n", fb[i].count,
			fb[i].count > 1 ? "s" : "", fb[i].example, fb[i].count > 1 ? ", ..." : "",
			fb[i].count > 1 ? "ve" : "s", fb[i].ne0, llmos_type_traits(fb[i].used)->name);
}

/* Every tensor's output type (its own where it is not quantized), decided in llama.cpp's order. */
static int plan_types(struct gguf_file *f, const struct q_opts *o, const struct quant_model *m,
		      enum llmos_type *types)
{
	uint64_t n = gguf_tensor_count(f), *order = calloc(n ? n : 1, sizeof(*order));
	struct q_fallback fb[16];
	struct quant_counters c = { 0, 0 };
	int n_fb = 0, total = 0;

	if (!order)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++)
		order[i] = i;
	sort_file = f;
	qsort(order, n, sizeof(*order), by_llama_order);
	for (uint64_t k = 0; k < n; k++) {
		const struct gguf_tensor *t = gguf_tensor_at(f, order[k]);
		enum llmos_type want = (enum llmos_type)t->type;
		bool took = false;
		int i;

		if (quant_tensor_quantized(t->name, t->n_dims, o->keep_output))
			want = quant_tensor_type(o->ft, m, &c, t->name, (int64_t)t->ne[0], &took);
		types[order[k]] = want;
		if (!took)
			continue;
		total++;
		for (i = 0; i < n_fb && (fb[i].used != want || fb[i].ne0 != t->ne[0]); i++)
			;
		if (i == n_fb && n_fb < 16)
			fb[n_fb++] = (struct q_fallback){ want, t->ne[0], 0, t->name };
		if (i < n_fb)
			fb[i].count++;
	}
	report_fallbacks(fb, n_fb);
	free(order);
	return total;
}

/* The importance vector of a tensor, or NULL; an error for a wrong length. */
static int tensor_importance(const struct llmos_imatrix *im, const struct gguf_tensor *t,
			     const float **qw)
{
	int64_t n;

	*qw = im ? llmos_imatrix_find(im, t->name, &n) : NULL;
	if (*qw && n != (int64_t)t->ne[0]) {
		if (!strcmp(t->name, "token_embd.weight")) {
			*qw = NULL; /* as llama-quantize: the embeddings' entry may not fit */
			return 0;
		}
		return llmos_fail(-EINVAL, "importance matrix: %s has %lld values, the tensor's "
				  "rows %" PRIu64, t->name, (long long)n, t->ne[0]);
	}
	return 0;
}

struct q_job {
	const struct q_opts *o;
	struct gguf_file *in;
	struct llmos_imatrix *im;
	struct gguf_writer *w;
	struct q_tensor *qt;  /* one per tensor */
	enum llmos_type *types;
	struct llmos_pool *pool;
	float *scratch;
	struct q_progress progress;
	uint64_t bytes_in, bytes_out, bytes_q; /* bytes_q: of the quantized tensors, out */
	int n_quantized, n_requant;
};

/* The metadata, with the file type and quantization version set as llama-quantize sets them. */
static int add_metadata(struct q_job *j)
{
	int ret = 0;

	for (uint64_t i = 0; !ret && i < gguf_kv_count(j->in); i++) {
		const struct gguf_kv *kv = gguf_kv_at(j->in, i);

		if ((kv->key.len == 17 && !memcmp(kv->key.ptr, "general.file_type", 17)) ||
		    (kv->key.len == 28 && !memcmp(kv->key.ptr, "general.quantization_version", 28)) ||
		    (kv->key.len == 17 && !memcmp(kv->key.ptr, "general.alignment", 17)))
			continue;
		ret = gguf_writer_copy_kv(j->w, kv);
	}
	if (!ret)
		ret = gguf_writer_add_u32(j->w, "general.quantization_version", 2);
	if (!ret)
		ret = gguf_writer_add_u32(j->w, "general.file_type", j->o->ft->ftype);
	if (!ret && gguf_alignment(j->in) != GGUF_DEFAULT_ALIGNMENT)
		ret = gguf_writer_set_alignment(j->w, gguf_alignment(j->in));
	return ret;
}

/* One tensor: copied as it is, or quantized by the fill callback while the file is written. */
static int add_tensor(struct q_job *j, uint64_t i)
{
	const struct gguf_tensor *t = gguf_tensor_at(j->in, i);
	struct q_tensor *q = &j->qt[i];
	enum llmos_type type = j->types[i];
	int ret;

	j->bytes_in += t->size;
	if (type == (enum llmos_type)t->type) {
		j->bytes_out += t->size;
		return gguf_writer_add_tensor(j->w, t->name, t->type, t->n_dims, t->ne, t->data);
	}
	if (!llmos_type_traits((enum llmos_type)t->type) ||
	    !llmos_type_traits((enum llmos_type)t->type)->to_float)
		return llmos_fail(-LLMOS_EUNSUPPORTED, "%s: cannot read its type %s", t->name,
				  gguf_ggml_type_name(t->type));
	if (llmos_type_traits((enum llmos_type)t->type)->block_size > 1)
		j->n_requant++;
	ret = tensor_importance(j->im, t, &q->qw);
	if (ret)
		return ret;
	q->src = t;
	q->type = type;
	q->row_bytes = llmos_row_size(type, (int64_t)t->ne[0]);
	q->pool = j->pool;
	q->scratch = j->scratch;
	q->progress = &j->progress;
	j->progress.total += t->n_elems;
	j->bytes_out += q->row_bytes * (t->n_elems / t->ne[0]);
	j->bytes_q += q->row_bytes * (t->n_elems / t->ne[0]);
	j->n_quantized++;
	return gguf_writer_add_tensor_fill(j->w, t->name, type, t->n_dims, t->ne, fill_tensor, q);
}

/* Room for the job: a per-tensor state, a type plan, per-thread rows of floats. */
static int job_alloc(struct q_job *j)
{
	uint64_t n = gguf_tensor_count(j->in), widest = 1;

	for (uint64_t i = 0; i < n; i++)
		if (gguf_tensor_at(j->in, i)->ne[0] > widest)
			widest = gguf_tensor_at(j->in, i)->ne[0];
	j->qt = calloc(n ? n : 1, sizeof(*j->qt));
	j->types = calloc(n ? n : 1, sizeof(*j->types));
	j->pool = llmos_pool_create((int)j->o->threads);
	j->scratch = j->pool ? malloc(widest * sizeof(float) * (size_t)llmos_pool_threads(j->pool))
			     : NULL;
	return j->qt && j->types && j->pool && j->scratch ? 0 : -ENOMEM;
}

static void job_free(struct q_job *j)
{
	free(j->qt);
	free(j->types);
	free(j->scratch);
	llmos_pool_destroy(j->pool);
	gguf_writer_free(j->w);
	llmos_imatrix_free(j->im);
	gguf_close(j->in);
}

static int quantize_file(struct q_job *j)
{
	struct quant_model m;
	int ret;

	ret = gguf_open(&j->in, j->o->in);
	if (!ret && j->o->imatrix)
		ret = llmos_imatrix_read(&j->im, j->o->imatrix);
	if (!ret)
		ret = job_alloc(j);
	if (ret)
		return ret;
	model_facts(j->in, j->im != NULL, &m);
	plan_types(j->in, j->o, &m, j->types);
	ret = gguf_writer_new(&j->w);
	if (!ret)
		ret = add_metadata(j);
	for (uint64_t i = 0; !ret && i < gguf_tensor_count(j->in); i++)
		ret = add_tensor(j, i);
	if (!ret && j->n_requant)
		fprintf(stderr, "llmos quantize: warning: %d tensors of %s are quantized already; "
				"re-quantizing adds their errors (quantize from f16 or f32 if you can)\n",
			j->n_requant, j->o->in);
	if (!ret)
		ret = gguf_writer_write(j->w, j->o->out, 0);
	if (j->progress.tty)
		fprintf(stderr, "\n");
	return ret;
}

int cmd_quantize(int argc, char **argv)
{
	struct q_opts o = { 0 };
	struct q_job j;
	double t0 = cli_now();
	int ret = q_parse(argc, argv, &o);

	if (ret)
		return ret < 0 ? 0 : ret;
	memset(&j, 0, sizeof(j));
	j.o = &o;
	j.progress.tty = isatty(STDERR_FILENO);
	j.progress.tensor = "";
	ret = quantize_file(&j);
	if (ret < 0) {
		job_free(&j);
		return cli_error("quantize", "cannot quantize", ret);
	}
	printf("llmos quantize: %s -> %s (%s): %d tensors quantized, %.2f MiB -> %.2f MiB "
	       "(%.2f bits per weight in them), %.1f s%s\n", o.in, o.out, o.ft->name, j.n_quantized,
	       j.bytes_in / 1048576.0, j.bytes_out / 1048576.0,
	       j.progress.total ? 8.0 * (double)j.bytes_q / (double)j.progress.total : 0.0,
	       cli_now() - t0, j.im ? ", with an importance matrix" : "");
	job_free(&j);
	return 0;
}
