/* SPDX-License-Identifier: GPL-2.0 */
/*
 * llmos_sched.h - the compute scheduler's objects: processes (the unit of
 * fairness and privilege), jobs (one client's stream of forward steps) and
 * their statistics.  Everything here is protected by llmos_sched_lock
 * (taken with spin_lock_bh: the lease timer runs in softirq context).
 */
#ifndef LLMOS_SCHED_H
#define LLMOS_SCHED_H

#include <linux/completion.h>
#include <linux/hrtimer.h>
#include <linux/list.h>
#include <linux/pid.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <uapi/linux/llmos.h>

struct io_uring_cmd;
struct llmos_file;

struct llmos_sched_counters {
	u64 grants;
	u64 revocations;
	u64 cancels;
	u64 wait_us_total;
	u64 wait_hist[LLMOS_WAIT_BUCKETS];
	u32 queued, held, jobs; /* now */
};

/* struct llmos_sched_proc - a process's policy and fair-share accounting. */
struct llmos_sched_proc {
	struct list_head node;      /* in llmos_sched_procs */
	struct pid *pid;            /* its thread group; referenced */
	kuid_t uid;                 /* the user it counts against (llmos_sched_account_uid) */
	u32 ceiling;                /* highest class (lowest number) its jobs may use */
	u32 weight;                 /* default weight of its jobs */
	bool pinned;                /* set by SCHED_SET_PRIO: kept while the process lives */
	u64 vtime[LLMOS_NR_CLASSES];            /* service received, scaled by 1/weight */
	struct list_head queue[LLMOS_NR_CLASSES]; /* its waiting jobs, FIFO */
	struct llmos_sched_counters stats;
};

enum llmos_job_state { LLMOS_JOB_IDLE, LLMOS_JOB_QUEUED, LLMOS_JOB_HELD };

/* An ioctl caller blocked in JOB_STEP. */
struct llmos_sched_waiter {
	struct completion done;
	int result;
	bool queued;          /* still in a queue: whoever dequeues clears it */
	struct llmos_job *job; /* valid while queued */
};

/* struct llmos_job - one client's stream of steps; owned by one file. */
struct llmos_job {
	struct llmos_sched_proc *proc;
	u32 class;                 /* as asked; the ceiling may lower it per step */
	u32 queued_class;          /* the queue it waits in */
	u32 weight;                /* 0: the process's weight */
	enum llmos_job_state state;
	bool revoked;              /* lease expired: the next JOB_STEP gets -ETIME */
	bool aged;                 /* its grant came from aging */
	struct list_head qnode;    /* in proc->queue[queued_class] while queued */
	u64 enqueue_ns, grant_ns;
	struct io_uring_cmd *ioucmd;      /* the queued uring_cmd, or NULL */
	struct io_uring_cmd *watch;       /* a JOB_WATCH waiting while held, or NULL */
	struct list_head hnode;           /* in llmos_sched_held while held */
	struct llmos_sched_waiter *waiter; /* the queued ioctl caller, or NULL */
	struct hrtimer lease;      /* armed while held */
};

/* What a queued uring_cmd keeps in its pdu. */
struct llmos_step_pdu {
	struct llmos_job *job; /* NULL once dequeued (completion under way) */
	int result;
	bool watch;            /* a JOB_WATCH, not a JOB_STEP */
};

int llmos_sched_job_create(struct llmos_file *lf, void __user *uarg, u32 usize);
int llmos_sched_job_end(struct llmos_file *lf, void __user *uarg, u32 usize);
int llmos_sched_step_ioctl(struct llmos_file *lf, void __user *uarg, u32 usize);
int llmos_sched_step_uring(struct llmos_file *lf, struct io_uring_cmd *ioucmd,
			   unsigned int issue_flags, void __user *uarg, u32 usize);
int llmos_sched_watch_uring(struct llmos_file *lf, struct io_uring_cmd *ioucmd,
			    unsigned int issue_flags, void __user *uarg, u32 usize);
void llmos_sched_uring_cancel(struct io_uring_cmd *ioucmd, unsigned int issue_flags);
int llmos_sched_set_prio(struct llmos_file *lf, void __user *uarg, u32 usize);
int llmos_sched_stats(struct llmos_file *lf, void __user *uarg, u32 usize);
void llmos_sched_file_release(struct llmos_file *lf);
int llmos_sched_policy(struct llmos_file *lf, u32 id, u32 *class, u32 *weight);
void llmos_sched_exit(void);

#endif /* LLMOS_SCHED_H */
