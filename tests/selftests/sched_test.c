// SPDX-License-Identifier: GPL-2.0
/*
 * sched_test.c - selftests of the compute scheduler (LLMOS_F_SCHED):
 * JOB_CREATE/STEP/END, SCHED_SET_PRIO and SCHED_STATS, through io_uring
 * (the step's CQE is the grant) and ioctl (JOB_STEP blocks until granted).
 *
 * Every test starts from slots=1 with lease_ms and starve_ms set high enough
 * (LONG_MS) that neither fires unless the test lowers them; the fixture's
 * teardown kills any child left and restores all three parameters.
 *
 * Waiting is done on events: CQEs (with a timeout of EVENT_MS, so a missing
 * grant fails instead of hanging), pipes and waitpid().  The one exception is
 * await_stats(), which polls SCHED_STATS for work the kernel does
 * asynchronously with no event userspace could wait on: io_uring's ring
 * teardown after the ring fd is closed, and a thread entering a blocking
 * ioctl.  A sleep appears only as the thing under test (holding a grant).
 *
 * Tests that need other processes fork children that report by exit status:
 * 0 for success, otherwise a step number or code documented at the call
 * (they print what they saw on stderr).  Children never use ASSERT_*, get
 * SIGKILL when the test process dies (PR_SET_PDEATHSIG), and close every
 * file they inherited except the pipes they use, so that a parent's file or
 * ring goes away when the parent closes it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <liburing.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/llmos.h>

#include "kselftest_harness.h"
#include "selftest_util.h"

#define DEV_PATH "/dev/llmos"
#define PARAM_DIR "/sys/module/llmos/parameters/"
#define EVENT_MS 5000   /* how long an expected event may take under TCG */
#define LONG_MS 30000   /* lease_ms/starve_ms when a test does not exercise them */
#define NO_CQE 1000000  /* wait_cqe_ms(): no CQE within the timeout */
#define MAX_PIDS 16

#define CHILD_SETUP_FAILED 200 /* could not open / drop privileges / set up */
#define CHILD_NO_GRANT 201     /* a grant did not come within EVENT_MS */
#define CHILD_BAD_RES 202      /* a CQE had an unexpected result */

enum { P_SLOTS, P_LEASE, P_STARVE, NR_PARAMS };
static const char *const param_path[NR_PARAMS] = {
	PARAM_DIR "slots", PARAM_DIR "lease_ms", PARAM_DIR "starve_ms",
};

static const char *const class_name[LLMOS_NR_CLASSES] = {
	"REALTIME", "INTERACTIVE", "NORMAL", "BACKGROUND",
};

/* ---- time ---- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Busy for @us microseconds (a hold that keeps a CPU, like a real step). */
static void spin_us(long us)
{
	double end = now_ms() + us / 1e3;

	while (now_ms() < end)
		;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- parameters ---- */

/* ---- io_uring ---- */

static void prep_cmd(struct io_uring_sqe *sqe, int fd, __u32 op, void *arg, __u32 len, __u64 ud)
{
	struct llmos_uring_cmd *pl;

	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = op;
	pl = (struct llmos_uring_cmd *)sqe->cmd;
	pl->addr = (__u64)(uintptr_t)arg;
	pl->len = len;
	pl->reserved = 0;
	io_uring_sqe_set_data64(sqe, ud);
}

/*
 * Submit one JOB_STEP uring_cmd (user_data @ud).  *st must stay valid until
 * the CQE.  Returns 0 once submitted, or -errno.
 */
static int submit_step(struct io_uring *ring, int fd, struct llmos_job_step *st, __u32 job,
		       __u32 flags, __u64 ud)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	int ret;

	if (!sqe)
		return -EBUSY;
	memset(st, 0, sizeof(*st));
	st->job = job;
	st->flags = flags;
	prep_cmd(sqe, fd, LLMOS_CMD_JOB_STEP, st, sizeof(*st), ud);
	ret = io_uring_submit(ring);
	return ret == 1 ? 0 : ret < 0 ? ret : -EIO;
}

/* The next CQE's res (and *ud), or NO_CQE if none came within @ms. */
static int wait_cqe_ms(struct io_uring *ring, int ms, __u64 *ud)
{
	struct __kernel_timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000LL };
	struct io_uring_cqe *cqe;
	int ret;

	do
		ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	while (ret == -EINTR);
	if (ret)
		return NO_CQE;
	ret = cqe->res;
	if (ud)
		*ud = io_uring_cqe_get_data64(cqe);
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

/* 1 if a CQE is ready now (it is left in the ring), else 0. */
static int cqe_ready(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;

	return io_uring_peek_cqe(ring, &cqe) == 0;
}

/* ---- a client: one file of /dev/llmos, its ring and one job ---- */

struct client {
	int fd;
	int has_ring;
	struct io_uring ring;
	__u32 job;
	struct llmos_job_step step; /* the argument of the step in flight */
};

static int client_open(struct client *c, int with_ring, __u32 class, __u32 weight)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (c->fd < 0)
		return -errno;
	if (with_ring) {
		ret = io_uring_queue_init(8, &c->ring, 0);
		if (ret) {
			close(c->fd);
			c->fd = -1;
			return ret;
		}
		c->has_ring = 1;
	}
	return job_create(c->fd, class, weight, &c->job);
}

static void client_close(struct client *c)
{
	if (c->has_ring)
		io_uring_queue_exit(&c->ring);
	c->has_ring = 0;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int client_submit(struct client *c, __u32 flags)
{
	return submit_step(&c->ring, c->fd, &c->step, c->job, flags, c->job);
}

/* Submit a step and wait for its CQE: its res, or NO_CQE. */
static int client_step(struct client *c, __u32 flags, int ms)
{
	int ret = client_submit(c, flags);

	return ret ? ret : wait_cqe_ms(&c->ring, ms, NULL);
}

/* ---- processes ---- */

/* Read one byte from @fd within @ms: the byte, -1 on EOF/error, -2 on timeout. */
static int read_byte_ms(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	unsigned char c;
	int ret;

	do
		ret = poll(&p, 1, ms);
	while (ret < 0 && errno == EINTR);
	if (ret == 0)
		return -2;
	if (ret < 0 || read(fd, &c, 1) != 1)
		return -1;
	return c;
}

static int write_byte(int fd, unsigned char c)
{
	return write(fd, &c, 1) == 1 ? 0 : -1;
}

/* Shared anonymous memory for a test and its children. */
static void *shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

FIXTURE(sched)
{
	int fd;
	int saved_ok;
	long long saved[NR_PARAMS];
	int npids;
	pid_t pids[MAX_PIDS];
};

/* Close every inherited descriptor above stderr except those in keep[]. */
static void close_other_fds(const int *keep, int nkeep)
{
	int fd, i, k;

	for (fd = 3; fd < 1024; fd++) {
		for (k = 0, i = 0; i < nkeep; i++)
			k |= keep[i] == fd;
		if (!k)
			close(fd);
	}
}

/*
 * Fork a child that runs fn(arg) and exits with its result.  It dies with
 * the test process and keeps only the descriptors in keep[].
 */
static pid_t spawn(FIXTURE_DATA(sched) *self, int (*fn)(void *), void *arg, const int *keep,
		   int nkeep)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(CHILD_SETUP_FAILED);
		close_other_fds(keep, nkeep);
		_exit(fn(arg));
	}
	if (pid > 0 && self->npids < MAX_PIDS)
		self->pids[self->npids++] = pid;
	return pid;
}

/* Wait for a child spawn() made; its wait_code(). */
static int reap(FIXTURE_DATA(sched) *self, pid_t pid)
{
	int i;

	for (i = 0; i < self->npids; i++) {
		if (self->pids[i] == pid) {
			self->pids[i] = self->pids[--self->npids];
			break;
		}
	}
	return wait_code(pid);
}

FIXTURE_SETUP(sched)
{
	struct llmos_info info;
	int i;

	self->npids = 0;
	self->saved_ok = 0;
	self->fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", DEV_PATH, strerror(errno));
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, ioctl(self->fd, LLMOS_CMD_GET_INFO, &info));
	if (!(info.features & LLMOS_F_SCHED))
		SKIP(return, "LLMOS_F_SCHED not advertised");
	for (i = 0; i < NR_PARAMS; i++) {
		self->saved[i] = read_ll(param_path[i]);
		ASSERT_LE(0, self->saved[i]) TH_LOG("cannot read %s", param_path[i]);
	}
	self->saved_ok = 1;
	ASSERT_EQ(0, write_ll(param_path[P_SLOTS], 1));
	ASSERT_EQ(0, write_ll(param_path[P_LEASE], LONG_MS));
	ASSERT_EQ(0, write_ll(param_path[P_STARVE], LONG_MS));
}

FIXTURE_TEARDOWN(sched)
{
	int i;

	for (i = 0; i < self->npids; i++) {
		kill(self->pids[i], SIGKILL);
		waitpid(self->pids[i], NULL, 0);
	}
	self->npids = 0;
	if (self->saved_ok)
		for (i = 0; i < NR_PARAMS; i++)
			write_ll(param_path[i], self->saved[i]);
	close(self->fd);
}

/*
 * Poll SCHED_STATS (every millisecond, for at most @ms) until pred() holds;
 * only for asynchronous kernel work that has no event (see the top).
 * Returns 1 if it held, 0 if not (then *st is the last snapshot).
 */
static int await_stats(int fd, int ms, int (*pred)(const struct llmos_sched_stats *, const void *),
		       const void *arg, struct llmos_sched_stats *st)
{
	double end = now_ms() + ms;

	for (;;) {
		if (get_stats(fd, st))
			return 0;
		if (pred(st, arg))
			return 1;
		if (now_ms() > end)
			return 0;
		sleep_ms(1);
	}
}

struct class_want {
	__u32 class;
	__u32 queued;
	__u32 jobs;     /* ~0u: any */
	__u64 cancels;  /* ~0ull: any */
};

static int class_pred(const struct llmos_sched_stats *st, const void *arg)
{
	const struct class_want *w = arg;
	const struct llmos_sched_stat *c = &st->classes[w->class];

	return c->queued == w->queued && (w->jobs == ~0u || c->jobs == w->jobs) &&
	       (w->cancels == ~0ull || c->cancels == w->cancels);
}

static __u32 total_of(const struct llmos_sched_stats *st, int field)
{
	__u32 n = 0;
	int i;

	for (i = 0; i < LLMOS_NR_CLASSES; i++)
		n += field == 0 ? st->classes[i].queued : field == 1 ? st->classes[i].held :
				  st->classes[i].jobs;
	return n;
}

static int idle_pred(const struct llmos_sched_stats *st, const void *arg)
{
	(void)arg;
	return total_of(st, 0) == 0 && total_of(st, 1) == 0 && total_of(st, 2) == 0 &&
	       st->slots_busy == 0;
}

static int sum_hist(const struct llmos_sched_stat *s, __u64 *sum)
{
	int i;

	*sum = 0;
	for (i = 0; i < LLMOS_WAIT_BUCKETS; i++)
		*sum += s->wait_hist[i];
	return 0;
}

/* ===================================================================== */

TEST_F(sched, info_advertises_sched)
{
	struct llmos_sched_stats st;
	struct llmos_info info;

	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, ioctl(self->fd, LLMOS_CMD_GET_INFO, &info));
	ASSERT_NE(0ULL, info.features & LLMOS_F_SCHED);
	ASSERT_EQ(0ULL, info.features & ~LLMOS_F_ALL);
	/* The parameters are there and the module follows them. */
	ASSERT_EQ(1, read_ll(param_path[P_SLOTS]));
	ASSERT_EQ(LONG_MS, read_ll(param_path[P_LEASE]));
	ASSERT_EQ(LONG_MS, read_ll(param_path[P_STARVE]));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(1U, st.slots);
	ASSERT_EQ(0U, st.slots_busy);
	ASSERT_EQ(-1, st.classes[LLMOS_CLASS_NORMAL].pid);
}

/* ---- class order ---- */

struct order_log {
	int n;
	int order[LLMOS_NR_CLASSES];
};

struct order_child {
	__u32 class;
	int ready_w;            /* child -> parent: 'q' once its step is queued */
	struct order_log *log;
};

static int order_child_fn(void *arg)
{
	struct order_child *a = arg;
	struct client c;
	int fd, res, i;

	fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0 || set_prio(fd, 0, a->class, LLMOS_WEIGHT_DEFAULT))
		return CHILD_SETUP_FAILED;
	if (client_open(&c, 1, a->class, 0) || client_submit(&c, 0))
		return CHILD_SETUP_FAILED;
	write_byte(a->ready_w, 'q');
	res = wait_cqe_ms(&c.ring, 2 * EVENT_MS, NULL);
	if (res) {
		fprintf(stderr, "# %s child: step res %d\n", class_name[a->class], res);
		return res == NO_CQE ? CHILD_NO_GRANT : CHILD_BAD_RES;
	}
	/* Log while holding the only slot: the log order is the grant order. */
	i = __atomic_fetch_add(&a->log->n, 1, __ATOMIC_SEQ_CST);
	if (i < LLMOS_NR_CLASSES)
		a->log->order[i] = a->class;
	if (job_end(c.fd, c.job))
		return CHILD_BAD_RES;
	client_close(&c);
	close(fd);
	return 0;
}

TEST_F(sched, grants_follow_class_order)
{
	/* Queued worst first, so first-come-first-served would invert the order. */
	static const __u32 queue_order[LLMOS_NR_CLASSES] = {
		LLMOS_CLASS_BACKGROUND, LLMOS_CLASS_NORMAL, LLMOS_CLASS_INTERACTIVE,
		LLMOS_CLASS_REALTIME,
	};
	struct order_child args[LLMOS_NR_CLASSES];
	struct llmos_sched_stats base, st;
	struct order_log *log = shared_alloc(sizeof(*log));
	pid_t pids[LLMOS_NR_CLASSES];
	struct client h;
	int ready[2], i;

	ASSERT_NE(NULL, log);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, get_stats(self->fd, &base));
	ASSERT_EQ(0, client_open(&h, 0, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, step_ioctl(h.fd, h.job, 0));

	for (i = 0; i < LLMOS_NR_CLASSES; i++) {
		int keep[] = { ready[1] };

		args[i] = (struct order_child){ .class = queue_order[i], .ready_w = ready[1],
						.log = log };
		pids[i] = spawn(self, order_child_fn, &args[i], keep, 1);
		ASSERT_LT(0, pids[i]);
		ASSERT_EQ('q', read_byte_ms(ready[0], EVENT_MS))
			TH_LOG("%s child did not queue", class_name[queue_order[i]]);
	}
	ASSERT_EQ(0, get_stats(self->fd, &st));
	for (i = 0; i < LLMOS_NR_CLASSES; i++)
		ASSERT_EQ(base.classes[i].queued + 1, st.classes[i].queued)
			TH_LOG("class %s", class_name[i]);
	ASSERT_EQ(0, log->n);

	ASSERT_EQ(0, job_end(h.fd, h.job));
	for (i = 0; i < LLMOS_NR_CLASSES; i++)
		ASSERT_EQ(0, reap(self, pids[i])) TH_LOG("%s child", class_name[queue_order[i]]);
	ASSERT_EQ(LLMOS_NR_CLASSES, log->n);
	TH_LOG("grant order: %d %d %d %d (0 REALTIME .. 3 BACKGROUND)", log->order[0],
	       log->order[1], log->order[2], log->order[3]);
	ASSERT_EQ(LLMOS_CLASS_REALTIME, log->order[0]);
	ASSERT_EQ(LLMOS_CLASS_INTERACTIVE, log->order[1]);
	ASSERT_EQ(LLMOS_CLASS_NORMAL, log->order[2]);
	ASSERT_EQ(LLMOS_CLASS_BACKGROUND, log->order[3]);
	client_close(&h);
	close(ready[0]);
	close(ready[1]);
}

/* ---- sharing inside a class ---- */

#define SHARE_GRANTS 1000

struct share {
	int total;
	int count[2];
	__u64 wait_us[2];       /* each process's SCHED_STATS wait_us_total at its end */
	__u64 grants[2];        /* and its grants */
};

struct share_child {
	int idx;
	__u32 weight;
	long hold_us;
	int ready_w;
	int go_r;               /* EOF when the parent closes its end: start */
	struct share *sh;
};

static int share_child_fn(void *arg)
{
	struct share_child *a = arg;
	struct client c;
	char b;
	int res, first = 1;

	if (client_open(&c, 1, LLMOS_CLASS_NORMAL, a->weight) ||
	    set_prio(c.fd, 0, LLMOS_CLASS_NORMAL, a->weight))
		return CHILD_SETUP_FAILED;
	write_byte(a->ready_w, 'r');
	if (read(a->go_r, &b, 1) != 0)
		return CHILD_SETUP_FAILED;
	for (;;) {
		res = client_step(&c, first ? 0 : LLMOS_STEP_RELEASE, 2 * EVENT_MS);
		first = 0;
		if (res) {
			fprintf(stderr, "# share child %d: step res %d\n", a->idx, res);
			return res == NO_CQE ? CHILD_NO_GRANT : CHILD_BAD_RES;
		}
		if (__atomic_fetch_add(&a->sh->total, 1, __ATOMIC_SEQ_CST) >= SHARE_GRANTS)
			break;
		__atomic_fetch_add(&a->sh->count[a->idx], 1, __ATOMIC_SEQ_CST);
		spin_us(a->hold_us);
	}
	{
		struct llmos_sched_stat me;

		if (get_proc(c.fd, getpid(), &me) != 1)
			return CHILD_BAD_RES;
		a->sh->wait_us[a->idx] = me.wait_us_total;
		a->sh->grants[a->idx] = me.grants;
	}
	if (job_end(c.fd, c.job))
		return CHILD_BAD_RES;
	client_close(&c);
	return 0;
}

/*
 * Run two NORMAL processes of the given weights until SHARE_GRANTS grants;
 * *share0 is process 0's share of the slot's time.
 *
 * The module shares slot time: a release charges the time since the grant,
 * which includes waking the granted process up (tens of microseconds under
 * TCG, milliseconds when the host is busy and the vCPU was idle) -- and the
 * process woken is nearly always the one that gets fewer grants.  So the
 * grant count is only logged; the share is measured as the module sees it.
 * With one slot and both processes always queued or holding, each waits
 * exactly while the other holds: process 0's time is process 1's wait.
 */
static void run_share(struct __test_metadata *_metadata, FIXTURE_DATA(sched) *self,
		      __u32 w0, __u32 w1, long hold_us, double *share0)
{
	struct share_child args[2];
	struct share *sh = shared_alloc(sizeof(*sh));
	int ready[2], go[2], i;
	pid_t pids[2];

	ASSERT_NE(NULL, sh);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	for (i = 0; i < 2; i++) {
		int keep[] = { ready[1], go[0] };

		args[i] = (struct share_child){ .idx = i, .weight = i ? w1 : w0,
						.hold_us = hold_us, .ready_w = ready[1],
						.go_r = go[0], .sh = sh };
		pids[i] = spawn(self, share_child_fn, &args[i], keep, 2);
		ASSERT_LT(0, pids[i]);
	}
	for (i = 0; i < 2; i++)
		ASSERT_EQ('r', read_byte_ms(ready[0], EVENT_MS));
	close(go[1]);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, reap(self, pids[i])) TH_LOG("child %d", i);
	ASSERT_EQ(SHARE_GRANTS, sh->count[0] + sh->count[1]);
	ASSERT_LT(0ULL, sh->wait_us[0] + sh->wait_us[1]);
	*share0 = (double)sh->wait_us[1] / (sh->wait_us[0] + sh->wait_us[1]);
	TH_LOG("weights %u:%u, holds of %ld us: grants %d:%d, slot time %llu:%llu us (share %.3f)",
	       w0, w1, hold_us, sh->count[0], sh->count[1], (unsigned long long)sh->wait_us[1],
	       (unsigned long long)sh->wait_us[0], *share0);
	close(go[0]);
	close(ready[0]);
	close(ready[1]);
	munmap(sh, sizeof(*sh));
}

TEST_F_TIMEOUT(sched, equal_weights_share_half, 120)
{
	double share;

	run_share(_metadata, self, 100, 100, 100, &share);
	ASSERT_TRUE(share >= 0.40 && share <= 0.60) TH_LOG("share %.3f", share);
}

TEST_F_TIMEOUT(sched, weight_two_to_one, 120)
{
	double share, ratio;

	run_share(_metadata, self, 200, 100, 100, &share);
	ASSERT_GT(1.0, share);
	ratio = share / (1.0 - share);
	ASSERT_TRUE(ratio >= 1.6 && ratio <= 2.4) TH_LOG("ratio %.2f", ratio);
}

/* ---- starvation bound ---- */

#define STARVE_MS 100
#define RT_HOLD_MS 5
#define TCG_MARGIN_MS 400

struct hog {
	int stop;
	int grants;
};

struct hog_child {
	int ready_w;
	struct hog *hog;
};

/* A REALTIME process that keeps the slot busy, ~RT_HOLD_MS per grant. */
static int hog_child_fn(void *arg)
{
	struct hog_child *a = arg;
	struct client c;
	int res, first = 1;

	c.fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (c.fd < 0 || set_prio(c.fd, 0, LLMOS_CLASS_REALTIME, LLMOS_WEIGHT_DEFAULT))
		return CHILD_SETUP_FAILED;
	close(c.fd);
	if (client_open(&c, 1, LLMOS_CLASS_REALTIME, 0))
		return CHILD_SETUP_FAILED;
	for (;;) {
		res = client_step(&c, first ? 0 : LLMOS_STEP_RELEASE, 2 * EVENT_MS);
		if (res) {
			fprintf(stderr, "# hog: step res %d\n", res);
			return res == NO_CQE ? CHILD_NO_GRANT : CHILD_BAD_RES;
		}
		if (first)
			write_byte(a->ready_w, 'g');
		first = 0;
		if (__atomic_load_n(&a->hog->stop, __ATOMIC_SEQ_CST))
			break;
		__atomic_fetch_add(&a->hog->grants, 1, __ATOMIC_SEQ_CST);
		sleep_ms(RT_HOLD_MS); /* the hold under test */
	}
	if (job_end(c.fd, c.job))
		return CHILD_BAD_RES;
	client_close(&c);
	return 0;
}

TEST_F_TIMEOUT(sched, starvation_bound_holds, 120)
{
	struct hog *hog = shared_alloc(sizeof(*hog));
	struct hog_child arg;
	struct client bg;
	int ready[2], res, rt_before, rt_during;
	double t0, waited;
	pid_t pid;

	ASSERT_NE(NULL, hog);
	ASSERT_EQ(0, write_ll(param_path[P_STARVE], STARVE_MS));
	ASSERT_EQ(0, pipe(ready));
	arg = (struct hog_child){ .ready_w = ready[1], .hog = hog };
	pid = spawn(self, hog_child_fn, &arg, &ready[1], 1);
	ASSERT_LT(0, pid);
	ASSERT_EQ('g', read_byte_ms(ready[0], EVENT_MS));

	ASSERT_EQ(0, client_open(&bg, 1, LLMOS_CLASS_BACKGROUND, 0));
	rt_before = __atomic_load_n(&hog->grants, __ATOMIC_SEQ_CST);
	t0 = now_ms();
	res = client_step(&bg, 0, EVENT_MS);
	waited = now_ms() - t0;
	rt_during = __atomic_load_n(&hog->grants, __ATOMIC_SEQ_CST) - rt_before;
	__atomic_store_n(&hog->stop, 1, __ATOMIC_SEQ_CST);
	TH_LOG("BACKGROUND granted after %.1f ms (starve_ms %d), %d REALTIME grants meanwhile",
	       waited, STARVE_MS, rt_during);
	ASSERT_EQ(0, res);
	ASSERT_GE(STARVE_MS + RT_HOLD_MS + TCG_MARGIN_MS, waited);
	/* Not before aging: REALTIME kept the slot busy and classes are strict. */
	ASSERT_LE(STARVE_MS / 2, waited);
	ASSERT_LE(2, rt_during);
	ASSERT_EQ(0, job_end(bg.fd, bg.job));
	ASSERT_EQ(0, reap(self, pid));
	client_close(&bg);
	close(ready[0]);
	close(ready[1]);
}

/* ---- lease ---- */

#define LEASE_MS 50

struct waiter_child {
	int ready_w;
};

/* Queue one NORMAL step; once granted, end the job and exit 0. */
static int waiter_child_fn(void *arg)
{
	struct waiter_child *a = arg;
	struct client c;
	int res;

	if (client_open(&c, 1, LLMOS_CLASS_NORMAL, 0) || client_submit(&c, 0))
		return CHILD_SETUP_FAILED;
	write_byte(a->ready_w, 'q');
	res = wait_cqe_ms(&c.ring, EVENT_MS, NULL);
	if (res) {
		fprintf(stderr, "# waiter: step res %d\n", res);
		return res == NO_CQE ? CHILD_NO_GRANT : CHILD_BAD_RES;
	}
	if (job_end(c.fd, c.job))
		return CHILD_BAD_RES;
	client_close(&c);
	return 0;
}

TEST_F_TIMEOUT(sched, lease_revocation, 120)
{
	struct llmos_sched_stats base, st;
	struct llmos_sched_stat me;
	struct waiter_child arg;
	struct client h;
	int ready[2];
	double t0, held;
	pid_t pid;

	ASSERT_EQ(0, get_stats(self->fd, &base));
	ASSERT_EQ(0, write_ll(param_path[P_LEASE], LEASE_MS));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, client_open(&h, 1, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, client_step(&h, 0, EVENT_MS));
	t0 = now_ms();

	/* Hold on (doing nothing): another process's request gets the slot. */
	arg.ready_w = ready[1];
	pid = spawn(self, waiter_child_fn, &arg, &ready[1], 1);
	ASSERT_LT(0, pid);
	ASSERT_EQ('q', read_byte_ms(ready[0], EVENT_MS));
	ASSERT_EQ(0, reap(self, pid)) TH_LOG("the waiter was not granted while we overran");
	held = now_ms() - t0;
	TH_LOG("slot taken over after %.1f ms (lease_ms %d)", held, LEASE_MS);
	ASSERT_LE(LEASE_MS - 10, held);

	/* No more revocations from here on. */
	ASSERT_EQ(0, write_ll(param_path[P_LEASE], LONG_MS));
	ASSERT_EQ(-ETIME, client_step(&h, LLMOS_STEP_RELEASE, EVENT_MS));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].queued, st.classes[LLMOS_CLASS_NORMAL].queued)
		TH_LOG("the -ETIME step must not queue");
	ASSERT_EQ(0, client_step(&h, 0, EVENT_MS));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].revocations + 1,
		  st.classes[LLMOS_CLASS_NORMAL].revocations);
	ASSERT_EQ(1U, st.slots_busy);
	ASSERT_EQ(1, get_proc(self->fd, getpid(), &me));
	ASSERT_EQ(1ULL, me.revocations);
	ASSERT_EQ(1U, me.held);
	ASSERT_EQ(0, job_end(h.fd, h.job));
	client_close(&h);
	close(ready[0]);
	close(ready[1]);
}

/* ---- process death ---- */

struct holder_child {
	int ready_w;
	int uring;
};

/* Take a grant (ioctl or uring_cmd), report 'g', then wait to be killed. */
static int holder_child_fn(void *arg)
{
	struct holder_child *a = arg;
	struct client c;

	if (client_open(&c, a->uring, LLMOS_CLASS_NORMAL, 0))
		return CHILD_SETUP_FAILED;
	if (a->uring ? client_step(&c, 0, EVENT_MS) : step_ioctl(c.fd, c.job, 0))
		return CHILD_BAD_RES;
	write_byte(a->ready_w, 'g');
	for (;;)
		pause();
}

static void killed_while_holding(struct __test_metadata *_metadata, FIXTURE_DATA(sched) *self,
				 int uring)
{
	struct llmos_sched_stats base, st;
	struct llmos_sched_stat child;
	struct holder_child arg;
	struct client p;
	int ready[2];
	pid_t pid;

	ASSERT_EQ(0, get_stats(self->fd, &base));
	ASSERT_EQ(0, pipe(ready));
	arg.ready_w = ready[1];
	arg.uring = uring;
	pid = spawn(self, holder_child_fn, &arg, &ready[1], 1);
	ASSERT_LT(0, pid);
	ASSERT_EQ('g', read_byte_ms(ready[0], EVENT_MS));

	ASSERT_EQ(0, client_open(&p, 1, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, client_submit(&p, 0));
	ASSERT_EQ(0, cqe_ready(&p.ring));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(1U, st.slots_busy);
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].queued + 1, st.classes[LLMOS_CLASS_NORMAL].queued);

	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(1000 + SIGKILL, reap(self, pid));
	ASSERT_EQ(0, wait_cqe_ms(&p.ring, EVENT_MS, NULL));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(1U, st.slots_busy);
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].held + 1, st.classes[LLMOS_CLASS_NORMAL].held);
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].jobs + 1, st.classes[LLMOS_CLASS_NORMAL].jobs);
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].queued, st.classes[LLMOS_CLASS_NORMAL].queued);
	if (get_proc(self->fd, pid, &child) == 1) {
		ASSERT_EQ(0U, child.held);
		ASSERT_EQ(0U, child.jobs);
		ASSERT_EQ(0U, child.queued);
	}

	ASSERT_EQ(0, job_end(p.fd, p.job));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(0U, st.slots_busy);
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].held, st.classes[LLMOS_CLASS_NORMAL].held);
	client_close(&p);
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].jobs, st.classes[LLMOS_CLASS_NORMAL].jobs);
	close(ready[0]);
	close(ready[1]);
}

TEST_F_TIMEOUT(sched, killed_while_holding_frees_slot, 120)
{
	killed_while_holding(_metadata, self, 0);
}

/* The same with the grant taken through a ring (the dead process's ring goes later). */
TEST_F_TIMEOUT(sched, killed_while_holding_via_uring_frees_slot, 120)
{
	killed_while_holding(_metadata, self, 1);
}

struct queued_child {
	int ready_w;
};

/* Queue a step (behind a held slot), report 'q', then wait to be killed. */
static int queued_child_fn(void *arg)
{
	struct queued_child *a = arg;
	struct client c;

	if (client_open(&c, 1, LLMOS_CLASS_NORMAL, 0) || client_submit(&c, 0))
		return CHILD_SETUP_FAILED;
	write_byte(a->ready_w, 'q');
	for (;;)
		pause();
}

TEST_F_TIMEOUT(sched, killed_while_queued, 120)
{
	struct llmos_sched_stats base, st;
	struct llmos_sched_stat child;
	struct queued_child arg;
	struct class_want want;
	struct client h, p;
	int ready[2];
	pid_t pid;

	ASSERT_EQ(0, get_stats(self->fd, &base));
	ASSERT_EQ(0, pipe(ready));
	arg.ready_w = ready[1];
	pid = spawn(self, queued_child_fn, &arg, &ready[1], 1);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, client_open(&h, 0, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, step_ioctl(h.fd, h.job, 0));
	ASSERT_EQ('q', read_byte_ms(ready[0], EVENT_MS));
	ASSERT_EQ(0, client_open(&p, 1, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, client_submit(&p, 0));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].queued + 2, st.classes[LLMOS_CLASS_NORMAL].queued);

	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(1000 + SIGKILL, reap(self, pid));
	/*
	 * The dead process's request goes when io_uring tears its ring down,
	 * asynchronously after the exit (task exit itself does not cancel
	 * uring_cmds in 6.12).
	 */
	want = (struct class_want){ .class = LLMOS_CLASS_NORMAL,
				    .queued = base.classes[LLMOS_CLASS_NORMAL].queued + 1,
				    .jobs = ~0u,
				    .cancels = base.classes[LLMOS_CLASS_NORMAL].cancels + 1 };
	ASSERT_EQ(1, await_stats(self->fd, EVENT_MS, class_pred, &want, &st))
		TH_LOG("queued %u (want %u), cancels %llu (want %llu)",
		       st.classes[LLMOS_CLASS_NORMAL].queued, want.queued,
		       (unsigned long long)st.classes[LLMOS_CLASS_NORMAL].cancels,
		       (unsigned long long)want.cancels);
	ASSERT_EQ(0, cqe_ready(&p.ring));
	if (get_proc(self->fd, pid, &child) == 1)
		ASSERT_EQ(0U, child.queued);

	ASSERT_EQ(0, job_end(h.fd, h.job));
	ASSERT_EQ(0, wait_cqe_ms(&p.ring, EVENT_MS, NULL));
	ASSERT_EQ(0, cqe_ready(&p.ring)) TH_LOG("a second completion");
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].grants + 2, st.classes[LLMOS_CLASS_NORMAL].grants);
	ASSERT_EQ(1U, st.slots_busy);
	ASSERT_EQ(0, job_end(p.fd, p.job));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(0U, st.slots_busy);
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].queued, st.classes[LLMOS_CLASS_NORMAL].queued);
	/*
	 * Both our jobs are ended; the dead child's file (and job) go when
	 * io_uring's asynchronous teardown of its ring drops the last
	 * reference to it.
	 */
	want = (struct class_want){ .class = LLMOS_CLASS_NORMAL,
				    .queued = base.classes[LLMOS_CLASS_NORMAL].queued,
				    .jobs = base.classes[LLMOS_CLASS_NORMAL].jobs,
				    .cancels = ~0ull };
	ASSERT_EQ(1, await_stats(self->fd, EVENT_MS, class_pred, &want, &st))
		TH_LOG("jobs %u (want %u)", st.classes[LLMOS_CLASS_NORMAL].jobs, want.jobs);
	client_close(&p);
	client_close(&h);
	close(ready[0]);
	close(ready[1]);
}

/* ---- cancellation ---- */

TEST_F_TIMEOUT(sched, ring_exit_cancels_pending, 120)
{
	struct llmos_sched_stats base, st;
	struct class_want want;
	struct client h, b, c;

	ASSERT_EQ(0, get_stats(self->fd, &base));
	ASSERT_EQ(0, client_open(&h, 0, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, step_ioctl(h.fd, h.job, 0));
	ASSERT_EQ(0, client_open(&b, 1, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, client_submit(&b, 0));
	ASSERT_EQ(0, client_open(&c, 1, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, client_submit(&c, 0));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].queued + 2, st.classes[LLMOS_CLASS_NORMAL].queued);

	/* b's ring goes (its file stays open): its pending step is cancelled. */
	io_uring_queue_exit(&b.ring);
	b.has_ring = 0;
	want = (struct class_want){ .class = LLMOS_CLASS_NORMAL,
				    .queued = base.classes[LLMOS_CLASS_NORMAL].queued + 1,
				    .jobs = ~0u,
				    .cancels = base.classes[LLMOS_CLASS_NORMAL].cancels + 1 };
	ASSERT_EQ(1, await_stats(self->fd, EVENT_MS, class_pred, &want, &st))
		TH_LOG("queued %u (want %u), cancels %llu (want %llu)",
		       st.classes[LLMOS_CLASS_NORMAL].queued, want.queued,
		       (unsigned long long)st.classes[LLMOS_CLASS_NORMAL].cancels,
		       (unsigned long long)want.cancels);

	/* b was first in line; the slot must go to c. */
	ASSERT_EQ(0, job_end(h.fd, h.job));
	ASSERT_EQ(0, wait_cqe_ms(&c.ring, EVENT_MS, NULL));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].held + 1, st.classes[LLMOS_CLASS_NORMAL].held);
	ASSERT_EQ(0, job_end(c.fd, c.job));
	/* b's job still exists and can step again on a new ring. */
	ASSERT_EQ(0, step_ioctl(b.fd, b.job, 0));
	ASSERT_EQ(0, job_end(b.fd, b.job));
	client_close(&b);
	client_close(&c);
	client_close(&h);
	want = (struct class_want){ .class = LLMOS_CLASS_NORMAL,
				    .queued = base.classes[LLMOS_CLASS_NORMAL].queued,
				    .jobs = base.classes[LLMOS_CLASS_NORMAL].jobs, .cancels = ~0ull };
	ASSERT_EQ(1, await_stats(self->fd, EVENT_MS, class_pred, &want, &st))
		TH_LOG("jobs %u (want %u)", st.classes[LLMOS_CLASS_NORMAL].jobs, want.jobs);
	ASSERT_EQ(0U, st.slots_busy);
}

/*
 * IORING_OP_ASYNC_CANCEL aimed at a queued step.  io_uring (through at least
 * 6.12) cannot cancel a uring_cmd that way: the cancel completes -ENOENT and
 * never reaches the driver.  Either outcome must leave a consistent state:
 * cancelled (cancel 0, step -ECANCELED, nothing queued), or untouched (the
 * step stays queued and is granted, once, when the slot frees).
 */
TEST_F_TIMEOUT(sched, async_cancel_of_queued_step, 120)
{
	struct llmos_sched_stats base, st;
	struct io_uring_sqe *sqe;
	struct client h, b;
	int res, step_res = NO_CQE, cancel_res = NO_CQE;
	__u64 ud;

	ASSERT_EQ(0, get_stats(self->fd, &base));
	ASSERT_EQ(0, client_open(&h, 0, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, step_ioctl(h.fd, h.job, 0));
	ASSERT_EQ(0, client_open(&b, 1, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, submit_step(&b.ring, b.fd, &b.step, b.job, 0, 1));
	ASSERT_EQ(0, cqe_ready(&b.ring));

	sqe = io_uring_get_sqe(&b.ring);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_cancel64(sqe, 1, 0);
	io_uring_sqe_set_data64(sqe, 2);
	ASSERT_EQ(1, io_uring_submit(&b.ring));
	/* The cancel always completes (at once); the step only if cancelled. */
	while ((res = wait_cqe_ms(&b.ring,
				  cancel_res == NO_CQE || (cancel_res == 0 && step_res == NO_CQE) ?
				  EVENT_MS : 0, &ud)) != NO_CQE) {
		if (ud == 1)
			step_res = res;
		else if (ud == 2)
			cancel_res = res;
	}
	TH_LOG("cancel CQE %d, step CQE %s%d", cancel_res, step_res == NO_CQE ? "none " : "",
	       step_res == NO_CQE ? 0 : step_res);
	ASSERT_NE(NO_CQE, cancel_res);
	ASSERT_EQ(0, get_stats(self->fd, &st));
	if (cancel_res == 0) {
		ASSERT_EQ(-ECANCELED, step_res);
		ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].queued,
			  st.classes[LLMOS_CLASS_NORMAL].queued);
		ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].cancels + 1,
			  st.classes[LLMOS_CLASS_NORMAL].cancels);
		ASSERT_EQ(0, job_end(h.fd, h.job));
	} else {
		ASSERT_EQ(-ENOENT, cancel_res);
		ASSERT_EQ(NO_CQE, step_res);
		ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].queued + 1,
			  st.classes[LLMOS_CLASS_NORMAL].queued);
		ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].cancels,
			  st.classes[LLMOS_CLASS_NORMAL].cancels);
		ASSERT_EQ(0, job_end(h.fd, h.job));
		ASSERT_EQ(0, wait_cqe_ms(&b.ring, EVENT_MS, &ud));
		ASSERT_EQ(1ULL, ud);
		ASSERT_EQ(0, cqe_ready(&b.ring));
	}
	ASSERT_EQ(0, job_end(b.fd, b.job));
	client_close(&b);
	client_close(&h);
}

struct thread_submit {
	struct client *c;
	int ret;
};

static void *submit_and_exit_thread(void *arg)
{
	struct thread_submit *t = arg;

	t->ret = client_submit(t->c, 0);
	return NULL;
}

/*
 * A step queued by a thread that then exits.  Documentation/uapi.md says it
 * is cancelled, but io_uring (6.12) cancels a task's uring_cmds at exit only
 * when they are tracked as inflight, which a uring_cmd on a device file never
 * is; so it stays queued until its ring goes.  Either way the state must stay
 * consistent: cancelled (-ECANCELED, nothing queued), or still queued and
 * granted, once, to the ring's owner when the slot frees.
 */
TEST_F_TIMEOUT(sched, thread_exit_with_pending_step_is_consistent, 120)
{
	struct llmos_sched_stats base, st;
	struct thread_submit ts;
	struct client h, b;
	pthread_t t;
	int res;

	ASSERT_EQ(0, get_stats(self->fd, &base));
	ASSERT_EQ(0, client_open(&h, 0, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, step_ioctl(h.fd, h.job, 0));
	ASSERT_EQ(0, client_open(&b, 1, LLMOS_CLASS_NORMAL, 0));
	ts = (struct thread_submit){ .c = &b };
	ASSERT_EQ(0, pthread_create(&t, NULL, submit_and_exit_thread, &ts));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, ts.ret);
	res = wait_cqe_ms(&b.ring, 500, NULL);
	ASSERT_EQ(0, get_stats(self->fd, &st));
	TH_LOG("after the thread's exit: CQE %s%d, queued %u", res == NO_CQE ? "none " : "",
	       res == NO_CQE ? 0 : res, st.classes[LLMOS_CLASS_NORMAL].queued);
	if (res == NO_CQE) {
		ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].queued + 1,
			  st.classes[LLMOS_CLASS_NORMAL].queued);
		ASSERT_EQ(0, job_end(h.fd, h.job));
		ASSERT_EQ(0, wait_cqe_ms(&b.ring, EVENT_MS, NULL));
		ASSERT_EQ(0, cqe_ready(&b.ring));
		ASSERT_EQ(0, client_step(&b, LLMOS_STEP_RELEASE, EVENT_MS));
	} else {
		ASSERT_EQ(-ECANCELED, res);
		ASSERT_EQ(0, cqe_ready(&b.ring));
		ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].queued,
			  st.classes[LLMOS_CLASS_NORMAL].queued);
		ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].cancels + 1,
			  st.classes[LLMOS_CLASS_NORMAL].cancels);
		ASSERT_EQ(0, job_end(h.fd, h.job));
		ASSERT_EQ(0, client_step(&b, 0, EVENT_MS));
	}
	ASSERT_EQ(0, job_end(b.fd, b.job));
	client_close(&b);
	client_close(&h);
}

#ifdef LLMOS_STEP_RELEASE_ONLY
/* RELEASE_ONLY gives the slot up without queueing, and completes at once. */
TEST_F(sched, release_only_frees_slot_without_queueing)
{
	struct llmos_sched_stats base, st;
	struct client a, b;

	ASSERT_EQ(0, get_stats(self->fd, &base));
	ASSERT_EQ(0, client_open(&a, 1, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, client_open(&b, 1, LLMOS_CLASS_NORMAL, 0));
	/* Nothing held: still 0. */
	ASSERT_EQ(0, client_step(&a, LLMOS_STEP_RELEASE_ONLY, EVENT_MS));
	ASSERT_EQ(0, step_ioctl(a.fd, a.job, LLMOS_STEP_RELEASE_ONLY));
	ASSERT_EQ(0, client_step(&a, 0, EVENT_MS));
	ASSERT_EQ(0, client_submit(&b, 0));
	ASSERT_EQ(0, cqe_ready(&b.ring));
	ASSERT_EQ(0, client_step(&a, LLMOS_STEP_RELEASE_ONLY, EVENT_MS));
	ASSERT_EQ(0, wait_cqe_ms(&b.ring, EVENT_MS, NULL));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(1U, st.slots_busy);
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].held + 1, st.classes[LLMOS_CLASS_NORMAL].held);
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].queued, st.classes[LLMOS_CLASS_NORMAL].queued);
	/* a can queue again (nothing held, nothing queued), behind b. */
	ASSERT_EQ(0, client_submit(&a, 0));
	ASSERT_EQ(0, cqe_ready(&a.ring));
	ASSERT_EQ(0, step_ioctl(b.fd, b.job, LLMOS_STEP_RELEASE_ONLY));
	ASSERT_EQ(0, wait_cqe_ms(&a.ring, EVENT_MS, NULL));
	ASSERT_EQ(0, step_ioctl(a.fd, a.job, LLMOS_STEP_RELEASE_ONLY));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(0U, st.slots_busy);
	ASSERT_EQ(0, job_end(a.fd, a.job));
	ASSERT_EQ(0, job_end(b.fd, b.job));
	client_close(&b);
	client_close(&a);
}
#endif

TEST_F(sched, job_end_cancels_pending_and_releases)
{
	struct llmos_sched_stats base, st;
	struct client h, b, c;

	ASSERT_EQ(0, get_stats(self->fd, &base));
	ASSERT_EQ(0, client_open(&h, 0, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, step_ioctl(h.fd, h.job, 0));

	/* JOB_END while a step is queued: that step completes -ECANCELED. */
	ASSERT_EQ(0, client_open(&b, 1, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, client_submit(&b, 0));
	ASSERT_EQ(0, job_end(b.fd, b.job));
	ASSERT_EQ(-ECANCELED, wait_cqe_ms(&b.ring, EVENT_MS, NULL));
	ASSERT_EQ(0, cqe_ready(&b.ring));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].queued, st.classes[LLMOS_CLASS_NORMAL].queued);
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].cancels + 1,
		  st.classes[LLMOS_CLASS_NORMAL].cancels);
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].jobs + 1, st.classes[LLMOS_CLASS_NORMAL].jobs);
	/* The ended job is gone. */
	ASSERT_EQ(-EINVAL, job_end(b.fd, b.job));
	ASSERT_EQ(-EINVAL, client_step(&b, 0, EVENT_MS));

	/* JOB_END while holding: the slot goes to the next in line. */
	ASSERT_EQ(0, client_open(&c, 1, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, client_submit(&c, 0));
	ASSERT_EQ(0, cqe_ready(&c.ring));
	ASSERT_EQ(0, job_end(h.fd, h.job));
	ASSERT_EQ(0, wait_cqe_ms(&c.ring, EVENT_MS, NULL));
	ASSERT_EQ(0, job_end(c.fd, c.job));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(0U, st.slots_busy);
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].jobs, st.classes[LLMOS_CLASS_NORMAL].jobs);
	client_close(&c);
	client_close(&b);
	client_close(&h);
}

/* Closing a file ends its jobs: a grant it held goes to the next in line. */
TEST_F(sched, close_while_holding_frees_slot)
{
	struct llmos_sched_stats base, st;
	struct client h, c;

	ASSERT_EQ(0, get_stats(self->fd, &base));
	ASSERT_EQ(0, client_open(&h, 0, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, step_ioctl(h.fd, h.job, 0));
	ASSERT_EQ(0, client_open(&c, 1, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, client_submit(&c, 0));
	client_close(&h);
	ASSERT_EQ(0, wait_cqe_ms(&c.ring, EVENT_MS, NULL));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].jobs + 1, st.classes[LLMOS_CLASS_NORMAL].jobs);
	client_close(&c);
}

/* ---- argument checking ---- */

TEST_F(sched, bad_job_ids_are_einval)
{
	struct client a, other;

	ASSERT_EQ(0, client_open(&a, 1, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, client_open(&other, 0, LLMOS_CLASS_NORMAL, 0));
	ASSERT_NE(0U, other.job);

	ASSERT_EQ(-EINVAL, step_ioctl(a.fd, 0, 0));
	ASSERT_EQ(-EINVAL, step_ioctl(a.fd, 9999, 0));
	ASSERT_EQ(-EINVAL, job_end(a.fd, 0));
	ASSERT_EQ(-EINVAL, job_end(a.fd, 9999));
	if (other.job != a.job) {
		ASSERT_EQ(-EINVAL, step_ioctl(a.fd, other.job, 0));
		ASSERT_EQ(-EINVAL, job_end(a.fd, other.job));
	}
	/* A job of another file, by the id it has there (ids are per file). */
	ASSERT_EQ(0, job_end(other.fd, other.job));
	ASSERT_EQ(-EINVAL, step_ioctl(other.fd, other.job, 0));

	ASSERT_EQ(-EINVAL, submit_step(&a.ring, a.fd, &a.step, 0, 0, 1) ?:
			   wait_cqe_ms(&a.ring, EVENT_MS, NULL));
	ASSERT_EQ(-EINVAL, submit_step(&a.ring, a.fd, &a.step, 9999, 0, 1) ?:
			   wait_cqe_ms(&a.ring, EVENT_MS, NULL));
	/* a's own job still works. */
	ASSERT_EQ(0, client_step(&a, 0, EVENT_MS));
	ASSERT_EQ(0, job_end(a.fd, a.job));
	client_close(&other);
	client_close(&a);
}

TEST_F(sched, bad_arguments_are_einval)
{
	struct llmos_sched_stats st;
	struct llmos_job_create jc;
	struct llmos_job_step js;
	struct llmos_job_end je;
	struct llmos_sched_prio sp;
	struct io_uring_sqe *sqe;
	struct client a;
	int i;

	ASSERT_EQ(0, client_open(&a, 1, LLMOS_CLASS_NORMAL, 0));

	/* JOB_CREATE */
	ASSERT_EQ(-EINVAL, job_create(a.fd, LLMOS_CLASS_BACKGROUND + 1, 0, NULL));
	ASSERT_EQ(-EINVAL, job_create(a.fd, ~0u, 0, NULL));
	ASSERT_EQ(-EINVAL, job_create(a.fd, LLMOS_CLASS_NORMAL, LLMOS_WEIGHT_MAX + 1, NULL));
	ASSERT_EQ(-EINVAL, job_create(a.fd, LLMOS_CLASS_NORMAL, ~0u, NULL));
	ASSERT_EQ(0, job_create(a.fd, LLMOS_CLASS_NORMAL, LLMOS_WEIGHT_MAX, NULL));
	ASSERT_EQ(0, job_create(a.fd, LLMOS_CLASS_NORMAL, 1, NULL));
	memset(&jc, 0, sizeof(jc));
	jc.sched_class = LLMOS_CLASS_NORMAL;
	jc.flags = 1;
	ASSERT_EQ(-EINVAL, do_ioctl(a.fd, LLMOS_CMD_JOB_CREATE, &jc));
	for (i = 0; i < 3; i++) {
		memset(&jc, 0, sizeof(jc));
		jc.sched_class = LLMOS_CLASS_NORMAL;
		jc.reserved[i] = 1;
		ASSERT_EQ(-EINVAL, do_ioctl(a.fd, LLMOS_CMD_JOB_CREATE, &jc));
	}

	/* JOB_STEP: unknown flags and reserved, ioctl and uring_cmd */
	memset(&js, 0, sizeof(js));
	js.job = a.job;
	js.flags = 1u << 31;
	ASSERT_EQ(-EINVAL, do_ioctl(a.fd, LLMOS_CMD_JOB_STEP, &js));
	js.flags = 0x80;
	ASSERT_EQ(-EINVAL, do_ioctl(a.fd, LLMOS_CMD_JOB_STEP, &js));
	for (i = 0; i < 3; i++) {
		memset(&js, 0, sizeof(js));
		js.job = a.job;
		js.reserved[i] = 1;
		ASSERT_EQ(-EINVAL, do_ioctl(a.fd, LLMOS_CMD_JOB_STEP, &js));
	}
	memset(&js, 0, sizeof(js));
	js.job = a.job;
	js.flags = 1u << 31;
	sqe = io_uring_get_sqe(&a.ring);
	prep_cmd(sqe, a.fd, LLMOS_CMD_JOB_STEP, &js, sizeof(js), 1);
	ASSERT_EQ(1, io_uring_submit(&a.ring));
	ASSERT_EQ(-EINVAL, wait_cqe_ms(&a.ring, EVENT_MS, NULL));
	/* Non-zero reserved in the uring_cmd payload. */
	js.flags = 0;
	sqe = io_uring_get_sqe(&a.ring);
	prep_cmd(sqe, a.fd, LLMOS_CMD_JOB_STEP, &js, sizeof(js), 1);
	((struct llmos_uring_cmd *)sqe->cmd)->reserved = 1;
	ASSERT_EQ(1, io_uring_submit(&a.ring));
	ASSERT_EQ(-EINVAL, wait_cqe_ms(&a.ring, EVENT_MS, NULL));
	/* None of those queued or took the slot. */
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(0U, st.slots_busy);

	/* JOB_END */
	memset(&je, 0, sizeof(je));
	je.job = a.job;
	je.flags = 1;
	ASSERT_EQ(-EINVAL, do_ioctl(a.fd, LLMOS_CMD_JOB_END, &je));
	for (i = 0; i < 3; i++) {
		memset(&je, 0, sizeof(je));
		je.job = a.job;
		je.reserved[i] = 1;
		ASSERT_EQ(-EINVAL, do_ioctl(a.fd, LLMOS_CMD_JOB_END, &je));
	}

	/* SCHED_SET_PRIO (as root: only the arguments are wrong) */
	ASSERT_EQ(-EINVAL, set_prio(a.fd, 0, LLMOS_CLASS_BACKGROUND + 1, 100));
	ASSERT_EQ(-EINVAL, set_prio(a.fd, 0, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(-EINVAL, set_prio(a.fd, 0, LLMOS_CLASS_NORMAL, LLMOS_WEIGHT_MAX + 1));
	memset(&sp, 0, sizeof(sp));
	sp.sched_class = LLMOS_CLASS_NORMAL;
	sp.weight = 100;
	sp.flags = 1;
	ASSERT_EQ(-EINVAL, do_ioctl(a.fd, LLMOS_CMD_SCHED_SET_PRIO, &sp));
	for (i = 0; i < 2; i++) {
		memset(&sp, 0, sizeof(sp));
		sp.sched_class = LLMOS_CLASS_NORMAL;
		sp.weight = 100;
		sp.reserved[i] = 1;
		ASSERT_EQ(-EINVAL, do_ioctl(a.fd, LLMOS_CMD_SCHED_SET_PRIO, &sp));
	}

	/* SCHED_STATS */
	memset(&st, 0, sizeof(st));
	st.flags = 1;
	ASSERT_EQ(-EINVAL, do_ioctl(a.fd, LLMOS_CMD_SCHED_STATS, &st));
	for (i = 0; i < 3; i++) {
		memset(&st, 0, sizeof(st));
		st.reserved[i] = 1;
		ASSERT_EQ(-EINVAL, do_ioctl(a.fd, LLMOS_CMD_SCHED_STATS, &st));
	}
	memset(&st, 0, sizeof(st));
	st.capacity = 4;
	st.procs = 16;
	ASSERT_EQ(-EFAULT, do_ioctl(a.fd, LLMOS_CMD_SCHED_STATS, &st));

	/* The job is still usable after all that. */
	ASSERT_EQ(0, client_step(&a, 0, EVENT_MS));
	ASSERT_EQ(0, job_end(a.fd, a.job));
	client_close(&a);
}

TEST_F(sched, step_twice_without_release_is_ebusy)
{
	struct llmos_sched_stats base, st;
	struct llmos_job_step extra;
	struct client a, b;
	__u64 ud;

	ASSERT_EQ(0, get_stats(self->fd, &base));
	/* Holding a grant: another step without RELEASE is -EBUSY, and keeps the grant. */
	ASSERT_EQ(0, client_open(&a, 1, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, client_step(&a, 0, EVENT_MS));
	ASSERT_EQ(-EBUSY, client_step(&a, 0, EVENT_MS));
	ASSERT_EQ(-EBUSY, step_ioctl(a.fd, a.job, 0));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(1U, st.slots_busy);
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].held + 1, st.classes[LLMOS_CLASS_NORMAL].held);
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].queued, st.classes[LLMOS_CLASS_NORMAL].queued);

	/* A step queued: another one, with or without RELEASE, is -EBUSY. */
	ASSERT_EQ(0, client_open(&b, 1, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, submit_step(&b.ring, b.fd, &b.step, b.job, 0, 1));
	ASSERT_EQ(0, submit_step(&b.ring, b.fd, &extra, b.job, 0, 2));
	ASSERT_EQ(-EBUSY, wait_cqe_ms(&b.ring, EVENT_MS, &ud));
	ASSERT_EQ(2ULL, ud);
	ASSERT_EQ(0, submit_step(&b.ring, b.fd, &extra, b.job, LLMOS_STEP_RELEASE, 3));
	ASSERT_EQ(-EBUSY, wait_cqe_ms(&b.ring, EVENT_MS, &ud));
	ASSERT_EQ(3ULL, ud);
	ASSERT_EQ(-EBUSY, step_ioctl(b.fd, b.job, 0));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].queued + 1, st.classes[LLMOS_CLASS_NORMAL].queued);

	/* The first step is still in line and gets the slot. */
	ASSERT_EQ(0, job_end(a.fd, a.job));
	ASSERT_EQ(0, wait_cqe_ms(&b.ring, EVENT_MS, &ud));
	ASSERT_EQ(1ULL, ud);
	ASSERT_EQ(0, cqe_ready(&b.ring));
	ASSERT_EQ(0, job_end(b.fd, b.job));
	client_close(&b);
	client_close(&a);
}

/* ---- privileges ---- */

struct priv_child {
	pid_t parent;
	int mode; /* 0: no capabilities; 1: CAP_SYS_NICE only */
};

#define CHECK_STEP(n, expr, want)                                                   \
	do {                                                                        \
		int _r = (expr);                                                    \
		if (_r != (want)) {                                                 \
			fprintf(stderr, "# step %d: %s = %d, expected %d\n", n, #expr, \
				_r, (want));                                        \
			return n;                                                   \
		}                                                                   \
	} while (0)

static int unpriv_child_fn(void *arg)
{
	struct priv_child *a = arg;
	int fd;

	if (drop_privs(1000, 1000))
		return CHILD_SETUP_FAILED;
	fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return CHILD_SETUP_FAILED;
	CHECK_STEP(1, set_prio(fd, 0, LLMOS_CLASS_INTERACTIVE, 100), -EPERM);
	CHECK_STEP(2, set_prio(fd, 0, LLMOS_CLASS_REALTIME, 100), -EPERM);
	CHECK_STEP(3, job_create(fd, LLMOS_CLASS_INTERACTIVE, 0, NULL), -EPERM);
	CHECK_STEP(4, job_create(fd, LLMOS_CLASS_REALTIME, 0, NULL), -EPERM);
	CHECK_STEP(5, job_create(fd, LLMOS_CLASS_NORMAL, 0, NULL), 0);
	CHECK_STEP(6, set_prio(fd, 0, LLMOS_CLASS_BACKGROUND, 100), 0);
	CHECK_STEP(7, job_create(fd, LLMOS_CLASS_NORMAL, 0, NULL), -EPERM);
	CHECK_STEP(8, job_create(fd, LLMOS_CLASS_BACKGROUND, 0, NULL), 0);
	/* Back up to NORMAL is not "above NORMAL": allowed. */
	CHECK_STEP(9, set_prio(fd, 0, LLMOS_CLASS_NORMAL, 100), 0);
	CHECK_STEP(10, set_prio(fd, 0, LLMOS_CLASS_INTERACTIVE, 100), -EPERM);
	/* Another user's (root's) process, even lowering it. */
	CHECK_STEP(11, set_prio(fd, a->parent, LLMOS_CLASS_BACKGROUND, 100), -EPERM);
	CHECK_STEP(12, set_prio(fd, a->parent, LLMOS_CLASS_NORMAL, 50), -EPERM);
	close(fd);
	return 0;
}

TEST_F(sched, unprivileged_cannot_raise_class)
{
	struct llmos_sched_stat me;
	struct priv_child arg = { .parent = getpid() };
	struct client own;
	pid_t pid;

	/* Make this process known to the scheduler, with a non-default weight. */
	ASSERT_EQ(0, set_prio(self->fd, 0, LLMOS_CLASS_NORMAL, 70));
	ASSERT_EQ(0, client_open(&own, 0, LLMOS_CLASS_NORMAL, 0));
	pid = spawn(self, unpriv_child_fn, &arg, NULL, 0);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, reap(self, pid)) TH_LOG("the child's failing step (see stderr)");
	ASSERT_EQ(1, get_proc(self->fd, getpid(), &me));
	ASSERT_EQ((__u32)LLMOS_CLASS_NORMAL, me.sched_class);
	ASSERT_EQ(70U, me.weight);
	client_close(&own);
}

static int nice_child_fn(void *arg)
{
	struct priv_child *a = arg;
	int fd;

	if (become_with_cap(1000, 1000, CAP_SYS_NICE))
		return CHILD_SETUP_FAILED;
	fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return CHILD_SETUP_FAILED;
	CHECK_STEP(1, set_prio(fd, 0, LLMOS_CLASS_REALTIME, 100), 0);
	CHECK_STEP(2, job_create(fd, LLMOS_CLASS_REALTIME, 0, NULL), 0);
	CHECK_STEP(3, set_prio(fd, a->parent, LLMOS_CLASS_INTERACTIVE, 80), 0);
	close(fd);
	return 0;
}

TEST_F(sched, cap_sys_nice_allows_raising_class)
{
	struct llmos_sched_stat me;
	struct priv_child arg = { .parent = getpid() };
	struct client own;
	pid_t pid;

	ASSERT_EQ(0, client_open(&own, 0, LLMOS_CLASS_NORMAL, 0));
	pid = spawn(self, nice_child_fn, &arg, NULL, 0);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, reap(self, pid)) TH_LOG("the child's failing step (see stderr)");
	ASSERT_EQ(1, get_proc(self->fd, getpid(), &me));
	ASSERT_EQ((__u32)LLMOS_CLASS_INTERACTIVE, me.sched_class);
	ASSERT_EQ(80U, me.weight);
	ASSERT_EQ(0, job_create(own.fd, LLMOS_CLASS_INTERACTIVE, 0, NULL));
	client_close(&own);
}

/* ---- slots ---- */

TEST_F(sched, slots_two_allows_two_holders)
{
	struct llmos_sched_stats base, st;
	struct client a, b, c;

	ASSERT_EQ(0, write_ll(param_path[P_SLOTS], 2));
	ASSERT_EQ(0, get_stats(self->fd, &base));
	ASSERT_EQ(2U, base.slots);
	ASSERT_EQ(0, client_open(&a, 1, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, client_open(&b, 1, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, client_open(&c, 1, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, client_step(&a, 0, EVENT_MS));
	ASSERT_EQ(0, client_step(&b, 0, EVENT_MS));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(2U, st.slots_busy);
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].held + 2, st.classes[LLMOS_CLASS_NORMAL].held);

	/* A third waits for one of them. */
	ASSERT_EQ(0, client_submit(&c, 0));
	ASSERT_EQ(0, cqe_ready(&c.ring));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].queued + 1, st.classes[LLMOS_CLASS_NORMAL].queued);
	ASSERT_EQ(0, job_end(a.fd, a.job));
	ASSERT_EQ(0, wait_cqe_ms(&c.ring, EVENT_MS, NULL));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(2U, st.slots_busy);
	ASSERT_EQ(0, job_end(b.fd, b.job));
	ASSERT_EQ(0, job_end(c.fd, c.job));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(0U, st.slots_busy);
	client_close(&c);
	client_close(&b);
	client_close(&a);
}

/* ---- ioctl JOB_STEP ---- */

struct blocker {
	struct client *c;
	int done_w;
	int ret;
	int err;
};

static void *blocker_thread(void *arg)
{
	struct blocker *b = arg;

	b->ret = ioctl(b->c->fd, LLMOS_CMD_JOB_STEP,
		       &(struct llmos_job_step){ .job = b->c->job });
	b->err = b->ret ? errno : 0;
	write_byte(b->done_w, 'd');
	return NULL;
}

static void on_sigusr1(int sig)
{
	(void)sig;
}

TEST_F_TIMEOUT(sched, ioctl_step_blocks_until_granted_and_eintr, 120)
{
	struct llmos_sched_stats base, st;
	struct sigaction sa;
	struct class_want want;
	struct blocker bl;
	struct client a, b, c;
	int done[2];
	pthread_t t;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1; /* no SA_RESTART: the ioctl must return EINTR */
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, pipe(done));
	ASSERT_EQ(0, get_stats(self->fd, &base));
	ASSERT_EQ(0, client_open(&a, 0, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, client_open(&b, 0, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, client_open(&c, 0, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, step_ioctl(a.fd, a.job, 0));

	/* b blocks in the ioctl until a lets go. */
	bl = (struct blocker){ .c = &b, .done_w = done[1] };
	ASSERT_EQ(0, pthread_create(&t, NULL, blocker_thread, &bl));
	want = (struct class_want){ .class = LLMOS_CLASS_NORMAL,
				    .queued = base.classes[LLMOS_CLASS_NORMAL].queued + 1,
				    .jobs = ~0u, .cancels = ~0ull };
	ASSERT_EQ(1, await_stats(self->fd, EVENT_MS, class_pred, &want, &st));
	ASSERT_EQ(-2, read_byte_ms(done[0], 0)) TH_LOG("the ioctl returned before the grant");
	ASSERT_EQ(0, job_end(a.fd, a.job));
	ASSERT_EQ('d', read_byte_ms(done[0], EVENT_MS));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, bl.ret) TH_LOG("errno %d", bl.err);

	/* c blocks behind b; a signal interrupts it. */
	bl = (struct blocker){ .c = &c, .done_w = done[1] };
	ASSERT_EQ(0, pthread_create(&t, NULL, blocker_thread, &bl));
	ASSERT_EQ(1, await_stats(self->fd, EVENT_MS, class_pred, &want, &st));
	ASSERT_EQ(0, pthread_kill(t, SIGUSR1));
	ASSERT_EQ('d', read_byte_ms(done[0], EVENT_MS));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(-1, bl.ret);
	ASSERT_EQ(EINTR, bl.err);
	/* Nothing left queued; b still holds. */
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].queued, st.classes[LLMOS_CLASS_NORMAL].queued);
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].held + 1, st.classes[LLMOS_CLASS_NORMAL].held);
	ASSERT_EQ(1U, st.slots_busy);
	/* c's job is not stuck "queued": once the slot is free it steps at once. */
	ASSERT_EQ(0, job_end(b.fd, b.job));
	ASSERT_EQ(0, step_ioctl(c.fd, c.job, 0));
	ASSERT_EQ(0, job_end(c.fd, c.job));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(0U, st.slots_busy);
	client_close(&c);
	client_close(&b);
	client_close(&a);
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(base.classes[LLMOS_CLASS_NORMAL].jobs, st.classes[LLMOS_CLASS_NORMAL].jobs);
	close(done[0]);
	close(done[1]);
}

/* ---- stats ---- */

#define CLS(s, k) ((s).classes[LLMOS_CLASS_##k])

TEST_F(sched, stats_reflect_reality)
{
	struct llmos_sched_stats base, st;
	struct llmos_sched_stat me;
	struct client n, bg, in;
	__u64 h0, h1;

	ASSERT_EQ(0, set_prio(self->fd, 0, LLMOS_CLASS_REALTIME, 300));
	ASSERT_EQ(0, get_stats(self->fd, &base));
	ASSERT_EQ(0U, base.slots_busy);
	ASSERT_EQ(1U, base.slots);
	ASSERT_EQ(1, get_proc(self->fd, getpid(), &me));
	ASSERT_EQ((__u32)LLMOS_CLASS_REALTIME, me.sched_class);
	ASSERT_EQ(300U, me.weight);
	ASSERT_EQ(0U, me.jobs);

	/* NORMAL holds; BACKGROUND then INTERACTIVE wait. */
	ASSERT_EQ(0, client_open(&n, 0, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, step_ioctl(n.fd, n.job, 0));
	ASSERT_EQ(0, client_open(&bg, 1, LLMOS_CLASS_BACKGROUND, 0));
	ASSERT_EQ(0, client_submit(&bg, 0));
	ASSERT_EQ(0, client_open(&in, 1, LLMOS_CLASS_INTERACTIVE, 0));
	ASSERT_EQ(0, client_submit(&in, 0));

	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(1U, st.slots_busy);
	ASSERT_EQ(CLS(base, NORMAL).held + 1, CLS(st, NORMAL).held);
	ASSERT_EQ(CLS(base, NORMAL).grants + 1, CLS(st, NORMAL).grants);
	ASSERT_EQ(CLS(base, NORMAL).jobs + 1, CLS(st, NORMAL).jobs);
	ASSERT_EQ(CLS(base, BACKGROUND).queued + 1, CLS(st, BACKGROUND).queued);
	ASSERT_EQ(CLS(base, BACKGROUND).jobs + 1, CLS(st, BACKGROUND).jobs);
	ASSERT_EQ(CLS(base, INTERACTIVE).queued + 1, CLS(st, INTERACTIVE).queued);
	ASSERT_EQ(CLS(base, INTERACTIVE).jobs + 1, CLS(st, INTERACTIVE).jobs);
	ASSERT_EQ(CLS(base, REALTIME).jobs, CLS(st, REALTIME).jobs);
	ASSERT_EQ(-1, CLS(st, INTERACTIVE).pid);
	ASSERT_EQ(1, get_proc(self->fd, getpid(), &me));
	ASSERT_EQ(getpid(), me.pid);
	ASSERT_EQ(3U, me.jobs);
	ASSERT_EQ(2U, me.queued);
	ASSERT_EQ(1U, me.held);
	ASSERT_EQ(1ULL, me.grants);

	/* NORMAL lets go: INTERACTIVE is granted, BACKGROUND still waits. */
	ASSERT_EQ(0, job_end(n.fd, n.job));
	ASSERT_EQ(0, wait_cqe_ms(&in.ring, EVENT_MS, NULL));
	ASSERT_EQ(0, cqe_ready(&bg.ring));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(CLS(base, NORMAL).held, CLS(st, NORMAL).held);
	ASSERT_EQ(CLS(base, NORMAL).jobs, CLS(st, NORMAL).jobs);
	ASSERT_EQ(CLS(base, INTERACTIVE).held + 1, CLS(st, INTERACTIVE).held);
	ASSERT_EQ(CLS(base, INTERACTIVE).queued, CLS(st, INTERACTIVE).queued);
	ASSERT_EQ(CLS(base, INTERACTIVE).grants + 1, CLS(st, INTERACTIVE).grants);
	ASSERT_LT(CLS(base, INTERACTIVE).wait_us_total, CLS(st, INTERACTIVE).wait_us_total);
	ASSERT_EQ(CLS(base, BACKGROUND).queued + 1, CLS(st, BACKGROUND).queued);
	/* Every grant is in the wait histogram. */
	sum_hist(&CLS(base, INTERACTIVE), &h0);
	sum_hist(&CLS(st, INTERACTIVE), &h1);
	ASSERT_EQ(h0 + 1, h1);

	ASSERT_EQ(0, job_end(in.fd, in.job));
	ASSERT_EQ(0, wait_cqe_ms(&bg.ring, EVENT_MS, NULL));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(CLS(base, BACKGROUND).held + 1, CLS(st, BACKGROUND).held);
	ASSERT_EQ(CLS(base, BACKGROUND).grants + 1, CLS(st, BACKGROUND).grants);
	ASSERT_EQ(1, get_proc(self->fd, getpid(), &me));
	ASSERT_EQ(3ULL, me.grants);
	ASSERT_EQ(1U, me.held);
	ASSERT_EQ(0U, me.queued);
	ASSERT_EQ(1U, me.jobs);

	ASSERT_EQ(0, job_end(bg.fd, bg.job));
	ASSERT_EQ(0, get_stats(self->fd, &st));
	ASSERT_EQ(0U, st.slots_busy);
	ASSERT_EQ(total_of(&base, 0), total_of(&st, 0));
	ASSERT_EQ(total_of(&base, 1), total_of(&st, 1));
	ASSERT_EQ(total_of(&base, 2), total_of(&st, 2));
	ASSERT_EQ(CLS(base, NORMAL).cancels, CLS(st, NORMAL).cancels);
	ASSERT_EQ(CLS(base, NORMAL).revocations, CLS(st, NORMAL).revocations);

	/* capacity 0 asks for the count only. */
	memset(&st, 0, sizeof(st));
	ASSERT_EQ(0, do_ioctl(self->fd, LLMOS_CMD_SCHED_STATS, &st));
	ASSERT_LE(1U, st.count);
	client_close(&in);
	client_close(&bg);
	client_close(&n);
}

/* Root may set another process's ceiling and weight; stats show it. */
struct idle_child {
	int ready_w;
	int go_r;
};

static int idle_child_fn(void *arg)
{
	struct idle_child *a = arg;
	struct client c;
	char b;

	if (client_open(&c, 0, LLMOS_CLASS_NORMAL, 0))
		return CHILD_SETUP_FAILED;
	write_byte(a->ready_w, 'r');
	if (read(a->go_r, &b, 1) != 0)
		return CHILD_SETUP_FAILED;
	/* The parent lowered us to BACKGROUND. */
	CHECK_STEP(1, job_create(c.fd, LLMOS_CLASS_NORMAL, 0, NULL), -EPERM);
	CHECK_STEP(2, job_create(c.fd, LLMOS_CLASS_BACKGROUND, 0, NULL), 0);
	client_close(&c);
	return 0;
}

TEST_F(sched, root_sets_other_process_prio)
{
	struct llmos_sched_stat st;
	struct idle_child arg;
	int ready[2], go[2];
	pid_t pid;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	arg = (struct idle_child){ .ready_w = ready[1], .go_r = go[0] };
	pid = spawn(self, idle_child_fn, &arg, (int[]){ ready[1], go[0] }, 2);
	ASSERT_LT(0, pid);
	ASSERT_EQ('r', read_byte_ms(ready[0], EVENT_MS));
	ASSERT_EQ(0, set_prio(self->fd, pid, LLMOS_CLASS_BACKGROUND, 42));
	ASSERT_EQ(1, get_proc(self->fd, pid, &st));
	ASSERT_EQ((__u32)LLMOS_CLASS_BACKGROUND, st.sched_class);
	ASSERT_EQ(42U, st.weight);
	ASSERT_EQ(1U, st.jobs);
	close(go[1]);
	ASSERT_EQ(0, reap(self, pid));
	close(go[0]);
	close(ready[0]);
	close(ready[1]);
}

/* Last: the tests left nothing behind (rings torn down asynchronously included). */
/* ---- JOB_WATCH: a running step learns that a more urgent request waits ---- */

static int submit_watch(struct client *c, struct llmos_job_step *w, __u32 flags, __u64 ud)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ring);

	if (!sqe)
		return -EBUSY;
	memset(w, 0, sizeof(*w));
	w->job = c->job;
	w->flags = flags;
	prep_cmd(sqe, c->fd, LLMOS_CMD_JOB_WATCH, w, sizeof(*w), ud);
	return io_uring_submit(&c->ring) == 1 ? 0 : -EIO;
}

/* Wait for the CQEs tagged ud_a and ud_b (in any order); their results. */
static int wait_two(struct io_uring *ring, __u64 ud_a, int *res_a, __u64 ud_b, int *res_b)
{
	int got = 0, res;
	__u64 ud;

	while (got != 3) {
		res = wait_cqe_ms(ring, EVENT_MS, &ud);
		if (res == NO_CQE)
			return -1;
		if (ud == ud_a) {
			*res_a = res;
			got |= 1;
		} else if (ud == ud_b) {
			*res_b = res;
			got |= 2;
		}
	}
	return 0;
}

static int preempt_advertised(int fd)
{
	struct llmos_info info;

	memset(&info, 0, sizeof(info));
	return !ioctl(fd, LLMOS_CMD_GET_INFO, &info) && (info.features & LLMOS_F_SCHED_PREEMPT);
}

TEST_F(sched, watch_reports_preemption_by_a_higher_class)
{
	struct llmos_job_step w;
	struct client bg, fg;
	__u64 ud = 0;

	if (!preempt_advertised(self->fd))
		SKIP(return, "LLMOS_F_SCHED_PREEMPT not advertised");
	ASSERT_EQ(0, set_prio(self->fd, 0, LLMOS_CLASS_INTERACTIVE, 100));
	ASSERT_EQ(0, client_open(&bg, 1, LLMOS_CLASS_BACKGROUND, 0));
	ASSERT_EQ(0, client_open(&fg, 1, LLMOS_CLASS_INTERACTIVE, 0));
	ASSERT_EQ(0, client_step(&bg, 0, EVENT_MS));
	ASSERT_EQ(0, submit_watch(&bg, &w, 0, 77));
	ASSERT_EQ(0, cqe_ready(&bg.ring)); /* nothing more urgent waits yet */
	ASSERT_EQ(0, client_submit(&fg, 0));
	ASSERT_EQ(LLMOS_WATCH_PREEMPT, wait_cqe_ms(&bg.ring, EVENT_MS, &ud));
	ASSERT_EQ(77ULL, ud);
	ASSERT_EQ(0, client_step(&bg, LLMOS_STEP_RELEASE_ONLY, EVENT_MS));
	ASSERT_EQ(0, wait_cqe_ms(&fg.ring, EVENT_MS, NULL)); /* the urgent one has the slot */
	ASSERT_EQ(0, client_step(&fg, LLMOS_STEP_RELEASE_ONLY, EVENT_MS));
	client_close(&fg);
	client_close(&bg);
}

TEST_F(sched, watch_of_an_urgent_wait_already_queued_fires_at_once)
{
	struct llmos_job_step w;
	struct client bg, fg;

	if (!preempt_advertised(self->fd))
		SKIP(return, "LLMOS_F_SCHED_PREEMPT not advertised");
	ASSERT_EQ(0, set_prio(self->fd, 0, LLMOS_CLASS_INTERACTIVE, 100));
	ASSERT_EQ(0, client_open(&bg, 1, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, client_open(&fg, 1, LLMOS_CLASS_INTERACTIVE, 0));
	ASSERT_EQ(0, client_step(&bg, 0, EVENT_MS));
	ASSERT_EQ(0, client_submit(&fg, 0));
	ASSERT_EQ(0, submit_watch(&bg, &w, 0, 5));
	ASSERT_EQ(LLMOS_WATCH_PREEMPT, wait_cqe_ms(&bg.ring, EVENT_MS, NULL));
	ASSERT_EQ(0, client_step(&bg, LLMOS_STEP_RELEASE_ONLY, EVENT_MS));
	ASSERT_EQ(0, wait_cqe_ms(&fg.ring, EVENT_MS, NULL));
	ASSERT_EQ(0, client_step(&fg, LLMOS_STEP_RELEASE_ONLY, EVENT_MS));
	client_close(&fg);
	client_close(&bg);
}

TEST_F(sched, watch_ends_with_the_grant_and_checks_its_arguments)
{
	struct llmos_job_step w, w2, st;
	struct client a, b;
	int res_w = 99, res_s = 99;

	if (!preempt_advertised(self->fd))
		SKIP(return, "LLMOS_F_SCHED_PREEMPT not advertised");
	ASSERT_EQ(0, client_open(&a, 1, LLMOS_CLASS_NORMAL, 0));
	ASSERT_EQ(0, client_open(&b, 1, LLMOS_CLASS_NORMAL, 0));
	/* Holding nothing: at once, 0. Flags: -EINVAL. As an ioctl: -EINVAL. */
	ASSERT_EQ(0, submit_watch(&a, &w, 0, 1));
	ASSERT_EQ(0, wait_cqe_ms(&a.ring, EVENT_MS, NULL));
	ASSERT_EQ(0, submit_watch(&a, &w, LLMOS_STEP_RELEASE, 1));
	ASSERT_EQ(-EINVAL, wait_cqe_ms(&a.ring, EVENT_MS, NULL));
	memset(&st, 0, sizeof(st));
	st.job = a.job;
	ASSERT_EQ(-EINVAL, do_ioctl(a.fd, LLMOS_CMD_JOB_WATCH, &st));
	/* Held: a second watch is -EBUSY; the same class waiting does not preempt. */
	ASSERT_EQ(0, client_step(&a, 0, EVENT_MS));
	ASSERT_EQ(0, submit_watch(&a, &w, 0, 7));
	ASSERT_EQ(0, submit_watch(&a, &w2, 0, 8));
	ASSERT_EQ(-EBUSY, wait_cqe_ms(&a.ring, EVENT_MS, NULL));
	ASSERT_EQ(0, client_submit(&b, 0));
	ASSERT_EQ(0, cqe_ready(&a.ring));
	/* The grant ends: the watch completes with 0, and b is granted. */
	ASSERT_EQ(0, client_submit(&a, LLMOS_STEP_RELEASE_ONLY));
	ASSERT_EQ(0, wait_two(&a.ring, 7, &res_w, a.job, &res_s));
	ASSERT_EQ(0, res_w);
	ASSERT_EQ(0, res_s);
	ASSERT_EQ(0, wait_cqe_ms(&b.ring, EVENT_MS, NULL));
	ASSERT_EQ(0, client_step(&b, LLMOS_STEP_RELEASE_ONLY, EVENT_MS));
	client_close(&b);
	client_close(&a);
}

TEST_F(sched, module_left_clean)
{
	struct llmos_sched_stats st;

	ASSERT_EQ(1, await_stats(self->fd, EVENT_MS, idle_pred, NULL, &st))
		TH_LOG("queued %u held %u jobs %u busy %u", total_of(&st, 0), total_of(&st, 1),
		       total_of(&st, 2), st.slots_busy);
}

TEST_HARNESS_MAIN
