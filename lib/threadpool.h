/* SPDX-License-Identifier: MIT */
/*
 * threadpool.h - a fixed pool of worker threads for the forward pass.  The
 * caller of llmos_pool_run() works as thread 0; workers spin briefly on a
 * generation counter between runs, then sleep on a futex.
 */
#ifndef LLMOS_THREADPOOL_H
#define LLMOS_THREADPOOL_H

struct llmos_pool;

/* The work of one thread: ith in [0, nth). */
typedef void (*llmos_pool_fn)(void *arg, int ith, int nth);

/*
 * A pool of n_threads threads counting the caller (n_threads - 1 workers;
 * none for 1).  n_threads <= 0 means one per CPU this process may run on.
 * Returns NULL with errno set on failure.
 */
struct llmos_pool *llmos_pool_create(int n_threads);
void llmos_pool_destroy(struct llmos_pool *pool);
/* The pool's thread count, counting the caller; 1 for a NULL pool. */
int llmos_pool_threads(const struct llmos_pool *pool);
/*
 * Run fn(arg, ith, nth) on every thread, the caller as ith 0, and return
 * when all are done.  One caller at a time; fn must not call it again.
 * A NULL pool runs fn(arg, 0, 1).
 */
void llmos_pool_run(struct llmos_pool *pool, llmos_pool_fn fn, void *arg);

#endif /* LLMOS_THREADPOOL_H */
