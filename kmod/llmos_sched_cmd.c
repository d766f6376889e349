// SPDX-License-Identifier: GPL-2.0
/*
 * llmos_sched_cmd.c - the scheduler's commands: jobs, steps (as uring_cmd,
 * completed when granted, or as a blocking ioctl), cancellation, process
 * priorities and statistics; and the release of a file's jobs.
 *
 * A file's job table (lf->jobs) has its own xa_lock, taken in process
 * context only and never under llmos_sched_lock, which the lease timer takes
 * in softirq context.  Lookups under llmos_sched_lock use xa_load (RCU, no
 * lock).  A job is taken out of the table before job_destroy() takes the
 * scheduler lock, so once that section ends no lookup can find it; a step
 * that found it just before is undone by job_destroy() whatever its state.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/io_uring/cmd.h>
#include <linux/ktime.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "llmos_internal.h"
#include "llmos_sched_core.h"

#define STEP_FLAGS (LLMOS_STEP_RELEASE | LLMOS_STEP_RELEASE_ONLY)

static void count_cancel_locked(struct llmos_job *job)
{
	job->proc->stats.cancels++;
	llmos_class_stats[job->queued_class].cancels++;
}

/* Take a job (already out of its file's table) out of the scheduler and free it. */
static void job_destroy(struct llmos_job *job)
{
	LIST_HEAD(gone);
	u64 now;

	spin_lock_bh(&llmos_sched_lock);
	now = ktime_get_ns(); /* under the lock, so times only grow along the queue */
	if (job->state == LLMOS_JOB_QUEUED) {
		llmos_sched_dequeue_locked(job);
		count_cancel_locked(job);
		llmos_sched_notify_locked(job, -ECANCELED);
	} else if (job->state == LLMOS_JOB_HELD) {
		llmos_sched_release_locked(job, now);
	}
	llmos_sched_watch_fire_locked(job, -ECANCELED); /* none left after a release */
	job->proc->stats.jobs--;
	llmos_class_stats[job->class].jobs--;
	llmos_sched_dispatch_locked(now);
	llmos_sched_prune_locked(&gone);
	spin_unlock_bh(&llmos_sched_lock);
	hrtimer_cancel(&job->lease); /* waits for a running callback */
	llmos_sched_free_procs(&gone);
	kfree(job);
}

/* Register a job with its process's entry; -EPERM above the ceiling. */
static int job_attach(struct llmos_job *job)
{
	struct llmos_sched_proc *prealloc = kzalloc(sizeof(*prealloc), GFP_KERNEL_ACCOUNT), *p;
	struct pid *pid = get_task_pid(current, PIDTYPE_TGID);
	bool uncapped = has_capability_noaudit(current, CAP_SYS_NICE);
	kuid_t uid = llmos_sched_account_uid(current_cred());
	LIST_HEAD(gone);
	int ret = 0;

	spin_lock_bh(&llmos_sched_lock);
	p = llmos_sched_proc_get_locked(pid, uid, uncapped, &prealloc, &gone);
	if (IS_ERR(p)) {
		ret = PTR_ERR(p);
	} else if (job->class < p->ceiling) {
		ret = -EPERM;
		llmos_sched_prune_locked(&gone);
	} else {
		job->proc = p;
		p->stats.jobs++;
		llmos_class_stats[job->class].jobs++;
	}
	spin_unlock_bh(&llmos_sched_lock);
	llmos_sched_free_procs(&gone);
	kfree(prealloc);
	put_pid(pid);
	return ret;
}

/* A weight above the default is a larger share of the machine: CAP_SYS_NICE, like nice < 0. */
static bool weight_allowed(u32 weight)
{
	return weight <= LLMOS_WEIGHT_DEFAULT || capable(CAP_SYS_NICE);
}

/*
 * JOB_CREATE: the job is published in the file's table only after its id
 * reached the caller (reserve, copy out, store), so a failed copy never
 * touches a table entry another thread could already be using.
 */
int llmos_sched_job_create(struct llmos_file *lf, void __user *uarg, u32 usize)
{
	struct llmos_job_create arg;
	struct llmos_job *job;
	void *old;
	u32 id;
	int ret;

	ret = llmos_copy_arg(&arg, sizeof(arg), uarg, usize, sizeof(arg));
	if (ret)
		return ret;
	if (arg.flags || memchr_inv(arg.reserved, 0, sizeof(arg.reserved)) ||
	    arg.sched_class >= LLMOS_NR_CLASSES || arg.weight > LLMOS_WEIGHT_MAX)
		return -EINVAL;
	if (!weight_allowed(arg.weight))
		return -EPERM;
	job = kzalloc(sizeof(*job), GFP_KERNEL_ACCOUNT);
	if (!job)
		return -ENOMEM;
	llmos_sched_job_init(job);
	job->class = arg.sched_class;
	job->queued_class = arg.sched_class;
	job->weight = arg.weight;
	ret = job_attach(job);
	if (ret) {
		kfree(job);
		return ret;
	}
	ret = xa_alloc(&lf->jobs, &id, NULL, XA_LIMIT(1, LLMOS_SCHED_MAX_JOBS), GFP_KERNEL_ACCOUNT);
	if (ret) {
		ret = ret == -EBUSY ? -ENOSPC : ret;
		goto out_destroy;
	}
	arg.job = id;
	if (copy_to_user(uarg, &arg, sizeof(arg))) {
		ret = -EFAULT;
		goto out_release_id;
	}
	old = xa_store(&lf->jobs, id, job, GFP_KERNEL_ACCOUNT); /* the slot exists */
	if (!xa_is_err(old))
		return 0;
	ret = xa_err(old);
out_release_id:
	xa_release(&lf->jobs, id);
out_destroy:
	job_destroy(job);
	return ret;
}

/* Take a job out of its file's table; a reserved id (JOB_CREATE under way) is left alone. */
static struct llmos_job *job_take(struct llmos_file *lf, u32 id)
{
	struct llmos_job *job;

	xa_lock(&lf->jobs);
	job = xa_load(&lf->jobs, id);
	if (job)
		__xa_erase(&lf->jobs, id);
	xa_unlock(&lf->jobs);
	return job;
}

int llmos_sched_job_end(struct llmos_file *lf, void __user *uarg, u32 usize)
{
	struct llmos_job_end arg;
	struct llmos_job *job;
	int ret;

	ret = llmos_copy_arg(&arg, sizeof(arg), uarg, usize, sizeof(arg));
	if (ret)
		return ret;
	if (arg.flags || memchr_inv(arg.reserved, 0, sizeof(arg.reserved)))
		return -EINVAL;
	job = job_take(lf, arg.job);
	if (!job)
		return -EINVAL;
	job_destroy(job);
	return 0;
}

void llmos_sched_file_release(struct llmos_file *lf)
{
	struct llmos_job *job;
	unsigned long id;

	xa_for_each(&lf->jobs, id, job) {
		job_take(lf, id);
		job_destroy(job);
		cond_resched();
	}
	xa_destroy(&lf->jobs);
}

static int copy_step_arg(struct llmos_job_step *arg, void __user *uarg, u32 usize)
{
	int ret = llmos_copy_arg(arg, sizeof(*arg), uarg, usize, sizeof(*arg));

	if (ret)
		return ret;
	if (arg->flags & ~STEP_FLAGS || memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	return 0;
}

/*
 * The part of a step before queueing, under the lock.  Returns 1 with *jobp
 * set when the step must queue; 0 when it is complete (RELEASE_ONLY); or
 * -EINVAL (no such job), -ETIME (its last grant was revoked: reported once,
 * nothing queued), -EBUSY (a step already queued, or a grant held and not
 * released).  A released slot is offered again only after the job has
 * queued anew, so the choice weighs it against the others.
 */
static int step_begin_locked(struct llmos_file *lf, const struct llmos_job_step *arg,
			     struct llmos_job **jobp, u64 now)
{
	struct llmos_job *job = xa_load(&lf->jobs, arg->job);

	if (!job)
		return -EINVAL;
	if (job->revoked) {
		job->revoked = false;
		return -ETIME;
	}
	if ((arg->flags & STEP_FLAGS) && job->state == LLMOS_JOB_HELD)
		llmos_sched_release_locked(job, now);
	if (arg->flags & LLMOS_STEP_RELEASE_ONLY) {
		llmos_sched_dispatch_locked(now);
		return 0;
	}
	if (job->state != LLMOS_JOB_IDLE)
		return -EBUSY;
	*jobp = job;
	return 1;
}

/*
 * JOB_STEP as uring_cmd.  It is marked cancelable before it can be queued,
 * so that a grant completing it from another context (task work) never
 * races with marking; every outcome completes through io_uring_cmd_done().
 */
int llmos_sched_step_uring(struct llmos_file *lf, struct io_uring_cmd *ioucmd,
			   unsigned int issue_flags, void __user *uarg, u32 usize)
{
	struct llmos_step_pdu *pdu = io_uring_cmd_to_pdu(ioucmd, struct llmos_step_pdu);
	struct llmos_job_step arg;
	struct llmos_job *job;
	u64 now;
	int ret;

	ret = copy_step_arg(&arg, uarg, usize);
	if (ret)
		return ret;
	pdu->job = NULL;
	pdu->watch = false;
	io_uring_cmd_mark_cancelable(ioucmd, issue_flags);
	spin_lock_bh(&llmos_sched_lock);
	now = ktime_get_ns();
	ret = step_begin_locked(lf, &arg, &job, now);
	if (ret == 1) {
		job->ioucmd = ioucmd;
		pdu->job = job;
		llmos_sched_enqueue_locked(job, now);
		llmos_sched_dispatch_locked(now);
	}
	spin_unlock_bh(&llmos_sched_lock);
	if (ret != 1)
		io_uring_cmd_done(ioucmd, ret, 0, issue_flags);
	return -EIOCBQUEUED;
}

/*
 * JOB_WATCH: wait, while the job holds its grant, for a more urgent request
 * (LLMOS_WATCH_PREEMPT) or for the grant's end (0).  Like a step, it is
 * cancelable before it can be stored, and completes via io_uring_cmd_done.
 */
int llmos_sched_watch_uring(struct llmos_file *lf, struct io_uring_cmd *ioucmd,
			    unsigned int issue_flags, void __user *uarg, u32 usize)
{
	struct llmos_step_pdu *pdu = io_uring_cmd_to_pdu(ioucmd, struct llmos_step_pdu);
	struct llmos_job_step arg;
	struct llmos_job *job;
	int ret;

	ret = copy_step_arg(&arg, uarg, usize);
	if (!ret && arg.flags)
		ret = -EINVAL;
	if (ret)
		return ret;
	pdu->job = NULL;
	pdu->watch = true;
	io_uring_cmd_mark_cancelable(ioucmd, issue_flags);
	spin_lock_bh(&llmos_sched_lock);
	job = xa_load(&lf->jobs, arg.job);
	if (!job) {
		ret = -EINVAL;
	} else if (job->watch) {
		ret = -EBUSY;
	} else if (job->state != LLMOS_JOB_HELD) {
		ret = 0;
	} else if (llmos_sched_urgent_waiting_locked(job->queued_class)) {
		ret = LLMOS_WATCH_PREEMPT;
	} else {
		job->watch = ioucmd;
		pdu->job = job;
		ret = -EIOCBQUEUED;
	}
	spin_unlock_bh(&llmos_sched_lock);
	if (ret != -EIOCBQUEUED)
		io_uring_cmd_done(ioucmd, ret, 0, issue_flags);
	return -EIOCBQUEUED;
}

/* io_uring cancels a queued step or a watch: on 6.12, from ring teardown only. */
void llmos_sched_uring_cancel(struct io_uring_cmd *ioucmd, unsigned int issue_flags)
{
	struct llmos_step_pdu *pdu = io_uring_cmd_to_pdu(ioucmd, struct llmos_step_pdu);
	struct llmos_job *job;
	bool mine = false;

	spin_lock_bh(&llmos_sched_lock);
	job = pdu->job; /* NULL once a grant or a job end has taken it */
	if (job && pdu->watch && job->watch == ioucmd) {
		job->watch = NULL;
		pdu->job = NULL;
		mine = true;
	} else if (job && !pdu->watch && job->ioucmd == ioucmd &&
		   job->state == LLMOS_JOB_QUEUED) {
		llmos_sched_dequeue_locked(job);
		count_cancel_locked(job);
		job->ioucmd = NULL;
		pdu->job = NULL;
		mine = true;
	}
	spin_unlock_bh(&llmos_sched_lock);
	if (mine)
		io_uring_cmd_done(ioucmd, -ECANCELED, 0, issue_flags);
}

/**
 * llmos_sched_policy() - the class and weight other work (NPU jobs) of
 * this file is ordered by.
 * @lf:     the file.
 * @id:     one of its scheduler jobs, or 0 for the calling process's own.
 * @class:  out: the job's class lowered to its process's ceiling; or
 *          NORMAL lowered to the caller's ceiling.
 * @weight: out: the job's weight, else its process's.
 *
 * Return: 0, or -EINVAL when the file has no job @id.
 */
int llmos_sched_policy(struct llmos_file *lf, u32 id, u32 *class, u32 *weight)
{
	struct pid *me = task_tgid(current);
	struct llmos_sched_proc *p;
	struct llmos_job *job;
	int ret = 0;

	*class = LLMOS_CLASS_NORMAL;
	*weight = LLMOS_WEIGHT_DEFAULT;
	spin_lock_bh(&llmos_sched_lock);
	if (id) {
		job = xa_load(&lf->jobs, id);
		if (job) {
			*class = max(job->class, job->proc->ceiling);
			*weight = job->weight ?: job->proc->weight;
		} else {
			ret = -EINVAL;
		}
	} else {
		list_for_each_entry(p, &llmos_sched_procs, node)
			if (p->pid == me) {
				*class = max(*class, p->ceiling);
				*weight = p->weight;
				break;
			}
	}
	spin_unlock_bh(&llmos_sched_lock);
	return ret;
}

/* JOB_STEP as ioctl: wait, interruptibly, until granted. */
int llmos_sched_step_ioctl(struct llmos_file *lf, void __user *uarg, u32 usize)
{
	struct llmos_sched_waiter w = { .queued = false };
	struct llmos_job_step arg;
	struct llmos_job *job;
	u64 now;
	int ret;

	ret = copy_step_arg(&arg, uarg, usize);
	if (ret)
		return ret;
	init_completion(&w.done);
	spin_lock_bh(&llmos_sched_lock);
	now = ktime_get_ns();
	ret = step_begin_locked(lf, &arg, &job, now);
	if (ret == 1) {
		job->waiter = &w;
		w.job = job;
		w.queued = true;
		llmos_sched_enqueue_locked(job, now);
		llmos_sched_dispatch_locked(now);
	}
	spin_unlock_bh(&llmos_sched_lock);
	if (ret != 1)
		return ret;
	if (!wait_for_completion_interruptible(&w.done))
		return w.result;
	spin_lock_bh(&llmos_sched_lock);
	if (w.queued) {
		/* Not granted: the call can be restarted (SA_RESTART) and queue anew. */
		llmos_sched_dequeue_locked(w.job);
		count_cancel_locked(w.job);
		w.job->waiter = NULL;
		w.queued = false;
		ret = -ERESTARTSYS;
	} else {
		ret = w.result; /* granted (or cancelled) just before the signal */
	}
	spin_unlock_bh(&llmos_sched_lock);
	return ret;
}

/* Like setpriority(2): the caller's uid or euid is the target's uid or euid. */
static bool same_owner(struct task_struct *t)
{
	const struct cred *cred = current_cred(), *tcred;
	bool ok;

	rcu_read_lock();
	tcred = __task_cred(t);
	ok = uid_eq(tcred->uid, cred->euid) || uid_eq(tcred->euid, cred->euid) ||
	     uid_eq(tcred->uid, cred->uid) || uid_eq(tcred->euid, cred->uid);
	rcu_read_unlock();
	return ok;
}

/*
 * May the caller set this ceiling and weight on pid's process?  A class
 * above NORMAL, a weight above the default or another user's process needs
 * CAP_SYS_NICE.  *uid gets the user the process's entry counts against.
 */
static int prio_allowed(struct pid *pid, const struct llmos_sched_prio *arg, kuid_t *uid)
{
	struct task_struct *task = pid ? get_pid_task(pid, PIDTYPE_TGID) : NULL;
	int ret = 0;

	if (!task)
		return -ESRCH;
	if ((arg->sched_class < LLMOS_CLASS_NORMAL || arg->weight > LLMOS_WEIGHT_DEFAULT ||
	     !same_owner(task)) && !capable(CAP_SYS_NICE))
		ret = -EPERM;
	rcu_read_lock();
	*uid = llmos_sched_account_uid(__task_cred(task));
	rcu_read_unlock();
	put_task_struct(task);
	return ret;
}

int llmos_sched_set_prio(struct llmos_file *lf, void __user *uarg, u32 usize)
{
	struct llmos_sched_proc *prealloc, *p;
	struct llmos_sched_prio arg;
	LIST_HEAD(gone);
	struct pid *pid;
	bool uncapped;
	kuid_t uid;
	int ret;

	ret = llmos_copy_arg(&arg, sizeof(arg), uarg, usize, sizeof(arg));
	if (ret)
		return ret;
	if (arg.flags || memchr_inv(arg.reserved, 0, sizeof(arg.reserved)) || arg.pid < 0 ||
	    arg.sched_class >= LLMOS_NR_CLASSES || !arg.weight || arg.weight > LLMOS_WEIGHT_MAX)
		return -EINVAL;
	pid = arg.pid ? find_get_pid(arg.pid) : get_task_pid(current, PIDTYPE_TGID);
	ret = prio_allowed(pid, &arg, &uid);
	if (ret) {
		put_pid(pid);
		return ret;
	}
	uncapped = has_capability_noaudit(current, CAP_SYS_NICE);
	prealloc = kzalloc(sizeof(*prealloc), GFP_KERNEL_ACCOUNT);
	spin_lock_bh(&llmos_sched_lock);
	p = llmos_sched_proc_get_locked(pid, uid, uncapped, &prealloc, &gone);
	if (!IS_ERR(p)) {
		p->ceiling = arg.sched_class;
		p->weight = arg.weight;
		p->pinned = true;
	} else {
		ret = PTR_ERR(p);
	}
	spin_unlock_bh(&llmos_sched_lock);
	llmos_sched_free_procs(&gone);
	kfree(prealloc);
	put_pid(pid);
	return ret;
}

static void fill_stat(struct llmos_sched_stat *s, const struct llmos_sched_counters *c)
{
	s->queued = c->queued;
	s->held = c->held;
	s->jobs = c->jobs;
	s->grants = c->grants;
	s->revocations = c->revocations;
	s->cancels = c->cancels;
	s->wait_us_total = c->wait_us_total;
	memcpy(s->wait_hist, c->wait_hist, sizeof(s->wait_hist));
}

/*
 * Copy the counters under the lock; procs gets up to cap process entries:
 * the caller's user's own, or everyone's for CAP_SYS_NICE or CAP_SYS_ADMIN
 * (others' grants and waits would tell when their inference runs).
 */
static void snapshot_stats(struct llmos_sched_stats *arg, struct llmos_sched_stat *procs,
			   u32 cap)
{
	bool all = has_capability_noaudit(current, CAP_SYS_NICE) ||
		   has_capability_noaudit(current, CAP_SYS_ADMIN);
	kuid_t me = llmos_sched_account_uid(current_cred());
	struct llmos_sched_proc *p;
	LIST_HEAD(gone);
	u32 n = 0;
	int c;

	spin_lock_bh(&llmos_sched_lock);
	llmos_sched_prune_locked(&gone);
	for (c = 0; c < LLMOS_NR_CLASSES; c++) {
		memset(&arg->classes[c], 0, sizeof(arg->classes[c]));
		arg->classes[c].pid = -1;
		arg->classes[c].sched_class = c;
		fill_stat(&arg->classes[c], &llmos_class_stats[c]);
	}
	list_for_each_entry(p, &llmos_sched_procs, node) {
		if (!all && !uid_eq(p->uid, me))
			continue;
		if (n < cap) {
			memset(&procs[n], 0, sizeof(procs[n]));
			procs[n].pid = pid_vnr(p->pid);
			procs[n].sched_class = p->ceiling;
			procs[n].weight = p->weight;
			fill_stat(&procs[n], &p->stats);
		}
		n++;
	}
	arg->count = n;
	arg->slots = llmos_sched_slots();
	arg->slots_busy = llmos_sched_busy;
	spin_unlock_bh(&llmos_sched_lock);
	llmos_sched_free_procs(&gone);
}

int llmos_sched_stats(struct llmos_file *lf, void __user *uarg, u32 usize)
{
	struct llmos_sched_stat *procs = NULL;
	struct llmos_sched_stats *arg;
	u32 cap;
	int ret;

	arg = kzalloc(sizeof(*arg), GFP_KERNEL_ACCOUNT);
	if (!arg)
		return -ENOMEM;
	ret = llmos_copy_arg(arg, sizeof(*arg), uarg, usize, sizeof(*arg));
	if (!ret && (arg->flags || memchr_inv(arg->reserved, 0, sizeof(arg->reserved))))
		ret = -EINVAL;
	cap = min_t(u32, arg->capacity, LLMOS_SCHED_MAX_PROCS);
	if (!ret && cap && !(procs = kvcalloc(cap, sizeof(*procs), GFP_KERNEL_ACCOUNT)))
		ret = -ENOMEM;
	if (!ret) {
		snapshot_stats(arg, procs, cap);
		if (cap && copy_to_user(u64_to_user_ptr(arg->procs), procs,
					sizeof(*procs) * min(cap, arg->count)))
			ret = -EFAULT;
		else if (copy_to_user(uarg, arg, sizeof(*arg)))
			ret = -EFAULT;
	}
	kvfree(procs);
	kfree(arg);
	return ret;
}
