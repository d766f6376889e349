/* SPDX-License-Identifier: MIT */
/*
 * test_threadpool.c - every thread of the pool runs each task exactly once,
 * with the right ith/nth, over many back-to-back runs and after the
 * workers have gone to sleep.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "threadpool.h"

#define MAX_THREADS 8

struct count_task {
	int nth;
	_Atomic int bad_nth;
	_Atomic int calls;
	int per_thread[MAX_THREADS]; /* each slot written by its own thread only */
};

static void count_fn(void *arg, int ith, int nth)
{
	struct count_task *task = arg;

	if (nth != task->nth || ith < 0 || ith >= nth)
		atomic_fetch_add(&task->bad_nth, 1);
	else
		task->per_thread[ith]++;
	atomic_fetch_add(&task->calls, 1);
}

static void run_many(struct llmos_pool *pool, int nth, int runs, long sleep_ns)
{
	struct count_task task = { .nth = nth };

	for (int r = 0; r < runs; r++) {
		llmos_pool_run(pool, count_fn, &task);
		/* every thread's work is visible once run returns */
		for (int i = 0; i < nth; i++)
			assert_int_equal(task.per_thread[i], r + 1);
		assert_int_equal(atomic_load(&task.calls), (r + 1) * nth);
		if (sleep_ns) {
			struct timespec ts = { 0, sleep_ns };

			nanosleep(&ts, NULL);
		}
	}
	assert_int_equal(atomic_load(&task.bad_nth), 0);
}

static void test_runs_once_each(void **state)
{
	(void)state;
	for (int n = 1; n <= 4; n++) {
		struct llmos_pool *pool = llmos_pool_create(n);

		assert_non_null(pool);
		assert_int_equal(llmos_pool_threads(pool), n);
		run_many(pool, n, 20000, 0);
		llmos_pool_destroy(pool);
	}
}

/* Long enough gaps that the workers stop spinning and sleep on the futex. */
static void test_wakes_sleepers(void **state)
{
	struct llmos_pool *pool = llmos_pool_create(3);

	(void)state;
	assert_non_null(pool);
	run_many(pool, 3, 20, 3000000);
	run_many(pool, 3, 1000, 0);
	llmos_pool_destroy(pool);
}

static void test_null_and_default(void **state)
{
	struct llmos_pool *pool;

	(void)state;
	assert_int_equal(llmos_pool_threads(NULL), 1);
	run_many(NULL, 1, 10, 0);
	pool = llmos_pool_create(0);
	assert_non_null(pool);
	assert_true(llmos_pool_threads(pool) >= 1);
	if (llmos_pool_threads(pool) <= MAX_THREADS)
		run_many(pool, llmos_pool_threads(pool), 100, 0);
	llmos_pool_destroy(pool);
	llmos_pool_destroy(NULL);
}

/* A sum split across threads, as the kernels use the pool. */
struct sum_task {
	const uint32_t *v;
	int n;
	uint64_t partial[MAX_THREADS];
};

static void sum_fn(void *arg, int ith, int nth)
{
	struct sum_task *task = arg;
	uint64_t s = 0;

	for (int i = task->n * ith / nth; i < task->n * (ith + 1) / nth; i++)
		s += task->v[i];
	task->partial[ith] = s;
}

static void test_split_sum(void **state)
{
	static uint32_t v[10007];
	struct llmos_pool *pool = llmos_pool_create(4);
	struct sum_task task = { .v = v, .n = 10007 };
	uint64_t want = 0;

	(void)state;
	for (int i = 0; i < task.n; i++) {
		v[i] = (uint32_t)i * 2654435761u;
		want += v[i];
	}
	for (int r = 0; r < 500; r++) {
		uint64_t got = 0;

		memset(task.partial, 0, sizeof(task.partial));
		llmos_pool_run(pool, sum_fn, &task);
		for (int i = 0; i < 4; i++)
			got += task.partial[i];
		assert_true(got == want);
	}
	llmos_pool_destroy(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runs_once_each),
		cmocka_unit_test(test_wakes_sleepers),
		cmocka_unit_test(test_null_and_default),
		cmocka_unit_test(test_split_sum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
