/* SPDX-License-Identifier: MIT */
/*
 * cmd_prune.c - `llmos prune IN OUT [--ffn F] [--heads F] [--method M]`:
 * structured pruning.  Whole FFN channels and whole attention head groups
 * (a KV head with its query heads) go, with their rows and columns in every
 * tensor that touches them (prune_plan.c), the same number in every layer,
 * so the output is an ordinary dense model that any runtime loads, with the
 * new sizes in its metadata.  --sparsity S also zeroes the smallest weights
 * of each layer matrix and says what a sparse format would save.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gguf.h"
#include "gguf_write.h"
#include "imatrix.h"
#include "internal.h"
#include "kernels.h"
#include "prune_plan.h"

struct pr_opts {
	const char *in, *out, *calib;
	double ffn, heads, sparsity;
	bool activation;
	long ctx, threads;
};

struct pr_job {
	const struct pr_opts *o;
	struct gguf_file *in;
	struct gguf_writer *w;
	struct prune_plan plan;
	bool planned;
	void **bufs; /* tensor data made here, one per tensor (or NULL) */
	uint64_t bytes_in, bytes_out, zeroed, sparse_total;
};

static void pr_usage(FILE *out)
{
	fprintf(out,
		"usage: llmos prune IN.gguf OUT.gguf [--ffn FRACTION] [--heads FRACTION]\n"
		"                   [--method magnitude|activation] [-f CALIB.txt] [--sparsity S]\n"
		"\n"
		"Remove whole FFN channels and attention heads (a KV head with its query heads),\n"
		"the same number in every layer, with their rows and columns in every tensor\n"
		"that touches them: the output is a smaller dense model. Channels and heads are\n"
		"ranked by their weights' magnitude, or by their activations over a calibration\n"
		"text (--method activation -f FILE). IN must be f32, f16 or bf16; quantize after.\n"
		"\n"
		"  --ffn FRACTION      FFN channels to remove per layer (0..1, default 0)\n"
		"  --heads FRACTION    KV head groups to remove per layer (0..1, default 0)\n"
		"  --method M          magnitude (default) or activation\n"
		"  -f, --file FILE     calibration text for --method activation\n"
		"  -c, --ctx N         its chunk length (default 512)\n"
		"  --sparsity S        also zero the fraction S of smallest weights of each layer\n"
		"                      matrix (unstructured) and report what that would save\n"
		"  -t, --threads N     threads for the calibration (default: one per CPU)\n"
		"  -h, --help          this help\n");
}

static int frac(const char *opt, const char *s, double *out)
{
	char *end;

	*out = strtod(s, &end);
	if (*end || !(*out >= 0 && *out < 1)) {
		fprintf(stderr, "llmos prune: %s wants a fraction in [0, 1), not '%s'\n", opt, s);
		return 2;
	}
	return 0;
}

static int pr_parse(int argc, char **argv, struct pr_opts *o)
{
	static const struct option longopts[] = {
		{ "ffn", 1, NULL, 1 },	  { "heads", 1, NULL, 2 },  { "method", 1, NULL, 3 },
		{ "sparsity", 1, NULL, 4 }, { "file", 1, NULL, 'f' }, { "ctx", 1, NULL, 'c' },
		{ "threads", 1, NULL, 't' }, { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int c, bad = 0;

	while (!bad && (c = getopt_long(argc, argv, "f:c:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 1: bad = frac("--ffn", optarg, &o->ffn); break;
		case 2: bad = frac("--heads", optarg, &o->heads); break;
		case 4: bad = frac("--sparsity", optarg, &o->sparsity); break;
		case 3:
			o->activation = !strcmp(optarg, "activation");
			if (!o->activation && strcmp(optarg, "magnitude")) {
				fprintf(stderr, "llmos prune: --method is magnitude or activation\n");
				bad = 2;
			}
			break;
		case 'f': o->calib = optarg; break;
		case 'c': bad = cli_int("prune", "-c", optarg, 16, 1 << 20, &o->ctx); break;
		case 't': bad = cli_int("prune", "-t", optarg, 1, 256, &o->threads); break;
		case 'h': pr_usage(stdout); return -1;
		default: pr_usage(stderr); return 2;
		}
	}
	if (bad)
		return 2;
	if (argc - optind != 2 || (o->activation && !o->calib)) {
		fprintf(stderr, "llmos prune: IN.gguf OUT.gguf are required%s\n",
			o->activation && !o->calib ? ", and -f CALIB.txt with --method activation" : "");
		pr_usage(stderr);
		return 2;
	}
	if (!o->ffn && !o->heads && !o->sparsity) {
		fprintf(stderr, "llmos prune: nothing to do: give --ffn, --heads or --sparsity\n");
		return 2;
	}
	o->in = argv[optind];
	o->out = argv[optind + 1];
	return 0;
}

/* A copy of t keeping n of its rows (by_rows) or columns, listed in idx. */
static void *select_part(const struct gguf_tensor *t, const int *idx, int n, bool by_rows,
			 uint64_t *ne)
{
	size_t es = t->type == LLMOS_TYPE_F32 ? 4 : 2;
	uint64_t cols = t->n_dims == 1 ? 1 : t->ne[0], rows = t->n_elems / cols;
	uint64_t ncols = by_rows ? cols : (uint64_t)n, nrows = by_rows ? (uint64_t)n : rows;
	char *out = malloc(nrows * ncols * es + 1);
	const char *in = t->data;

	if (!out)
		return NULL;
	for (uint64_t r = 0; r < nrows; r++)
		for (uint64_t c = 0; c < ncols; c++) {
			uint64_t sr = by_rows ? (uint64_t)idx[r] : r, sc = by_rows ? c : (uint64_t)idx[c];

			memcpy(out + (r * ncols + c) * es, in + (sr * cols + sc) * es, es);
		}
	memcpy(ne, t->ne, sizeof(t->ne));
	if (t->n_dims == 1)
		ne[0] = (uint64_t)n;
	else if (by_rows)
		ne[1] = (uint64_t)n;
	else
		ne[0] = (uint64_t)n;
	return out;
}

static double value_at(const void *data, uint32_t type, uint64_t i)
{
	if (type == LLMOS_TYPE_F32)
		return ((const float *)data)[i];
	if (type == LLMOS_TYPE_F16)
		return llmos_fp16_to_fp32(((const llmos_fp16 *)data)[i]);
	return llmos_bf16_to_fp32(((const llmos_bf16 *)data)[i]);
}

static int by_abs(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

/* Zero the fraction s of smallest magnitudes of n values; counts what it zeroed. */
static int sparsify(void *data, uint32_t type, uint64_t n, double s, uint64_t *zeroed)
{
	size_t es = type == LLMOS_TYPE_F32 ? 4 : 2;
	uint64_t k = (uint64_t)llround(s * (double)n), done = 0;
	float *mag = malloc(n * sizeof(*mag) + 1), cut;

	if (!mag)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++)
		mag[i] = (float)fabs(value_at(data, type, i));
	qsort(mag, n, sizeof(*mag), by_abs);
	cut = k ? mag[k - 1] : -1;
	for (uint64_t i = 0; i < n && done < k; i++)
		if ((float)fabs(value_at(data, type, i)) <= cut) {
			memset((char *)data + i * es, 0, es);
			done++;
		}
	free(mag);
	*zeroed += done;
	return 0;
}

/* One tensor: rows or columns selected by the plan, then made sparse if asked. */
static int add_tensor(struct pr_job *j, uint64_t i)
{
	const struct gguf_tensor *t = gguf_tensor_at(j->in, i);
	uint64_t ne[GGUF_MAX_DIMS], rows = t->n_dims == 1 ? t->ne[0] : t->n_elems / t->ne[0];
	bool is_float = t->type == LLMOS_TYPE_F32 || t->type == LLMOS_TYPE_F16 ||
			t->type == LLMOS_TYPE_BF16;
	bool by_rows, sparse = j->o->sparsity > 0 && is_float && t->n_dims >= 2 &&
			       !strncmp(t->name, "blk.", 4) && strstr(t->name, ".weight");
	int *idx = NULL, n = -1, ret = 0;
	void *data = NULL;

	if (j->planned && (ret = prune_tensor_selection(&j->plan, t->name, rows, &idx, &n, &by_rows)))
		return ret;
	if (n >= 0)
		data = select_part(t, idx, n, by_rows, ne);
	else if (sparse && (data = malloc(t->size + 1)))
		memcpy(data, t->data, t->size), memcpy(ne, t->ne, sizeof(ne));
	free(idx);
	if ((n >= 0 || sparse) && !data)
		return llmos_fail(-ENOMEM, "prune: out of memory for %s", t->name);
	if (!data)
		return gguf_writer_add_tensor(j->w, t->name, t->type, t->n_dims, t->ne, t->data);
	j->bufs[i] = data;
	if (sparse) {
		uint64_t cnt = ne[0] * (t->n_dims > 1 ? ne[1] : 1);

		ret = sparsify(data, t->type, cnt, j->o->sparsity, &j->zeroed);
		j->sparse_total += cnt;
	}
	return ret ? ret : gguf_writer_add_tensor(j->w, t->name, t->type, t->n_dims, ne, data);
}

/* The metadata, with the new per-layer sizes. */
static int add_metadata(struct pr_job *j)
{
	const struct prune_shape *s = &j->plan.s;
	static const char *const sized[] = { "feed_forward_length", "attention.head_count",
					     "attention.head_count_kv", "attention.key_length",
					     "attention.value_length" };
	uint32_t vals[5] = { 0 };
	char key[160];
	int ret = 0;

	if (!j->planned)
		goto copy_all;
	vals[0] = (uint32_t)j->plan.ffn_keep;
	vals[1] = (uint32_t)(j->plan.kv_keep * (s->n_head / s->n_kv));
	vals[2] = (uint32_t)j->plan.kv_keep;
	vals[3] = vals[4] = (uint32_t)s->head_dim; /* no longer dim / heads: say it */
copy_all:
	for (uint64_t i = 0; !ret && i < gguf_kv_count(j->in); i++) {
		const struct gguf_kv *kv = gguf_kv_at(j->in, i);
		bool skip = false;

		for (size_t k = 0; j->planned && k < 5; k++) {
			snprintf(key, sizeof(key), "%s.%s", s->arch, sized[k]);
			skip |= kv->key.len == strlen(key) && !memcmp(kv->key.ptr, key, kv->key.len);
		}
		if (!skip && !(kv->key.len == 17 && !memcmp(kv->key.ptr, "general.alignment", 17)))
			ret = gguf_writer_copy_kv(j->w, kv);
	}
	for (size_t k = 0; !ret && j->planned && k < 5; k++) {
		snprintf(key, sizeof(key), "%s.%s", s->arch, sized[k]);
		ret = gguf_writer_add_u32(j->w, key, vals[k]);
	}
	return ret;
}

static int prune_file(struct pr_job *j, const struct llmos_imatrix *im)
{
	struct prune_shape s;
	int ret = 0;

	j->bufs = calloc(gguf_tensor_count(j->in) + 1, sizeof(*j->bufs));
	if (!j->bufs)
		return -ENOMEM;
	if (j->o->ffn || j->o->heads) {
		ret = prune_shape_read(j->in, &s);
		if (!ret)
			ret = prune_plan_make(j->in, &s, j->o->ffn, j->o->heads, im, &j->plan);
		j->planned = !ret;
	}
	if (!ret)
		ret = gguf_writer_new(&j->w);
	if (!ret)
		ret = add_metadata(j);
	for (uint64_t i = 0; !ret && i < gguf_tensor_count(j->in); i++) {
		j->bytes_in += gguf_tensor_at(j->in, i)->size;
		ret = add_tensor(j, i);
	}
	if (!ret)
		ret = gguf_writer_write(j->w, j->o->out, 0);
	return ret;
}

static void report(const struct pr_job *j)
{
	const struct prune_shape *s = &j->plan.s;
	struct gguf_file *out;
	uint64_t size = 0;

	if (!gguf_open(&out, j->o->out)) {
		size = gguf_size(out);
		gguf_close(out);
	}
	printf("llmos prune: %s -> %s: %.2f MiB -> %.2f MiB (%+.1f%%)\n", j->o->in, j->o->out,
	       gguf_size(j->in) / 1048576.0, size / 1048576.0,
	       100.0 * ((double)size / (double)gguf_size(j->in) - 1));
	if (j->planned)
		printf("  per layer (every layer alike): FFN %d -> %d channels, heads %d -> %d "
		       "(KV heads %d -> %d), ranked by %s\n", s->ffn, j->plan.ffn_keep, s->n_head,
		       j->plan.kv_keep * (s->n_head / s->n_kv), s->n_kv, j->plan.kv_keep,
		       j->o->activation ? "activation" : "magnitude");
	if (j->sparse_total) {
		double nz = (double)(j->sparse_total - j->zeroed);

		printf("  unstructured: %" PRIu64 " of %" PRIu64 " layer weights zeroed (%.1f%%); the "
		       "file stays dense. Stored sparse they would take %.2f MiB as fp16 values + a "
		       "bitmask, %.2f MiB as fp16 values + 16-bit indices, against %.2f MiB dense "
		       "fp16\n", j->zeroed, j->sparse_total, 100.0 * (double)j->zeroed /
		       (double)j->sparse_total, (nz * 2 + (double)j->sparse_total / 8) / 1048576.0,
		       nz * 4 / 1048576.0, (double)j->sparse_total * 2 / 1048576.0);
	}
}

int cmd_prune(int argc, char **argv)
{
	struct pr_opts o = { .ctx = 512 };
	struct llmos_imatrix *im = NULL;
	struct pr_job j;
	int ret = pr_parse(argc, argv, &o);

	if (ret)
		return ret < 0 ? 0 : ret;
	memset(&j, 0, sizeof(j));
	j.o = &o;
	if (o.activation && cli_collect_imatrix("prune", o.in, o.calib, o.ctx, 0, o.threads, &im))
		return 1;
	ret = gguf_open(&j.in, o.in);
	if (!ret)
		ret = prune_file(&j, im);
	if (!ret)
		report(&j);
	for (uint64_t i = 0; j.bufs && i < gguf_tensor_count(j.in); i++)
		free(j.bufs[i]);
	free(j.bufs);
	if (j.planned)
		prune_plan_free(&j.plan);
	gguf_writer_free(j.w);
	gguf_close(j.in);
	llmos_imatrix_free(im);
	return ret ? cli_error("prune", "cannot prune", ret) : 0;
}
