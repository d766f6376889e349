/* SPDX-License-Identifier: MIT */
/*
 * threadpool.c - worker threads woken by a generation counter.  A run bumps
 * the generation; workers spinning on it start at once, sleeping ones are
 * woken through a futex.  The caller waits for the pending count to reach
 * zero the same way: spin first, then futex.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "threadpool.h"

#define SPIN_ITERATIONS 20000 /* ~100 us of pause before sleeping */
#ifndef YIELD_EVERY
#define YIELD_EVERY 128      /* spins between sched_yield() calls */
#endif
#define CACHELINE 64

struct llmos_pool {
	int n_threads;
	pthread_t *threads;
	llmos_pool_fn fn;
	void *arg;
	bool stop;
	_Alignas(CACHELINE) _Atomic uint32_t generation;
	_Atomic int sleepers;   /* workers in (or about to enter) futex wait */
	_Alignas(CACHELINE) _Atomic uint32_t pending; /* workers still running */
	_Atomic int caller_sleeping;
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *addr, int n)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* Wait until *addr != val: spin, then sleep with *count raised. */
static uint32_t wait_change(_Atomic uint32_t *addr, uint32_t val, _Atomic int *count)
{
	uint32_t now;

	for (int i = 0; i < SPIN_ITERATIONS; i++) {
		now = atomic_load_explicit(addr, memory_order_acquire);
		if (now != val)
			return now;
		/* let a preempted thread of ours run if the CPUs are oversubscribed */
		if ((i & (YIELD_EVERY - 1)) == YIELD_EVERY - 1)
			sched_yield();
		else
			cpu_relax();
	}
	atomic_fetch_add(count, 1);
	while ((now = atomic_load(addr)) == val)
		futex_wait(addr, val);
	atomic_fetch_sub(count, 1);
	return now;
}

struct worker_arg {
	struct llmos_pool *pool;
	int ith;
};

static void *worker_main(void *p)
{
	struct worker_arg *wa = p;
	struct llmos_pool *pool = wa->pool;
	int ith = wa->ith;
	uint32_t seen = 0;

	free(wa);
	for (;;) {
		seen = wait_change(&pool->generation, seen, &pool->sleepers);
		if (pool->stop)
			return NULL;
		pool->fn(pool->arg, ith, pool->n_threads);
		if (atomic_fetch_sub(&pool->pending, 1) == 1 &&
		    atomic_load(&pool->caller_sleeping))
			futex_wake(&pool->pending, 1);
	}
}

static int online_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		return CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

static void start_generation(struct llmos_pool *pool)
{
	atomic_store(&pool->pending, (uint32_t)(pool->n_threads - 1));
	atomic_fetch_add(&pool->generation, 1);
	if (atomic_load(&pool->sleepers))
		futex_wake(&pool->generation, INT_MAX);
}

static void wait_workers(struct llmos_pool *pool)
{
	uint32_t left = atomic_load_explicit(&pool->pending, memory_order_acquire);

	while (left)
		left = wait_change(&pool->pending, left, &pool->caller_sleeping);
}

static int start_workers(struct llmos_pool *pool, int want)
{
	for (int i = 1; i < want; i++) {
		struct worker_arg *wa = malloc(sizeof(*wa));
		int err;

		if (!wa)
			return -ENOMEM;
		wa->pool = pool;
		wa->ith = i;
		err = pthread_create(&pool->threads[i], NULL, worker_main, wa);
		if (err) {
			free(wa);
			return -err;
		}
		pool->n_threads = i + 1; /* threads started so far, for cleanup */
	}
	return 0;
}

struct llmos_pool *llmos_pool_create(int n_threads)
{
	struct llmos_pool *pool;
	int want = n_threads > 0 ? n_threads : online_cpus();
	int err;

	pool = aligned_alloc(CACHELINE, sizeof(*pool)); /* a multiple of CACHELINE */
	if (!pool)
		return NULL;
	*pool = (struct llmos_pool){ .n_threads = 1 };
	pool->threads = calloc((size_t)want, sizeof(*pool->threads));
	if (!pool->threads) {
		free(pool);
		errno = ENOMEM;
		return NULL;
	}
	err = start_workers(pool, want);
	if (err) {
		llmos_pool_destroy(pool);
		errno = -err;
		return NULL;
	}
	return pool;
}

void llmos_pool_destroy(struct llmos_pool *pool)
{
	if (!pool)
		return;
	pool->stop = true;
	start_generation(pool);
	for (int i = 1; i < pool->n_threads; i++)
		pthread_join(pool->threads[i], NULL);
	free(pool->threads);
	free(pool);
}

int llmos_pool_threads(const struct llmos_pool *pool)
{
	return pool ? pool->n_threads : 1;
}

void llmos_pool_run(struct llmos_pool *pool, llmos_pool_fn fn, void *arg)
{
	if (!pool || pool->n_threads == 1) {
		fn(arg, 0, 1);
		return;
	}
	pool->fn = fn;
	pool->arg = arg;
	start_generation(pool);
	fn(arg, 0, pool->n_threads);
	wait_workers(pool);
}
