// SPDX-License-Identifier: GPL-2.0
/*
 * uapi_fuzz.c - random sequences of every /dev/llmos command, run in the
 * debug VM (KASAN, lockdep, kmemleak) for a bounded time.
 *
 * Worker processes (some root, some not) each run threads that issue
 * commands as ioctls and as uring_cmds on normal and SQE128 rings (some
 * IOSQE_ASYNC, some linked, some left pending when the ring is torn down),
 * with boundary and garbage field values and sizes, arguments in read-only,
 * unmapped and page-straddling memory, mmaps at random offsets, forked
 * children, and allocation failures injected through /proc/thread-self/
 * fail-nth.  The coordinator kills workers at random points and starts new
 * ones.  At the end every worker is killed; then no job, request, grant,
 * process entry or model may be left, and the VM runner checks rmmod,
 * kmemleak and the console.  The kernel's findings show on its console;
 * this program checks only what must hold after any sequence.
 *
 * A seed reproduces a run's choices (not its thread interleaving):
 *   uapi_fuzz [--seconds S] [--seed N] [--workers W] [--threads T]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
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
#define PARAM_DIR "/sys/module/llmos/parameters/"
#define MAX_WORKERS 16
#define MAX_THREADS 8
#define PAGE 4096
#define ARG_PAGES 4
#define BUILT_SIZE 2048 /* the largest argument struct fits */

/* ---- a reproducible random source (splitmix64) ---- */

struct rng {
	uint64_t s;
};

static uint64_t next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned int below(struct rng *r, unsigned int n)
{
	return (unsigned int)(next(r) % n);
}

static int chance(struct rng *r, unsigned int percent)
{
	return below(r, 100) < percent;
}

#define PICK(r, arr) ((arr)[below((r), sizeof(arr) / sizeof((arr)[0]))])

/* ---- what the commands are ---- */

static const unsigned int commands[] = {
	LLMOS_CMD_GET_INFO, LLMOS_CMD_MODEL_CREATE, LLMOS_CMD_MODEL_SEAL, LLMOS_CMD_MODEL_OPEN,
	LLMOS_CMD_MODEL_CLOSE, LLMOS_CMD_MODEL_LIST, LLMOS_CMD_MODEL_UNLOAD,
	LLMOS_CMD_JOB_CREATE, LLMOS_CMD_JOB_STEP, LLMOS_CMD_JOB_END, LLMOS_CMD_SCHED_SET_PRIO,
	LLMOS_CMD_SCHED_STATS, LLMOS_CMD_JOB_WATCH, LLMOS_CMD_BUF_CREATE, LLMOS_CMD_BUF_EXPORT,
	LLMOS_CMD_BUF_IMPORT, LLMOS_CMD_NPU_INFO, LLMOS_CMD_NPU_SUBMIT,
};

static const uint64_t interesting64[] = {
	0, 1, 2, 3, 4, 5, 7, 64, 100, 101, 255, 256, 4095, 4096, 4097, 65535, 65536, 1u << 20,
	0x7fffffff, 0x80000000u, 0xffffffffu, 1ull << 32, 1ull << 40, 1ull << 47,
	0x7fffffffffffffffull, 0xffffffffffffffffull,
};

static const char *const names[] = { "fz0", "fz1", "fz2", "fz3", "", ".hidden", "bad/name",
				     "fz0\x01" };

/* Per-worker memory the arguments live in. */
struct arena {
	unsigned char *rw;   /* ARG_PAGES pages, read-write */
	unsigned char *ro;   /* one page, read-only, with plausible contents */
	unsigned char *none; /* one page, PROT_NONE, right after rw */
};

static uint64_t field64(struct rng *r)
{
	if (chance(r, 60))
		return below(r, 6);
	if (chance(r, 70))
		return PICK(r, interesting64);
	return next(r);
}

/* A user pointer a struct may hold (procs, entries): good or bad. */
static uint64_t some_pointer(struct rng *r, const struct arena *a)
{
	switch (below(r, 6)) {
	case 0:
		return (uint64_t)(uintptr_t)a->ro;
	case 1:
		return (uint64_t)(uintptr_t)a->none;
	case 2:
		return 0;
	case 3:
		return 0xffffffff81000000ull; /* the kernel's */
	default:
		return (uint64_t)(uintptr_t)(a->rw + 2 * PAGE);
	}
}

/* One MATMUL over handles 1..4 of sizes a page holds, or garbage. */
static void fill_op(struct rng *r, struct llmos_npu_op *op, int sane)
{
	struct llmos_npu_operand *o[] = { &op->weights, &op->input, &op->output };
	const uint32_t types[] = { LLMOS_NPU_TYPE_Q8_0, LLMOS_NPU_TYPE_Q8_0, LLMOS_NPU_TYPE_F32 };
	const uint64_t strides[] = { 34, 34, 16 };
	size_t i;

	memset(op, 0, sizeof(*op));
	op->op = sane || chance(r, 90) ? LLMOS_NPU_OP_MATMUL : (uint32_t)field64(r);
	op->rows = sane ? below(r, 4) + 1 : (uint32_t)field64(r);
	op->cols = sane ? 32 : (uint32_t)field64(r);
	op->n_tokens = sane ? below(r, 3) + 1 : (uint32_t)field64(r);
	for (i = 0; i < 3; i++) {
		o[i]->handle = sane || chance(r, 80) ? below(r, 4) + 1 : (uint32_t)field64(r);
		o[i]->type = sane || chance(r, 80) ? types[i] : (uint32_t)field64(r);
		o[i]->offset = sane ? 4 * below(r, 4) : field64(r);
		o[i]->stride = sane || chance(r, 50) ? strides[i] : field64(r);
	}
}

/* A submission of 1..3 operations built in the arena's last page. */
static void fill_submit(struct rng *r, const struct arena *a, struct llmos_npu_submit *s,
			int sane)
{
	struct llmos_npu_op *ops = (void *)(a->rw + (ARG_PAGES - 1) * PAGE);
	unsigned int i, n = below(r, 3) + 1;

	for (i = 0; i < n; i++)
		fill_op(r, &ops[i], sane);
	s->ops = sane || chance(r, 70) ? (uint64_t)(uintptr_t)ops : some_pointer(r, a);
	s->nr_ops = sane || chance(r, 70) ? n : (uint32_t)field64(r);
	s->op_size = sane || chance(r, 80) ? sizeof(*ops) : (uint32_t)field64(r);
	s->flags = chance(r, 30) ? LLMOS_NPU_FENCE_OUT : 0;
	if (!sane && chance(r, 10))
		s->flags = (uint32_t)field64(r);
	s->job = chance(r, 70) ? 0 : below(r, 4);
}

/*
 * Fill @buf (BUILT_SIZE bytes) as argument of @cmd: plausible fields (for a
 * @sane operation, one likely to get past the checks and reach the state
 * behind them), or sometimes garbage.
 */
static void fill_arg(struct rng *r, const struct arena *a, unsigned int cmd, unsigned char *buf,
		     int sane)
{
	size_t i;

	memset(buf, 0, BUILT_SIZE);
	if (!sane && chance(r, 20)) {
		for (i = 0; i < BUILT_SIZE; i++)
			buf[i] = (unsigned char)next(r);
		return;
	}
	switch (_IOC_NR(cmd)) {
	case _IOC_NR(LLMOS_CMD_GET_INFO):
		break; /* all out, or zero */
	case _IOC_NR(LLMOS_CMD_MODEL_CREATE): {
		struct llmos_model_create *c = (void *)buf;

		set_name(c->name, (sane ? names[below(r, 4)] : PICK(r, names)));
		c->size = sane || chance(r, 80) ? (below(r, 64) + 1) * PAGE + below(r, 3) : field64(r);
		c->mode = chance(r, 80) ? 0644 : (uint32_t)field64(r);
		c->numa_node = chance(r, 80) ? LLMOS_NUMA_ANY : (int32_t)field64(r);
		break;
	}
	case _IOC_NR(LLMOS_CMD_MODEL_OPEN):
		set_name(((struct llmos_model_open *)buf)->name, (sane ? names[below(r, 4)] : PICK(r, names)));
		break;
	case _IOC_NR(LLMOS_CMD_MODEL_UNLOAD): {
		struct llmos_model_unload *u = (void *)buf;

		set_name(u->name, (sane ? names[below(r, 4)] : PICK(r, names)));
		u->flags = chance(r, 50) ? LLMOS_UNLOAD_WHEN_UNUSED : 0;
		break;
	}
	case _IOC_NR(LLMOS_CMD_MODEL_LIST): {
		struct llmos_model_list *l = (void *)buf;

		l->entries = sane ? (uint64_t)(uintptr_t)(a->rw + 2 * PAGE) : some_pointer(r, a);
		l->capacity = sane ? below(r, 8) : (uint32_t)field64(r);
		l->entry_size = sane || chance(r, 70) ? sizeof(struct llmos_model_entry) : field64(r);
		break;
	}
	case _IOC_NR(LLMOS_CMD_SCHED_STATS): {
		struct llmos_sched_stats *s = (void *)buf;

		s->procs = sane ? (uint64_t)(uintptr_t)(a->rw + 2 * PAGE) : some_pointer(r, a);
		s->capacity = sane ? below(r, 8) : (uint32_t)field64(r);
		break;
	}
	case _IOC_NR(LLMOS_CMD_JOB_CREATE): {
		struct llmos_job_create *c = (void *)buf;

		c->sched_class = below(r, sane ? 4 : 6);
		c->weight = sane ? below(r, 201) : (uint32_t)PICK(r, interesting64);
		break;
	}
	case _IOC_NR(LLMOS_CMD_SCHED_SET_PRIO): {
		struct llmos_sched_prio *p = (void *)buf;

		p->pid = chance(r, 60) ? 0 : chance(r, 50) ? getpid() : (int32_t)field64(r);
		p->sched_class = below(r, sane ? 4 : 6);
		p->weight = sane ? below(r, 200) + 1 : (uint32_t)PICK(r, interesting64);
		break;
	}
	case _IOC_NR(LLMOS_CMD_BUF_CREATE): {
		struct llmos_buf_create *c = (void *)buf;

		c->size = sane || chance(r, 80) ? (below(r, 16) + 1) * PAGE + below(r, 3) : field64(r);
		c->numa_node = chance(r, 80) ? LLMOS_NUMA_ANY : (int32_t)field64(r);
		break;
	}
	case _IOC_NR(LLMOS_CMD_BUF_IMPORT): /* exported dma-bufs are among the low fds */
		((int32_t *)buf)[0] = sane ? (int32_t)below(r, 48) : (int32_t)field64(r);
		break;
	case _IOC_NR(LLMOS_CMD_NPU_INFO):
		break;
	case _IOC_NR(LLMOS_CMD_NPU_SUBMIT):
		fill_submit(r, a, (struct llmos_npu_submit *)buf, sane);
		break;
	default: /* SEAL, CLOSE, STEP, END, WATCH, EXPORT: an id and flags first */
		((uint32_t *)buf)[0] = sane ? below(r, 4) + 1 : (uint32_t)field64(r);
		((uint32_t *)buf)[1] = sane || chance(r, 70) ? below(r, 4) : (uint32_t)field64(r);
		if (sane && _IOC_NR(cmd) == _IOC_NR(LLMOS_CMD_JOB_WATCH))
			((uint32_t *)buf)[1] = 0;
		break;
	}
	if (!sane && chance(r, 20))
		buf[8 + below(r, 24)] = (unsigned char)next(r); /* a reserved byte */
}

static uint32_t some_size(struct rng *r, unsigned int cmd)
{
	static const uint32_t sizes[] = { 0, 1, 8, 16, 24, 31, 32, 33, 40, 79, 80, 81, 112,
					  119, 120, 128, 1032, 4096, 4097, 8192, 0xffffffffu };

	return chance(r, 75) ? _IOC_SIZE(cmd) : PICK(r, sizes);
}

/* Where the argument lives: mostly good memory, sometimes not. */
static void *some_arg(struct rng *r, struct arena *a, uint32_t size, unsigned char *built)
{
	switch (below(r, 10)) {
	case 0:
		return a->ro; /* read-only: a command's copy-out fails */
	case 1:
		return a->none;
	case 2:
		return NULL;
	case 3: /* straddling into the PROT_NONE page */
		memcpy(a->rw + ARG_PAGES * PAGE - 16, built, 16);
		return a->rw + ARG_PAGES * PAGE - 16;
	default:
		(void)size;
		memcpy(a->rw, built, BUILT_SIZE);
		return a->rw;
	}
}

/* ---- one worker thread ---- */

/* Shared with the coordinator: what the workers did, for the closing report. */
#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))
struct counts {
	atomic_ullong ops;
	atomic_ullong injected; /* operations run with an allocation failure armed */
	atomic_int no_fail_nth; /* a thread found no /proc/thread-self/fail-nth */
	atomic_ullong tried[NR_COMMANDS], succeeded[NR_COMMANDS]; /* ioctls of known commands */
};

struct worker {
	int index, root;
	struct rng seed;
	struct arena arena;
	int fds[2];
	struct counts *counts;
};

struct thread {
	struct worker *w;
	struct rng r;
	struct io_uring rings[2]; /* SQE64 and SQE128 */
	int ring_ok[2];
	unsigned int pending[2];
	int fail_nth_fd;
};

static void ring_reset(struct thread *t, int i)
{
	if (t->ring_ok[i])
		io_uring_queue_exit(&t->rings[i]); /* cancels what is still pending */
	t->ring_ok[i] = !io_uring_queue_init(16, &t->rings[i], i ? IORING_SETUP_SQE128 : 0);
	t->pending[i] = 0;
}

static void reap(struct thread *t, int i, int wait_ms)
{
	struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = wait_ms * 1000000L };
	struct io_uring_cqe *cqe;

	while (t->pending[i] && !io_uring_wait_cqe_timeout(&t->rings[i], &cqe, &ts)) {
		io_uring_cqe_seen(&t->rings[i], cqe);
		t->pending[i]--;
		ts.tv_nsec = 0;
	}
}

static void issue_uring(struct thread *t, int fd, unsigned int cmd, void *arg, uint32_t len)
{
	int i = below(&t->r, 2);
	struct io_uring_sqe *sqe;
	struct llmos_uring_cmd *pl;
	int linked = chance(&t->r, 10);

	if (!t->ring_ok[i] || t->pending[i] > 12 || chance(&t->r, 2))
		ring_reset(t, i);
	if (!t->ring_ok[i])
		return;
	sqe = io_uring_get_sqe(&t->rings[i]);
	if (!sqe)
		return;
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = chance(&t->r, 3) ? (uint32_t)next(&t->r) : cmd;
	pl = (struct llmos_uring_cmd *)sqe->cmd;
	pl->addr = (uint64_t)(uintptr_t)arg;
	pl->len = len;
	pl->reserved = chance(&t->r, 3) ? (uint32_t)next(&t->r) : 0;
	if (i && chance(&t->r, 3))
		sqe->cmd[16 + below(&t->r, 64)] = 1; /* garbage in the SQE128 tail */
	if (chance(&t->r, 20))
		sqe->flags |= IOSQE_ASYNC;
	if (linked) {
		sqe->flags |= IOSQE_IO_LINK;
		sqe = io_uring_get_sqe(&t->rings[i]);
		if (sqe) {
			io_uring_prep_nop(sqe);
			t->pending[i]++;
		}
	}
	if (io_uring_submit(&t->rings[i]) > 0)
		t->pending[i]++;
	reap(t, i, chance(&t->r, 50) ? 20 : 0);
}

/*
 * A fatal fault in a worker says where it was: the mapping from
 * /proc/self/maps, and whether it is a model mapping this thread was
 * reading; then the worker dies of it (and the run fails).
 */
static __thread volatile unsigned char *touching;
static __thread size_t touching_len;
static __thread int touching_prot;

static void print_mapping_of(unsigned long addr)
{
	static char maps[65536];
	int fd = open("/proc/self/maps", O_RDONLY), len = 0, r;
	unsigned long lo, hi;
	char *line, *save;

	while (fd >= 0 && (r = read(fd, maps + len, sizeof(maps) - 1 - len)) > 0)
		len += r;
	maps[len] = 0;
	for (line = strtok_r(maps, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && addr >= lo && addr < hi)
			printf("#   in %s\n", line);
	fflush(stdout);
}

static void on_fatal_fault(int sig, siginfo_t *si, void *uc)
{
	unsigned char *a = si->si_addr;
	int in = touching && a >= touching && a < touching + touching_len;

	(void)uc;
	printf("# worker %d: signal %d (code %d) at %p%s (prot %d)\n", getpid(), sig,
	       si->si_code, si->si_addr, in ? ", in a model mapping being read" : "",
	       in ? touching_prot : -1);
	print_mapping_of((unsigned long)a);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void do_mmap(struct thread *t, int fd)
{
	static const int prots[] = { PROT_READ, PROT_READ | PROT_WRITE, PROT_WRITE, PROT_NONE };
	uint64_t off = ((uint64_t)below(&t->r, 6) << LLMOS_MMAP_SHIFT) +
		       (uint64_t)below(&t->r, 20) * PAGE;
	size_t len = (below(&t->r, 16) + 1) * PAGE;
	int prot = PICK(&t->r, prots);
	volatile unsigned char *p;
	size_t i;

	p = mmap(NULL, len, prot, chance(&t->r, 80) ? MAP_SHARED : MAP_PRIVATE, fd, (off_t)off);
	if (p == MAP_FAILED)
		return;
	if (chance(&t->r, 50) && !mprotect((void *)p, len, PROT_READ | PROT_WRITE))
		prot = PROT_READ | PROT_WRITE;
	/*
	 * Read what the fault handler gives, where the mapping is readable: a
	 * mapping the module accepted must never fault (the worker would die
	 * of it, and the run fail).
	 */
	if ((prot & PROT_READ) && chance(&t->r, 30)) {
		touching = p;
		touching_len = len;
		touching_prot = prot;
		for (i = 0; i < len && i < 2 * PAGE; i += PAGE)
			(void)p[i];
		touching = NULL;
	}
	if (chance(&t->r, 80))
		munmap((void *)p, len);
}

static void root_extras(struct thread *t)
{
	static const long long leases[] = { 20, 100, 1000 };

	if (chance(&t->r, 50))
		write_ll(PARAM_DIR "lease_ms", PICK(&t->r, leases));
	else
		write_ll(PARAM_DIR "slots", below(&t->r, 3) + 1);
}

static void one_op(struct thread *t);

static void count_ioctl(struct counts *c, unsigned int cmd, int ret)
{
	size_t i;

	for (i = 0; i < NR_COMMANDS; i++)
		if (commands[i] == cmd) {
			atomic_fetch_add(&c->tried[i], 1);
			if (ret >= 0)
				atomic_fetch_add(&c->succeeded[i], 1);
		}
}

/* A child that does a few operations and dies, sometimes with requests pending. */
static void fork_child(struct thread *t)
{
	pid_t pid = fork();
	int i;

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		t->ring_ok[0] = t->ring_ok[1] = 0; /* the parent's rings are not ours to use */
		/* The inherited fail-nth file is the parent thread's: arm our own. */
		t->fail_nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
		for (i = 0; i < 20; i++)
			one_op(t);
		_exit(0);
	}
	if (pid > 0) {
		if (chance(&t->r, 50)) {
			usleep(below(&t->r, 5000));
			kill(pid, SIGKILL);
		}
		waitpid(pid, NULL, 0);
	}
}

static void one_op(struct thread *t)
{
	struct worker *w = t->w;
	unsigned char built[BUILT_SIZE];
	unsigned int cmd, what = below(&t->r, 100);
	int fd = w->fds[below(&t->r, 2)];
	uint32_t size;
	void *arg;
	char nth[8];
	int sane;

	if (what < 8) {
		do_mmap(t, fd);
		return;
	}
	if (what < 9 && chance(&t->r, 30)) {
		fork_child(t);
		return;
	}
	if (what < 10) {
		int i = below(&t->r, 2), nfd = open(DEV_PATH, O_RDWR | O_CLOEXEC);

		/*
		 * A new file in place of the old, atomically: other threads' fd
		 * stays a /dev/llmos file (a close then a reopen would let a
		 * ring of another thread take the number meanwhile).  The old
		 * file is released, with its jobs and handles, once no call
		 * still uses it.
		 */
		if (nfd >= 0) {
			dup3(nfd, w->fds[i], O_CLOEXEC);
			close(nfd);
		}
		return;
	}
	if (what < 11 && w->root && w->index == 0) {
		root_extras(t);
		return;
	}
	cmd = chance(&t->r, 97) ? PICK(&t->r, commands) :
				  (unsigned int)_IOC(below(&t->r, 4), chance(&t->r, 50) ?
						     LLMOS_IOC_MAGIC : below(&t->r, 256),
						     below(&t->r, 64), below(&t->r, 512));
	sane = chance(&t->r, 70);
	fill_arg(&t->r, &w->arena, cmd, built, sane);
	size = sane ? _IOC_SIZE(cmd) : some_size(&t->r, cmd);
	if (sane) {
		memcpy(w->arena.rw, built, BUILT_SIZE);
		arg = w->arena.rw;
	} else {
		arg = some_arg(&t->r, &w->arena, size, built);
	}
	if (t->fail_nth_fd >= 0 && chance(&t->r, sane ? 3 : 20)) {
		int n = snprintf(nth, sizeof(nth), "%u", below(&t->r, 8) + 1);

		if (pwrite(t->fail_nth_fd, nth, n, 0) != n)
			t->fail_nth_fd = -1;
		else
			atomic_fetch_add(&w->counts->injected, 1);
	}
	if (chance(&t->r, 50)) { /* an ioctl's size is in its number */
		int ret = ioctl(fd, (cmd & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
					    ((size & _IOC_SIZEMASK) << _IOC_SIZESHIFT), arg);

		count_ioctl(w->counts, cmd, ret);
	} else {
		issue_uring(t, fd, cmd, arg, size);
	}
	if (t->fail_nth_fd >= 0 && pwrite(t->fail_nth_fd, "0", 1, 0) != 1)
		t->fail_nth_fd = -1;
	atomic_fetch_add(&w->counts->ops, 1);
}

static void *thread_main(void *arg)
{
	struct thread *t = arg;

	t->fail_nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (t->fail_nth_fd < 0)
		atomic_store(&t->w->counts->no_fail_nth, 1);
	for (;;)
		one_op(t);
	return NULL;
}

static int arena_init(struct arena *a)
{
	unsigned char *m = mmap(NULL, (ARG_PAGES + 2) * PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return -1;
	a->rw = m;
	a->none = m + ARG_PAGES * PAGE;
	a->ro = m + (ARG_PAGES + 1) * PAGE;
	memset(a->ro, 0, PAGE);
	((uint32_t *)a->ro)[0] = 1; /* an id or handle a command might find */
	if (mprotect(a->none, PAGE, PROT_NONE) || mprotect(a->ro, PAGE, PROT_READ))
		return -1;
	return 0;
}

static void worker_main(int index, uint64_t seed, int nthreads, int root, struct counts *counts)
{
	static struct thread threads[MAX_THREADS];
	struct worker w = { .index = index, .root = root, .counts = counts };
	pthread_t tid;
	int i;

	struct sigaction sa = { .sa_sigaction = on_fatal_fault, .sa_flags = SA_SIGINFO };

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	if (!root && drop_privs(1000 + index, 1000))
		_exit(1);
	/* A changed uid makes /proc/self root's; dumpable gives it back (fail-nth). */
	prctl(PR_SET_DUMPABLE, 1);
	w.seed.s = seed;
	if (arena_init(&w.arena))
		_exit(2);
	for (i = 0; i < 2; i++)
		if ((w.fds[i] = open(DEV_PATH, O_RDWR | O_CLOEXEC)) < 0)
			_exit(3);
	for (i = 0; i < nthreads; i++) {
		threads[i].w = &w;
		threads[i].r.s = next(&w.seed);
		ring_reset(&threads[i], 0);
		ring_reset(&threads[i], 1);
		if (i + 1 < nthreads)
			pthread_create(&tid, NULL, thread_main, &threads[i]);
	}
	thread_main(&threads[nthreads - 1]);
}

/* ---- the coordinator ---- */

struct options {
	int seconds, workers, threads;
	uint64_t seed;
};

static pid_t spawn(const struct options *o, int index, unsigned int gen, struct counts *counts)
{
	uint64_t seed = o->seed ^ ((uint64_t)index << 48) ^ ((uint64_t)gen * 0x9e3779b97f4a7c15ull);
	pid_t pid = fork();

	if (pid == 0)
		worker_main(index, seed, o->threads, index % 2 == 0, counts);
	if (pid < 0)
		ksft_exit_fail_msg("fork: %s\n", strerror(errno));
	return pid;
}

/* Kill a worker and reap it; 1 if it died of that SIGKILL, 0 if it had ended by itself. */
static int kill_worker(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid)
		return 0;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		return 1;
	printf("# worker %d ended by itself: status 0x%x\n", pid, status);
	return 0;
}

/* Every command but JOB_WATCH (uring_cmd only) must have succeeded as an ioctl. */
static int every_command_succeeded(const struct counts *c)
{
	size_t i;
	int ok = 1;

	for (i = 0; i < NR_COMMANDS; i++) {
		unsigned long long tried = atomic_load(&c->tried[i]);
		unsigned long long good = atomic_load(&c->succeeded[i]);

		printf("# ioctl nr 0x%02x: %llu tried, %llu succeeded\n", _IOC_NR(commands[i]),
		       tried, good);
		if (commands[i] != LLMOS_CMD_JOB_WATCH && !good)
			ok = 0;
	}
	return ok;
}

static void parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "seconds", required_argument, NULL, 's' }, { "seed", required_argument, NULL, 'S' },
		{ "workers", required_argument, NULL, 'w' }, { "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	int c;

	o->seconds = 60;
	o->workers = 4;
	o->threads = 3;
	o->seed = (uint64_t)time(NULL);
	while ((c = getopt_long(argc, argv, "s:S:w:t:h", longopts, NULL)) != -1) {
		if (c == 's')
			o->seconds = atoi(optarg);
		else if (c == 'S')
			o->seed = strtoull(optarg, NULL, 0);
		else if (c == 'w')
			o->workers = atoi(optarg);
		else if (c == 't')
			o->threads = atoi(optarg);
		else {
			fprintf(stderr, "usage: uapi_fuzz [--seconds S] [--seed N] [--workers W] "
					"[--threads T]\n");
			exit(c == 'h' ? 0 : KSFT_FAIL);
		}
	}
	if (o->seconds < 1 || o->workers < 1 || o->workers > MAX_WORKERS || o->threads < 1 ||
	    o->threads > MAX_THREADS) {
		fprintf(stderr, "uapi_fuzz: workers 1..%d, threads 1..%d, seconds >= 1\n",
			MAX_WORKERS, MAX_THREADS);
		exit(KSFT_FAIL);
	}
}

/* Take away what the fuzz left in the module's name space and parameters. */
static void cleanup_models(int fd)
{
	size_t i;

	for (i = 0; i < 4; i++)
		m_unload(fd, names[i], LLMOS_UNLOAD_WHEN_UNUSED);
}

/*
 * Root workers may give a priority to any process (pid 1, say): that entry
 * rightly stays while the process lives.  Every entry left must be such a
 * live process without jobs; the dead workers' entries must be gone.
 */
static int entries_all_live(int fd)
{
	struct llmos_sched_stat procs[64];
	struct llmos_sched_stats st;
	__u32 i;
	int ok = 1;

	memset(&st, 0, sizeof(st));
	st.procs = (__u64)(uintptr_t)procs;
	st.capacity = 64;
	if (do_ioctl(fd, LLMOS_CMD_SCHED_STATS, &st) || st.count > 64)
		return 0;
	for (i = 0; i < st.count; i++) {
		int alive = kill(procs[i].pid, 0) == 0 || errno == EPERM;

		printf("# entry: pid %d (%s), %u jobs\n", procs[i].pid, alive ? "alive" : "dead",
		       procs[i].jobs);
		ok &= alive && !procs[i].jobs;
	}
	return ok;
}

int main(int argc, char **argv)
{
	long long lease = read_ll(PARAM_DIR "lease_ms"), slots = read_ll(PARAM_DIR "slots");
	long long cap = read_ll(PARAM_DIR "max_pinned_mb");
	struct llmos_totals base, now;
	unsigned int gen = 0, kills = 0;
	pid_t pids[MAX_WORKERS];
	struct options o;
	struct counts *counts;
	struct rng r;
	double end;
	int fd, i, ret, self_ended = 0;

	parse(argc, argv, &o);
	ksft_print_header();
	ksft_set_plan(5);
	printf("# seed %llu, %d s, %d workers of %d threads\n", (unsigned long long)o.seed,
	       o.seconds, o.workers, o.threads);
	fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0 || read_totals(fd, &base))
		ksft_exit_fail_msg("open %s: %s\n", DEV_PATH, strerror(errno));
	print_totals("before", &base);
	write_ll(PARAM_DIR "max_pinned_mb", 16); /* models the fuzz makes stay small */
	counts = mmap(NULL, sizeof(*counts), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		      -1, 0);
	if (counts == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	r.s = o.seed;
	for (i = 0; i < o.workers; i++)
		pids[i] = spawn(&o, i, gen++, counts);
	end = time(NULL) + o.seconds;
	while (time(NULL) < end) {
		usleep(50000 + below(&r, 250000));
		i = below(&r, o.workers);
		self_ended += !kill_worker(pids[i]);
		kills++;
		pids[i] = spawn(&o, i, gen++, counts);
	}
	for (i = 0; i < o.workers; i++)
		self_ended += !kill_worker(pids[i]);
	printf("# %llu operations (%llu with an allocation failure armed), %u workers killed "
	       "and replaced\n", (unsigned long long)atomic_load(&counts->ops),
	       (unsigned long long)atomic_load(&counts->injected), kills);
	ksft_test_result(!self_ended, "every worker ran until killed\n");
	ksft_test_result(o.seconds < 20 || every_command_succeeded(counts),
			 "every command got through its checks at least once\n");
	/* On a kernel with fault injection, the fuzz must have used it. */
	ksft_test_result(access("/sys/kernel/debug/failslab", F_OK) ||
				 (!atomic_load(&counts->no_fail_nth) && atomic_load(&counts->injected)),
			 "allocation failures were injected where the kernel can\n");
	cleanup_models(fd);
	write_ll(PARAM_DIR "lease_ms", lease);
	write_ll(PARAM_DIR "slots", slots);
	write_ll(PARAM_DIR "max_pinned_mb", cap);
	ret = await_totals(fd, &base, 60000, 1, &now);
	print_totals("after", &now);
	ksft_test_result(ret == 0, "every job, request, grant and model is gone\n");
	ksft_test_result(entries_all_live(fd), "process entries left belong to live processes\n");
	close(fd);
	ksft_finished();
}
