/* SPDX-License-Identifier: MIT */
/*
 * cmd_compare.c - `llmos compare -m A -m B -f TEXT`: is a compressed model
 * still the model?  Both evaluate the same chunks of the text (llama.cpp's
 * perplexity method: BOS first, the second half of each chunk scored); for
 * every scored token it takes each model's perplexity term, the KL
 * divergence of B's next-token distribution from A's, KL(A || B), and
 * whether their most likely tokens agree.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct cmp_opts {
	const char *model[2], *file;
	long ctx, chunks, threads;
};

struct cmp_sums {
	double nll[2], kl, kl_max;
	long tokens, agree;
	double *kls; /* each token's KL, for the percentiles */
};

static void cmp_usage(FILE *out)
{
	fprintf(out, "usage: llmos compare -m A.gguf -m B.gguf -f TEXT [-c CTX] [--chunks N]\n"
		     "                     [-t THREADS]\n"
		     "\n"
		     "Perplexity of each model on the text, the KL divergence of B's token\n"
		     "distributions from A's (A the reference: KL(A || B), in nats), and how often\n"
		     "their most likely next tokens agree. The models must share a vocabulary.\n"
		     "\n"
		     "  -m, --model FILE    A, then B\n"
		     "  -f, --file FILE     the text\n"
		     "  -c, --ctx N         chunk length in tokens (default 512)\n"
		     "      --chunks N      at most N chunks (default: all the text holds)\n"
		     "  -t, --threads N     threads (default: one per CPU)\n"
		     "  -h, --help          this help\n");
}

static int cmp_parse(int argc, char **argv, struct cmp_opts *o)
{
	static const struct option longopts[] = {
		{ "model", 1, NULL, 'm' }, { "file", 1, NULL, 'f' }, { "ctx", 1, NULL, 'c' },
		{ "chunks", 1, NULL, 1 },  { "threads", 1, NULL, 't' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, bad = 0, nm = 0;

	while (!bad && (c = getopt_long(argc, argv, "m:f:c:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (nm == 2) {
				fprintf(stderr, "llmos compare: give two models, A and B\n");
				return 2;
			}
			o->model[nm++] = optarg;
			break;
		case 'f': o->file = optarg; break;
		case 'c': bad = cli_int("compare", "-c", optarg, 4, 1 << 20, &o->ctx); break;
		case 1: bad = cli_int("compare", "--chunks", optarg, 1, 1 << 30, &o->chunks); break;
		case 't': bad = cli_int("compare", "-t", optarg, 1, 256, &o->threads); break;
		case 'h': cmp_usage(stdout); return -1;
		default: cmp_usage(stderr); return 2;
		}
	}
	if (bad)
		return 2;
	if (nm != 2 || !o->file || optind != argc) {
		fprintf(stderr, "llmos compare: -m A -m B and -f FILE are required\n");
		cmp_usage(stderr);
		return 2;
	}
	return 0;
}

/* log-softmax of a row of logits into lp, in double precision. */
static void log_softmax(const float *logits, int n, double *lp)
{
	double max = logits[0], sum = 0;

	for (int i = 1; i < n; i++)
		max = logits[i] > max ? logits[i] : max;
	for (int i = 0; i < n; i++)
		sum += exp(logits[i] - max);
	for (int i = 0; i < n; i++)
		lp[i] = logits[i] - max - log(sum);
}

static int argmax(const double *v, int n)
{
	int best = 0;

	for (int i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

/* One scored position: both models' log-probabilities of the next token, KL, agreement. */
static void score(struct cmp_sums *s, const float *la, const float *lb, int n_vocab,
		  int32_t target, double *lpa, double *lpb)
{
	double kl = 0;

	log_softmax(la, n_vocab, lpa);
	log_softmax(lb, n_vocab, lpb);
	for (int i = 0; i < n_vocab; i++)
		kl += exp(lpa[i]) * (lpa[i] - lpb[i]);
	s->nll[0] -= lpa[target];
	s->nll[1] -= lpb[target];
	s->kl += kl;
	s->kl_max = kl > s->kl_max ? kl : s->kl_max;
	s->kls[s->tokens++] = kl;
	s->agree += argmax(lpa, n_vocab) == argmax(lpb, n_vocab);
}

static int eval_chunk(struct llmos_session *s, int32_t *chunk, int ctx, int32_t bos)
{
	int32_t saved = chunk[0];
	int ret;

	if (bos >= 0)
		chunk[0] = bos;
	llmos_session_reset(s);
	ret = llmos_session_eval(s, chunk, (uint32_t)ctx, LLMOS_EVAL_ALL_LOGITS);
	chunk[0] = saved;
	return ret;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const struct cmp_opts *o, struct cmp_sums *s, int n_chunks)
{
	double n = (double)s->tokens;

	qsort(s->kls, (size_t)s->tokens, sizeof(*s->kls), by_value);
	printf("llmos compare: %d chunks of %ld tokens of %s, %ld tokens scored\n", n_chunks, o->ctx,
	       o->file, s->tokens);
	printf("PPL(A) = %.4f   %s\n", exp(s->nll[0] / n), o->model[0]);
	printf("PPL(B) = %.4f   %s\n", exp(s->nll[1] / n), o->model[1]);
	printf("PPL(B)/PPL(A) = %.4f\n", exp((s->nll[1] - s->nll[0]) / n));
	printf("KL(A||B) mean = %.6f, median = %.6f, 99%% = %.6f, max = %.6f nats\n", s->kl / n,
	       s->kls[s->tokens / 2], s->kls[(long)(0.99 * (double)(s->tokens - 1))], s->kl_max);
	printf("top-1 agreement = %.2f%%\n", 100.0 * (double)s->agree / n);
}

static int compare(const struct cmp_opts *o, struct llmos_session *s[2],
		   const struct llmos_model_desc *d, int32_t *ids, int n)
{
	int n_chunks = n / (int)o->ctx, first = (int)o->ctx / 2, ret = 0;
	struct cmp_sums sums = { { 0, 0 }, 0, 0, 0, 0, NULL };
	double *lp = malloc(2 * (size_t)d->n_vocab * sizeof(*lp));
	int32_t bos = d->bos >= 0 && d->add_bos ? d->bos : -1;

	if (o->chunks && n_chunks > o->chunks)
		n_chunks = (int)o->chunks;
	if (n_chunks < 1) {
		free(lp);
		fprintf(stderr, "llmos compare: the text has %d tokens, fewer than one chunk of %ld: "
				"use a smaller -c\n", n, o->ctx);
		return 1;
	}
	sums.kls = malloc((size_t)n_chunks * (size_t)o->ctx * sizeof(*sums.kls));
	if (!lp || !sums.kls)
		ret = cli_error("compare", "out of memory", -12);
	for (int c = 0; c < n_chunks && !ret; c++) {
		int32_t *chunk = ids + (size_t)c * (size_t)o->ctx;

		for (int k = 0; k < 2 && !ret; k++)
			if ((ret = eval_chunk(s[k], chunk, (int)o->ctx, bos)) < 0)
				ret = cli_error("compare", o->model[k], ret);
		for (int i = first; i < o->ctx - 1 && !ret; i++)
			score(&sums, llmos_session_logits(s[0], i), llmos_session_logits(s[1], i),
			      (int)d->n_vocab, chunk[i + 1], lp, lp + d->n_vocab);
	}
	if (!ret)
		report(o, &sums, n_chunks);
	free(sums.kls);
	free(lp);
	return ret;
}

int cmd_compare(int argc, char **argv)
{
	struct cmp_opts o = { { NULL, NULL }, NULL, 512, 0, 0 };
	struct llmos_session *s[2] = { NULL, NULL };
	struct llmos_model *m[2] = { NULL, NULL };
	struct llmos_model_desc d[2];
	int32_t *ids = NULL;
	int n = 0, ret = cmp_parse(argc, argv, &o);

	if (ret)
		return ret < 0 ? 0 : ret;
	for (int k = 0; k < 2 && !ret; k++) {
		ret = cli_load("compare", o.model[k], &m[k]);
		if (!ret)
			ret = cli_session("compare", m[k], (uint32_t)o.ctx, (uint32_t)o.threads, 0,
					  &s[k]);
		if (!ret)
			llmos_model_describe(m[k], &d[k]);
	}
	if (!ret && d[0].n_vocab != d[1].n_vocab) {
		fprintf(stderr, "llmos compare: the models' vocabularies differ (%u and %u tokens)\n",
			d[0].n_vocab, d[1].n_vocab);
		ret = 1;
	}
	if (!ret)
		ret = cli_tokenize_file("compare", m[0], o.file, &ids, &n);
	if (!ret)
		ret = compare(&o, s, &d[0], ids, n);
	free(ids);
	for (int k = 0; k < 2; k++) {
		llmos_session_free(s[k]);
		llmos_model_free(m[k]);
	}
	return ret ? 1 : 0;
}
