/* SPDX-License-Identifier: MIT */
/*
 * sched.c - the module's compute scheduler from userspace: class names,
 * wait percentiles, SCHED_STATS and SCHED_SET_PRIO for administrators, and
 * the client a session uses to run each forward step under a grant (one
 * JOB_STEP uring_cmd per step, releasing the previous grant in the same
 * submission; LLMOS_STEP_RELEASE_ONLY at the end of each eval).
 */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/llmos.h>

#include "internal.h"
#include "sched_client.h"
#include "session.h"

_Static_assert(LLMOS_SCHED_CLASSES == LLMOS_NR_CLASSES, "same number of classes");
_Static_assert(LLMOS_SCHED_WAIT_BUCKETS == LLMOS_WAIT_BUCKETS, "same histogram");
_Static_assert(LLMOS_SCHED_WEIGHT_MAX == LLMOS_WEIGHT_MAX, "same weight range");

#define RING_ENTRIES 4

static const char *const class_names[LLMOS_SCHED_CLASSES] = {
	[LLMOS_CLASS_REALTIME] = "realtime",
	[LLMOS_CLASS_INTERACTIVE] = "interactive",
	[LLMOS_CLASS_NORMAL] = "normal",
	[LLMOS_CLASS_BACKGROUND] = "background",
};

const char *llmos_sched_class_name(int sched_class)
{
	if (sched_class == LLMOS_CLASS_NONE)
		return "none";
	if (sched_class < 0 || sched_class >= LLMOS_SCHED_CLASSES)
		return NULL;
	return class_names[sched_class];
}

int llmos_sched_class_parse(const char *name)
{
	int i;

	if (!name || !*name)
		return llmos_fail(-EINVAL, "no class name (realtime, interactive, normal, "
				  "background or none)");
	for (i = 0; i < LLMOS_SCHED_CLASSES; i++)
		if (!strcmp(name, class_names[i]) || (!name[1] && name[0] == class_names[i][0]))
			return i;
	if (!strcmp(name, "none"))
		return LLMOS_CLASS_NONE;
	return llmos_fail(-EINVAL, "unknown class '%.32s' (realtime, interactive, normal, "
			  "background or none)", name);
}

uint64_t llmos_sched_wait_percentile(const uint64_t hist[LLMOS_SCHED_WAIT_BUCKETS], double p)
{
	uint64_t total = 0, rank, seen = 0;
	int i;

	for (i = 0; i < LLMOS_SCHED_WAIT_BUCKETS; i++)
		total += hist[i];
	if (!total)
		return 0;
	p = p < 0 ? 0 : p > 1 ? 1 : p;
	rank = (uint64_t)(p * (double)total + 0.999999); /* ceil, at least the first */
	if (rank < 1)
		rank = 1;
	for (i = 0; i < LLMOS_SCHED_WAIT_BUCKETS - 1; i++) {
		seen += hist[i];
		if (seen >= rank)
			break;
	}
	return 2ULL << i;
}

/* ---- administration: stats and priorities ------------------------------ */

static int require_sched(struct llmos *h)
{
	struct llmos_module_info info;

	if (!h || llmos_module_info(h, &info) < 0)
		return llmos_fail(-LLMOS_ENOMODULE, "llmos module not loaded (running standalone)");
	if (!(info.features & LLMOS_F_SCHED))
		return llmos_fail(-LLMOS_EUNSUPPORTED, "llmos.ko %s has no scheduler: load a "
				  "newer module", info.version);
	return 0;
}

static void copy_counters(struct llmos_sched_counters *out, const struct llmos_sched_stat *in)
{
	out->pid = in->pid;
	out->sched_class = (int)in->sched_class;
	out->weight = in->weight;
	out->queued = in->queued;
	out->held = in->held;
	out->jobs = in->jobs;
	out->grants = in->grants;
	out->revocations = in->revocations;
	out->cancels = in->cancels;
	out->wait_us_total = in->wait_us_total;
	memcpy(out->wait_hist, in->wait_hist, sizeof(out->wait_hist));
}

int llmos_sched_stats(struct llmos *h, struct llmos_sched_summary *sum,
		      struct llmos_sched_counters *procs, size_t cap)
{
	struct llmos_sched_stats st;
	struct llmos_sched_stat *raw = NULL;
	size_t i, n;
	int ret;

	if ((ret = require_sched(h)))
		return ret;
	if (cap > 65536)
		cap = 65536;
	if (cap && !(raw = calloc(cap, sizeof(*raw))))
		return llmos_fail(-ENOMEM, "sched stats: out of memory");
	memset(&st, 0, sizeof(st));
	st.procs = (uintptr_t)raw;
	st.capacity = (uint32_t)cap;
	if (ioctl(llmos_device_fd(h), LLMOS_CMD_SCHED_STATS, &st)) {
		ret = llmos_fail(-errno, "SCHED_STATS: %s", strerror(errno));
		free(raw);
		return ret;
	}
	sum->slots = st.slots;
	sum->slots_busy = st.slots_busy;
	for (i = 0; i < LLMOS_SCHED_CLASSES; i++) {
		copy_counters(&sum->classes[i], &st.classes[i]);
		sum->classes[i].sched_class = (int)i;
	}
	n = st.count < cap ? st.count : cap;
	for (i = 0; i < n; i++)
		copy_counters(&procs[i], &raw[i]);
	free(raw);
	return st.count > 0x7fffffff ? 0x7fffffff : (int)st.count;
}

int llmos_sched_set_prio(struct llmos *h, int pid, int sched_class, uint32_t weight)
{
	struct llmos_sched_prio pr;
	int ret;

	if ((ret = require_sched(h)))
		return ret;
	if (sched_class < 0 || sched_class >= LLMOS_SCHED_CLASSES)
		return llmos_fail(-EINVAL, "bad class %d", sched_class);
	if (weight < 1 || weight > LLMOS_SCHED_WEIGHT_MAX)
		return llmos_fail(-EINVAL, "weight %u is outside 1..%d", weight,
				  LLMOS_SCHED_WEIGHT_MAX);
	memset(&pr, 0, sizeof(pr));
	pr.pid = pid;
	pr.sched_class = (uint32_t)sched_class;
	pr.weight = weight;
	if (!ioctl(llmos_device_fd(h), LLMOS_CMD_SCHED_SET_PRIO, &pr))
		return 0;
	if (errno == EPERM)
		return llmos_fail(-EPERM, "raising a process above normal or above weight %d, or "
				  "changing another user's process, needs CAP_SYS_NICE",
				  LLMOS_WEIGHT_DEFAULT);
	if (errno == ESRCH)
		return llmos_fail(-ESRCH, "no such process %d", pid);
	return llmos_fail(-errno, "SCHED_SET_PRIO: %s", strerror(errno));
}

/* The weight the module has for this process (LLMOS_WEIGHT_DEFAULT if none). */
static uint32_t own_weight(struct llmos *h)
{
	struct llmos_sched_counters *procs;
	struct llmos_sched_summary sum;
	uint32_t weight = LLMOS_WEIGHT_DEFAULT;
	int i, n;

	procs = calloc(1024, sizeof(*procs));
	n = procs ? llmos_sched_stats(h, &sum, procs, 1024) : -ENOMEM;
	for (i = 0; i < n && i < 1024; i++)
		if (procs[i].pid == getpid())
			weight = procs[i].weight;
	free(procs);
	return weight;
}

/* ---- a session's client ------------------------------------------------ */

struct llmos_sched_client {
	struct llmos *dev;        /* the session's handle (not owned) */
	struct io_uring ring;
	uint32_t job;
	int job_ok;               /* job is a job of this handle */
	int held;                 /* a grant of this job is held */
	int no_release_only;      /* the module lacks LLMOS_F_STEP_RELEASE_ONLY: the next
				     step releases the grant instead */
	int sched_class;
	uint32_t weight;
	struct llmos_job_step step; /* JOB_STEP argument, stable while in flight */
	struct llmos_uring_cmd cmd;
	int can_watch;            /* the module has JOB_WATCH (LLMOS_F_SCHED_PREEMPT) */
	int watching;             /* a JOB_WATCH is in flight */
	int preempted;            /* it reported a more urgent request */
	struct llmos_job_step watch_arg; /* JOB_WATCH argument, stable while in flight */
	struct llmos_uring_cmd watch_cmd;
	struct llmos_sched_info info;
};

#define STEP_TAG 1
#define WATCH_TAG 2

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int job_create(struct llmos_sched_client *c, int sched_class, uint32_t weight,
		      uint32_t *job)
{
	struct llmos_job_create jc;

	memset(&jc, 0, sizeof(jc));
	jc.sched_class = (uint32_t)sched_class;
	jc.weight = weight;
	if (ioctl(llmos_device_fd(c->dev), LLMOS_CMD_JOB_CREATE, &jc))
		return -errno;
	*job = jc.job;
	c->job_ok = 1;
	return 0;
}

static void job_end(struct llmos_sched_client *c, uint32_t job)
{
	struct llmos_job_end je;

	memset(&je, 0, sizeof(je));
	je.job = job;
	ioctl(llmos_device_fd(c->dev), LLMOS_CMD_JOB_END, &je);
}

/*
 * A job of this class; a class above the process's ceiling raises the
 * ceiling first, which works with CAP_SYS_NICE (as nice(2) does).  Without
 * an explicit class, a process held below NORMAL gets BACKGROUND.
 */
static int job_for_class(struct llmos_sched_client *c, int sched_class, uint32_t weight,
			 int class_given, uint32_t *job)
{
	int ret = job_create(c, sched_class, weight, job);

	if (ret == -EPERM && weight > LLMOS_WEIGHT_DEFAULT)
		return llmos_fail(ret, "weight %u is above the default %d: that needs CAP_SYS_NICE",
				  weight, LLMOS_WEIGHT_DEFAULT);
	if (ret != -EPERM)
		goto out;
	if (!class_given)
		return job_create(c, LLMOS_CLASS_BACKGROUND, weight, job);
	if (llmos_sched_set_prio(c->dev, 0, sched_class, own_weight(c->dev)) == 0)
		ret = job_create(c, sched_class, weight, job);
out:
	if (ret == -EPERM)
		return llmos_fail(ret, "class %s is above this process's ceiling: raising it needs "
				  "CAP_SYS_NICE (or an administrator's llmosctl prio %d %s)",
				  class_names[sched_class], (int)getpid(),
				  class_names[sched_class]);
	if (ret < 0)
		return llmos_fail(ret, "JOB_CREATE (class %s, weight %u): %s",
				  class_names[sched_class], weight, strerror(-ret));
	return 0;
}

/* Is there a scheduler to use on dev?  0: no (and nothing to report), 1: yes. */
static int sched_available(const struct llmos *dev, uint64_t *features)
{
	struct llmos_module_info info;
	const char *off = getenv("LLMOS_NO_SCHED");

	if (off && *off && strcmp(off, "0"))
		return 0;
	/* no usable module: run unscheduled, as before */
	if (!dev || llmos_mode(dev) != LLMOS_MODE_KERNEL || llmos_module_info(dev, &info) < 0)
		return 0;
	if (!(info.features & LLMOS_F_SCHED) || !(info.features & LLMOS_F_URING_CMD))
		return 0;
	*features = info.features;
	return 1;
}

int llmos_sched_client_create(struct llmos_sched_client **out, struct llmos *dev,
			      int sched_class, uint32_t weight, int class_given)
{
	struct llmos_sched_client *c;
	uint64_t features = 0;
	int ret;

	*out = NULL;
	if (sched_class == LLMOS_CLASS_NONE || !sched_available(dev, &features))
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return llmos_fail(-ENOMEM, "scheduler client: out of memory");
	c->dev = dev;
	c->can_watch = !!(features & LLMOS_F_SCHED_PREEMPT);
	c->no_release_only = !(features & LLMOS_F_STEP_RELEASE_ONLY);
	ret = io_uring_queue_init(RING_ENTRIES, &c->ring, 0);
	if (ret < 0) {
		/* io_uring disabled (sysctl kernel.io_uring_disabled): unscheduled */
		ret = ret == -ENOMEM ? llmos_fail(ret, "io_uring: out of memory") : 0;
		goto out_free;
	}
	ret = job_for_class(c, sched_class, weight, class_given, &c->job);
	if (!class_given && (ret == -EOPNOTSUPP || ret == -ENOTTY || ret == -EINVAL)) {
		/* a module that does not understand jobs after all: unscheduled */
		llmos_clear_error();
		ret = 0;
	}
	if (ret < 0 || !c->job_ok)
		goto out_ring;
	c->sched_class = sched_class;
	c->weight = weight;
	*out = c;
	return 0;
out_ring:
	io_uring_queue_exit(&c->ring);
out_free:
	free(c);
	return ret;
}

void llmos_sched_client_free(struct llmos_sched_client *c)
{
	if (!c)
		return;
	job_end(c, c->job); /* releases a grant, cancels a pending step */
	io_uring_queue_exit(&c->ring);
	free(c);
}

uint32_t llmos_sched_client_job(const struct llmos_sched_client *c)
{
	return c ? c->job : 0;
}

int llmos_sched_client_set(struct llmos_sched_client *c, int sched_class, uint32_t weight)
{
	uint32_t job;
	int ret;

	ret = job_for_class(c, sched_class, weight, 1, &job);
	if (ret < 0)
		return ret;
	job_end(c, c->job);
	c->job = job;
	c->held = 0;
	c->sched_class = sched_class;
	c->weight = weight;
	return 0;
}

/*
 * A JOB_WATCH completion (consumed: 1), or another CQE (left: 0).  A watch
 * ends with LLMOS_WATCH_PREEMPT, or with 0 when its grant ends.
 */
static int note_watch(struct llmos_sched_client *c, struct io_uring_cqe *cqe)
{
	if (io_uring_cqe_get_data64(cqe) != WATCH_TAG)
		return 0;
	c->watching = 0;
	if (cqe->res == LLMOS_WATCH_PREEMPT)
		c->preempted = 1;
	io_uring_cqe_seen(&c->ring, cqe);
	return 1;
}

/* Wait until the watch in flight (whose grant has ended) completes. */
static void wait_watch_done(struct llmos_sched_client *c)
{
	struct io_uring_cqe *cqe;
	int ret;

	while (c->watching) {
		ret = io_uring_wait_cqe(&c->ring, &cqe);
		if (ret == -EINTR)
			continue;
		if (ret < 0 || !note_watch(c, cqe)) {
			c->watching = 0; /* cannot happen: no step is in flight */
			return;
		}
	}
}

/* Submit JOB_STEP with flags and wait for its completion: its res. */
static int step_round_trip(struct llmos_sched_client *c, uint32_t flags)
{
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ring);
	int ret, res;

	if (!sqe)
		return llmos_fail(-EBUSY, "JOB_STEP: the ring is full");
	memset(&c->step, 0, sizeof(c->step));
	c->step.job = c->job;
	c->step.flags = flags;
	c->cmd = (struct llmos_uring_cmd){ .addr = (uintptr_t)&c->step, .len = sizeof(c->step) };
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, llmos_device_fd(c->dev), NULL, 0, 0);
	sqe->cmd_op = LLMOS_CMD_JOB_STEP;
	memcpy(sqe->cmd, &c->cmd, sizeof(c->cmd));
	io_uring_sqe_set_data64(sqe, STEP_TAG);
	ret = io_uring_submit_and_wait(&c->ring, 1);
	while ((ret >= 0 || ret == -EINTR) && io_uring_sq_ready(&c->ring))
		ret = io_uring_submit(&c->ring);
	if (ret < 0 && ret != -EINTR)
		return llmos_fail(ret, "JOB_STEP: io_uring_submit: %s", strerror(-ret));
	for (;;) {
		do
			ret = io_uring_wait_cqe(&c->ring, &cqe);
		while (ret == -EINTR);
		if (ret < 0)
			return llmos_fail(ret, "JOB_STEP: io_uring_wait_cqe: %s", strerror(-ret));
		if (!note_watch(c, cqe))
			break;
	}
	res = cqe->res;
	io_uring_cqe_seen(&c->ring, cqe);
	return res;
}

/* After a grant: ask to hear of a more urgent request (best effort). */
static void watch_arm(struct llmos_sched_client *c)
{
	struct io_uring_sqe *sqe;

	c->preempted = 0;
	if (!c->can_watch)
		return;
	wait_watch_done(c); /* the last grant's watch ended with it */
	sqe = io_uring_get_sqe(&c->ring);
	if (!sqe)
		return;
	c->watch_arg = (struct llmos_job_step){ .job = c->job };
	c->watch_cmd = (struct llmos_uring_cmd){ .addr = (uintptr_t)&c->watch_arg,
						 .len = sizeof(c->watch_arg) };
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, llmos_device_fd(c->dev), NULL, 0, 0);
	sqe->cmd_op = LLMOS_CMD_JOB_WATCH;
	memcpy(sqe->cmd, &c->watch_cmd, sizeof(c->watch_cmd));
	io_uring_sqe_set_data64(sqe, WATCH_TAG);
	if (io_uring_submit(&c->ring) == 1)
		c->watching = 1;
}

int llmos_sched_yield_if_preempted(struct llmos_sched_client *c)
{
	struct io_uring_cqe *cqe;

	if (!c || !c->held)
		return 0;
	while (c->watching && io_uring_peek_cqe(&c->ring, &cqe) == 0 && note_watch(c, cqe))
		;
	if (!c->preempted)
		return 0;
	c->info.preemptions++;
	return llmos_sched_acquire(c); /* release, queue behind the urgent one, go on */
}

int llmos_sched_acquire(struct llmos_sched_client *c)
{
	uint64_t t0, dt;
	int res;

	if (!c)
		return 0;
	t0 = now_ns();
	res = step_round_trip(c, c->held ? LLMOS_STEP_RELEASE : 0);
	c->held = 0;
	if (res == -ETIME) { /* the previous step overran its lease: ask again */
		c->info.revocations++;
		res = step_round_trip(c, 0);
	}
	if (res < 0)
		return llmos_fail(res, "JOB_STEP: %s%s", strerror(-res),
				  res == -ECANCELED ? " (the job was ended or its ring cancelled)" :
				  "");
	dt = now_ns() - t0;
	c->held = 1;
	c->info.steps++;
	c->info.wait_ns += dt;
	if (dt > c->info.max_wait_ns)
		c->info.max_wait_ns = dt;
	watch_arm(c);
	return 0;
}

int llmos_sched_release(struct llmos_sched_client *c)
{
	uint64_t t0;
	int res;

	if (!c || !c->held || c->no_release_only)
		return 0;
	t0 = now_ns();
	res = step_round_trip(c, LLMOS_STEP_RELEASE_ONLY);
	c->held = 0;
	wait_watch_done(c);
	if (res == -ETIME) {
		c->info.revocations++;
		res = 0;
	}
	if (res < 0)
		return llmos_fail(res, "JOB_STEP (release): %s", strerror(-res));
	c->info.releases++;
	c->info.release_ns += now_ns() - t0;
	return 0;
}

void llmos_sched_client_info(const struct llmos_sched_client *c, struct llmos_sched_info *info)
{
	*info = c->info;
	info->active = 1;
}

/* ---- the session side -------------------------------------------------- */

int llmos_session_set_sched(struct llmos_session *s, int sched_class, uint32_t weight)
{
	int ret = 0;

	if (sched_class < LLMOS_CLASS_NONE || sched_class >= LLMOS_SCHED_CLASSES)
		return llmos_fail(-EINVAL, "bad scheduling class %d", sched_class);
	if (weight > LLMOS_SCHED_WEIGHT_MAX)
		return llmos_fail(-EINVAL, "weight %u is over %d", weight, LLMOS_SCHED_WEIGHT_MAX);
	if (sched_class == LLMOS_CLASS_NONE) {
		llmos_sched_client_free(s->sched);
		s->sched = NULL;
	} else if (s->sched) {
		ret = llmos_sched_client_set(s->sched, sched_class, weight);
	} else {
		ret = llmos_sched_client_create(&s->sched, s->dev, sched_class, weight, 1);
	}
	if (ret < 0)
		return ret;
	s->sched_class = sched_class;
	s->sched_weight = weight;
	return 0;
}

int llmos_session_yield(struct llmos_session *s)
{
	return llmos_sched_release(s->sched);
}

void llmos_session_sched_info(const struct llmos_session *s, struct llmos_sched_info *info)
{
	memset(info, 0, sizeof(*info));
	if (s->sched)
		llmos_sched_client_info(s->sched, info);
	info->sched_class = s->sched_class;
	info->weight = s->sched_weight;
}
