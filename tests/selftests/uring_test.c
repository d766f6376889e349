// SPDX-License-Identifier: GPL-2.0
/*
 * uring_test.c - the io_uring set-ups and request flags a client of
 * /dev/llmos may use, beyond a plain ring: IOPOLL (refused clearly),
 * SQPOLL, DEFER_TASKRUN with SINGLE_ISSUER, IOSQE_ASYNC, linked SQEs, and
 * exec() with a step still queued.
 *
 * Each test holds the only slot (slots=1) with a first job when it needs a
 * step to wait, and releases it to see the waiting step granted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <linux/llmos.h>

#include "kselftest_harness.h"
#include "selftest_util.h"

#define DEV_PATH "/dev/llmos"
#define EVENT_MS 5000

static void prep_step(struct io_uring_sqe *sqe, int fd, struct llmos_job_step *st, __u32 job,
		      __u32 flags, __u64 ud)
{
	struct llmos_uring_cmd *pl;

	memset(st, 0, sizeof(*st));
	st->job = job;
	st->flags = flags;
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = LLMOS_CMD_JOB_STEP;
	pl = (struct llmos_uring_cmd *)sqe->cmd;
	pl->addr = (__u64)(uintptr_t)st;
	pl->len = sizeof(*st);
	io_uring_sqe_set_data64(sqe, ud);
}

/* The next CQE within EVENT_MS: its res, and *ud; -ETIMEDOUT if none came. */
static int next_cqe(struct io_uring *ring, __u64 *ud)
{
	struct __kernel_timespec ts = { .tv_sec = EVENT_MS / 1000 };
	struct io_uring_cqe *cqe;
	int res;

	if (io_uring_wait_cqe_timeout(ring, &cqe, &ts))
		return -ETIMEDOUT;
	res = cqe->res;
	if (ud)
		*ud = io_uring_cqe_get_data64(cqe);
	io_uring_cqe_seen(ring, cqe);
	return res;
}

/* Requests pid's process has queued now (-1 if it has no entry). */
static int queued_of(int fd, pid_t pid)
{
	struct llmos_sched_stat p;

	return get_proc(fd, pid, &p) == 1 ? (int)p.queued : -1;
}

/* Is a CQE there after a short wait?  (For "not yet granted".) */
static int cqe_within(struct io_uring *ring, int ms)
{
	struct __kernel_timespec ts = { .tv_nsec = ms * 1000000L };
	struct io_uring_cqe *cqe;

	return io_uring_wait_cqe_timeout(ring, &cqe, &ts) == 0;
}

FIXTURE(uring) {
	int fd;
	__u32 holder; /* a job holding the only slot */
	long long slots; /* the parameter as it was, restored in the teardown */
};

FIXTURE_SETUP(uring)
{
	self->slots = read_ll("/sys/module/llmos/parameters/slots");
	ASSERT_LT(0, self->slots);
	ASSERT_EQ(0, write_ll("/sys/module/llmos/parameters/slots", 1));
	self->fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, job_create(self->fd, LLMOS_CLASS_NORMAL, 0, &self->holder));
	ASSERT_EQ(0, step_ioctl(self->fd, self->holder, 0));
}

FIXTURE_TEARDOWN(uring)
{
	close(self->fd);
	write_ll("/sys/module/llmos/parameters/slots", self->slots);
}

/* Steps wait for a grant; polled completion makes no sense: io_uring says -EOPNOTSUPP. */
TEST_F(uring, iopoll_ring_is_refused)
{
	struct llmos_job_step st;
	struct io_uring ring;
	__u32 job;

	ASSERT_EQ(0, io_uring_queue_init(4, &ring, IORING_SETUP_IOPOLL));
	ASSERT_EQ(0, job_create(self->fd, LLMOS_CLASS_NORMAL, 0, &job));
	prep_step(io_uring_get_sqe(&ring), self->fd, &st, job, 0, 1);
	ASSERT_EQ(1, io_uring_submit(&ring));
	EXPECT_EQ(-EOPNOTSUPP, next_cqe(&ring, NULL));
	io_uring_queue_exit(&ring);
	EXPECT_EQ(0, job_end(self->fd, job));
}

/* Run a step on @ring: it waits while the holder holds, and is granted on release. */
static void step_waits_then_granted(struct __test_metadata *_metadata, int fd, __u32 holder,
				    struct io_uring *ring, __u8 sqe_flags)
{
	struct llmos_job_step st;
	struct io_uring_sqe *sqe;
	__u32 job;
	__u64 ud = 0;

	ASSERT_EQ(0, job_create(fd, LLMOS_CLASS_NORMAL, 0, &job));
	sqe = io_uring_get_sqe(ring);
	prep_step(sqe, fd, &st, job, 0, 7);
	sqe->flags |= sqe_flags;
	ASSERT_EQ(1, io_uring_submit(ring));
	EXPECT_FALSE(cqe_within(ring, 100)); /* queued behind the holder... */
	EXPECT_EQ(1, queued_of(fd, getpid())); /* ...as the module says */
	ASSERT_EQ(0, step_ioctl(fd, holder, LLMOS_STEP_RELEASE_ONLY));
	EXPECT_EQ(0, next_cqe(ring, &ud));
	EXPECT_EQ(7ULL, ud);
	EXPECT_EQ(0, job_end(fd, job));
}

TEST_F(uring, sqpoll_ring)
{
	struct io_uring_params p = { .flags = IORING_SETUP_SQPOLL, .sq_thread_idle = 1000 };
	struct io_uring ring;

	ASSERT_EQ(0, io_uring_queue_init_params(4, &ring, &p));
	step_waits_then_granted(_metadata, self->fd, self->holder, &ring, 0);
	io_uring_queue_exit(&ring);
}

TEST_F(uring, defer_taskrun_single_issuer_ring)
{
	struct io_uring_params p = { .flags = IORING_SETUP_SINGLE_ISSUER |
					      IORING_SETUP_DEFER_TASKRUN };
	struct io_uring ring;

	ASSERT_EQ(0, io_uring_queue_init_params(4, &ring, &p));
	step_waits_then_granted(_metadata, self->fd, self->holder, &ring, 0);
	io_uring_queue_exit(&ring);
}

TEST_F(uring, iosqe_async_step)
{
	struct io_uring ring;

	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	step_waits_then_granted(_metadata, self->fd, self->holder, &ring, IOSQE_ASYNC);
	io_uring_queue_exit(&ring);
}

/* MODEL_CREATE may block: issued non-blocking it is retried from a worker (root only). */
TEST_F(uring, model_create_from_a_ring)
{
	struct llmos_model_create c;
	struct io_uring ring;

	if (geteuid())
		SKIP(return, "needs root");
	m_unload(self->fd, "ut-ring", LLMOS_UNLOAD_WHEN_UNUSED);
	init_create(&c, "ut-ring", 8 << 20, 0644);
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	EXPECT_EQ(0, uring_cmd(&ring, self->fd, LLMOS_CMD_MODEL_CREATE, &c, sizeof(c), 0));
	EXPECT_EQ(LLMOS_MMAP_OFFSET(c.handle), c.mmap_offset);
	EXPECT_EQ(0, m_close(self->fd, c.handle)); /* abandons it */
	EXPECT_EQ(0, m_find(self->fd, "ut-ring", NULL));
	io_uring_queue_exit(&ring);
}

/*
 * A step linked to a NOP: the NOP completes after the grant.  A failing
 * step (an unknown job) cancels what is linked to it.
 */
TEST_F(uring, linked_sqes)
{
	struct llmos_job_step st;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	__u32 job;
	__u64 ud = 0;

	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	ASSERT_EQ(0, job_create(self->fd, LLMOS_CLASS_NORMAL, 0, &job));
	sqe = io_uring_get_sqe(&ring);
	prep_step(sqe, self->fd, &st, job, 0, 1);
	sqe->flags |= IOSQE_IO_LINK;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, 2);
	ASSERT_EQ(2, io_uring_submit(&ring));
	EXPECT_FALSE(cqe_within(&ring, 100)); /* the NOP waits for the step */
	EXPECT_EQ(1, queued_of(self->fd, getpid()));
	ASSERT_EQ(0, step_ioctl(self->fd, self->holder, LLMOS_STEP_RELEASE_ONLY));
	EXPECT_EQ(0, next_cqe(&ring, &ud));
	EXPECT_EQ(1ULL, ud);
	EXPECT_EQ(0, next_cqe(&ring, &ud));
	EXPECT_EQ(2ULL, ud);

	sqe = io_uring_get_sqe(&ring);
	prep_step(sqe, self->fd, &st, 9999, 0, 3);
	sqe->flags |= IOSQE_IO_LINK;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, 4);
	ASSERT_EQ(2, io_uring_submit(&ring));
	EXPECT_EQ(-EINVAL, next_cqe(&ring, &ud));
	EXPECT_EQ(3ULL, ud);
	EXPECT_EQ(-ECANCELED, next_cqe(&ring, &ud));
	EXPECT_EQ(4ULL, ud);
	io_uring_queue_exit(&ring);
	EXPECT_EQ(0, job_end(self->fd, job));
}

/*
 * A process with a step queued calls exec(): its /dev/llmos file (O_CLOEXEC)
 * and its ring go, so the step is cancelled and the job freed; the new
 * program runs normally and nothing is left queued.
 */
TEST_F(uring, exec_with_a_step_queued)
{
	struct llmos_sched_stat me;
	int ready[2], go[2], i;
	char c;
	pid_t pid;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct llmos_job_step st;
		struct io_uring ring;
		int fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
		__u32 job;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd < 0 || io_uring_queue_init(4, &ring, 0) ||
		    job_create(fd, LLMOS_CLASS_NORMAL, 0, &job))
			_exit(1);
		prep_step(io_uring_get_sqe(&ring), fd, &st, job, 0, 1);
		if (io_uring_submit(&ring) != 1 || cqe_within(&ring, 50))
			_exit(2);
		if (write(ready[1], "q", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		execl("/bin/sh", "sh", "-c", "exit 7", (char *)NULL);
		_exit(4);
	}
	close(ready[1]);
	close(go[0]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(1, get_proc(self->fd, pid, &me));
	EXPECT_EQ(1U, me.queued);
	ASSERT_EQ(1, write(go[1], "x", 1));
	EXPECT_EQ(7, wait_code(pid));
	/* The ring's teardown is asynchronous: wait for the step to leave the queue. */
	for (i = 0; i < 500 && get_proc(self->fd, pid, &me) == 1; i++)
		usleep(10000);
	EXPECT_EQ(0, get_proc(self->fd, pid, &me));
	close(ready[0]);
	close(go[1]);
}

TEST_HARNESS_MAIN
