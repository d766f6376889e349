/* SPDX-License-Identifier: MIT */
/*
 * cmd_imatrix.c - `llmos imatrix -m MODEL -f CALIB.txt -o FILE`: the mean
 * square of each input column of every layer matmul over a calibration
 * text, evaluated in chunks of CTX tokens as llama.cpp's llama-imatrix does
 * (BOS first in each chunk), written in its imatrix.dat layout
 * (lib/imatrix.c) for `llmos quantize --imatrix`.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "imatrix.h"

static void im_usage(FILE *out)
{
	fprintf(out, "usage: llmos imatrix -m MODEL.gguf -f CALIB.txt -o IMATRIX.dat [-c CTX]\n"
		     "                     [--chunks N] [-t THREADS]\n"
		     "\n"
		     "Compute an importance matrix: for each weight matrix of the layers, the mean\n"
		     "square of each input column over the text, evaluated in chunks of CTX tokens.\n"
		     "The file is in llama.cpp's imatrix.dat layout (Documentation/compression.md).\n"
		     "\n"
		     "  -m, --model FILE    GGUF model (the unquantized one, best)\n"
		     "  -f, --file FILE     calibration text\n"
		     "  -o, --output FILE   where to write the matrix\n"
		     "  -c, --ctx N         chunk length in tokens (default 512)\n"
		     "      --chunks N      at most N chunks (default: all the text holds)\n"
		     "  -t, --threads N     threads (default: one per CPU)\n"
		     "  -h, --help          this help\n");
}

struct im_opts {
	const char *model, *file, *out;
	long ctx, chunks, threads;
};

static int im_parse(int argc, char **argv, struct im_opts *o)
{
	static const struct option longopts[] = {
		{ "model", 1, NULL, 'm' }, { "file", 1, NULL, 'f' }, { "output", 1, NULL, 'o' },
		{ "ctx", 1, NULL, 'c' },   { "chunks", 1, NULL, 1 }, { "threads", 1, NULL, 't' },
		{ "help", 0, NULL, 'h' },  { NULL, 0, NULL, 0 },
	};
	int c, bad = 0;

	while (!bad && (c = getopt_long(argc, argv, "m:f:o:c:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'f': o->file = optarg; break;
		case 'o': o->out = optarg; break;
		case 'c': bad = cli_int("imatrix", "-c", optarg, 16, 1 << 20, &o->ctx); break;
		case 1: bad = cli_int("imatrix", "--chunks", optarg, 1, 1 << 30, &o->chunks); break;
		case 't': bad = cli_int("imatrix", "-t", optarg, 1, 256, &o->threads); break;
		case 'h': im_usage(stdout); return -1;
		default: im_usage(stderr); return 2;
		}
	}
	if (bad)
		return 2;
	if (!o->model || !o->file || !o->out || optind != argc) {
		fprintf(stderr, "llmos imatrix: -m MODEL, -f FILE and -o OUTPUT are required\n");
		im_usage(stderr);
		return 2;
	}
	return 0;
}

/* Evaluate each chunk (at most max_chunks, 0: all) with its matmul inputs collected into im. */
static int collect(struct llmos_model *m, struct llmos_session *s, struct llmos_imatrix *im,
		   int32_t *ids, int n, long ctx, long max_chunks)
{
	struct llmos_model_desc d;
	int n_chunks = n / (int)ctx, ret;
	double t0 = cli_now();

	llmos_model_describe(m, &d);
	if (n_chunks < 1) {
		fprintf(stderr, "llmos: the calibration text has %d tokens, fewer than one chunk of "
				"%ld: use a smaller -c\n", n, ctx);
		return 1;
	}
	if (max_chunks && n_chunks > max_chunks)
		n_chunks = (int)max_chunks;
	if ((ret = llmos_imatrix_collect(s, im)))
		return cli_error("imatrix", "cannot collect", ret);
	for (int c = 0; c < n_chunks; c++) {
		int32_t *chunk = ids + (size_t)c * (size_t)ctx, saved = chunk[0];

		if (d.bos >= 0 && d.add_bos)
			chunk[0] = d.bos;
		llmos_session_reset(s);
		ret = llmos_session_eval(s, chunk, (uint32_t)ctx, 0);
		chunk[0] = saved;
		if (ret < 0)
			return cli_error("imatrix", "evaluation failed", ret);
		llmos_imatrix_set_chunks(im, c + 1);
		if (isatty(STDERR_FILENO))
			fprintf(stderr, "\rllmos: calibration chunk %d of %d, %.1f s", c + 1, n_chunks,
				cli_now() - t0);
	}
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "\n");
	llmos_imatrix_collect(s, NULL);
	return 0;
}

int cli_collect_imatrix(const char *cmd, const char *model, const char *text, long ctx,
			long max_chunks, long threads, struct llmos_imatrix **out)
{
	struct llmos_session *s = NULL;
	struct llmos_model *m = NULL;
	int32_t *ids = NULL;
	int n = 0, ret;

	*out = NULL;
	ret = cli_load(cmd, model, &m);
	if (!ret)
		ret = cli_session(cmd, m, (uint32_t)ctx, (uint32_t)threads, (uint32_t)ctx, &s);
	if (!ret)
		ret = cli_tokenize_file(cmd, m, text, &ids, &n);
	if (!ret && (ret = llmos_imatrix_new(out)))
		ret = cli_error(cmd, "out of memory", ret);
	if (!ret)
		ret = collect(m, s, *out, ids, n, ctx, max_chunks);
	if (ret) {
		llmos_imatrix_free(*out);
		*out = NULL;
	}
	free(ids);
	llmos_session_free(s);
	llmos_model_free(m);
	return ret;
}

int cmd_imatrix(int argc, char **argv)
{
	struct im_opts o = { NULL, NULL, NULL, 512, 0, 0 };
	struct llmos_imatrix *im = NULL;
	int ret = im_parse(argc, argv, &o);

	if (ret)
		return ret < 0 ? 0 : ret;
	ret = cli_collect_imatrix("imatrix", o.model, o.file, o.ctx, o.chunks, o.threads, &im);
	if (!ret && (ret = llmos_imatrix_write(im, o.out, o.file)) < 0)
		ret = cli_error("imatrix", o.out, ret);
	if (!ret)
		printf("llmos imatrix: %s: %d matrices, %d chunks of %ld tokens of %s\n", o.out,
		       llmos_imatrix_count(im), llmos_imatrix_chunks(im), o.ctx, o.file);
	llmos_imatrix_free(im);
	return ret ? 1 : 0;
}
