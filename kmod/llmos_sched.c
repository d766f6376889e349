// SPDX-License-Identifier: GPL-2.0
/*
 * llmos_sched.c - the compute scheduler's policy: who gets the next slot.
 *
 * Classes are strict (REALTIME first), except that a request waiting longer
 * than starve_ms goes first whatever its class (aging; the oldest such
 * request wins), after which aging pauses for starve_ms or nine times the
 * aged step's hold, whichever is longer: starving classes get about a tenth
 * of slot time, and the k-th starving request in line is served within
 * about (k + 1) * max(starve_ms, 9 * step) plus the step being computed.  Inside a class the process with the
 * least virtual time wins; a grant charges its process (hold time + 10 us)
 * * 100 / weight, so equal weights share equally and 2:1 weights 2:1.
 * A grant held past lease_ms is revoked by a timer.
 */
#include <linux/io_uring/cmd.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/user_namespace.h>

#include "llmos_internal.h"
#include "llmos_sched_core.h"

DEFINE_SPINLOCK(llmos_sched_lock);
LIST_HEAD(llmos_sched_procs);     /* protected by llmos_sched_lock */
static LIST_HEAD(llmos_sched_held); /* jobs holding a slot; likewise */
struct llmos_sched_counters llmos_class_stats[LLMOS_NR_CLASSES]; /* likewise */
unsigned int llmos_sched_busy;    /* slots held now; likewise */
unsigned int llmos_sched_nprocs;  /* entries in llmos_sched_procs; likewise */
static u64 min_vtime[LLMOS_NR_CLASSES]; /* likewise: the vtime of the last grant */
static u64 next_aging_ns;         /* likewise: aging may choose again from then on */

static unsigned int slots = 1;
module_param(slots, uint, 0644);
MODULE_PARM_DESC(slots, "compute slots granted at once (1..64; default 1: a step uses every core)");

static unsigned int lease_ms = 5000;
module_param(lease_ms, uint, 0644);
MODULE_PARM_DESC(lease_ms, "a grant held longer than this is revoked (default 5000)");

static unsigned int starve_ms = 250;
module_param(starve_ms, uint, 0644);
MODULE_PARM_DESC(starve_ms, "a request waiting longer than this goes before any class (default 250)");

static unsigned int max_procs_per_uid = 64;
module_param(max_procs_per_uid, uint, 0644);
MODULE_PARM_DESC(max_procs_per_uid,
		 "process entries one user may hold in the scheduler (default 64; CAP_SYS_NICE: no limit)");

#define CHARGE_FLOOR_NS 10000 /* so very short steps still count */
#define AGED_SHARE 10          /* aging takes at most 1/AGED_SHARE of slot time */

unsigned int llmos_sched_slots(void)
{
	return clamp_t(unsigned int, READ_ONCE(slots), 1, 64);
}

static void count_wait(struct llmos_sched_counters *c, u64 wait_ns)
{
	u64 us = div_u64(wait_ns, NSEC_PER_USEC);
	unsigned int b = us < 2 ? 0 : min_t(unsigned int, ilog2(us), LLMOS_WAIT_BUCKETS - 1);

	c->grants++;
	c->wait_us_total += us;
	c->wait_hist[b]++;
}

/**
 * llmos_sched_account_uid() - the user a process's entry counts against.
 * @cred: the process's credentials.
 *
 * Its uid; but inside a user namespace, the owner of the outermost one
 * below the initial namespace, so that a user cannot escape the per-user
 * limit by mapping itself to many ids.
 */
kuid_t llmos_sched_account_uid(const struct cred *cred)
{
	const struct user_namespace *ns = cred->user_ns;

	if (ns == &init_user_ns)
		return cred->uid;
	while (ns->parent != &init_user_ns)
		ns = ns->parent;
	return ns->owner;
}

static unsigned int procs_of_uid_locked(kuid_t uid)
{
	struct llmos_sched_proc *p;
	unsigned int n = 0;

	list_for_each_entry(p, &llmos_sched_procs, node)
		n += uid_eq(p->uid, uid);
	return n;
}

/**
 * llmos_sched_proc_get_locked() - the process's entry, made if need be.
 * @pid:      the process (thread group).
 * @uid:      the user a new entry counts against (llmos_sched_account_uid()).
 * @uncapped: the caller has CAP_SYS_NICE: neither the per-user nor the table's limit.
 * @prealloc: a zeroed entry to install; set to NULL when used.
 * @gone:     entries of dead processes pruned on the way, to free unlocked.
 *
 * Entries nobody needs are pruned before a new one is counted, so the dead
 * never fill the table; one user holds at most max_procs_per_uid entries,
 * so no user can fill it for the others; and the table's own bound does
 * not apply to CAP_SYS_NICE, so administrators' services always get in.
 *
 * Return: the entry, or ERR_PTR(-ENOMEM) (no @prealloc) or ERR_PTR(-ENOSPC).
 */
struct llmos_sched_proc *llmos_sched_proc_get_locked(struct pid *pid, kuid_t uid, bool uncapped,
						     struct llmos_sched_proc **prealloc,
						     struct list_head *gone)
{
	struct llmos_sched_proc *p;
	int c;

	lockdep_assert_held(&llmos_sched_lock);
	list_for_each_entry(p, &llmos_sched_procs, node)
		if (p->pid == pid)
			return p;
	if (!*prealloc)
		return ERR_PTR(-ENOMEM);
	llmos_sched_prune_locked(gone);
	if (!uncapped && (llmos_sched_nprocs >= LLMOS_SCHED_MAX_PROCS ||
			  procs_of_uid_locked(uid) >= READ_ONCE(max_procs_per_uid)))
		return ERR_PTR(-ENOSPC);
	p = *prealloc;
	*prealloc = NULL;
	p->pid = get_pid(pid);
	p->uid = uid;
	p->ceiling = LLMOS_CLASS_NORMAL;
	p->weight = LLMOS_WEIGHT_DEFAULT;
	for (c = 0; c < LLMOS_NR_CLASSES; c++) {
		INIT_LIST_HEAD(&p->queue[c]);
		p->vtime[c] = min_vtime[c];
	}
	list_add_tail(&p->node, &llmos_sched_procs);
	llmos_sched_nprocs++;
	return p;
}

/* Move entries nobody needs any more to gone, to free after unlocking. */
void llmos_sched_prune_locked(struct list_head *gone)
{
	struct llmos_sched_proc *p, *tmp;

	lockdep_assert_held(&llmos_sched_lock);
	list_for_each_entry_safe(p, tmp, &llmos_sched_procs, node) {
		if (p->stats.jobs || (p->pinned && pid_has_task(p->pid, PIDTYPE_TGID)))
			continue;
		list_move(&p->node, gone);
		llmos_sched_nprocs--;
	}
}

void llmos_sched_free_procs(struct list_head *gone)
{
	struct llmos_sched_proc *p, *tmp;

	list_for_each_entry_safe(p, tmp, gone, node) {
		put_pid(p->pid);
		kfree(p);
	}
}

static void step_done_tw(struct io_uring_cmd *ioucmd, unsigned int issue_flags);

/* Complete the job's JOB_WATCH, if any, with result. */
void llmos_sched_watch_fire_locked(struct llmos_job *job, int result)
{
	struct llmos_step_pdu *pdu;

	if (!job->watch)
		return;
	pdu = io_uring_cmd_to_pdu(job->watch, struct llmos_step_pdu);
	pdu->job = NULL;
	pdu->result = result;
	io_uring_cmd_complete_in_task(job->watch, step_done_tw);
	job->watch = NULL;
}

/* Is a request of a class above (more urgent than) class queued? */
bool llmos_sched_urgent_waiting_locked(u32 class)
{
	struct llmos_sched_proc *p;
	u32 c;

	for (c = 0; c < class; c++)
		if (llmos_class_stats[c].queued)
			list_for_each_entry(p, &llmos_sched_procs, node)
				if (!list_empty(&p->queue[c]))
					return true;
	return false;
}

/* A request of class c queued: watched grants of lower classes should yield. */
static void preempt_lower_locked(u32 c)
{
	struct llmos_job *h;

	list_for_each_entry(h, &llmos_sched_held, hnode)
		if (h->watch && h->queued_class > c)
			llmos_sched_watch_fire_locked(h, LLMOS_WATCH_PREEMPT);
}

void llmos_sched_enqueue_locked(struct llmos_job *job, u64 now)
{
	struct llmos_sched_proc *p = job->proc;
	u32 c = max(job->class, p->ceiling);

	lockdep_assert_held(&llmos_sched_lock);
	/* Back from idle: no credit for the time away. */
	if (list_empty(&p->queue[c]) && p->vtime[c] < min_vtime[c])
		p->vtime[c] = min_vtime[c];
	list_add_tail(&job->qnode, &p->queue[c]);
	job->queued_class = c;
	job->state = LLMOS_JOB_QUEUED;
	job->enqueue_ns = now;
	p->stats.queued++;
	llmos_class_stats[c].queued++;
	preempt_lower_locked(c);
}

void llmos_sched_dequeue_locked(struct llmos_job *job)
{
	lockdep_assert_held(&llmos_sched_lock);
	list_del_init(&job->qnode);
	job->state = LLMOS_JOB_IDLE;
	job->proc->stats.queued--;
	llmos_class_stats[job->queued_class].queued--;
}

/*
 * Aging: the oldest request that has waited more than starve_ms.  After an
 * aged grant, aging waits starve_ms, or AGED_SHARE - 1 times as long as the
 * aged step held its slot if that is longer: lower classes get a bounded
 * share (a tenth of slot time under pressure) instead of the order turning
 * into first come, first served when steps are long.
 */
static struct llmos_job *pick_aged_locked(u64 now)
{
	u64 starve_ns = (u64)READ_ONCE(starve_ms) * NSEC_PER_MSEC;
	struct llmos_job *oldest = NULL, *j;
	struct llmos_sched_proc *p;
	int c;

	if (now < next_aging_ns)
		return NULL;
	list_for_each_entry(p, &llmos_sched_procs, node)
		for (c = 0; c < LLMOS_NR_CLASSES; c++) {
			j = list_first_entry_or_null(&p->queue[c], struct llmos_job, qnode);
			if (j && now - j->enqueue_ns > starve_ns &&
			    (!oldest || j->enqueue_ns < oldest->enqueue_ns))
				oldest = j;
		}
	if (oldest) {
		oldest->aged = true;
		next_aging_ns = now + starve_ns;
	}
	return oldest;
}

/* The request to grant next, or NULL. */
static struct llmos_job *pick_locked(u64 now)
{
	struct llmos_job *aged = pick_aged_locked(now);
	struct llmos_sched_proc *p, *best;
	int c;

	if (aged)
		return aged;
	for (c = 0; c < LLMOS_NR_CLASSES; c++) {
		best = NULL;
		list_for_each_entry(p, &llmos_sched_procs, node) {
			if (list_empty(&p->queue[c]))
				continue;
			if (!best || p->vtime[c] < best->vtime[c] ||
			    (p->vtime[c] == best->vtime[c] &&
			     list_first_entry(&p->queue[c], struct llmos_job, qnode)->enqueue_ns <
				     list_first_entry(&best->queue[c], struct llmos_job,
						      qnode)->enqueue_ns))
				best = p;
		}
		if (best)
			return list_first_entry(&best->queue[c], struct llmos_job, qnode);
	}
	return NULL;
}

static void step_done_tw(struct io_uring_cmd *ioucmd, unsigned int issue_flags)
{
	struct llmos_step_pdu *pdu = io_uring_cmd_to_pdu(ioucmd, struct llmos_step_pdu);

	io_uring_cmd_done(ioucmd, pdu->result, 0, issue_flags);
}

/* Tell the queued request of job (now dequeued) its result. */
void llmos_sched_notify_locked(struct llmos_job *job, int result)
{
	if (job->ioucmd) {
		struct llmos_step_pdu *pdu = io_uring_cmd_to_pdu(job->ioucmd,
								 struct llmos_step_pdu);

		pdu->job = NULL;
		pdu->result = result;
		io_uring_cmd_complete_in_task(job->ioucmd, step_done_tw);
		job->ioucmd = NULL;
	}
	if (job->waiter) {
		job->waiter->queued = false;
		job->waiter->result = result;
		complete(&job->waiter->done);
		job->waiter = NULL;
	}
}

static void grant_locked(struct llmos_job *job, u64 now)
{
	struct llmos_sched_proc *p = job->proc;
	u32 c = job->queued_class;

	llmos_sched_dequeue_locked(job);
	job->state = LLMOS_JOB_HELD;
	job->grant_ns = now;
	list_add_tail(&job->hnode, &llmos_sched_held);
	llmos_sched_busy++;
	p->stats.held++;
	llmos_class_stats[c].held++;
	count_wait(&p->stats, now - job->enqueue_ns);
	count_wait(&llmos_class_stats[c], now - job->enqueue_ns);
	if (p->vtime[c] > min_vtime[c])
		min_vtime[c] = p->vtime[c];
	hrtimer_start(&job->lease, ms_to_ktime(READ_ONCE(lease_ms)), HRTIMER_MODE_REL_SOFT);
	llmos_sched_notify_locked(job, 0);
}

/* Fill free slots from the queues. */
void llmos_sched_dispatch_locked(u64 now)
{
	struct llmos_job *job;

	lockdep_assert_held(&llmos_sched_lock);
	while (llmos_sched_busy < llmos_sched_slots()) {
		job = pick_locked(now);
		if (!job)
			break;
		grant_locked(job, now);
	}
}

/* Give back a held slot and charge the process for the time it used. */
void llmos_sched_release_locked(struct llmos_job *job, u64 now)
{
	struct llmos_sched_proc *p = job->proc;
	u32 c = job->queued_class;
	u64 used = now - job->grant_ns + CHARGE_FLOOR_NS;
	u32 weight = job->weight ? job->weight : p->weight; /* 0: follow the process */

	lockdep_assert_held(&llmos_sched_lock);
	p->vtime[c] += div_u64(used * LLMOS_WEIGHT_DEFAULT, weight);
	if (job->aged) {
		u64 pause = (now - job->grant_ns) * (AGED_SHARE - 1);

		if (now + pause > next_aging_ns)
			next_aging_ns = now + pause;
		job->aged = false;
	}
	job->state = LLMOS_JOB_IDLE;
	list_del_init(&job->hnode);
	llmos_sched_watch_fire_locked(job, 0);
	llmos_sched_busy--;
	p->stats.held--;
	llmos_class_stats[c].held--;
	hrtimer_try_to_cancel(&job->lease); /* a running callback sees the job idle */
}

/*
 * The lease ran out, unless a release and a new grant came since the timer
 * fired, or lease_ms was raised meanwhile: then it waits for the rest.
 */
static enum hrtimer_restart lease_expired(struct hrtimer *timer)
{
	struct llmos_job *job = container_of(timer, struct llmos_job, lease);
	enum hrtimer_restart ret = HRTIMER_NORESTART;
	u64 now, lease;

	spin_lock(&llmos_sched_lock);
	now = ktime_get_ns(); /* under the lock: no stamp taken later by others */
	lease = (u64)READ_ONCE(lease_ms) * NSEC_PER_MSEC;
	if (job->state == LLMOS_JOB_HELD && now - job->grant_ns >= lease) {
		llmos_sched_release_locked(job, now);
		job->revoked = true;
		job->proc->stats.revocations++;
		llmos_class_stats[job->queued_class].revocations++;
		llmos_sched_dispatch_locked(now);
	} else if (job->state == LLMOS_JOB_HELD && !hrtimer_is_queued(timer)) {
		hrtimer_forward_now(timer, ns_to_ktime(job->grant_ns + lease - now));
		ret = HRTIMER_RESTART;
	}
	spin_unlock(&llmos_sched_lock);
	return ret;
}

void llmos_sched_job_init(struct llmos_job *job)
{
	INIT_LIST_HEAD(&job->qnode);
	INIT_LIST_HEAD(&job->hnode);
	hrtimer_init(&job->lease, CLOCK_MONOTONIC, HRTIMER_MODE_REL_SOFT);
	job->lease.function = lease_expired;
}

/* Module unload: every file is closed, so no job remains; drop the entries. */
void llmos_sched_exit(void)
{
	struct llmos_sched_proc *p, *tmp;
	LIST_HEAD(gone);

	spin_lock_bh(&llmos_sched_lock);
	list_for_each_entry_safe(p, tmp, &llmos_sched_procs, node)
		list_move(&p->node, &gone);
	llmos_sched_nprocs = 0;
	spin_unlock_bh(&llmos_sched_lock);
	llmos_sched_free_procs(&gone);
}
