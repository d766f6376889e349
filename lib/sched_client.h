/* SPDX-License-Identifier: MIT */
/*
 * sched_client.h - a session's client of the module's compute scheduler: one
 * job on the session's /dev/llmos handle, one io_uring; a grant around each step.
 */
#ifndef LLMOS_SCHED_CLIENT_H
#define LLMOS_SCHED_CLIENT_H

#include "llmos/llmos.h"

struct llmos_sched_client;

/*
 * Connect a client on dev (the session's handle, which must outlive it;
 * may be NULL) when its module has a scheduler and LLMOS_NO_SCHED is not
 * set; *out stays NULL (and 0 is returned) when there is nothing to
 * connect to.  Errors of a module that has a scheduler are returned.
 */
int llmos_sched_client_create(struct llmos_sched_client **out, struct llmos *dev,
			      int sched_class, uint32_t weight, int class_given);
void llmos_sched_client_free(struct llmos_sched_client *c);
/* Ask for a grant for the next step (releasing the previous one); wait for it. */
int llmos_sched_acquire(struct llmos_sched_client *c);
/* Give back a grant held, at the end of an eval. */
int llmos_sched_release(struct llmos_sched_client *c);
/* Between layers: if a more urgent request waits, hand the slot over and wait to get it back. */
int llmos_sched_yield_if_preempted(struct llmos_sched_client *c);
/* Replace the job by one of this class and weight (between evals). */
int llmos_sched_client_set(struct llmos_sched_client *c, int sched_class, uint32_t weight);
/* The job's id in dev's file (for NPU jobs to take its class); 0 without a client. */
uint32_t llmos_sched_client_job(const struct llmos_sched_client *c);
void llmos_sched_client_info(const struct llmos_sched_client *c, struct llmos_sched_info *info);

#endif /* LLMOS_SCHED_CLIENT_H */
