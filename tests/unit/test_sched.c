/* SPDX-License-Identifier: MIT */
/*
 * test_sched.c - the scheduler's userspace side without the kernel module:
 * class names, wait percentiles from a log2 histogram, sessions that run
 * unscheduled (standalone, LLMOS_NO_SCHED, a module without jobs) and
 * ignore their class, and SCHED_STATS / SCHED_SET_PRIO / JOB_CREATE against
 * a fake module (this program's own ioctl(), on a temporary file standing
 * in for /dev/llmos).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/io_uring.h>
#include <linux/llmos.h>

#include "llmos/llmos.h"

static char model_path[4096], fake_dev[64] = "/tmp/llmos-fake-sched.XXXXXX";

/* ---- a fake llmos.ko with a scheduler ---------------------------------- */

static struct {
	int on;
	uint64_t features;
	int ceiling;          /* the caller's class ceiling */
	int job_errno;        /* make JOB_CREATE fail with this */
	int prio_errno;       /* make SET_PRIO fail with this */
	int no_nice;          /* the caller lacks CAP_SYS_NICE: weights above 100 are refused */
	int creates, ends, prios, last_class;
	struct llmos_sched_prio last_prio;
} fake;

static int fake_job_create(struct llmos_job_create *jc)
{
	fake.creates++;
	if (fake.job_errno)
		return -fake.job_errno;
	if (fake.no_nice && jc->weight > LLMOS_WEIGHT_DEFAULT)
		return -EPERM;
	if ((int)jc->sched_class < fake.ceiling)
		return -EPERM;
	fake.last_class = (int)jc->sched_class;
	jc->job = (uint32_t)fake.creates;
	return 0;
}

static int fake_set_prio(const struct llmos_sched_prio *p)
{
	fake.prios++;
	fake.last_prio = *p;
	if (fake.prio_errno)
		return -fake.prio_errno;
	fake.ceiling = (int)p->sched_class;
	return 0;
}

/* Two processes: 4242 with a few waits, and this one. */
static int fake_stats(struct llmos_sched_stats *st)
{
	struct llmos_sched_stat *p = (struct llmos_sched_stat *)(uintptr_t)st->procs;

	st->slots = 1;
	st->slots_busy = 1;
	st->count = 2;
	st->classes[LLMOS_CLASS_INTERACTIVE].grants = 7;
	st->classes[LLMOS_CLASS_INTERACTIVE].wait_hist[4] = 7;
	if (st->capacity >= 1) {
		p[0].pid = 4242;
		p[0].sched_class = LLMOS_CLASS_BACKGROUND;
		p[0].weight = 50;
		p[0].grants = 3;
		p[0].wait_hist[10] = 3;
	}
	if (st->capacity >= 2) {
		p[1].pid = getpid();
		p[1].sched_class = LLMOS_CLASS_NORMAL;
		p[1].weight = 300;
	}
	return 0;
}

static int fake_ioctl(unsigned long req, void *arg)
{
	struct llmos_info *info = arg;

	switch (req) {
	case LLMOS_CMD_GET_INFO:
		info->abi_version = LLMOS_ABI_VERSION;
		info->features = fake.features;
		strcpy((char *)info->module_version, "fake");
		return 0;
	case LLMOS_CMD_JOB_CREATE:
		return fake_job_create(arg);
	case LLMOS_CMD_JOB_END:
		fake.ends++;
		return 0;
	case LLMOS_CMD_SCHED_SET_PRIO:
		return fake_set_prio(arg);
	case LLMOS_CMD_SCHED_STATS:
		return fake_stats(arg);
	default:
		return -EOPNOTSUPP;
	}
}

/* Overrides libc's ioctl() for the library linked into this program. */
int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	int ret;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!fake.on || _IOC_TYPE(req) != LLMOS_IOC_MAGIC)
		return (int)syscall(SYS_ioctl, fd, req, arg);
	ret = fake_ioctl(req, arg);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return 0;
}

static void use_fake_module(uint64_t features)
{
	memset(&fake, 0, sizeof(fake));
	fake.on = 1;
	fake.features = features;
	fake.ceiling = LLMOS_CLASS_NORMAL;
	setenv("LLMOS_DEVICE", fake_dev, 1);
	unsetenv("LLMOS_NO_SCHED");
}

static void no_module(void)
{
	memset(&fake, 0, sizeof(fake));
	setenv("LLMOS_DEVICE", "/nonexistent/llmos", 1);
	unsetenv("LLMOS_NO_SCHED");
}

static int setup(void **state)
{
	const char *dir = getenv("LLMOS_TEST_MODELS");
	int fd;

	(void)state;
	snprintf(model_path, sizeof(model_path), "%s/stories260K-f32.gguf",
		 dir && *dir ? dir : "../shared/models");
	fd = mkstemp(fake_dev);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(fake_dev);
	return 0;
}

static struct llmos_model *load_model(void)
{
	struct llmos_model *m;

	if (access(model_path, R_OK)) {
		printf("SKIP: %s not found (set LLMOS_TEST_MODELS)\n", model_path);
		return NULL;
	}
	assert_int_equal(0, llmos_model_load(&m, model_path));
	return m;
}

static struct llmos_session *new_session(struct llmos_model *m)
{
	struct llmos_session_params p = { 64, 1, 4, LLMOS_DEVICE_CPU };
	struct llmos_session *s;

	assert_int_equal(0, llmos_session_create(&s, m, &p));
	return s;
}

/* ---- names and percentiles --------------------------------------------- */

static void class_names_round_trip(void **state)
{
	int c;

	(void)state;
	for (c = LLMOS_CLASS_REALTIME; c <= LLMOS_CLASS_BACKGROUND; c++) {
		assert_int_equal(c, llmos_sched_class_parse(llmos_sched_class_name(c)));
		assert_int_equal(c, llmos_sched_class_parse(
					    (char[2]){ llmos_sched_class_name(c)[0], 0 }));
	}
	assert_string_equal("interactive", llmos_sched_class_name(LLMOS_CLASS_INTERACTIVE));
	assert_string_equal("none", llmos_sched_class_name(LLMOS_CLASS_NONE));
	assert_int_equal(LLMOS_CLASS_NONE, llmos_sched_class_parse("none"));
	assert_null(llmos_sched_class_name(4));
	assert_null(llmos_sched_class_name(-2));
	assert_int_equal(-EINVAL, llmos_sched_class_parse("urgent"));
	assert_non_null(strstr(llmos_last_error(), "urgent"));
	assert_int_equal(-EINVAL, llmos_sched_class_parse(""));
	assert_int_equal(-EINVAL, llmos_sched_class_parse(NULL));
	assert_int_equal(-EINVAL, llmos_sched_class_parse("Normal"));
	assert_int_equal(-EINVAL, llmos_sched_class_parse("normalx"));
}

static void percentiles_are_bucket_upper_bounds(void **state)
{
	uint64_t h[LLMOS_SCHED_WAIT_BUCKETS] = { 0 };

	(void)state;
	assert_int_equal(0, llmos_sched_wait_percentile(h, 0.5));
	h[0] = 10; /* [0, 2) us */
	assert_int_equal(2, llmos_sched_wait_percentile(h, 0.5));
	assert_int_equal(2, llmos_sched_wait_percentile(h, 1.0));
	h[0] = 0;
	h[3] = 50; /* [8, 16) */
	h[5] = 49; /* [32, 64) */
	h[10] = 1; /* [1024, 2048) */
	assert_int_equal(16, llmos_sched_wait_percentile(h, 0.0));
	assert_int_equal(16, llmos_sched_wait_percentile(h, 0.5));
	assert_int_equal(64, llmos_sched_wait_percentile(h, 0.51));
	assert_int_equal(64, llmos_sched_wait_percentile(h, 0.99));
	assert_int_equal(2048, llmos_sched_wait_percentile(h, 0.995));
	assert_int_equal(2048, llmos_sched_wait_percentile(h, 1.0));
	assert_int_equal(2048, llmos_sched_wait_percentile(h, 7.0)); /* clamped */
	memset(h, 0, sizeof(h));
	h[LLMOS_SCHED_WAIT_BUCKETS - 1] = 1; /* the last bucket holds everything above */
	assert_int_equal(1ULL << LLMOS_SCHED_WAIT_BUCKETS, llmos_sched_wait_percentile(h, 0.99));
}

/* ---- sessions without a scheduler -------------------------------------- */

static void standalone_session_ignores_the_class(void **state)
{
	struct llmos_model *m = load_model();
	struct llmos_sched_info info;
	struct llmos_session *s;
	int32_t ids[100];
	int i;

	(void)state;
	if (!m)
		skip();
	no_module();
	s = new_session(m);
	llmos_session_sched_info(s, &info);
	assert_int_equal(0, info.active);
	assert_int_equal(LLMOS_CLASS_NORMAL, info.sched_class);
	assert_int_equal(0, llmos_session_set_sched(s, LLMOS_CLASS_REALTIME, 500));
	for (i = 0; i < 10; i++)
		ids[i] = i + 1;
	assert_int_equal(0, llmos_session_eval(s, ids, 10, 0));
	llmos_session_sched_info(s, &info);
	assert_int_equal(0, info.active);
	assert_int_equal(LLMOS_CLASS_REALTIME, info.sched_class);
	assert_int_equal(500, info.weight);
	assert_int_equal(0, info.steps);
	assert_int_equal(-EINVAL, llmos_session_set_sched(s, 4, 0));
	assert_int_equal(-EINVAL, llmos_session_set_sched(s, -2, 0));
	assert_int_equal(-EINVAL, llmos_session_set_sched(s, LLMOS_CLASS_NORMAL, 10001));
	assert_int_equal(0, llmos_session_set_sched(s, LLMOS_CLASS_NONE, 0));
	assert_int_equal(0, llmos_session_eval(s, ids, 1, LLMOS_EVAL_KEEP_GRANT));
	assert_int_equal(0, llmos_session_yield(s));
	assert_int_equal(-EINVAL, llmos_session_eval(s, ids, 1, 1u << 2));
	llmos_session_free(s);
	llmos_model_free(m);
}

/*
 * Whether this process can make an io_uring: not where the sysctl disables
 * it, nor under qemu-user (the emulated arm64 tests), which lacks it.
 */
static int have_io_uring(void)
{
	struct io_uring_params p;
	int fd;

	memset(&p, 0, sizeof(p));
	fd = (int)syscall(__NR_io_uring_setup, 2, &p);
	if (fd < 0) {
		printf("SKIP: io_uring is unavailable here (%s)\n", strerror(errno));
		return 0;
	}
	close(fd);
	return 1;
}

/* A module that advertises the scheduler but has no jobs: run as before. */
static void module_without_jobs_runs_unscheduled(void **state)
{
	struct llmos_model *m = load_model();
	struct llmos_sched_info info;
	struct llmos_session *s;
	int32_t id = 1;

	(void)state;
	if (!m || !have_io_uring())
		skip();
	use_fake_module(LLMOS_F_ALL);
	fake.job_errno = EOPNOTSUPP;
	s = new_session(m);
	assert_int_equal(1, fake.creates);
	llmos_session_sched_info(s, &info);
	assert_int_equal(0, info.active);
	assert_int_equal(0, llmos_session_eval(s, &id, 1, 0));
	llmos_session_free(s);
	/* without LLMOS_F_SCHED no job is even asked for */
	use_fake_module(LLMOS_F_ALL & ~LLMOS_F_SCHED);
	s = new_session(m);
	assert_int_equal(0, fake.creates);
	llmos_session_free(s);
	llmos_model_free(m);
}

static void no_sched_environment_skips_the_scheduler(void **state)
{
	struct llmos_model *m = load_model();
	struct llmos_sched_info info;
	struct llmos_session *s;

	(void)state;
	if (!m)
		skip();
	use_fake_module(LLMOS_F_ALL);
	setenv("LLMOS_NO_SCHED", "1", 1);
	s = new_session(m);
	assert_int_equal(0, llmos_session_set_sched(s, LLMOS_CLASS_BACKGROUND, 0));
	llmos_session_sched_info(s, &info);
	assert_int_equal(0, info.active);
	assert_int_equal(LLMOS_CLASS_BACKGROUND, info.sched_class);
	assert_int_equal(0, fake.creates);
	llmos_session_free(s);
	unsetenv("LLMOS_NO_SCHED");
	llmos_model_free(m);
}

/* ---- jobs, priorities and stats against the fake module ---------------- */

static void session_jobs_follow_the_class(void **state)
{
	struct llmos_model *m = load_model();
	struct llmos_sched_info info;
	struct llmos_session *s;

	(void)state;
	if (!m || !have_io_uring())
		skip();
	use_fake_module(LLMOS_F_ALL);
	s = new_session(m);
	llmos_session_sched_info(s, &info);
	assert_int_equal(1, info.active);
	assert_int_equal(LLMOS_CLASS_NORMAL, fake.last_class);
	assert_int_equal(0, llmos_session_set_sched(s, LLMOS_CLASS_BACKGROUND, 20));
	assert_int_equal(LLMOS_CLASS_BACKGROUND, fake.last_class);
	assert_int_equal(1, fake.ends); /* the old job is ended */
	/* above the ceiling: the library raises it (as a CAP_SYS_NICE process may) */
	assert_int_equal(0, llmos_session_set_sched(s, LLMOS_CLASS_INTERACTIVE, 0));
	assert_int_equal(1, fake.prios);
	assert_int_equal(0, fake.last_prio.pid);
	assert_int_equal(LLMOS_CLASS_INTERACTIVE, fake.last_prio.sched_class);
	assert_int_equal(300, fake.last_prio.weight); /* the process's weight is kept */
	assert_int_equal(LLMOS_CLASS_INTERACTIVE, fake.last_class);
	/* an unprivileged process cannot raise it: the error says what to do */
	fake.prio_errno = EPERM;
	assert_int_equal(-EPERM, llmos_session_set_sched(s, LLMOS_CLASS_REALTIME, 0));
	assert_non_null(strstr(llmos_last_error(), "CAP_SYS_NICE"));
	llmos_session_sched_info(s, &info);
	assert_int_equal(LLMOS_CLASS_INTERACTIVE, info.sched_class); /* unchanged */
	llmos_session_free(s);
	assert_int_equal(3, fake.ends);
	/* a process held below NORMAL gets BACKGROUND by default */
	use_fake_module(LLMOS_F_ALL);
	fake.ceiling = LLMOS_CLASS_BACKGROUND;
	s = new_session(m);
	assert_int_equal(LLMOS_CLASS_BACKGROUND, fake.last_class);
	llmos_session_free(s);
	/* a weight above the default without CAP_SYS_NICE: the error names the weight */
	use_fake_module(LLMOS_F_ALL);
	fake.no_nice = 1;
	s = new_session(m);
	assert_int_equal(-EPERM, llmos_session_set_sched(s, LLMOS_CLASS_NORMAL, 500));
	assert_non_null(strstr(llmos_last_error(), "weight 500 is above the default 100"));
	assert_int_equal(0, llmos_session_set_sched(s, LLMOS_CLASS_NORMAL, 50));
	llmos_session_free(s);
	llmos_model_free(m);
}

static void stats_are_converted(void **state)
{
	struct llmos_sched_counters procs[4];
	struct llmos_sched_summary sum;
	struct llmos *h;

	(void)state;
	use_fake_module(LLMOS_F_ALL);
	assert_int_equal(0, llmos_open(&h, LLMOS_OPEN_REQUIRE_MODULE));
	assert_int_equal(2, llmos_sched_stats(h, &sum, NULL, 0));
	assert_int_equal(2, llmos_sched_stats(h, &sum, procs, 4));
	assert_int_equal(1, sum.slots);
	assert_int_equal(1, sum.slots_busy);
	assert_int_equal(LLMOS_CLASS_INTERACTIVE, sum.classes[LLMOS_CLASS_INTERACTIVE].sched_class);
	assert_int_equal(7, sum.classes[LLMOS_CLASS_INTERACTIVE].grants);
	assert_int_equal(32, llmos_sched_wait_percentile(
				     sum.classes[LLMOS_CLASS_INTERACTIVE].wait_hist, 0.99));
	assert_int_equal(4242, procs[0].pid);
	assert_int_equal(LLMOS_CLASS_BACKGROUND, procs[0].sched_class);
	assert_int_equal(50, procs[0].weight);
	assert_int_equal(3, procs[0].wait_hist[10]);
	llmos_close(h);
}

static void set_prio_checks_and_explains(void **state)
{
	struct llmos_sched_summary sum;
	struct llmos *h;

	(void)state;
	use_fake_module(LLMOS_F_ALL);
	assert_int_equal(0, llmos_open(&h, LLMOS_OPEN_REQUIRE_MODULE));
	assert_int_equal(0, llmos_sched_set_prio(h, 4242, LLMOS_CLASS_INTERACTIVE, 200));
	assert_int_equal(4242, fake.last_prio.pid);
	assert_int_equal(200, fake.last_prio.weight);
	assert_int_equal(-EINVAL, llmos_sched_set_prio(h, 1, LLMOS_CLASS_NONE, 100));
	assert_int_equal(-EINVAL, llmos_sched_set_prio(h, 1, LLMOS_CLASS_NORMAL, 0));
	assert_int_equal(-EINVAL, llmos_sched_set_prio(h, 1, LLMOS_CLASS_NORMAL, 10001));
	assert_int_equal(1, fake.prios); /* refused before the module */
	fake.prio_errno = EPERM;
	assert_int_equal(-EPERM, llmos_sched_set_prio(h, 1, LLMOS_CLASS_REALTIME, 100));
	assert_non_null(strstr(llmos_last_error(), "needs CAP_SYS_NICE"));
	fake.prio_errno = ESRCH;
	assert_int_equal(-ESRCH, llmos_sched_set_prio(h, 99999, LLMOS_CLASS_NORMAL, 100));
	assert_non_null(strstr(llmos_last_error(), "no such process 99999"));
	llmos_close(h);
	/* standalone, or a module without the scheduler */
	no_module();
	assert_int_equal(0, llmos_open(&h, 0));
	assert_int_equal(-LLMOS_ENOMODULE, llmos_sched_set_prio(h, 1, LLMOS_CLASS_NORMAL, 100));
	llmos_close(h);
	use_fake_module(LLMOS_F_ALL & ~LLMOS_F_SCHED);
	assert_int_equal(0, llmos_open(&h, 0));
	assert_int_equal(-LLMOS_EUNSUPPORTED, llmos_sched_stats(h, &sum, NULL, 0));
	llmos_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(class_names_round_trip),
		cmocka_unit_test(percentiles_are_bucket_upper_bounds),
		cmocka_unit_test(standalone_session_ignores_the_class),
		cmocka_unit_test(module_without_jobs_runs_unscheduled),
		cmocka_unit_test(no_sched_environment_skips_the_scheduler),
		cmocka_unit_test(session_jobs_follow_the_class),
		cmocka_unit_test(stats_are_converted),
		cmocka_unit_test(set_prio_checks_and_explains),
	};

	return cmocka_run_group_tests_name("sched", tests, setup, teardown);
}
