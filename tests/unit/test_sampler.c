/* SPDX-License-Identifier: MIT */
/*
 * test_sampler.c - the sampler: greedy, truncations that leave one choice,
 * the repetition penalty, seeded reproducibility, and that temperature
 * sampling follows the softmax distribution.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "llmos/llmos.h"

static const float logits[8] = { 1.0f, 3.0f, 2.5f, -1.0f, 0.0f, 2.9f, 0.5f, 3.0f };

static struct llmos_sampler *make(float temp, int top_k, float top_p, float min_p,
				  float penalty, uint64_t seed)
{
	struct llmos_sampler_params p;
	struct llmos_sampler *s;

	llmos_sampler_default_params(&p);
	p.temp = temp;
	p.top_k = top_k;
	p.top_p = top_p;
	p.min_p = min_p;
	p.repeat_penalty = penalty;
	p.seed = seed;
	assert_int_equal(0, llmos_sampler_create(&s, &p, 8));
	return s;
}

static void greedy_takes_the_first_maximum(void **state)
{
	struct llmos_sampler *s = make(0.0f, 40, 0.95f, 0.05f, 1.0f, 1);

	(void)state;
	assert_int_equal(1, llmos_sampler_sample(s, logits));
	llmos_sampler_free(s);
}

static void top_k_one_is_greedy(void **state)
{
	struct llmos_sampler *s = make(1.5f, 1, 1.0f, 0.0f, 1.0f, 7);
	int i;

	(void)state;
	for (i = 0; i < 50; i++)
		assert_int_equal(1, llmos_sampler_sample(s, logits));
	llmos_sampler_free(s);
}

static void tiny_top_p_and_full_min_p_are_greedy(void **state)
{
	struct llmos_sampler *a = make(1.0f, 0, 0.01f, 0.0f, 1.0f, 3);
	struct llmos_sampler *b = make(1.0f, 0, 1.0f, 1.0f, 1.0f, 3);
	int i;

	(void)state;
	for (i = 0; i < 50; i++) {
		assert_int_equal(1, llmos_sampler_sample(a, logits));
		/* min-p 1 keeps the top and its exact equals: ids 1 and 7 */
		int id = llmos_sampler_sample(b, logits);
		assert_true(id == 1 || id == 7);
	}
	llmos_sampler_free(a);
	llmos_sampler_free(b);
}

static void repetition_penalty_moves_greedy_choice(void **state)
{
	struct llmos_sampler *s = make(0.0f, 0, 1.0f, 0.0f, 2.0f, 1);

	(void)state;
	llmos_sampler_accept(s, 1);
	llmos_sampler_accept(s, 7);
	/* 3.0 / 2 = 1.5 for ids 1 and 7, so 2.9 (id 5) wins */
	assert_int_equal(5, llmos_sampler_sample(s, logits));
	llmos_sampler_free(s);
}

static void same_seed_same_choices(void **state)
{
	struct llmos_sampler *a = make(1.0f, 0, 1.0f, 0.0f, 1.0f, 42);
	struct llmos_sampler *b = make(1.0f, 0, 1.0f, 0.0f, 1.0f, 42);
	struct llmos_sampler *c = make(1.0f, 0, 1.0f, 0.0f, 1.0f, 43);
	int i, differ = 0;

	(void)state;
	for (i = 0; i < 200; i++) {
		int x = llmos_sampler_sample(a, logits);

		assert_int_equal(x, llmos_sampler_sample(b, logits));
		differ += x != llmos_sampler_sample(c, logits);
	}
	assert_true(differ > 0);
	llmos_sampler_free(a);
	llmos_sampler_free(b);
	llmos_sampler_free(c);
}

/* 20000 draws at temperature 1 match softmax(logits) within 1.5 points. */
static void temperature_sampling_follows_softmax(void **state)
{
	struct llmos_sampler *s = make(1.0f, 0, 1.0f, 0.0f, 1.0f, 99);
	double p[8], sum = 0;
	int count[8] = { 0 }, i, n = 20000;

	(void)state;
	for (i = 0; i < 8; i++)
		sum += p[i] = exp(logits[i]);
	for (i = 0; i < n; i++)
		count[llmos_sampler_sample(s, logits)]++;
	for (i = 0; i < 8; i++)
		assert_true(fabs((double)count[i] / n - p[i] / sum) < 0.015);
	llmos_sampler_free(s);
}

static void bad_parameters_are_refused(void **state)
{
	struct llmos_sampler_params p;
	struct llmos_sampler *s;

	(void)state;
	llmos_sampler_default_params(&p);
	assert_int_equal(-22, llmos_sampler_create(&s, &p, 0));
	p.repeat_penalty = 0.0f;
	assert_int_equal(-22, llmos_sampler_create(&s, &p, 8));
	p.repeat_penalty = 1.0f;
	p.temp = NAN;
	assert_int_equal(-22, llmos_sampler_create(&s, &p, 8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(greedy_takes_the_first_maximum),
		cmocka_unit_test(top_k_one_is_greedy),
		cmocka_unit_test(tiny_top_p_and_full_min_p_are_greedy),
		cmocka_unit_test(repetition_penalty_moves_greedy_choice),
		cmocka_unit_test(same_seed_same_choices),
		cmocka_unit_test(temperature_sampling_follows_softmax),
		cmocka_unit_test(bad_parameters_are_refused),
	};

	return cmocka_run_group_tests_name("sampler", tests, NULL, NULL);
}
