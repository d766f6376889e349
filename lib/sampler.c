/* SPDX-License-Identifier: MIT */
/*
 * sampler.c - choosing the next token from logits: greedy, or repetition
 * penalty, top-k, top-p, min-p and temperature (llama.cpp's order) followed
 * by a draw from a seeded generator, so a seed reproduces its text.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct candidate {
	int32_t id;
	float logit;
	float p;
};

struct llmos_sampler {
	struct llmos_sampler_params p;
	uint32_t n_vocab;
	struct candidate *cand; /* (n_vocab) */
	int32_t *recent;        /* ring of the last repeat_last_n tokens */
	uint32_t n_recent, recent_head;
	uint64_t rng;
};

void llmos_sampler_default_params(struct llmos_sampler_params *p)
{
	memset(p, 0, sizeof(*p));
	p->temp = 0.8f;
	p->top_k = 40;
	p->top_p = 0.95f;
	p->min_p = 0.05f;
	p->repeat_penalty = 1.0f;
	p->repeat_last_n = 64;
	p->seed = 0x5eed;
}

int llmos_sampler_create(struct llmos_sampler **out, const struct llmos_sampler_params *p,
			 uint32_t n_vocab)
{
	struct llmos_sampler *s;

	*out = NULL;
	if (!n_vocab || p->repeat_last_n < 0 || !(p->repeat_penalty > 0.0f) || isnan(p->temp) ||
	    isnan(p->top_p) || isnan(p->min_p))
		return llmos_fail(-EINVAL, "sampler: invalid parameters");
	s = calloc(1, sizeof(*s));
	if (!s)
		return llmos_fail(-ENOMEM, "sampler: out of memory");
	s->p = *p;
	s->n_vocab = n_vocab;
	s->rng = p->seed ^ 0x9e3779b97f4a7c15ull;
	s->cand = calloc(n_vocab, sizeof(*s->cand));
	s->recent = calloc(p->repeat_last_n ? p->repeat_last_n : 1, sizeof(*s->recent));
	if (!s->cand || !s->recent) {
		llmos_sampler_free(s);
		return llmos_fail(-ENOMEM, "sampler: out of memory");
	}
	*out = s;
	return 0;
}

void llmos_sampler_free(struct llmos_sampler *s)
{
	if (!s)
		return;
	free(s->cand);
	free(s->recent);
	free(s);
}

void llmos_sampler_accept(struct llmos_sampler *s, int32_t token)
{
	uint32_t cap = (uint32_t)s->p.repeat_last_n;

	if (!cap)
		return;
	s->recent[s->recent_head] = token;
	s->recent_head = (s->recent_head + 1) % cap;
	if (s->n_recent < cap)
		s->n_recent++;
}

/* splitmix64: small, fast, and the same sequence on every machine. */
static uint64_t next_u64(struct llmos_sampler *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double next_unit(struct llmos_sampler *s)
{
	return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* The highest logit; the lowest id among equals, as llama.cpp picks. */
static int32_t greedy(const struct candidate *c, uint32_t n)
{
	uint32_t i, best = 0;

	for (i = 1; i < n; i++)
		if (c[i].logit > c[best].logit)
			best = i;
	return c[best].id;
}

/*
 * Move the k highest-logit candidates (ties to the lower id) to the front,
 * unsorted; one pass with a small sorted window, cheap for k << n.
 */
static uint32_t select_top_k(struct candidate *c, uint32_t n, uint32_t k)
{
	uint32_t i, j, kept = 0;

	for (i = 0; i < n; i++) {
		struct candidate x = c[i];

		if (kept == k && x.logit <= c[k - 1].logit)
			continue;
		j = kept < k ? kept++ : k - 1;
		while (j > 0 && c[j - 1].logit < x.logit) {
			c[j] = c[j - 1];
			j--;
		}
		c[j] = x;
	}
	return kept;
}

/* Each recent token (counted once) pulls its logit toward "less likely". */
static void apply_penalty(struct llmos_sampler *s)
{
	uint32_t i, j;

	for (i = 0; i < s->n_recent; i++) {
		struct candidate *c = &s->cand[s->recent[i]];
		int seen = 0;

		for (j = 0; j < i; j++)
			seen |= s->recent[j] == s->recent[i];
		if (seen || s->recent[i] < 0 || (uint32_t)s->recent[i] >= s->n_vocab)
			continue;
		c->logit = c->logit > 0 ? c->logit / s->p.repeat_penalty
					: c->logit * s->p.repeat_penalty;
	}
}

static int by_logit_desc(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;

	if (x->logit != y->logit)
		return x->logit < y->logit ? 1 : -1;
	return x->id - y->id;
}

/* Probabilities of the first n candidates (sorted) at temperature t. */
static void softmax_candidates(struct candidate *c, uint32_t n, float t)
{
	double sum = 0;
	uint32_t i;

	for (i = 0; i < n; i++) {
		c[i].p = expf((c[i].logit - c[0].logit) / t);
		sum += c[i].p;
	}
	for (i = 0; i < n; i++)
		c[i].p = (float)(c[i].p / sum);
}

/* How many of the n sorted candidates top-p and min-p keep (at least one). */
static uint32_t truncate_candidates(const struct llmos_sampler *s, uint32_t n)
{
	double cum = 0;
	uint32_t i;

	if (s->p.top_p < 1.0f) {
		for (i = 0; i < n; i++) {
			cum += s->cand[i].p;
			if (cum >= s->p.top_p) {
				n = i + 1;
				break;
			}
		}
	}
	if (s->p.min_p > 0.0f) {
		for (i = 1; i < n; i++)
			if (s->cand[i].p < s->p.min_p * s->cand[0].p)
				return i;
	}
	return n;
}

static int32_t draw(struct llmos_sampler *s, uint32_t n)
{
	double r, cum = 0, total = 0;
	uint32_t i;

	for (i = 0; i < n; i++)
		total += s->cand[i].p;
	r = next_unit(s) * total;
	for (i = 0; i < n; i++) {
		cum += s->cand[i].p;
		if (r < cum)
			return s->cand[i].id;
	}
	return s->cand[n - 1].id;
}

int32_t llmos_sampler_sample(struct llmos_sampler *s, const float *logits)
{
	uint32_t i, n = s->n_vocab;
	int32_t id;

	for (i = 0; i < n; i++)
		s->cand[i] = (struct candidate){ (int32_t)i, logits[i], 0 };
	if (s->p.repeat_penalty != 1.0f)
		apply_penalty(s);
	if (s->p.temp <= 0.0f) {
		id = greedy(s->cand, n);
		llmos_sampler_accept(s, id);
		return id;
	}
	if (s->p.top_k > 0 && (uint32_t)s->p.top_k < n)
		n = select_top_k(s->cand, n, (uint32_t)s->p.top_k);
	qsort(s->cand, n, sizeof(*s->cand), by_logit_desc);
	softmax_candidates(s->cand, n, 1.0f);
	n = truncate_candidates(s, n);
	softmax_candidates(s->cand, n, s->p.temp);
	id = draw(s, n);
	llmos_sampler_accept(s, id);
	return id;
}
