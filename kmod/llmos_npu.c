// SPDX-License-Identifier: GPL-2.0
/*
 * llmos_npu.c - the accelerator job path: NPU_SUBMIT (ioctl or uring_cmd),
 * the queue that orders jobs by the scheduler's classes and weights, the
 * one running job, its timeout, its cancellation, and its completion (CQE,
 * waiting ioctl, sync_file fence).  Backends register here (llmos_npu.h).
 *
 * Order: a job of a higher class runs before any of a lower one; inside a
 * class, files share the device by weight (start-time fair queuing: each
 * job's start tag is the later of the class's clock and its file's last
 * finish tag, and a job advances its file's tag by cost / weight).
 *
 * llmos_npu_lock is taken in process context only (commands, task work,
 * workqueues) and protects the queue, the running job, every job's state
 * and ioucmd, the clients' counts and tags, the backend pointer and the
 * counters.
 */
#include <linux/dma-fence.h>
#include <linux/file.h>
#include <linux/io_uring/cmd.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sync_file.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "llmos_internal.h"
#include "llmos_npu.h"

#define SUBMIT_FLAGS (LLMOS_NPU_FENCE_OUT | LLMOS_NPU_FENCE_CLOEXEC)

static unsigned int npu_timeout_ms = 5000;
module_param(npu_timeout_ms, uint, 0644);
MODULE_PARM_DESC(npu_timeout_ms, "an NPU job running longer is stopped with -ETIMEDOUT (0: never)");

/* struct llmos_npu_client - one file's share of the device. */
struct llmos_npu_client {
	struct kref ref;                  /* the file's, and each job's */
	unsigned int jobs;                /* queued or running */
	u64 vfinish[LLMOS_NR_CLASSES];    /* its last finish tag per class */
};

/* What a pending uring_cmd keeps in its pdu. */
struct llmos_npu_pdu {
	struct llmos_npu_job *job; /* referenced until the command completes */
	int result;
};

static DEFINE_SPINLOCK(llmos_npu_lock);
static const struct llmos_npu_backend *llmos_npu_backend; /* protected by llmos_npu_lock */
static struct list_head llmos_npu_queue[LLMOS_NR_CLASSES]; /* likewise */
static u64 llmos_npu_vclock[LLMOS_NR_CLASSES];             /* likewise */
static struct llmos_npu_job *llmos_npu_running;            /* likewise */
static struct llmos_npu_info llmos_npu_counters;           /* likewise: the counting fields */
static atomic64_t llmos_npu_seqno = ATOMIC64_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(llmos_npu_idle);           /* the running job ended */
static struct workqueue_struct *llmos_npu_wq;              /* timeouts */

bool llmos_npu_present(void)
{
	return READ_ONCE(llmos_npu_backend);
}

static void npu_client_release(struct kref *ref)
{
	kfree(container_of(ref, struct llmos_npu_client, ref));
}

static void npu_job_release(struct kref *ref)
{
	struct llmos_npu_job *job = container_of(ref, struct llmos_npu_job, ref);

	llmos_npu_job_unref(job);
	if (job->fence) {
		/* a job that never ran (its submission failed late) */
		if (!dma_fence_is_signaled(job->fence)) {
			dma_fence_set_error(job->fence, -ECANCELED);
			dma_fence_signal(job->fence);
		}
		dma_fence_put(job->fence);
	}
	if (job->client)
		kref_put(&job->client->ref, npu_client_release);
	kfree(job);
}

void llmos_npu_job_put(struct llmos_npu_job *job)
{
	kref_put(&job->ref, npu_job_release);
}

/* ---- fences ---------------------------------------------------------- */

struct llmos_npu_fence {
	struct dma_fence base;
	spinlock_t lock;
};

static const char *npu_fence_driver(struct dma_fence *f)
{
	return "llmos";
}

static const char *npu_fence_timeline(struct dma_fence *f)
{
	return "npu";
}

/* A fence can outlive every file (a sync_file fd): it holds the module. */
static void npu_fence_release(struct dma_fence *f)
{
	dma_fence_free(f);
	module_put(THIS_MODULE);
}

static const struct dma_fence_ops llmos_npu_fence_ops = {
	.get_driver_name = npu_fence_driver,
	.get_timeline_name = npu_fence_timeline,
	.release = npu_fence_release,
};

/*
 * Jobs end out of submission order (classes), so each fence gets its own
 * context: a timeline's fences must signal in order.
 */
static struct dma_fence *npu_fence_create(u64 seqno)
{
	struct llmos_npu_fence *f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);

	if (!f)
		return NULL;
	spin_lock_init(&f->lock);
	__module_get(THIS_MODULE);
	dma_fence_init(&f->base, &llmos_npu_fence_ops, &f->lock, dma_fence_context_alloc(1),
		       seqno);
	return &f->base;
}

/* ---- the queue -------------------------------------------------------- */

/* Is tag a before tag b?  Tags only grow and may wrap: compare their distance. */
static bool tag_before(u64 a, u64 b)
{
	return (s64)(a - b) < 0;
}

static void npu_enqueue_locked(struct llmos_npu_job *job)
{
	struct llmos_npu_client *c = job->client;
	u32 k = job->class;

	job->vstart = tag_before(c->vfinish[k], llmos_npu_vclock[k]) ? llmos_npu_vclock[k]
								      : c->vfinish[k];
	c->vfinish[k] = job->vstart + div_u64(job->cost * LLMOS_WEIGHT_DEFAULT, job->weight);
	list_add_tail(&job->node, &llmos_npu_queue[k]);
	job->state = LLMOS_NPU_QUEUED;
	llmos_npu_counters.submitted++;
	llmos_npu_counters.queued++;
	llmos_npu_counters.max_queued = max(llmos_npu_counters.max_queued,
					    llmos_npu_counters.queued);
}

/* The next job: the highest class, the earliest start tag in it. */
static struct llmos_npu_job *npu_pick_locked(void)
{
	struct llmos_npu_job *job, *best;
	u32 k;

	for (k = 0; k < LLMOS_NR_CLASSES; k++) {
		best = NULL;
		list_for_each_entry(job, &llmos_npu_queue[k], node)
			if (!best || tag_before(job->vstart, best->vstart))
				best = job;
		if (best) {
			llmos_npu_vclock[k] = best->vstart;
			return best;
		}
	}
	return NULL;
}

static void npu_dequeue_locked(struct llmos_npu_job *job)
{
	list_del_init(&job->node);
	llmos_npu_counters.queued--;
}

/* Start the next job if the device is idle. */
static void npu_dispatch(void)
{
	const struct llmos_npu_backend *b;
	struct llmos_npu_job *job;
	unsigned int timeout_ms;

	spin_lock(&llmos_npu_lock);
	b = llmos_npu_backend;
	job = !llmos_npu_running && b ? npu_pick_locked() : NULL;
	if (job) {
		npu_dequeue_locked(job);
		job->state = LLMOS_NPU_RUNNING;
		job->start_ns = ktime_get_ns();
		llmos_npu_running = job;
		llmos_npu_counters.running = 1;
		kref_get(&job->ref); /* the timeout's */
	}
	spin_unlock(&llmos_npu_lock);
	if (!job)
		return;
	timeout_ms = READ_ONCE(npu_timeout_ms);
	if (!timeout_ms || !queue_delayed_work(llmos_npu_wq, &job->timeout,
					       msecs_to_jiffies(timeout_ms)))
		llmos_npu_job_put(job);
	b->submit(job);
}

static void npu_count_locked(int result)
{
	if (!result)
		llmos_npu_counters.completed++;
	else if (result == -ETIMEDOUT)
		llmos_npu_counters.timedout++;
	else if (result == -ECANCELED)
		llmos_npu_counters.cancelled++;
	else
		llmos_npu_counters.failed++;
}

static void npu_done_tw(struct io_uring_cmd *ioucmd, unsigned int issue_flags)
{
	struct llmos_npu_pdu *pdu = io_uring_cmd_to_pdu(ioucmd, struct llmos_npu_pdu);
	struct llmos_npu_job *job = pdu->job;

	io_uring_cmd_done(ioucmd, pdu->result, 0, issue_flags);
	llmos_npu_job_put(job);
}

/*
 * Tell everyone waiting that job (already DONE, off every list) ended with
 * result, and drop what it held: the fence first, then memory, then the
 * queue's reference.
 */
static void npu_finish(struct llmos_npu_job *job, int result, struct io_uring_cmd *ioucmd)
{
	job->result = result;
	if (job->fence) {
		if (result)
			dma_fence_set_error(job->fence, result);
		dma_fence_signal(job->fence);
	}
	/* after the signal: freeing an import takes its reservation lock */
	llmos_npu_job_unref(job);
	complete_all(&job->done);
	if (ioucmd) {
		struct llmos_npu_pdu *pdu = io_uring_cmd_to_pdu(ioucmd, struct llmos_npu_pdu);

		pdu->result = result;
		io_uring_cmd_complete_in_task(ioucmd, npu_done_tw);
	}
	llmos_npu_job_put(job);
}

/* Mark job (queued or running) as over; caller holds the lock. Returns its ioucmd. */
static struct io_uring_cmd *npu_end_locked(struct llmos_npu_job *job, int result)
{
	struct io_uring_cmd *ioucmd = job->ioucmd;

	job->ioucmd = NULL;
	job->state = LLMOS_NPU_DONE;
	job->client->jobs--;
	npu_count_locked(result);
	return ioucmd;
}

/**
 * llmos_npu_job_done() - a backend reports that the running job ended.
 * @job:    the job llmos_npu_backend.submit was given.
 * @result: 0, or a negative errno (a stopped job's is replaced by the
 *          reason it was stopped for: -ETIMEDOUT or -ECANCELED).
 */
void llmos_npu_job_done(struct llmos_npu_job *job, int result)
{
	struct io_uring_cmd *ioucmd;

	if (result > 0 || result < -MAX_ERRNO)
		result = -EIO; /* a backend's nonsense is a device error */
	if (cancel_delayed_work(&job->timeout))
		llmos_npu_job_put(job);
	spin_lock(&llmos_npu_lock);
	if (result && job->stop)
		result = job->stop_result;
	llmos_npu_counters.busy_ns += ktime_get_ns() - job->start_ns;
	llmos_npu_running = NULL;
	llmos_npu_counters.running = 0;
	ioucmd = npu_end_locked(job, result);
	spin_unlock(&llmos_npu_lock);
	wake_up_all(&llmos_npu_idle);
	npu_finish(job, result, ioucmd);
	npu_dispatch();
}
EXPORT_SYMBOL_GPL(llmos_npu_job_done);

/* Ask the backend to stop a running job, for why; caller holds a reference. */
static void npu_stop(struct llmos_npu_job *job, int why)
{
	const struct llmos_npu_backend *b = NULL;

	spin_lock(&llmos_npu_lock);
	if (job->state == LLMOS_NPU_RUNNING && !job->stop) {
		job->stop_result = why;
		WRITE_ONCE(job->stop, true);
		b = llmos_npu_backend;
	}
	spin_unlock(&llmos_npu_lock);
	if (b && b->cancel)
		b->cancel(job);
}

/* Cancel a job whatever its state: a queued one ends now, a running one soon. */
static void npu_cancel(struct llmos_npu_job *job, int why)
{
	struct io_uring_cmd *ioucmd;
	bool queued;

	spin_lock(&llmos_npu_lock);
	queued = job->state == LLMOS_NPU_QUEUED;
	if (queued) {
		npu_dequeue_locked(job);
		ioucmd = npu_end_locked(job, why);
	}
	spin_unlock(&llmos_npu_lock);
	if (queued)
		npu_finish(job, why, ioucmd);
	else
		npu_stop(job, why);
}

static void npu_timeout_fn(struct work_struct *work)
{
	struct llmos_npu_job *job = container_of(to_delayed_work(work), struct llmos_npu_job,
						 timeout);

	npu_stop(job, -ETIMEDOUT);
	llmos_npu_job_put(job);
}

/* ---- submission ------------------------------------------------------- */

/* What a submission makes before it becomes visible. */
struct npu_submission {
	struct llmos_npu_submit arg;
	struct llmos_npu_job *job;
	struct sync_file *sync;
	int fd;
};

static int npu_copy_submit(struct llmos_npu_submit *arg, void __user *uarg, u32 usize)
{
	int ret = llmos_copy_arg(arg, sizeof(*arg), uarg, usize, sizeof(*arg));

	if (ret)
		return ret;
	if (arg->flags & ~SUBMIT_FLAGS || arg->reserved0 ||
	    memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	if ((arg->flags & LLMOS_NPU_FENCE_CLOEXEC) && !(arg->flags & LLMOS_NPU_FENCE_OUT))
		return -EINVAL;
	if (!arg->nr_ops || arg->nr_ops > LLMOS_NPU_MAX_OPS)
		return -EINVAL;
	return 0;
}

/* The file's client with a reference for a new job, made on first use. */
static struct llmos_npu_client *npu_client_get(struct llmos_file *lf)
{
	struct llmos_npu_client *c;

	mutex_lock(&lf->lock);
	c = lf->npu;
	if (!c) {
		c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
		if (c) {
			kref_init(&c->ref); /* the file's */
			lf->npu = c;
		}
	}
	if (c)
		kref_get(&c->ref);
	mutex_unlock(&lf->lock);
	return c;
}

/* Take one of the file's LLMOS_NPU_MAX_QUEUED places; the backend's types. */
static int npu_reserve(struct llmos_npu_client *c, u64 *types)
{
	int ret = 0;

	spin_lock(&llmos_npu_lock);
	if (!llmos_npu_backend)
		ret = -ENODEV;
	else if (c->jobs >= LLMOS_NPU_MAX_QUEUED)
		ret = -EBUSY;
	else
		c->jobs++;
	*types = llmos_npu_backend ? llmos_npu_backend->types : 0;
	spin_unlock(&llmos_npu_lock);
	return ret;
}

static void npu_unreserve(struct llmos_npu_client *c)
{
	spin_lock(&llmos_npu_lock);
	c->jobs--;
	spin_unlock(&llmos_npu_lock);
}

/* The job, its place in the file's quota, its order; nothing visible yet. */
static int npu_make_job(struct llmos_file *lf, struct npu_submission *s)
{
	struct llmos_npu_client *c;
	struct llmos_npu_job *job;
	u32 class, weight;
	u64 types;
	int ret;

	ret = llmos_sched_policy(lf, s->arg.job, &class, &weight);
	if (ret)
		return ret;
	c = npu_client_get(lf);
	if (!c)
		return -ENOMEM;
	ret = npu_reserve(c, &types);
	if (ret) {
		kref_put(&c->ref, npu_client_release);
		return ret;
	}
	job = llmos_npu_job_build(lf, &s->arg, types);
	if (IS_ERR(job)) {
		npu_unreserve(c);
		kref_put(&c->ref, npu_client_release);
		return PTR_ERR(job);
	}
	INIT_DELAYED_WORK(&job->timeout, npu_timeout_fn);
	job->client = c;
	job->class = class;
	job->weight = weight;
	job->seqno = atomic64_inc_return(&llmos_npu_seqno);
	s->job = job;
	return 0;
}

/* The fence and its sync_file fd, reserved but not installed. */
static int npu_make_fence(struct npu_submission *s)
{
	struct llmos_npu_job *job = s->job;

	job->fence = npu_fence_create(job->seqno);
	if (!job->fence)
		return -ENOMEM;
	s->sync = sync_file_create(job->fence);
	if (!s->sync)
		return -ENOMEM;
	s->fd = get_unused_fd_flags(s->arg.flags & LLMOS_NPU_FENCE_CLOEXEC ? O_CLOEXEC : 0);
	return s->fd < 0 ? s->fd : 0;
}

/* Undo npu_prepare()'s work after it succeeded (the job never queued). */
static void npu_abandon(struct npu_submission *s)
{
	if (s->fd >= 0)
		put_unused_fd(s->fd);
	if (s->sync)
		fput(s->sync->file);
	npu_unreserve(s->job->client);
	llmos_npu_job_put(s->job);
}

/*
 * Everything that can fail, in order: the argument, the job (operands
 * checked and referenced), the fence and its fd, the copy back to the
 * caller.  On success the caller owns s->job's reference and publishes it.
 */
static int npu_prepare(struct llmos_file *lf, struct npu_submission *s, void __user *uarg,
		       u32 usize)
{
	int ret;

	s->job = NULL;
	s->sync = NULL;
	s->fd = -1;
	ret = npu_copy_submit(&s->arg, uarg, usize);
	if (!ret)
		ret = npu_make_job(lf, s);
	if (ret)
		return ret;
	if (s->arg.flags & LLMOS_NPU_FENCE_OUT)
		ret = npu_make_fence(s);
	s->arg.fence_fd = s->fd;
	s->arg.seqno = s->job->seqno;
	if (!ret && copy_to_user(uarg, &s->arg, sizeof(s->arg)))
		ret = -EFAULT;
	if (ret)
		npu_abandon(s);
	return ret;
}

/*
 * Make the job visible: its fence fd, then, in one section of the lock, its
 * pending uring_cmd (if any) and its place in the queue, so that a cancel
 * sees either nothing or a queued job with its command.
 */
static void npu_publish(struct npu_submission *s, struct io_uring_cmd *ioucmd)
{
	if (s->fd >= 0)
		fd_install(s->fd, s->sync->file);
	kref_get(&s->job->ref); /* the queue's, then the backend's */
	spin_lock(&llmos_npu_lock);
	if (ioucmd) {
		io_uring_cmd_to_pdu(ioucmd, struct llmos_npu_pdu)->job = s->job;
		s->job->ioucmd = ioucmd;
	}
	npu_enqueue_locked(s->job);
	spin_unlock(&llmos_npu_lock);
	npu_dispatch();
}

/*
 * NPU_SUBMIT as an ioctl: wait for the end, or with a fence return at once.
 * Only a fatal signal ends the wait early: it cancels the job and waits for
 * the device to let go of it.  Other signals wait (jobs are short, and
 * bounded by npu_timeout_ms), and so does io_uring's task work, which
 * interrupts interruptible sleeps (TIF_NOTIFY_SIGNAL) without any signal.
 */
int llmos_npu_submit_ioctl(struct llmos_file *lf, void __user *uarg, u32 usize)
{
	struct npu_submission s;
	int ret;

	ret = npu_prepare(lf, &s, uarg, usize);
	if (ret)
		return ret;
	npu_publish(&s, NULL);
	if (s.arg.flags & LLMOS_NPU_FENCE_OUT) {
		ret = 0;
	} else if (wait_for_completion_killable(&s.job->done)) {
		npu_cancel(s.job, -ECANCELED);
		wait_for_completion(&s.job->done);
		ret = -EINTR;
	} else {
		ret = s.job->result;
	}
	llmos_npu_job_put(s.job);
	return ret;
}

/*
 * NPU_SUBMIT as a uring_cmd: the CQE carries the job's result.  It is
 * marked cancelable before the job can end, as scheduler steps are.
 */
int llmos_npu_submit_uring(struct llmos_file *lf, struct io_uring_cmd *ioucmd,
			   unsigned int issue_flags, void __user *uarg, u32 usize)
{
	struct llmos_npu_pdu *pdu = io_uring_cmd_to_pdu(ioucmd, struct llmos_npu_pdu);
	struct npu_submission s;
	int ret;

	pdu->job = NULL; /* before it can be cancelled: nothing to cancel yet */
	ret = npu_prepare(lf, &s, uarg, usize);
	if (ret)
		return ret;
	io_uring_cmd_mark_cancelable(ioucmd, issue_flags);
	kref_get(&s.job->ref); /* the command's */
	npu_publish(&s, ioucmd);
	llmos_npu_job_put(s.job);
	return -EIOCBQUEUED;
}

/* io_uring cancels a pending submission (ring teardown): so is its job. */
void llmos_npu_uring_cancel(struct io_uring_cmd *ioucmd, unsigned int issue_flags)
{
	struct llmos_npu_pdu *pdu = io_uring_cmd_to_pdu(ioucmd, struct llmos_npu_pdu);
	struct llmos_npu_job *job;
	bool mine = false;

	spin_lock(&llmos_npu_lock);
	job = pdu->job;
	if (job && job->ioucmd == ioucmd) {
		job->ioucmd = NULL;
		mine = true;
	}
	spin_unlock(&llmos_npu_lock);
	if (!mine)
		return;
	npu_cancel(job, -ECANCELED);
	io_uring_cmd_done(ioucmd, -ECANCELED, 0, issue_flags);
	llmos_npu_job_put(job);
}

/*
 * The file is gone (close, death): its queued jobs end with -ECANCELED and
 * its running one is stopped.  Pending uring_cmds hold the file, so only
 * fenced jobs can be left here; the memory they use stays referenced
 * until the device lets go of it.
 */
void llmos_npu_file_release(struct llmos_file *lf)
{
	struct llmos_npu_client *c = lf->npu;
	struct llmos_npu_job *job, *tmp, *running = NULL;
	LIST_HEAD(gone);
	u32 k;

	if (!c)
		return;
	spin_lock(&llmos_npu_lock);
	for (k = 0; k < LLMOS_NR_CLASSES; k++)
		list_for_each_entry_safe(job, tmp, &llmos_npu_queue[k], node)
			if (job->client == c) {
				npu_dequeue_locked(job);
				npu_end_locked(job, -ECANCELED);
				list_add_tail(&job->node, &gone);
			}
	if (llmos_npu_running && llmos_npu_running->client == c) {
		running = llmos_npu_running;
		kref_get(&running->ref);
	}
	spin_unlock(&llmos_npu_lock);
	list_for_each_entry_safe(job, tmp, &gone, node) {
		list_del_init(&job->node);
		npu_finish(job, -ECANCELED, NULL);
	}
	if (running) {
		npu_stop(running, -ECANCELED);
		llmos_npu_job_put(running);
	}
	lf->npu = NULL;
	kref_put(&c->ref, npu_client_release);
}

/* ---- backends and counters ------------------------------------------- */

int llmos_npu_register(const struct llmos_npu_backend *b)
{
	int ret = 0;

	spin_lock(&llmos_npu_lock);
	if (llmos_npu_backend)
		ret = -EBUSY;
	else
		llmos_npu_backend = b;
	spin_unlock(&llmos_npu_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(llmos_npu_register);

/*
 * Module unload: no file is open, so nothing is queued; a job of a closed
 * file may still run.  Stop it and wait until the device let go of it.
 */
void llmos_npu_unregister(const struct llmos_npu_backend *b)
{
	struct llmos_npu_job *running;

	spin_lock(&llmos_npu_lock);
	running = llmos_npu_running;
	if (running)
		kref_get(&running->ref);
	spin_unlock(&llmos_npu_lock);
	if (running) {
		npu_stop(running, -ECANCELED);
		llmos_npu_job_put(running);
	}
	wait_event(llmos_npu_idle, !READ_ONCE(llmos_npu_running));
	spin_lock(&llmos_npu_lock);
	if (llmos_npu_backend == b)
		llmos_npu_backend = NULL;
	spin_unlock(&llmos_npu_lock);
}
EXPORT_SYMBOL_GPL(llmos_npu_unregister);

/* The counters and the backend's description, for NPU_INFO and sysfs. */
void llmos_npu_stats(struct llmos_npu_info *info)
{
	spin_lock(&llmos_npu_lock);
	*info = llmos_npu_counters;
	if (llmos_npu_backend) {
		info->present = 1;
		strscpy(info->name, llmos_npu_backend->name, sizeof(info->name));
		info->types = llmos_npu_backend->types;
	}
	spin_unlock(&llmos_npu_lock);
	info->timeout_ms = READ_ONCE(npu_timeout_ms);
	info->buf_bytes = llmos_buf_bytes();
	info->buf_cap_bytes = llmos_buf_cap();
}

int llmos_npu_info(struct llmos_file *lf, void __user *uarg, u32 usize)
{
	struct llmos_npu_info info;
	int ret;

	ret = llmos_copy_arg(&info, sizeof(info), uarg, usize, sizeof(info));
	if (ret)
		return ret;
	if (info.flags || memchr_inv(info.reserved, 0, sizeof(info.reserved)))
		return -EINVAL;
	memset(&info, 0, sizeof(info));
	llmos_npu_stats(&info);
	if (copy_to_user(uarg, &info, min_t(size_t, usize, sizeof(info))))
		return -EFAULT;
	return 0;
}

int llmos_npu_init(void)
{
	u32 k;

	for (k = 0; k < LLMOS_NR_CLASSES; k++)
		INIT_LIST_HEAD(&llmos_npu_queue[k]);
	llmos_npu_wq = alloc_workqueue("llmos-npu", WQ_UNBOUND, 0);
	return llmos_npu_wq ? 0 : -ENOMEM;
}

void llmos_npu_exit(void)
{
	destroy_workqueue(llmos_npu_wq);
}
