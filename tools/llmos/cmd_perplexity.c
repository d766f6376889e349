/* SPDX-License-Identifier: MIT */
/*
 * cmd_perplexity.c - `llmos perplexity`, llama.cpp's method: tokenize the
 * whole file with BOS, cut it into chunks of CTX tokens, put BOS first in
 * each chunk, and score only the second half of each chunk, each token by
 * the logits of the position before it.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void ppl_usage(FILE *out)
{
	fprintf(out, "usage: llmos perplexity -m MODEL.gguf -f TEXT_FILE [-c CTX] [-t THREADS]\n"
		     "\n"
		     "Perplexity of the model on a text, computed as llama.cpp's llama-perplexity\n"
		     "does. Prints the running value per chunk, then 'PPL = <value>'.\n"
		     "\n"
		     "  -m, --model FILE    GGUF model file\n"
		     "  -f, --file FILE     the text\n"
		     "  -c, --ctx N         chunk length in tokens (default 512)\n"
		     "  -t, --threads N     threads (default: one per CPU)\n"
		     "  -b, --batch N       tokens per forward step (default 64)\n"
		     "  -h, --help          this help\n");
}

/* -log p(target) from one row of logits, in double precision. */
static double nll(const float *logits, int n_vocab, int32_t target)
{
	double max = logits[0], sum = 0;
	int i;

	for (i = 1; i < n_vocab; i++)
		if (logits[i] > max)
			max = logits[i];
	for (i = 0; i < n_vocab; i++)
		sum += exp(logits[i] - max);
	return -(logits[target] - max - log(sum));
}

static int score_chunks(struct llmos_session *s, const struct llmos_model_desc *d, int32_t *ids,
			int n_ids, int ctx)
{
	int n_chunks = n_ids / ctx, c, i, first = ctx / 2;
	double total = 0;
	long counted = 0;

	if (n_chunks < 1) {
		fprintf(stderr, "llmos perplexity: the text has %d tokens, fewer than one chunk of "
				"%d: use a smaller -c\n", n_ids, ctx);
		return 1;
	}
	fprintf(stderr, "llmos perplexity: %d tokens, %d chunks of %d\n", n_ids, n_chunks, ctx);
	for (c = 0; c < n_chunks; c++) {
		int32_t *chunk = ids + (size_t)c * ctx, saved = chunk[0];
		int ret;

		if (d->bos >= 0 && d->add_bos)
			chunk[0] = d->bos;
		llmos_session_reset(s);
		ret = llmos_session_eval(s, chunk, (uint32_t)ctx, LLMOS_EVAL_ALL_LOGITS);
		chunk[0] = saved;
		if (ret < 0)
			return cli_error("perplexity", "evaluation failed", ret);
		for (i = first; i < ctx - 1; i++, counted++)
			total += nll(llmos_session_logits(s, i), (int)d->n_vocab,
				     ids[(size_t)c * ctx + i + 1]);
		printf("[%d]%.4f%s", c + 1, exp(total / counted), c + 1 < n_chunks ? "," : "\n");
		fflush(stdout);
	}
	printf("PPL = %.4f\n", exp(total / counted));
	return 0;
}

int cmd_perplexity(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "model", 1, NULL, 'm' },   { "file", 1, NULL, 'f' }, { "ctx", 1, NULL, 'c' },
		{ "threads", 1, NULL, 't' }, { "batch", 1, NULL, 'b' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *model = NULL, *file = NULL;
	long ctx = 512, threads = 0, batch = 0;
	struct llmos_session *s = NULL;
	struct llmos_model *m = NULL;
	struct llmos_model_desc d;
	int32_t *ids = NULL;
	char *text = NULL;
	int c, n = 0, ret;
	size_t len;

	while ((c = getopt_long(argc, argv, "m:f:c:t:b:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 'f': file = optarg; break;
		case 'c': if (cli_int("perplexity", "-c", optarg, 4, 1 << 20, &ctx)) return 2; break;
		case 't': if (cli_int("perplexity", "-t", optarg, 1, 256, &threads)) return 2; break;
		case 'b': if (cli_int("perplexity", "-b", optarg, 1, 1 << 16, &batch)) return 2; break;
		case 'h': ppl_usage(stdout); return 0;
		default: ppl_usage(stderr); return 2;
		}
	}
	if (!model || !file || optind != argc) {
		fprintf(stderr, "llmos perplexity: -m MODEL and -f FILE are required\n");
		ppl_usage(stderr);
		return 2;
	}
	ret = cli_read_file("perplexity", file, &text, &len);
	if (!ret)
		ret = cli_load("perplexity", model, &m);
	if (!ret)
		ret = cli_session("perplexity", m, (uint32_t)ctx, (uint32_t)threads, (uint32_t)batch,
				  &s);
	if (!ret) {
		llmos_model_describe(m, &d);
		ids = malloc(llmos_tokenize_bound(len) * sizeof(*ids));
		n = ids ? llmos_model_tokenize(m, text, len, d.add_bos ? LLMOS_TOKENIZE_BOS : 0, ids,
					       llmos_tokenize_bound(len))
			: -12;
		ret = n < 0 ? cli_error("perplexity", "cannot tokenize", n)
			    : score_chunks(s, &d, ids, n, (int)ctx);
	}
	free(ids);
	free(text);
	llmos_session_free(s);
	llmos_model_free(m);
	return ret;
}
