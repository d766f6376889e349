/* SPDX-License-Identifier: GPL-2.0 */
/*
 * selftest_util.h - helpers the llmos selftests share: ioctls that return
 * -errno, module parameters and sysfs numbers, dropping privileges in a
 * child, a child's exit status, and one synchronous uring_cmd.
 */
#ifndef LLMOS_SELFTEST_UTIL_H
#define LLMOS_SELFTEST_UTIL_H

#include <errno.h>
#include <liburing.h>
#include <stdint.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/llmos.h>

static inline int do_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static inline long long read_ll(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtoll(buf, NULL, 0);
}

static inline int write_ll(const char *path, long long v)
{
	char buf[64];
	int fd, n, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%lld\n", v);
	if (write(fd, buf, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

static inline int sys_capget(struct __user_cap_header_struct *h, struct __user_cap_data_struct *d)
{
	return syscall(SYS_capget, h, d);
}

static inline int sys_capset(struct __user_cap_header_struct *h, struct __user_cap_data_struct *d)
{
	return syscall(SYS_capset, h, d);
}

/* Become uid/gid with no supplementary groups and no capabilities. */
static inline int drop_privs(uid_t uid, gid_t gid)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0))
		return -1;
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
		return -1;
	memset(d, 0, sizeof(d));
	if (sys_capset(&h, d) || sys_capget(&h, d))
		return -1;
	if (d[0].effective || d[1].effective || d[0].permitted || d[1].permitted)
		return -1;
	return 0;
}

/* Become uid/gid with one capability (only) effective. */
static inline int become_with_cap(uid_t uid, gid_t gid, int cap)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
		return -1;
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
		return -1;
	memset(d, 0, sizeof(d));
	d[CAP_TO_INDEX(cap)].effective = CAP_TO_MASK(cap);
	d[CAP_TO_INDEX(cap)].permitted = CAP_TO_MASK(cap);
	return sys_capset(&h, d) ? -1 : 0;
}

/* A child's status: its exit code, or 1000 + the signal that killed it. */
static inline int wait_code(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 1000 + WTERMSIG(status);
	return -1;
}

/* Submit one uring_cmd with payload {addr, len, reserved} and return cqe->res. */
static inline int uring_cmd(struct io_uring *ring, int fd, __u32 op, void *arg, __u32 len, __u32 reserved)
{
	struct llmos_uring_cmd *pl;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	int res;

	sqe = io_uring_get_sqe(ring);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = op;
	pl = (struct llmos_uring_cmd *)sqe->cmd;
	pl->addr = (__u64)(uintptr_t)arg;
	pl->len = len;
	pl->reserved = reserved;
	if (io_uring_submit(ring) != 1)
		return -EIO;
	if (io_uring_wait_cqe(ring, &cqe))
		return -EIO;
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

#endif /* LLMOS_SELFTEST_UTIL_H */
