// SPDX-License-Identifier: GPL-2.0
/*
 * killstorm.c - N clients of /dev/llmos (default 1000) killed with SIGKILL
 * at random points: mid-load (allocating or writing a model), holding a
 * grant, queued for one (by uring_cmd or a blocking ioctl), with models
 * mapped, with watches armed, with NPU jobs queued and running (by
 * uring_cmd, blocking ioctl and fence), several at once and in several
 * threads.
 * Half the clients are killed a random time after they start (anywhere in
 * their set-up), half a random time after they report reaching their state.
 * Every client must die of the SIGKILL (not of its own error), at least a
 * quarter must have reached their state, and afterwards no job, queued
 * request, grant, process entry, model, pinned page, buffer or NPU job may
 * be left
 * (SCHED_STATS and sysfs); the VM's runner then checks that rmmod works and,
 * on the debug kernel, that kmemleak found nothing.
 *
 *   killstorm [-n CLIENTS] [-w WAVE] [-s SEED]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/llmos.h>

#include "kselftest.h"
#include "selftest_util.h"

#define DEV_PATH "/dev/llmos"
#define SHARED_MODEL "ks-shared"
#define SHARED_SIZE (1 << 20)
#define LOAD_SIZE (16 << 20)

/* What a client is doing when it dies; each also keeps going until killed. */
enum client_kind {
	K_LOADING,   /* MODEL_CREATE of 16 MiB, then writing it: killed unsealed */
	K_HOLDING,   /* a grant held (or queued for, if another holds the slot) */
	K_QUEUED_IOCTL, /* a blocking JOB_STEP ioctl */
	K_MAPPED,    /* the shared model opened and mapped, pages touched */
	K_WATCHING,  /* a grant with a JOB_WATCH armed, stepping in a loop */
	K_NPU,       /* NPU jobs in flight: uring_cmds, a blocking ioctl, fences */
	K_THREADS,   /* all of the above at once, in threads */
	K_NR
};

static const char *const kind_name[K_NR] = {
	"loading", "holding", "queued-ioctl", "mapped", "watching", "npu", "threads",
};

/* Shared with the clients: reached[i] is set once client i is in its state. */
static volatile unsigned char *reached;

static void mark_reached(int idx)
{
	reached[idx] = 1;
}

static unsigned int rnd(unsigned int *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void do_loading(int fd, int idx)
{
	char name[LLMOS_NAME_LEN];
	unsigned char *p;
	__u64 off;
	__u32 h;

	snprintf(name, sizeof(name), "ks-load-%d", idx);
	if (m_create(fd, name, LOAD_SIZE, 0644, &h, &off))
		return;
	p = m_map(fd, off, LOAD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
	if (p == MAP_FAILED)
		return;
	mark_reached(idx);
	for (;;)
		memset(p, idx, LOAD_SIZE);
}

static void do_holding(int fd, int watch, int idx)
{
	struct llmos_job_step st = { 0 }, wst = { 0 };
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	__u32 job;

	if (io_uring_queue_init(8, &ring, 0) || job_create(fd, LLMOS_CLASS_NORMAL, 0, &job))
		return;
	st.job = job;
	wst.job = job;
	for (;;) {
		st.flags = LLMOS_STEP_RELEASE;
		if (submit_cmd(&ring, fd, LLMOS_CMD_JOB_STEP, &st, sizeof(st)) ||
		    io_uring_wait_cqe(&ring, &cqe))
			return;
		io_uring_cqe_seen(&ring, cqe);
		if (watch && submit_cmd(&ring, fd, LLMOS_CMD_JOB_WATCH, &wst, sizeof(wst)))
			return;
		mark_reached(idx); /* granted (and watching) */
		usleep(2000); /* "computing" while holding */
	}
}

static void do_queued_ioctl(int fd, int idx)
{
	__u32 job;

	if (job_create(fd, LLMOS_CLASS_BACKGROUND, 0, &job))
		return;
	mark_reached(idx); /* about to wait in the ioctl */
	for (;;)
		step_ioctl(fd, job, LLMOS_STEP_RELEASE);
}

static void do_mapped(int fd, int idx)
{
	volatile unsigned char *p;
	unsigned long sum = 0;
	__u64 off, size;
	__u32 h;
	size_t i;

	if (m_open(fd, SHARED_MODEL, &h, &size, &off))
		return;
	p = m_map(fd, off, SHARED_SIZE, PROT_READ, MAP_SHARED);
	if (p == MAP_FAILED)
		return;
	mark_reached(idx);
	for (;;)
		for (i = 0; i < SHARED_SIZE; i += 4096)
			sum += p[i];
}

/* A buffer of size bytes filled with byte (0x11: small scales, small values); 0 or -1. */
static int npu_buf(int fd, size_t size, unsigned char byte, __u32 *handle)
{
	struct llmos_buf_create c = { .size = size, .numa_node = LLMOS_NUMA_ANY };
	void *p;

	if (ioctl(fd, LLMOS_CMD_BUF_CREATE, &c))
		return -1;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, c.mmap_offset);
	if (p == MAP_FAILED)
		return -1;
	memset(p, byte, size);
	munmap(p, size); /* the handle keeps the buffer */
	*handle = c.handle;
	return 0;
}

/* Keep the device busy: 4 uring_cmds pending, then a blocking ioctl, a fenced one. */
static void do_npu(int fd, int idx)
{
	enum { ROWS = 64, COLS = 512, TOKENS = 2, Q8_ROW = COLS / 32 * 34 };
	struct llmos_npu_op op = { .op = LLMOS_NPU_OP_MATMUL, .rows = ROWS, .cols = COLS,
				   .n_tokens = TOKENS };
	struct llmos_npu_submit sub = { .ops = (__u64)(unsigned long)&op, .nr_ops = 1,
					.op_size = sizeof(op) };
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	__u32 w, x, out;
	int i;

	if (io_uring_queue_init(8, &ring, 0) || npu_buf(fd, (size_t)ROWS * Q8_ROW, 0x11, &w) ||
	    npu_buf(fd, (size_t)TOKENS * Q8_ROW, 0x11, &x) ||
	    npu_buf(fd, (size_t)TOKENS * ROWS * 4, 0, &out))
		return;
	op.weights = (struct llmos_npu_operand){ w, LLMOS_NPU_TYPE_Q8_0, 0, Q8_ROW };
	op.input = (struct llmos_npu_operand){ x, LLMOS_NPU_TYPE_Q8_0, 0, Q8_ROW };
	op.output = (struct llmos_npu_operand){ out, LLMOS_NPU_TYPE_F32, 0, ROWS * 4 };
	for (;;) {
		for (i = 0; i < 4; i++)
			if (submit_cmd(&ring, fd, LLMOS_CMD_NPU_SUBMIT, &sub, sizeof(sub)))
				return;
		mark_reached(idx); /* jobs in flight; next, a blocking one */
		sub.flags = 0;
		if (ioctl(fd, LLMOS_CMD_NPU_SUBMIT, &sub))
			return;
		sub.flags = LLMOS_NPU_FENCE_OUT | LLMOS_NPU_FENCE_CLOEXEC;
		if (ioctl(fd, LLMOS_CMD_NPU_SUBMIT, &sub))
			return;
		close(sub.fence_fd);
		sub.flags = 0;
		for (i = 0; i < 4; i++) {
			if (io_uring_wait_cqe(&ring, &cqe))
				return;
			io_uring_cqe_seen(&ring, cqe);
		}
	}
}

struct thread_arg {
	int fd, idx;
	enum client_kind kind;
};

static void *client_thread(void *arg)
{
	struct thread_arg *a = arg;

	if (a->kind == K_HOLDING)
		do_holding(a->fd, 0, a->idx);
	else if (a->kind == K_WATCHING)
		do_holding(a->fd, 1, a->idx);
	else if (a->kind == K_QUEUED_IOCTL)
		do_queued_ioctl(a->fd, a->idx);
	else
		do_mapped(a->fd, a->idx);
	for (;;)
		pause();
	return NULL;
}

static void run_client(enum client_kind kind, int idx, int unprivileged)
{
	static struct thread_arg ta[4];
	pthread_t t;
	int fd, i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (unprivileged && kind != K_LOADING && drop_privs(1000 + idx % 4, 1000))
		_exit(1);
	fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		_exit(2);
	switch (kind) {
	case K_LOADING:
		do_loading(fd, idx);
		break;
	case K_HOLDING:
		do_holding(fd, 0, idx);
		break;
	case K_QUEUED_IOCTL:
		do_queued_ioctl(fd, idx);
		break;
	case K_MAPPED:
		do_mapped(fd, idx);
		break;
	case K_WATCHING:
		do_holding(fd, 1, idx);
		break;
	case K_NPU:
		do_npu(fd, idx);
		break;
	default: /* every thread marks the one flag: the last to get there counts */
		for (i = 0; i < 4; i++) {
			ta[i].fd = i % 2 ? fd : open(DEV_PATH, O_RDWR | O_CLOEXEC);
			ta[i].kind = (enum client_kind)(K_HOLDING + i);
			ta[i].idx = idx;
			pthread_create(&t, NULL, client_thread, &ta[i]);
		}
		break;
	}
	for (;;)
		pause();
}

static void usage(void)
{
	fprintf(stderr, "usage: killstorm [-n CLIENTS] [-w WAVE] [-s SEED]\n");
	exit(KSFT_FAIL);
}

/* Wait (up to 3 s) until client idx reached its state: 1, or 0 if it did not. */
static int await_reached(int idx)
{
	int t;

	for (t = 0; t < 3000 && !reached[idx]; t++)
		usleep(1000);
	return reached[idx];
}

int main(int argc, char **argv)
{
	int n = 1000, wave = 16, seed = (int)time(NULL), opt, fd, i, j, ret, status;
	int not_killed = 0, nreached = 0, npu;
	unsigned int kinds[K_NR] = { 0 }, s;
	struct llmos_totals base, now;
	enum client_kind wave_kind[64];
	pid_t pids[64];
	__u64 off;
	__u32 h;

	while ((opt = getopt(argc, argv, "n:w:s:h")) != -1) {
		if (opt == 'n')
			n = atoi(optarg);
		else if (opt == 'w')
			wave = atoi(optarg);
		else if (opt == 's')
			seed = atoi(optarg);
		else
			usage();
	}
	if (n < 1 || wave < 1 || wave > 64)
		usage();
	ksft_print_header();
	ksft_set_plan(4);
	reached = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (reached == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	s = (unsigned int)seed;
	printf("# %d clients in waves of %d, seed %d\n", n, wave, seed);
	fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		ksft_exit_fail_msg("open %s: %s\n", DEV_PATH, strerror(errno));
	if (read_totals(fd, &base))
		ksft_exit_fail_msg("SCHED_STATS failed\n");
	npu = has_feature(fd, LLMOS_F_NPU);
	print_totals("before", &base);

	/* The model the mapping clients share, sealed and closed by its creator. */
	m_unload(fd, SHARED_MODEL, LLMOS_UNLOAD_WHEN_UNUSED);
	if (m_create(fd, SHARED_MODEL, SHARED_SIZE, 0644, &h, &off) || m_seal(fd, h) ||
	    m_close(fd, h))
		ksft_exit_fail_msg("cannot make the shared model\n");

	for (i = 0; i < n; i += wave) {
		int k = n - i < wave ? n - i : wave;

		for (j = 0; j < k; j++) {
			enum client_kind kind = (enum client_kind)(rnd(&s) % K_NR);

			if (kind == K_NPU && !npu)
				kind = K_MAPPED;
			int unpriv = rnd(&s) % 2;

			kinds[kind]++;
			wave_kind[j] = kind;
			pids[j] = fork();
			if (pids[j] < 0)
				ksft_exit_fail_msg("fork: %s\n", strerror(errno));
			if (pids[j] == 0)
				run_client(kind, i + j, unpriv);
		}
		/*
		 * Half die anywhere in their set-up (0..40 ms after the wave
		 * began), half 0..5 ms after reaching their state.
		 */
		for (j = 0; j < k; j++) {
			if (rnd(&s) % 2)
				usleep(rnd(&s) % (40000 / k + 1));
			else if (await_reached(i + j))
				usleep(rnd(&s) % 5000);
			kill(pids[j], SIGKILL);
		}
		for (j = 0; j < k; j++) {
			waitpid(pids[j], &status, 0);
			if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
				not_killed++;
				printf("# client %d (%s) ended by itself: status 0x%x\n", i + j,
				       kind_name[wave_kind[j]], status);
			}
			nreached += reached[i + j];
		}
	}
	for (i = 0; i < K_NR; i++)
		printf("# %u clients %s\n", kinds[i], kind_name[i]);
	printf("# %d clients reached their state before the kill\n", nreached);
	ksft_test_result(not_killed == 0, "every client died of the SIGKILL\n");
	ksft_test_result(nreached >= n / 4, "at least a quarter reached their state (%d of %d)\n",
			 nreached, n);

	/* Only the shared model is left, unused. */
	base.models++;
	base.pinned += SHARED_SIZE;
	ret = await_totals(fd, &base, 60000, 0, &now);
	print_totals("after the kills", &now);
	ksft_test_result(ret == 0, "nothing of %d killed clients is left\n", n);
	ret = m_unload(fd, SHARED_MODEL, 0);
	base.models--;
	base.pinned -= SHARED_SIZE;
	if (!ret)
		ret = await_totals(fd, &base, 10000, 0, &now);
	print_totals("after unloading the shared model", &now);
	ksft_test_result(ret == 0, "the shared model unloads and its pages are freed\n");
	close(fd);
	ksft_finished();
}
