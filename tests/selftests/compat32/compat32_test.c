// SPDX-License-Identifier: GPL-2.0
/*
 * compat32_test.c - a 32-bit (i386) caller of /dev/llmos's ioctls, built
 * -m32 -static and run on the 64-bit VM kernel: the argument structs have
 * the same layout for both (checked here at compile time), pointers carried
 * in __u64 fields work, and models map through mmap2's page offsets.  It
 * uses no io_uring (no 32-bit liburing), so it stands apart from
 * selftest_util.h.
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/llmos.h>

#include "kselftest_harness.h"

/* The sizes llmos.ko checks with BUILD_BUG_ON, on x86-64. */
_Static_assert(sizeof(void *) == 4, "build this test with -m32");
_Static_assert(sizeof(struct llmos_info) == 80, "llmos_info");
_Static_assert(sizeof(struct llmos_uring_cmd) == 16, "llmos_uring_cmd");
_Static_assert(sizeof(struct llmos_model_create) == 128, "llmos_model_create");
_Static_assert(sizeof(struct llmos_model_handle) == 32, "llmos_model_handle");
_Static_assert(sizeof(struct llmos_model_open) == 120, "llmos_model_open");
_Static_assert(sizeof(struct llmos_model_entry) == 112, "llmos_model_entry");
_Static_assert(sizeof(struct llmos_model_list) == 40, "llmos_model_list");
_Static_assert(sizeof(struct llmos_model_unload) == 80, "llmos_model_unload");
_Static_assert(sizeof(struct llmos_job_create) == 40, "llmos_job_create");
_Static_assert(sizeof(struct llmos_job_step) == 32, "llmos_job_step");
_Static_assert(sizeof(struct llmos_job_end) == 32, "llmos_job_end");
_Static_assert(sizeof(struct llmos_sched_prio) == 32, "llmos_sched_prio");
_Static_assert(sizeof(struct llmos_sched_stat) == 248, "llmos_sched_stat");
_Static_assert(sizeof(struct llmos_sched_stats) == 1032, "llmos_sched_stats");

#define DEV_PATH "/dev/llmos"

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

FIXTURE(compat) {
	int fd;
};

FIXTURE_SETUP(compat)
{
	self->fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(compat)
{
	close(self->fd);
}

TEST_F(compat, get_info)
{
	struct llmos_info info;

	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, xioctl(self->fd, LLMOS_CMD_GET_INFO, &info));
	EXPECT_EQ(LLMOS_ABI_VERSION, info.abi_version);
	EXPECT_TRUE(info.features & LLMOS_F_SCHED);
}

TEST_F(compat, job_step_end_and_stats)
{
	struct llmos_job_create c;
	struct llmos_job_step s;
	struct llmos_job_end e;
	struct llmos_sched_stats st;
	struct llmos_sched_stat procs[8];
	__u32 i;
	int found = 0;

	memset(&c, 0, sizeof(c));
	c.sched_class = LLMOS_CLASS_NORMAL;
	ASSERT_EQ(0, xioctl(self->fd, LLMOS_CMD_JOB_CREATE, &c));
	memset(&s, 0, sizeof(s));
	s.job = c.job;
	ASSERT_EQ(0, xioctl(self->fd, LLMOS_CMD_JOB_STEP, &s)); /* granted: the slot is free */
	memset(&st, 0, sizeof(st));
	st.procs = (__u64)(uintptr_t)procs;
	st.capacity = 8;
	ASSERT_EQ(0, xioctl(self->fd, LLMOS_CMD_SCHED_STATS, &st));
	EXPECT_EQ(1U, st.classes[LLMOS_CLASS_NORMAL].held);
	for (i = 0; i < st.count && i < 8; i++)
		if (procs[i].pid == getpid()) {
			found = 1;
			EXPECT_EQ(1U, procs[i].jobs);
			EXPECT_EQ(1U, procs[i].held);
			EXPECT_EQ((__u32)LLMOS_WEIGHT_DEFAULT, procs[i].weight);
		}
	EXPECT_TRUE(found);
	memset(&e, 0, sizeof(e));
	e.job = c.job;
	EXPECT_EQ(0, xioctl(self->fd, LLMOS_CMD_JOB_END, &e));
}

/* Root only: a model created, written, sealed, listed, opened and mapped by a 32-bit process. */
TEST_F(compat, model_roundtrip_and_mmap2)
{
	struct llmos_model_entry entries[16];
	struct llmos_model_create c;
	struct llmos_model_handle h;
	struct llmos_model_unload u;
	struct llmos_model_list l;
	struct llmos_model_open o;
	unsigned char *p;
	__u32 i;
	int found = 0;

	if (geteuid())
		SKIP(return, "needs root (MODEL_CREATE)");
	memset(&u, 0, sizeof(u));
	strcpy((char *)u.name, "compat32");
	u.flags = LLMOS_UNLOAD_WHEN_UNUSED;
	xioctl(self->fd, LLMOS_CMD_MODEL_UNLOAD, &u); /* a stale one from a failed run */
	u.flags = 0;
	memset(&c, 0, sizeof(c));
	strcpy((char *)c.name, "compat32");
	c.size = 65536;
	c.mode = 0644;
	c.numa_node = LLMOS_NUMA_ANY;
	ASSERT_EQ(0, xioctl(self->fd, LLMOS_CMD_MODEL_CREATE, &c));
	p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, (off_t)c.mmap_offset);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x32, 65536);
	munmap(p, 65536);
	memset(&h, 0, sizeof(h));
	h.handle = c.handle;
	ASSERT_EQ(0, xioctl(self->fd, LLMOS_CMD_MODEL_SEAL, &h));
	memset(&l, 0, sizeof(l));
	l.entries = (__u64)(uintptr_t)entries;
	l.capacity = 16;
	l.entry_size = sizeof(entries[0]);
	ASSERT_EQ(0, xioctl(self->fd, LLMOS_CMD_MODEL_LIST, &l));
	for (i = 0; i < l.count && i < 16; i++)
		if (!strcmp((char *)entries[i].name, "compat32")) {
			found = 1;
			EXPECT_EQ(65536ULL, entries[i].size);
			EXPECT_EQ((__u32)LLMOS_MODEL_SEALED, entries[i].state);
		}
	EXPECT_TRUE(found);
	memset(&o, 0, sizeof(o));
	strcpy((char *)o.name, "compat32");
	ASSERT_EQ(0, xioctl(self->fd, LLMOS_CMD_MODEL_OPEN, &o));
	EXPECT_EQ(65536ULL, o.size);
	p = mmap(NULL, 65536, PROT_READ, MAP_SHARED, self->fd, (off_t)o.mmap_offset);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0x32, p[65535]);
	munmap(p, 65536);
	ASSERT_EQ(0, xioctl(self->fd, LLMOS_CMD_MODEL_CLOSE, &h));
	h.handle = o.handle;
	ASSERT_EQ(0, xioctl(self->fd, LLMOS_CMD_MODEL_CLOSE, &h));
	memset(&u, 0, sizeof(u));
	strcpy((char *)u.name, "compat32");
	EXPECT_EQ(0, xioctl(self->fd, LLMOS_CMD_MODEL_UNLOAD, &u));
}

TEST_HARNESS_MAIN
