/* SPDX-License-Identifier: GPL-2.0 */
/*
 * llmos_sched_core.h - between the scheduler's policy (llmos_sched.c) and
 * its commands (llmos_sched_cmd.c).  Functions ending in _locked need
 * llmos_sched_lock held.
 */
#ifndef LLMOS_SCHED_CORE_H
#define LLMOS_SCHED_CORE_H

#include <linux/cred.h>
#include <linux/spinlock.h>

#include "llmos_sched.h"

#define LLMOS_SCHED_MAX_PROCS 4096
#define LLMOS_SCHED_MAX_JOBS 256 /* per file: a session needs one */

extern spinlock_t llmos_sched_lock;
extern struct list_head llmos_sched_procs;
extern struct llmos_sched_counters llmos_class_stats[LLMOS_NR_CLASSES];
extern unsigned int llmos_sched_busy;
extern unsigned int llmos_sched_nprocs;

unsigned int llmos_sched_slots(void);
kuid_t llmos_sched_account_uid(const struct cred *cred);
struct llmos_sched_proc *llmos_sched_proc_get_locked(struct pid *pid, kuid_t uid, bool uncapped,
						     struct llmos_sched_proc **prealloc,
						     struct list_head *gone);
void llmos_sched_prune_locked(struct list_head *gone);
void llmos_sched_free_procs(struct list_head *gone);
void llmos_sched_enqueue_locked(struct llmos_job *job, u64 now);
void llmos_sched_dequeue_locked(struct llmos_job *job);
void llmos_sched_notify_locked(struct llmos_job *job, int result);
void llmos_sched_dispatch_locked(u64 now);
void llmos_sched_release_locked(struct llmos_job *job, u64 now);
void llmos_sched_job_init(struct llmos_job *job);
void llmos_sched_watch_fire_locked(struct llmos_job *job, int result);
bool llmos_sched_urgent_waiting_locked(u32 class);

#endif /* LLMOS_SCHED_CORE_H */
