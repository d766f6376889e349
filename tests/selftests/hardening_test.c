// SPDX-License-Identifier: GPL-2.0
/*
 * hardening_test.c - selftests for the kernel review's findings (issue 8):
 * each test pins down one rule /dev/llmos must keep against a hostile local
 * user, and failed (or, on the debug kernel, made lockdep report) before
 * the fix it names.
 *
 *  1. A JOB_CREATE whose id cannot be copied back publishes nothing.
 *  2. The lease timer (softirq) and the job table's lock never nest.
 *  3. Jobs are charged to the caller's memory cgroup; a file holds at most
 *     256 jobs.
 *  4. Dead processes never fill the scheduler's process table, and one user
 *     cannot fill it for the others (max_procs_per_uid), not even with the
 *     ids of a user namespace.
 *  5. A weight above the default needs CAP_SYS_NICE.
 *  6. Argument structs larger than a page are refused (-E2BIG).
 *  7. A MODEL_OPEN/CREATE whose handle cannot be copied back publishes nothing.
 *  8. MODEL_UNLOAD never succeeds while a MODEL_OPEN holds the model.
 *  9. Unknown ioctls get -ENOTTY; a blocking JOB_STEP restarts after a
 *     SA_RESTART signal; STEP_RELEASE_ONLY has its feature bit.
 *
 * Children report by exit status (0: success; otherwise a step number).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/llmos.h>

#include "kselftest_harness.h"
#include "selftest_util.h"

#define DEV_PATH "/dev/llmos"
#define PARAM_DIR "/sys/module/llmos/parameters/"
#define RACE_MS 1500 /* how long each race runs */
#define USER_A 1000
#define USER_B 1001

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * Every test runs in this fixture: the module parameters a test changes are
 * saved first and restored in the teardown, which the harness runs even
 * after a failed assertion, so one failure never changes the next test.
 */
enum { P_LEASE, P_SLOTS, P_PER_UID, NR_PARAMS };
static const char *const param_path[NR_PARAMS] = {
	PARAM_DIR "lease_ms", PARAM_DIR "slots", PARAM_DIR "max_procs_per_uid",
};

FIXTURE(hard) {
	long long saved[NR_PARAMS];
};

FIXTURE_SETUP(hard)
{
	int i;

	for (i = 0; i < NR_PARAMS; i++) {
		self->saved[i] = read_ll(param_path[i]);
		ASSERT_LT(0, self->saved[i]);
	}
	ASSERT_EQ(0, write_ll(param_path[P_SLOTS], 1));
}

FIXTURE_TEARDOWN(hard)
{
	int i;

	for (i = 0; i < NR_PARAMS; i++)
		write_ll(param_path[i], self->saved[i]);
}

/* A page holding a copy of @arg, then made read-only: copy_to_user into it fails. */
static void *readonly_copy(const void *arg, size_t size)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memcpy(p, arg, size);
	if (mprotect(p, 4096, PROT_READ)) {
		munmap(p, 4096);
		return NULL;
	}
	return p;
}

/* The caller's process entry: its jobs now, 0 if it has none, or -1000 - errno. */
static int my_jobs(int fd)
{
	struct llmos_sched_stat me = { 0 };
	int ret = get_proc(fd, getpid(), &me);

	return ret < 0 ? -1000 + ret : ret == 1 ? (int)me.jobs : 0;
}

/* ---- 1. JOB_CREATE's -EFAULT path ---- */

struct end_loop {
	int fd;
	atomic_int stop;
	atomic_int ended; /* JOB_ENDs that found a job */
};

static void *end_ids_1_to_4(void *arg)
{
	struct end_loop *e = arg;
	__u32 id;

	while (!atomic_load(&e->stop))
		for (id = 1; id <= 4; id++)
			if (job_end(e->fd, id) == 0)
				atomic_fetch_add(&e->ended, 1);
	return NULL;
}

/*
 * One thread creates jobs with the argument in a read-only page (the id
 * cannot be written back), another ends ids 1..4.  Nothing was ever given
 * to the caller, so no JOB_END may find a job, and no job may remain.
 */
TEST_F(hard, job_create_efault_publishes_nothing)
{
	struct end_loop e = { 0 };
	struct llmos_job_create c, *ro;
	struct io_uring ring;
	int creates = 0, wrong = 0, ret;
	pthread_t t;
	double end;
	__u32 id;

	e.fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, e.fd);
	memset(&c, 0, sizeof(c));
	c.sched_class = LLMOS_CLASS_NORMAL;
	ro = readonly_copy(&c, sizeof(c));
	ASSERT_NE(NULL, ro);
	ASSERT_EQ(0, pthread_create(&t, NULL, end_ids_1_to_4, &e));
	end = now_ms() + RACE_MS;
	while (now_ms() < end) {
		ret = do_ioctl(e.fd, LLMOS_CMD_JOB_CREATE, ro);
		creates++;
		wrong += ret != -EFAULT;
	}
	atomic_store(&e.stop, 1);
	pthread_join(t, NULL);
	TH_LOG("%d creates, %d JOB_ENDs found a job", creates, atomic_load(&e.ended));
	EXPECT_EQ(0, wrong);
	EXPECT_EQ(0, atomic_load(&e.ended));
	/* The same through io_uring. */
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	EXPECT_EQ(-EFAULT, uring_cmd(&ring, e.fd, LLMOS_CMD_JOB_CREATE, ro, sizeof(*ro), 0));
	io_uring_queue_exit(&ring);
	EXPECT_EQ(0, my_jobs(e.fd));
	/* The file still works: a real job gets id 1 (nothing was left reserved). */
	ASSERT_EQ(0, job_create(e.fd, LLMOS_CLASS_NORMAL, 0, &id));
	EXPECT_EQ(1U, id);
	EXPECT_EQ(0, job_end(e.fd, id));
	munmap(ro, 4096);
	close(e.fd);
}

/* ---- 2. the lease timer against the job table's lock ---- */

struct churn {
	int fd;
	atomic_int stop;
	atomic_int failures;
};

static void *create_end_loop(void *arg)
{
	struct churn *c = arg;
	__u32 id;

	while (!atomic_load(&c->stop)) {
		if (job_create(c->fd, LLMOS_CLASS_BACKGROUND, 0, &id) || job_end(c->fd, id))
			atomic_fetch_add(&c->failures, 1);
	}
	return NULL;
}

/*
 * Grants revoked by the lease timer (softirq, under the scheduler lock)
 * while another thread creates and ends jobs (the job table's xa_lock, with
 * softirqs on).  Before the fix, ending a job took the table's lock inside
 * the scheduler's: lockdep on the debug kernel reports the inversion.
 */
TEST_F(hard, lease_revocation_beside_job_churn)
{
	struct llmos_sched_stat me = { 0 };
	struct churn c = { 0 };
	int fd, revoked = 0, other = 0, ret;
	pthread_t t;
	double end;
	__u32 job;

	fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	c.fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, c.fd);
	ASSERT_EQ(0, write_ll(PARAM_DIR "lease_ms", 1));
	ASSERT_EQ(0, job_create(fd, LLMOS_CLASS_NORMAL, 0, &job));
	ASSERT_EQ(0, pthread_create(&t, NULL, create_end_loop, &c));
	end = now_ms() + RACE_MS;
	while (now_ms() < end) {
		ret = step_ioctl(fd, job, 0); /* granted; the 1 ms lease runs out */
		if (ret == 0)
			usleep(3000);
		else if (ret == -ETIME)
			revoked++;
		else if (ret != -EBUSY)
			other++;
	}
	atomic_store(&c.stop, 1);
	pthread_join(t, NULL);
	ASSERT_EQ(1, get_proc(fd, getpid(), &me));
	TH_LOG("%d steps saw -ETIME, %llu revocations", revoked, (unsigned long long)me.revocations);
	EXPECT_EQ(0, other);
	EXPECT_EQ(0, atomic_load(&c.failures));
	EXPECT_LT(0, revoked);
	EXPECT_EQ(0, job_end(fd, job));
	close(c.fd);
	close(fd);
}

/* ---- 3. memory an unprivileged user makes the module allocate ---- */

TEST_F(hard, jobs_per_file_are_bounded)
{
	int fd = open(DEV_PATH, O_RDWR | O_CLOEXEC), n = 0, ret;
	__u32 id;

	ASSERT_LE(0, fd);
	while ((ret = job_create(fd, LLMOS_CLASS_BACKGROUND, 0, &id)) == 0 && n < 100000)
		n++;
	EXPECT_EQ(-ENOSPC, ret);
	EXPECT_EQ(256, n);
	close(fd); /* frees them all */
	fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, my_jobs(fd));
	close(fd);
}

#define CG_TEST CG_ROOT "/llmos-hardening"


/*
 * A child in its own memory cgroup opens 16 files with 256 jobs each: the
 * group's usage grows by at least the jobs' size (about 200 bytes each),
 * so a user's jobs count against its limit, not the machine's.
 */
TEST_F(hard, jobs_are_charged_to_the_memcg)
{
	long long before, after;
	pid_t pid;
	int ret;

	ret = memcg_setup(CG_TEST);
	if (ret)
		SKIP(return, "no cgroup v2 memory controller (%s)", strerror(-ret));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fds[16], i, j;
		__u32 id;

		if (write_ll(CG_TEST "/cgroup.procs", getpid()))
			_exit(1);
		for (i = 0; i < 16; i++)
			if ((fds[i] = open(DEV_PATH, O_RDWR | O_CLOEXEC)) < 0)
				_exit(2);
		before = read_ll(CG_TEST "/memory.current");
		for (i = 0; i < 16; i++)
			for (j = 0; j < 256; j++)
				if (job_create(fds[i], LLMOS_CLASS_BACKGROUND, 0, &id))
					_exit(3);
		after = read_ll(CG_TEST "/memory.current");
		fprintf(stderr, "# memory.current %lld -> %lld (+%lld bytes for 4096 jobs)\n",
			before, after, after - before);
		_exit(after - before >= 4096 * 160 ? 0 : 4);
	}
	EXPECT_EQ(0, wait_code(pid));
	rmdir(CG_TEST);
}

/* ---- 4. the scheduler's table of processes ---- */

/*
 * 300 short-lived processes of one unprivileged user (whose limit is 64
 * entries) each pin an entry (SET_PRIO on themselves) and exit.  The dead
 * must be pruned when a new entry is made, or the user's JOB_CREATE gets
 * -ENOSPC (and with the old table of 4096, everyone's did).
 */
TEST_F(hard, dead_processes_never_fill_the_table)
{
	pid_t worker = fork();

	ASSERT_LE(0, worker);
	if (worker == 0) {
		struct llmos_sched_stats st;
		int fd, i, bad = 0;
		__u32 id;
		pid_t pid;

		if (drop_privs(USER_A, USER_A))
			_exit(1);
		fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			_exit(2);
		for (i = 0; i < 300; i++) {
			pid = vfork();
			if (pid == 0) {
				struct llmos_sched_prio p = { .sched_class = LLMOS_CLASS_NORMAL,
							      .weight = LLMOS_WEIGHT_DEFAULT };

				_exit(ioctl(fd, LLMOS_CMD_SCHED_SET_PRIO, &p) ? 1 : 0);
			}
			if (pid < 0)
				_exit(3);
			bad += wait_code(pid) != 0;
		}
		if (bad)
			_exit(4);
		if (job_create(fd, LLMOS_CLASS_NORMAL, 0, &id))
			_exit(5);
		if (get_stats(fd, &st) || st.count != 1) /* only this process is left */
			_exit(6);
		_exit(0);
	}
	EXPECT_EQ(0, wait_code(worker));
}

/* A child that waits until the pipe's write end (wfd, closed in it) is closed. */
static pid_t sleeper(int rfd, int wfd)
{
	pid_t pid = fork();
	char c;

	if (pid == 0) {
		close(wfd);
		if (read(rfd, &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	return pid;
}

/*
 * With max_procs_per_uid at 4, a user pins four of its processes; the fifth
 * entry, by SET_PRIO or by JOB_CREATE, gets -ENOSPC, while another user is
 * unaffected.  Once the four die, the user can make entries again.
 */
TEST_F(hard, one_user_cannot_fill_the_table)
{
	int ready[2], go[2];
	char c;
	pid_t a, b;

	ASSERT_EQ(0, write_ll(PARAM_DIR "max_procs_per_uid", 4));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	a = fork();
	ASSERT_LE(0, a);
	if (a == 0) {
		int p[2], fd, i;
		pid_t kids[5];
		__u32 id;

		close(ready[0]);
		close(go[1]);
		if (drop_privs(USER_A, USER_A) || pipe(p))
			_exit(1);
		fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			_exit(2);
		for (i = 0; i < 5; i++)
			if ((kids[i] = sleeper(p[0], p[1])) < 0)
				_exit(3);
		for (i = 0; i < 4; i++)
			if (set_prio(fd, kids[i], LLMOS_CLASS_NORMAL, LLMOS_WEIGHT_DEFAULT))
				_exit(4);
		if (set_prio(fd, kids[4], LLMOS_CLASS_NORMAL, LLMOS_WEIGHT_DEFAULT) != -ENOSPC)
			_exit(5);
		if (job_create(fd, LLMOS_CLASS_NORMAL, 0, &id) != -ENOSPC)
			_exit(6);
		/* The parent checks another user meanwhile. */
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(7);
		close(p[1]);
		for (i = 0; i < 5; i++)
			wait_code(kids[i]);
		if (job_create(fd, LLMOS_CLASS_NORMAL, 0, &id))
			_exit(8);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	if (read(ready[0], &c, 1) != 1) {
		EXPECT_EQ(0, wait_code(a)); /* it failed: say where */
		return;
	}
	/* Another user's process is not held back. */
	b = fork();
	ASSERT_LE(0, b);
	if (b == 0) {
		__u32 id;
		int fd;

		if (drop_privs(USER_B, USER_B))
			_exit(1);
		fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
		_exit(fd >= 0 && job_create(fd, LLMOS_CLASS_NORMAL, 0, &id) == 0 ? 0 : 2);
	}
	EXPECT_EQ(0, wait_code(b));
	ASSERT_EQ(1, write(go[1], "g", 1));
	EXPECT_EQ(0, wait_code(a));
	close(ready[0]);
	close(go[1]);
}

/* One byte from fd within ms, or -1 (EOF, error or timeout): a child that died says so. */
static int read_byte_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	unsigned char c;

	if (poll(&p, 1, ms) != 1 || read(fd, &c, 1) != 1)
		return -1;
	return c;
}

static int write_str(const char *path, const char *str)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, str, strlen(str)) != (ssize_t)strlen(str))
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * Inside a user namespace every id maps to another kernel uid, so the
 * per-user limit counts the namespace's owner instead: four processes with
 * four ids of one namespace (owned by root here) are one user, and with
 * max_procs_per_uid at 3 the fourth JOB_CREATE gets -ENOSPC.
 */
TEST_F(hard, user_namespace_ids_count_as_its_owner)
{
	int up[2], down[2], res[2];
	char path[64], c, got[5] = "";
	pid_t child;

	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	ASSERT_EQ(0, pipe(res));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		pid_t kids[4];
		int i, ret;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(up[0]);
		close(down[1]);
		c = unshare(CLONE_NEWUSER) ? 'u' : 'k';
		if (write(up[1], &c, 1) != 1 || c == 'u' || read(down[0], &c, 1) != 1)
			_exit(1);
		for (i = 0; i < 4; i++) {
			kids[i] = fork();
			if (kids[i] == 0) {
				__u32 id;
				int fd;

				prctl(PR_SET_PDEATHSIG, SIGKILL);
				if (setresgid(i + 1, i + 1, i + 1) || setresuid(i + 1, i + 1, i + 1))
					_exit(1);
				fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
				ret = fd < 0 ? -errno : job_create(fd, LLMOS_CLASS_NORMAL, 0, &id);
				c = ret == 0 ? 'o' : ret == -ENOSPC ? 'n' : 'x';
				if (write(res[1], &c, 1) != 1)
					_exit(2);
				pause();
				_exit(0);
			}
			ret = read_byte_within(res[0], 10000); /* one at a time, in order */
			c = (char)ret;
			if (ret < 0 || write(up[1], &c, 1) != 1)
				_exit(3);
		}
		for (i = 0; i < 4; i++) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
		}
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	close(res[0]);
	close(res[1]);
	ASSERT_EQ(1, read(up[0], &c, 1));
	if (c == 'u') {
		wait_code(child);
		SKIP(return, "no user namespaces in this kernel");
	}
	ASSERT_EQ(0, write_ll(PARAM_DIR "max_procs_per_uid", 3));
	snprintf(path, sizeof(path), "/proc/%d/uid_map", child);
	ASSERT_EQ(0, write_str(path, "0 200000 100"));
	snprintf(path, sizeof(path), "/proc/%d/gid_map", child);
	ASSERT_EQ(0, write_str(path, "0 200000 100"));
	ASSERT_EQ(1, write(down[1], "g", 1));
	for (c = 0; c < 4; c++)
		if (read(up[0], &got[(int)c], 1) != 1)
			break;
	EXPECT_EQ(0, wait_code(child));
	EXPECT_STREQ("ooon", got);
	close(up[0]);
	close(down[1]);
}

/* ---- 5. weights ---- */

TEST_F(hard, weight_above_default_needs_cap_sys_nice)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd;
		__u32 id;

		if (drop_privs(USER_A, USER_A))
			_exit(1);
		fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			_exit(2);
		if (job_create(fd, LLMOS_CLASS_NORMAL, LLMOS_WEIGHT_DEFAULT + 1, &id) != -EPERM)
			_exit(3);
		if (job_create(fd, LLMOS_CLASS_NORMAL, LLMOS_WEIGHT_MAX, &id) != -EPERM)
			_exit(4);
		if (set_prio(fd, 0, LLMOS_CLASS_NORMAL, 2 * LLMOS_WEIGHT_DEFAULT) != -EPERM)
			_exit(5);
		if (job_create(fd, LLMOS_CLASS_NORMAL, LLMOS_WEIGHT_DEFAULT, &id) ||
		    job_create(fd, LLMOS_CLASS_NORMAL, 1, &id))
			_exit(6);
		if (set_prio(fd, 0, LLMOS_CLASS_NORMAL, LLMOS_WEIGHT_DEFAULT / 2))
			_exit(7);
		_exit(0);
	}
	EXPECT_EQ(0, wait_code(pid));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd;
		__u32 id;

		if (become_with_cap(USER_A, USER_A, CAP_SYS_NICE))
			_exit(1);
		fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			_exit(2);
		if (job_create(fd, LLMOS_CLASS_NORMAL, LLMOS_WEIGHT_MAX, &id))
			_exit(3);
		if (set_prio(fd, 0, LLMOS_CLASS_NORMAL, LLMOS_WEIGHT_MAX))
			_exit(4);
		_exit(0);
	}
	EXPECT_EQ(0, wait_code(pid));
}

/* ---- 6. argument sizes ---- */

TEST_F(hard, argument_larger_than_a_page_is_refused)
{
	int fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	struct io_uring ring;
	char *zeros;

	ASSERT_LE(0, fd);
	zeros = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, zeros);
	/* GET_INFO with a page-sized, zero-extended struct is fine... */
	EXPECT_EQ(0, do_ioctl(fd, _IOC(_IOC_READ | _IOC_WRITE, LLMOS_IOC_MAGIC, 0x00, 4096), zeros));
	EXPECT_EQ(LLMOS_ABI_VERSION, ((struct llmos_info *)zeros)->abi_version);
	memset(zeros, 0, 4096);
	/* ...one byte more is not, all zeros or not. */
	EXPECT_EQ(-E2BIG, do_ioctl(fd, _IOC(_IOC_READ | _IOC_WRITE, LLMOS_IOC_MAGIC, 0x00, 4097),
				   zeros));
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	EXPECT_EQ(0, uring_cmd(&ring, fd, LLMOS_CMD_GET_INFO, zeros, 4096, 0));
	memset(zeros, 0, 4096);
	EXPECT_EQ(-E2BIG, uring_cmd(&ring, fd, LLMOS_CMD_GET_INFO, zeros, 8192, 0));
	EXPECT_EQ(-E2BIG, uring_cmd(&ring, fd, LLMOS_CMD_JOB_CREATE, zeros, 0xffffffffu, 0));
	io_uring_queue_exit(&ring);
	munmap(zeros, 3 * 4096);
	close(fd);
}

/* ---- 7. handles ---- */

struct close_loop {
	int fd;
	atomic_int stop;
	atomic_int closed; /* MODEL_CLOSEs that found a handle */
};

static void *close_ids_1_to_4(void *arg)
{
	struct close_loop *c = arg;
	__u32 id;

	while (!atomic_load(&c->stop))
		for (id = 1; id <= 4; id++)
			if (m_close(c->fd, id) == 0)
				atomic_fetch_add(&c->closed, 1);
	return NULL;
}

/* A sealed 64 KiB model under @name, its creator's handle closed. */
static int make_sealed(int fd, const char *name, unsigned char fill)
{
	__u64 off;
	__u32 h;
	void *p;
	int ret;

	ret = m_create(fd, name, 65536, 0644, &h, &off);
	if (ret)
		return ret;
	p = m_map(fd, off, 65536, PROT_READ | PROT_WRITE, MAP_SHARED);
	if (p == MAP_FAILED)
		return -errno;
	memset(p, fill, 65536);
	munmap(p, 65536);
	ret = m_seal(fd, h);
	return ret ? ret : m_close(fd, h);
}

/*
 * MODEL_OPEN and MODEL_CREATE with their argument in a read-only page: the
 * handle never appears, so a thread closing ids 1..4 never finds one, and
 * the model's user count goes back to zero.
 */
TEST_F(hard, model_open_efault_publishes_nothing)
{
	struct llmos_model_create c, *roc;
	struct llmos_model_open o, *ro;
	struct llmos_model_entry e;
	struct close_loop cl = { 0 };
	long long pinned;
	int opens = 0, wrong = 0;
	pthread_t t;
	double end;

	cl.fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, cl.fd);
	m_unload(cl.fd, "ht-efault", LLMOS_UNLOAD_WHEN_UNUSED);
	ASSERT_EQ(0, make_sealed(cl.fd, "ht-efault", 0x5a));
	memset(&o, 0, sizeof(o));
	set_name(o.name, "ht-efault");
	ro = readonly_copy(&o, sizeof(o));
	ASSERT_NE(NULL, ro);
	ASSERT_EQ(0, pthread_create(&t, NULL, close_ids_1_to_4, &cl));
	end = now_ms() + RACE_MS;
	while (now_ms() < end) {
		wrong += do_ioctl(cl.fd, LLMOS_CMD_MODEL_OPEN, ro) != -EFAULT;
		opens++;
	}
	atomic_store(&cl.stop, 1);
	pthread_join(t, NULL);
	TH_LOG("%d opens, %d MODEL_CLOSEs found a handle", opens, atomic_load(&cl.closed));
	EXPECT_EQ(0, wrong);
	EXPECT_EQ(0, atomic_load(&cl.closed));
	ASSERT_EQ(1, m_find(cl.fd, "ht-efault", &e));
	EXPECT_EQ(0U, e.users);
	EXPECT_EQ(0, m_unload(cl.fd, "ht-efault", 0));

	/* MODEL_CREATE: the half-made model is withdrawn and its pages freed. */
	pinned = read_ll("/sys/class/misc/llmos/pinned_bytes");
	init_create(&c, "ht-efault-create", 1 << 20, 0644);
	roc = readonly_copy(&c, sizeof(c));
	ASSERT_NE(NULL, roc);
	EXPECT_EQ(-EFAULT, do_ioctl(cl.fd, LLMOS_CMD_MODEL_CREATE, roc));
	EXPECT_EQ(0, m_find(cl.fd, "ht-efault-create", NULL));
	EXPECT_EQ(pinned, read_ll("/sys/class/misc/llmos/pinned_bytes"));
	EXPECT_EQ(-EINVAL, m_close(cl.fd, 1));
	munmap(roc, 4096);
	munmap(ro, 4096);
	close(cl.fd);
}

/* ---- 8. MODEL_UNLOAD against MODEL_OPEN ---- */

struct unload_race {
	atomic_int stop;
	atomic_int unloaded_gen; /* the last generation whose UNLOAD succeeded */
	atomic_int violations;
	atomic_int opens;
	int err;
};

/* Opens "ht-race" over and over; each instance's first byte is its generation. */
static void *race_opener(void *arg)
{
	struct unload_race *r = arg;
	int fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	unsigned char *p;
	__u64 off, size;
	__u32 h;

	if (fd < 0) {
		r->err = -errno;
		return NULL;
	}
	while (!atomic_load(&r->stop)) {
		if (m_open(fd, "ht-race", &h, &size, &off))
			continue;
		atomic_fetch_add(&r->opens, 1);
		p = m_map(fd, off, 4096, PROT_READ, MAP_SHARED);
		if (p != MAP_FAILED) {
			/* We hold it: its unload cannot have succeeded. */
			if (atomic_load(&r->unloaded_gen) >= p[0])
				atomic_fetch_add(&r->violations, 1);
			munmap(p, 4096);
		}
		m_close(fd, h);
	}
	close(fd);
	return NULL;
}

TEST_F(hard, unload_never_succeeds_while_opened)
{
	struct unload_race r = { 0 };
	int fd = open(DEV_PATH, O_RDWR | O_CLOEXEC), gen = 0, ret;
	pthread_t t;
	double end;

	ASSERT_LE(0, fd);
	m_unload(fd, "ht-race", LLMOS_UNLOAD_WHEN_UNUSED);
	ASSERT_EQ(0, pthread_create(&t, NULL, race_opener, &r));
	end = now_ms() + 2 * RACE_MS;
	while (now_ms() < end && gen < 250) {
		gen++;
		ASSERT_EQ(0, make_sealed(fd, "ht-race", gen));
		while ((ret = m_unload(fd, "ht-race", 0)) == -EBUSY)
			;
		ASSERT_EQ(0, ret);
		atomic_store(&r.unloaded_gen, gen);
	}
	atomic_store(&r.stop, 1);
	pthread_join(t, NULL);
	TH_LOG("%d generations, %d opens", gen, atomic_load(&r.opens));
	EXPECT_EQ(0, r.err);
	EXPECT_EQ(0, atomic_load(&r.violations));
	close(fd);
}

/* ---- found by review: the lease, and what others can see ---- */

/*
 * An administrator raises lease_ms while a grant is held: the grant is then
 * revoked at the new lease's end, not never (the timer, armed for the old
 * one, waits for the rest).
 */
TEST_F(hard, lease_raised_while_held_still_expires)
{
	int fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	struct llmos_sched_stat me;
	__u32 job;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_ll(PARAM_DIR "lease_ms", 500));
	ASSERT_EQ(0, job_create(fd, LLMOS_CLASS_NORMAL, 0, &job));
	ASSERT_EQ(0, step_ioctl(fd, job, 0));
	ASSERT_EQ(0, write_ll(PARAM_DIR "lease_ms", 2000));
	usleep(1000 * 1000); /* past the old lease, within the new one */
	ASSERT_EQ(1, get_proc(fd, getpid(), &me));
	EXPECT_EQ(1U, me.held);
	EXPECT_EQ(0ULL, me.revocations);
	usleep(2000 * 1000); /* past the new lease */
	ASSERT_EQ(1, get_proc(fd, getpid(), &me));
	EXPECT_EQ(0U, me.held);
	EXPECT_EQ(1ULL, me.revocations);
	EXPECT_EQ(-ETIME, step_ioctl(fd, job, 0));
	close(fd);
}

/*
 * An unprivileged user sees its own processes in SCHED_STATS (others'
 * grants and waits would tell when their inference runs) and the models
 * its mode admits in MODEL_LIST; MODEL_OPEN of a model it may not read says
 * -EACCES whatever the model's state.
 */
TEST_F(hard, unprivileged_callers_see_only_their_own)
{
	int fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	__u64 off;
	__u32 job, h;
	pid_t pid;

	ASSERT_LE(0, fd);
	m_unload(fd, "ht-private", LLMOS_UNLOAD_WHEN_UNUSED);
	m_unload(fd, "ht-public", LLMOS_UNLOAD_WHEN_UNUSED);
	ASSERT_EQ(0, job_create(fd, LLMOS_CLASS_NORMAL, 0, &job)); /* root's entry */
	ASSERT_EQ(0, make_sealed(fd, "ht-public", 1));
	ASSERT_EQ(0, m_create(fd, "ht-private", 65536, 0600, &h, &off)); /* still loading */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct llmos_sched_stats st;
		struct llmos_sched_stat procs[8];
		int ufd;
		__u32 ujob;

		if (drop_privs(USER_A, USER_A))
			_exit(1);
		ufd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
		if (ufd < 0 || job_create(ufd, LLMOS_CLASS_NORMAL, 0, &ujob))
			_exit(2);
		memset(&st, 0, sizeof(st));
		st.procs = (__u64)(uintptr_t)procs;
		st.capacity = 8;
		if (do_ioctl(ufd, LLMOS_CMD_SCHED_STATS, &st))
			_exit(3);
		if (st.count != 1 || procs[0].pid != getpid())
			_exit(4);
		if (st.classes[LLMOS_CLASS_NORMAL].jobs < 2) /* class totals stay global */
			_exit(5);
		if (m_find(ufd, "ht-public", NULL) != 1 || m_find(ufd, "ht-private", NULL) != 0)
			_exit(6);
		if (m_open(ufd, "ht-private", NULL, NULL, NULL) != -EACCES)
			_exit(7);
		_exit(0);
	}
	EXPECT_EQ(0, wait_code(pid));
	EXPECT_EQ(1, m_find(fd, "ht-private", NULL)); /* root sees every model */
	EXPECT_EQ(0, m_close(fd, h));
	EXPECT_EQ(0, m_unload(fd, "ht-public", 0));
	close(fd);
}

/* ---- 9. smaller ones ---- */

TEST_F(hard, unknown_ioctl_is_enotty)
{
	int fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	struct llmos_info info;

	ASSERT_LE(0, fd);
	memset(&info, 0, sizeof(info));
	EXPECT_EQ(-ENOTTY, do_ioctl(fd, _IOWR(LLMOS_IOC_MAGIC, 0x7f, struct llmos_info), &info));
	EXPECT_EQ(-ENOTTY, do_ioctl(fd, TCGETS, &info));
	close(fd);
}

TEST_F(hard, release_only_has_its_feature_bit)
{
	int fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	struct llmos_info info;

	ASSERT_LE(0, fd);
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, do_ioctl(fd, LLMOS_CMD_GET_INFO, &info));
	EXPECT_TRUE(info.features & LLMOS_F_STEP_RELEASE_ONLY);
	EXPECT_EQ(0ULL, info.features & ~LLMOS_F_ALL);
	close(fd);
}

static atomic_int got_signal;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&got_signal, 1);
}

struct blocked_step {
	int fd;
	__u32 job;
	int ret;
};

static void *step_blocking(void *arg)
{
	struct blocked_step *b = arg;

	b->ret = step_ioctl(b->fd, b->job, 0);
	return NULL;
}

/* Queued in JOB_STEP, seen by the holder's stats (queued requests of this process). */
static int queued_now(int fd)
{
	struct llmos_sched_stat me = { 0 };

	return get_proc(fd, getpid(), &me) == 1 ? (int)me.queued : -1;
}

/*
 * A blocking JOB_STEP interrupted by a signal whose handler has SA_RESTART
 * is restarted by the kernel: the caller never sees -EINTR and is granted
 * when the slot frees.
 */
TEST_F(hard, blocking_step_restarts_after_sa_restart_signal)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	struct blocked_step b = { 0 };
	int fd = open(DEV_PATH, O_RDWR | O_CLOEXEC), i;
	pthread_t t;
	__u32 holder;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, job_create(fd, LLMOS_CLASS_NORMAL, 0, &holder));
	ASSERT_EQ(0, step_ioctl(fd, holder, 0)); /* the only slot */
	b.fd = fd;
	b.ret = 1;
	ASSERT_EQ(0, job_create(fd, LLMOS_CLASS_NORMAL, 0, &b.job));
	ASSERT_EQ(0, pthread_create(&t, NULL, step_blocking, &b));
	for (i = 0; i < 5000 && queued_now(fd) != 1; i++)
		usleep(1000);
	ASSERT_EQ(1, queued_now(fd));
	pthread_kill(t, SIGUSR1);
	for (i = 0; i < 5000 && !atomic_load(&got_signal); i++)
		usleep(1000);
	ASSERT_TRUE(atomic_load(&got_signal));
	/* Restarted: queued again, not returned. */
	for (i = 0; i < 5000 && queued_now(fd) != 1; i++)
		usleep(1000);
	EXPECT_EQ(1, queued_now(fd));
	EXPECT_EQ(1, b.ret);
	ASSERT_EQ(0, step_ioctl(fd, holder, LLMOS_STEP_RELEASE_ONLY));
	pthread_join(t, NULL);
	EXPECT_EQ(0, b.ret);
	signal(SIGUSR1, SIG_DFL);
	close(fd);
}

TEST_HARNESS_MAIN
