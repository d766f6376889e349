/* SPDX-License-Identifier: GPL-2.0 */
/*
 * selftest_util.h - helpers the llmos selftests share: ioctls that return
 * -errno, module parameters and sysfs numbers, dropping privileges in a
 * child, a child's exit status, one synchronous uring_cmd, and the model
 * and scheduler commands.
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
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include <linux/llmos.h>

static inline int do_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

/* Does the module advertise feature bit f (LLMOS_F_*)? */
static inline int has_feature(int fd, __u64 f)
{
	struct llmos_info info;

	memset(&info, 0, sizeof(info));
	return !do_ioctl(fd, LLMOS_CMD_GET_INFO, &info) && (info.features & f) == f;
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

/* Submit one uring_cmd with payload {addr, len} without waiting: 0 or -errno. */
static inline int submit_cmd(struct io_uring *ring, int fd, __u32 op, void *arg, __u32 len)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct llmos_uring_cmd *pl;

	if (!sqe)
		return -EBUSY;
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = op;
	pl = (struct llmos_uring_cmd *)sqe->cmd;
	pl->addr = (__u64)(uintptr_t)arg;
	pl->len = len;
	pl->reserved = 0;
	return io_uring_submit(ring) == 1 ? 0 : -EIO;
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

/* ---- model commands: 0 or -errno ---- */

static inline void set_name(__u8 *dst, const char *name)
{
	size_t n = strlen(name);

	if (n > LLMOS_NAME_LEN)
		n = LLMOS_NAME_LEN;

	memset(dst, 0, LLMOS_NAME_LEN);
	memcpy(dst, name, n);
}

static inline void init_create(struct llmos_model_create *c, const char *name, __u64 size, __u32 mode)
{
	memset(c, 0, sizeof(*c));
	set_name(c->name, name);
	c->size = size;
	c->mode = mode;
	c->numa_node = LLMOS_NUMA_ANY;
}

static inline int m_create(int fd, const char *name, __u64 size, __u32 mode, __u32 *handle,
		    __u64 *offset)
{
	struct llmos_model_create c;
	int ret;

	init_create(&c, name, size, mode);
	ret = do_ioctl(fd, LLMOS_CMD_MODEL_CREATE, &c);
	if (!ret) {
		if (handle)
			*handle = c.handle;
		if (offset)
			*offset = c.mmap_offset;
	}
	return ret;
}

static inline int m_handle_cmd(int fd, unsigned long cmd, __u32 handle)
{
	struct llmos_model_handle h;

	memset(&h, 0, sizeof(h));
	h.handle = handle;
	return do_ioctl(fd, cmd, &h);
}

static inline int m_seal(int fd, __u32 handle)
{
	return m_handle_cmd(fd, LLMOS_CMD_MODEL_SEAL, handle);
}

static inline int m_close(int fd, __u32 handle)
{
	return m_handle_cmd(fd, LLMOS_CMD_MODEL_CLOSE, handle);
}

static inline int m_open(int fd, const char *name, __u32 *handle, __u64 *size, __u64 *offset)
{
	struct llmos_model_open o;
	int ret;

	memset(&o, 0, sizeof(o));
	set_name(o.name, name);
	ret = do_ioctl(fd, LLMOS_CMD_MODEL_OPEN, &o);
	if (!ret) {
		if (handle)
			*handle = o.handle;
		if (size)
			*size = o.size;
		if (offset)
			*offset = o.mmap_offset;
	}
	return ret;
}

static inline int m_unload(int fd, const char *name, __u32 flags)
{
	struct llmos_model_unload u;

	memset(&u, 0, sizeof(u));
	set_name(u.name, name);
	u.flags = flags;
	return do_ioctl(fd, LLMOS_CMD_MODEL_UNLOAD, &u);
}

/* All models; *out is malloc'd (free it).  Returns 0 or -errno. */
static inline int m_list(int fd, struct llmos_model_entry **out, __u32 *count)
{
	struct llmos_model_list l;
	struct llmos_model_entry *e = NULL;
	__u32 cap = 0;
	int ret;

	for (;;) {
		memset(&l, 0, sizeof(l));
		l.entries = (__u64)(uintptr_t)e;
		l.capacity = cap;
		l.entry_size = sizeof(*e);
		ret = do_ioctl(fd, LLMOS_CMD_MODEL_LIST, &l);
		if (ret) {
			free(e);
			return ret;
		}
		if (l.count <= cap)
			break;
		cap = l.count + 4;
		free(e);
		e = calloc(cap, sizeof(*e));
		if (!e)
			return -ENOMEM;
	}
	*out = e;
	*count = l.count;
	return 0;
}

/* 1 and *entry filled if the model is listed, 0 if not, -errno on failure. */
static inline int m_find(int fd, const char *name, struct llmos_model_entry *entry)
{
	struct llmos_model_entry *e;
	__u32 n, i;
	int ret;

	if (entry)
		memset(entry, 0, sizeof(*entry));
	ret = m_list(fd, &e, &n);
	if (ret)
		return ret;
	ret = 0;
	for (i = 0; i < n; i++) {
		if (!strncmp((const char *)e[i].name, name, LLMOS_NAME_LEN)) {
			if (entry)
				*entry = e[i];
			ret = 1;
			break;
		}
	}
	free(e);
	return ret;
}

static inline void *m_map(int fd, __u64 offset, size_t len, int prot, int flags)
{
	return mmap(NULL, len, prot, flags, fd, (off_t)offset);
}

/* ---- scheduler commands: 0 or -errno ---- */

static inline int job_create(int fd, __u32 class, __u32 weight, __u32 *job)
{
	struct llmos_job_create c;
	int ret;

	memset(&c, 0, sizeof(c));
	c.sched_class = class;
	c.weight = weight;
	ret = do_ioctl(fd, LLMOS_CMD_JOB_CREATE, &c);
	if (!ret && job)
		*job = c.job;
	return ret;
}

static inline int job_end(int fd, __u32 job)
{
	struct llmos_job_end e;

	memset(&e, 0, sizeof(e));
	e.job = job;
	return do_ioctl(fd, LLMOS_CMD_JOB_END, &e);
}

/* JOB_STEP as an ioctl: blocks until granted. */
static inline int step_ioctl(int fd, __u32 job, __u32 flags)
{
	struct llmos_job_step s;

	memset(&s, 0, sizeof(s));
	s.job = job;
	s.flags = flags;
	return do_ioctl(fd, LLMOS_CMD_JOB_STEP, &s);
}

static inline int set_prio(int fd, pid_t pid, __u32 class, __u32 weight)
{
	struct llmos_sched_prio p;

	memset(&p, 0, sizeof(p));
	p.pid = pid;
	p.sched_class = class;
	p.weight = weight;
	return do_ioctl(fd, LLMOS_CMD_SCHED_SET_PRIO, &p);
}

static inline int get_stats(int fd, struct llmos_sched_stats *st)
{
	memset(st, 0, sizeof(*st));
	return do_ioctl(fd, LLMOS_CMD_SCHED_STATS, st);
}

/* 1 and *out filled if @pid has a process entry, 0 if not, -errno on failure. */
static inline int get_proc(int fd, pid_t pid, struct llmos_sched_stat *out)
{
	struct llmos_sched_stats st;
	struct llmos_sched_stat *p = NULL;
	__u32 cap = 0, i;
	int ret;

	memset(out, 0, sizeof(*out));
	for (;;) {
		memset(&st, 0, sizeof(st));
		st.procs = (__u64)(uintptr_t)p;
		st.capacity = cap;
		ret = do_ioctl(fd, LLMOS_CMD_SCHED_STATS, &st);
		if (ret) {
			free(p);
			return ret;
		}
		if (st.count <= cap)
			break;
		cap = st.count + 8;
		free(p);
		p = calloc(cap, sizeof(*p));
		if (!p)
			return -ENOMEM;
	}
	ret = 0;
	for (i = 0; i < st.count; i++) {
		if (p[i].pid == pid) {
			*out = p[i];
			ret = 1;
			break;
		}
	}
	free(p);
	return ret;
}

/* ---- memory cgroups ---- */

#define CG_ROOT "/sys/fs/cgroup"

/* A cgroup v2 group at path, with the memory controller (mounting cgroup2 if need be); or -errno. */
static inline int memcg_setup(const char *path)
{
	char buf[256] = "";
	ssize_t n;
	int fd;

	if (access(CG_ROOT "/cgroup.controllers", F_OK) &&
	    mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL))
		return -errno;
	fd = open(CG_ROOT "/cgroup.controllers", O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || !strstr(buf, "memory"))
		return -EOPNOTSUPP;
	fd = open(CG_ROOT "/cgroup.subtree_control", O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, "+memory", 7);
	close(fd);
	if (n != 7)
		return -errno;
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* ---- the module's totals, for the stress programs ---- */

#define LLMOS_SYSFS "/sys/class/misc/llmos/"

struct llmos_totals {
	long long models, pinned;   /* sysfs */
	long long buf_bytes, npu_queued; /* sysfs */
	unsigned int jobs, queued, held, procs; /* SCHED_STATS, every class */
};

static inline int read_totals(int fd, struct llmos_totals *t)
{
	struct llmos_sched_stats st;
	int c, ret;

	memset(t, 0, sizeof(*t));
	t->models = read_ll(LLMOS_SYSFS "models");
	t->pinned = read_ll(LLMOS_SYSFS "pinned_bytes");
	t->buf_bytes = read_ll(LLMOS_SYSFS "buf_bytes");
	t->npu_queued = read_ll(LLMOS_SYSFS "npu_queued");
	ret = get_stats(fd, &st);
	if (ret)
		return ret;
	for (c = 0; c < LLMOS_NR_CLASSES; c++) {
		t->jobs += st.classes[c].jobs;
		t->queued += st.classes[c].queued;
		t->held += st.classes[c].held;
	}
	t->procs = st.count;
	return 0;
}

/*
 * Wait (up to @ms; io_uring tears rings down asynchronously after a
 * process dies) until no job, queued request, grant or process entry is
 * left (entries are not counted when @any_procs: live processes someone
 * gave a priority keep theirs), no NPU job waits, and the models, pinned
 * bytes and buffer bytes are back to @base's.  0 when they are; otherwise -ETIMEDOUT with *now holding the
 * last reading.
 */
static inline int await_totals(int fd, const struct llmos_totals *base, int ms, int any_procs,
			       struct llmos_totals *now)
{
	int i;

	for (i = 0; i <= ms / 10; i++) {
		if (read_totals(fd, now) == 0 && !now->jobs && !now->queued && !now->held &&
		    (any_procs || !now->procs) && now->models == base->models &&
		    now->pinned == base->pinned && now->buf_bytes == base->buf_bytes &&
		    !now->npu_queued)
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

static inline void print_totals(const char *what, const struct llmos_totals *t)
{
	printf("# %s: models %lld, pinned %lld bytes, buffers %lld bytes, NPU jobs queued %lld, "
	       "jobs %u, queued %u, held %u, process entries %u\n",
	       what, t->models, t->pinned, t->buf_bytes, t->npu_queued, t->jobs, t->queued, t->held,
	       t->procs);
}

#endif /* LLMOS_SELFTEST_UTIL_H */
