// SPDX-License-Identifier: GPL-2.0
/*
 * buf_test.c - selftests of buffers (LLMOS_F_BUFFERS): BUF_CREATE, mmap of
 * buffer handles, HANDLE_CLOSE, BUF_EXPORT (dma-buf) and BUF_IMPORT in every
 * order, fork and SIGKILL with a buffer mapped or exported, zeroing, the
 * module's cap (max_buf_mb) and the memory cgroup's limit.
 *
 * Children report by exit status: 0 for success, otherwise an errno value or
 * a code documented at the call; they never use ASSERT_* (that would
 * longjmp into the harness inside the child).  Every test leaves the module
 * with no buffer of its own: the fixture checks NPU_INFO's buf_bytes (when
 * NPU_INFO answers) is back where it was, and restores max_buf_mb.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/udmabuf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/llmos.h>

#include "kselftest_harness.h"
#include "selftest_util.h"

#define DEV_PATH "/dev/llmos"
#define CAP_PARAM "/sys/module/llmos/parameters/max_buf_mb"
#define CG_TEST CG_ROOT "/llmos-buf"
#define MIB (1024ULL * 1024ULL)

/* Exit codes of forked children that are not errno values. */
#define CHILD_SETUP_FAILED 200 /* could not open the device / create / map */
#define CHILD_BAD_DATA 201     /* the mapping did not hold the expected bytes */
#define CHILD_UNEXPECTED_OK 202

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static size_t page_round(size_t n)
{
	return (n + page_size() - 1) & ~(page_size() - 1);
}

/* ---- commands: 0 or -errno ---- */

static void init_buf_create(struct llmos_buf_create *c, __u64 size)
{
	memset(c, 0, sizeof(*c));
	c->size = size;
	c->numa_node = LLMOS_NUMA_ANY;
}

static int buf_create(int fd, __u64 size, __u32 *handle, __u64 *offset)
{
	struct llmos_buf_create c;
	int ret;

	init_buf_create(&c, size);
	ret = do_ioctl(fd, LLMOS_CMD_BUF_CREATE, &c);
	if (!ret) {
		if (handle)
			*handle = c.handle;
		if (offset)
			*offset = c.mmap_offset;
	}
	return ret;
}

static int buf_export(int fd, __u32 handle, __u32 flags, int *dmafd)
{
	struct llmos_buf_export e;
	int ret;

	memset(&e, 0, sizeof(e));
	e.handle = handle;
	e.flags = flags;
	e.fd = -1;
	ret = do_ioctl(fd, LLMOS_CMD_BUF_EXPORT, &e);
	if (!ret && dmafd)
		*dmafd = e.fd;
	return ret;
}

static int buf_import(int fd, int dmafd, __u32 *handle, __u64 *size)
{
	struct llmos_buf_import im;
	int ret;

	memset(&im, 0, sizeof(im));
	im.fd = dmafd;
	ret = do_ioctl(fd, LLMOS_CMD_BUF_IMPORT, &im);
	if (!ret) {
		if (handle)
			*handle = im.handle;
		if (size)
			*size = im.size;
	}
	return ret;
}

static int handle_close(int fd, __u32 handle)
{
	return m_handle_cmd(fd, LLMOS_CMD_HANDLE_CLOSE, handle);
}

/* NPU_INFO's buf_bytes, or -1 when NPU_INFO does not answer. */
static long long buf_bytes(int fd)
{
	struct llmos_npu_info ni;

	memset(&ni, 0, sizeof(ni));
	return do_ioctl(fd, LLMOS_CMD_NPU_INFO, &ni) ? -1 : (long long)ni.buf_bytes;
}

static long long buf_cap_bytes(int fd)
{
	struct llmos_npu_info ni;

	memset(&ni, 0, sizeof(ni));
	return do_ioctl(fd, LLMOS_CMD_NPU_INFO, &ni) ? -1 : (long long)ni.buf_cap_bytes;
}

static void *map_rw(int fd, __u64 offset, size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
}

/* ---- contents ---- */

static unsigned char pattern(size_t i, unsigned char seed)
{
	return (unsigned char)((i * 31 + (i >> 12) * 7 + seed) | 1);
}

static void fill(unsigned char *p, size_t len, unsigned char seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = pattern(i, seed);
}

static int check(const unsigned char *p, size_t len, unsigned char seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != pattern(i, seed))
			return 0;
	return 1;
}

/* Index of the first non-zero byte, or -1. */
static long first_nonzero(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return (long)i;
	return -1;
}

/* ---- fd passing ---- */

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct msghdr msg = { 0 };
	struct cmsghdr *cm;
	struct iovec iov;
	char c = 'f';

	iov.iov_base = &c;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct msghdr msg = { 0 };
	struct cmsghdr *cm;
	struct iovec iov;
	char c;
	int fd;

	iov.iov_base = &c;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -errno;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -EBADMSG;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* ---- fixture ---- */

FIXTURE(buf)
{
	int fd;
	long long saved_cap; /* max_buf_mb to restore, or -1 */
	long long base_bytes; /* buf_bytes before the test, or -1 */
};

FIXTURE_SETUP(buf)
{
	struct llmos_info info;

	self->saved_cap = -1;
	self->fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", DEV_PATH, strerror(errno));
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, ioctl(self->fd, LLMOS_CMD_GET_INFO, &info));
	if (!(info.features & LLMOS_F_BUFFERS))
		SKIP(return, "LLMOS_F_BUFFERS not advertised");
	self->base_bytes = buf_bytes(self->fd);
}

FIXTURE_TEARDOWN(buf)
{
	if (self->saved_cap >= 0)
		write_ll(CAP_PARAM, self->saved_cap);
	close(self->fd);
}

/* Let the test change max_buf_mb; the teardown puts it back. */
static int set_cap_mb(FIXTURE_DATA(buf) *self, long long mb)
{
	if (self->saved_cap < 0)
		self->saved_cap = read_ll(CAP_PARAM);
	if (self->saved_cap < 0)
		return -ENOENT;
	return write_ll(CAP_PARAM, mb);
}

/* buf_bytes is back to the test's start (closing and unmapping free at once). */
#define EXPECT_BUF_BYTES_DELTA(delta)                                                  \
	do {                                                                             \
		if (self->base_bytes >= 0)                                               \
			EXPECT_EQ(self->base_bytes + (long long)(delta), buf_bytes(self->fd)); \
	} while (0)

/* ===================================================================== */

TEST_F(buf, create_gives_handle_and_zeroed_read_write_mapping)
{
	const size_t ps = page_size(), size = 3 * ps + 100, mapped = page_round(size);
	unsigned char *p;
	__u64 off;
	__u32 h;

	ASSERT_EQ(0, buf_create(self->fd, size, &h, &off));
	EXPECT_EQ(LLMOS_MMAP_OFFSET(h), off);
	/* Counted in whole pages. */
	EXPECT_BUF_BYTES_DELTA(mapped);
	p = map_rw(self->fd, off, mapped);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(-1, first_nonzero(p, mapped));
	fill(p, mapped, 3);
	ASSERT_EQ(0, munmap(p, mapped));
	/* A second mapping, at an offset, sees what the first wrote. */
	p = map_rw(self->fd, off + ps, 2 * ps);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(pattern(ps, 3), p[0]);
	EXPECT_EQ(pattern(3 * ps - 1, 3), p[2 * ps - 1]);
	ASSERT_EQ(0, munmap(p, 2 * ps));
	p = map_rw(self->fd, off, mapped);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_TRUE(check(p, mapped, 3));
	ASSERT_EQ(0, munmap(p, mapped));
	EXPECT_EQ(0, handle_close(self->fd, h));
	EXPECT_BUF_BYTES_DELTA(0);
}

TEST_F(buf, create_rejects_bad_arguments)
{
	struct llmos_buf_create c;
	int i;

	init_buf_create(&c, 0);
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_BUF_CREATE, &c));
	init_buf_create(&c, 4096);
	c.flags = 1;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_BUF_CREATE, &c));
	init_buf_create(&c, 4096);
	c.flags = 1u << 31;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_BUF_CREATE, &c));
	init_buf_create(&c, 4096);
	c.reserved0 = 1;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_BUF_CREATE, &c));
	for (i = 0; i < 4; i++) {
		init_buf_create(&c, 4096);
		c.reserved[i] = 1;
		EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_BUF_CREATE, &c)) TH_LOG("reserved[%d]", i);
	}
	/* Offline or impossible nodes. */
	init_buf_create(&c, 4096);
	c.numa_node = 999;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_BUF_CREATE, &c));
	c.numa_node = -2;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_BUF_CREATE, &c));
	c.numa_node = 1 << 20;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_BUF_CREATE, &c));
	EXPECT_BUF_BYTES_DELTA(0);
	/* Node 0 is always online. */
	c.numa_node = 0;
	ASSERT_EQ(0, do_ioctl(self->fd, LLMOS_CMD_BUF_CREATE, &c));
	EXPECT_EQ(0, handle_close(self->fd, c.handle));
}

/* Sizes past the cap are -ENOSPC, also those whose rounding to pages overflows. */
/* Past the cap (at most 1 TiB) is -ENOSPC; past one handle's 1 TiB window, -EINVAL. */
TEST_F(buf, create_past_the_cap_is_enospc)
{
	const __u64 sizes[] = { (1ULL << 40) + 1, 1ULL << 62, ~0ULL, ~0ULL - 4095, (1ULL << 63) + 1 };
	long long cap = buf_cap_bytes(self->fd);
	unsigned int i;

	ASSERT_LT(0, cap);
	ASSERT_GT(1LL << 40, cap);
	EXPECT_EQ(-ENOSPC, buf_create(self->fd, cap + page_size(), NULL, NULL));
	EXPECT_EQ(-ENOSPC, buf_create(self->fd, cap + 1, NULL, NULL));
	EXPECT_EQ(-ENOSPC, buf_create(self->fd, 1ULL << 40, NULL, NULL));
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int ret = buf_create(self->fd, sizes[i], NULL, NULL);

		EXPECT_EQ(-EINVAL, ret) TH_LOG("size %#llx", (unsigned long long)sizes[i]);
	}
	EXPECT_BUF_BYTES_DELTA(0);
}

TEST_F(buf, mmap_beyond_size_fails)
{
	const size_t ps = page_size();
	unsigned char *p;
	__u64 off;
	__u32 h;

	/* 5000 bytes: two pages. */
	ASSERT_EQ(0, buf_create(self->fd, 5000, &h, &off));
	p = map_rw(self->fd, off, 3 * ps);
	ASSERT_EQ(MAP_FAILED, p);
	p = map_rw(self->fd, off + 2 * ps, ps);
	ASSERT_EQ(MAP_FAILED, p);
	p = map_rw(self->fd, off + 100 * ps, ps);
	ASSERT_EQ(MAP_FAILED, p);
	/* The next handle's window is not reachable from this one. */
	p = mmap(NULL, 1UL << 40, PROT_READ, MAP_SHARED | MAP_NORESERVE, self->fd, (off_t)off);
	ASSERT_EQ(MAP_FAILED, p);
	p = map_rw(self->fd, off + ps, ps);
	ASSERT_NE(MAP_FAILED, p);
	p[7] = 0x42;
	/* Growing a mapping past the end fails too. */
	ASSERT_EQ(MAP_FAILED, mremap(p, ps, 3 * ps, MREMAP_MAYMOVE));
	ASSERT_EQ(0, munmap(p, ps));
	p = map_rw(self->fd, off, 2 * ps);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0x42, p[ps + 7]);
	ASSERT_EQ(0, munmap(p, 2 * ps));
	EXPECT_EQ(0, handle_close(self->fd, h));
}

/* Handles name buffers within one file: another file cannot map or export them. */
TEST_F(buf, handle_is_private_to_its_file)
{
	const size_t ps = page_size();
	__u64 off;
	__u32 h;
	void *p;
	int fd2;

	ASSERT_EQ(0, buf_create(self->fd, ps, &h, &off));
	fd2 = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	p = map_rw(fd2, off, ps);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(-EINVAL, buf_export(fd2, h, 0, NULL));
	EXPECT_EQ(-EINVAL, handle_close(fd2, h));
	close(fd2);
	EXPECT_EQ(0, handle_close(self->fd, h));
}

TEST_F(buf, handle_close_twice_is_einval)
{
	__u32 h;

	ASSERT_EQ(0, buf_create(self->fd, 4096, &h, NULL));
	EXPECT_EQ(0, handle_close(self->fd, h));
	EXPECT_EQ(-EINVAL, handle_close(self->fd, h));
	EXPECT_EQ(-EINVAL, handle_close(self->fd, 0));
	EXPECT_EQ(-EINVAL, handle_close(self->fd, 123456));
	EXPECT_BUF_BYTES_DELTA(0);
}

/* A mapping keeps the pages after HANDLE_CLOSE; they go with the last munmap. */
TEST_F(buf, close_handle_while_mapped)
{
	const size_t size = 4 * page_size();
	unsigned char *p, *q;
	__u64 off;
	__u32 h;

	ASSERT_EQ(0, buf_create(self->fd, size, &h, &off));
	p = map_rw(self->fd, off, size);
	ASSERT_NE(MAP_FAILED, p);
	fill(p, size, 5);
	ASSERT_EQ(0, handle_close(self->fd, h));
	/* The handle is gone: no new mapping... */
	q = map_rw(self->fd, off, size);
	EXPECT_EQ(MAP_FAILED, q);
	/* ...but the old one still reads and writes the same pages. */
	EXPECT_TRUE(check(p, size, 5));
	fill(p, size, 6);
	EXPECT_TRUE(check(p, size, 6));
	EXPECT_BUF_BYTES_DELTA(size);
	ASSERT_EQ(0, munmap(p, size));
	EXPECT_BUF_BYTES_DELTA(0);
}

/* Closing the file releases its handles; mappings still hold their pages. */
TEST_F(buf, close_file_while_mapped)
{
	const size_t size = 2 * page_size();
	unsigned char *p;
	__u64 off;
	int fd2;

	fd2 = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, buf_create(fd2, size, NULL, &off));
	p = map_rw(fd2, off, size);
	ASSERT_NE(MAP_FAILED, p);
	fill(p, size, 7);
	close(fd2);
	EXPECT_TRUE(check(p, size, 7));
	EXPECT_BUF_BYTES_DELTA(size);
	ASSERT_EQ(0, munmap(p, size));
	EXPECT_BUF_BYTES_DELTA(0);
}

/*
 * Export, then close the handle and unmap: the dma-buf fd alone keeps the
 * buffer, maps it (the same bytes both ways), syncs, and reports its size.
 */
TEST_F(buf, export_then_close_handle_then_use_dmabuf)
{
	const size_t size = 3 * page_size();
	struct dma_buf_sync sync = { 0 };
	unsigned char *p, *d;
	__u64 off;
	__u32 h;
	int dfd;

	ASSERT_EQ(0, buf_create(self->fd, size, &h, &off));
	p = map_rw(self->fd, off, size);
	ASSERT_NE(MAP_FAILED, p);
	fill(p, size, 9);
	ASSERT_EQ(0, buf_export(self->fd, h, 0, &dfd));
	ASSERT_LE(0, dfd);
	EXPECT_EQ((off_t)size, lseek(dfd, 0, SEEK_END));
	d = map_rw(dfd, 0, size);
	ASSERT_NE(MAP_FAILED, d) TH_LOG("mmap of the dma-buf: %s", strerror(errno));
	/* Written through llmos, read through the dma-buf, and back. */
	EXPECT_TRUE(check(d, size, 9));
	d[size - 1] = 0x5a;
	EXPECT_EQ(0x5a, p[size - 1]);
	ASSERT_EQ(0, munmap(d, size));
	ASSERT_EQ(0, munmap(p, size));
	ASSERT_EQ(0, handle_close(self->fd, h));
	EXPECT_BUF_BYTES_DELTA(size);
	/* Only the dma-buf holds it now. */
	sync.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW;
	EXPECT_EQ(0, ioctl(dfd, DMA_BUF_IOCTL_SYNC, &sync));
	d = map_rw(dfd, 0, size);
	ASSERT_NE(MAP_FAILED, d);
	EXPECT_EQ(0x5a, d[size - 1]);
	d[size - 1] = pattern(size - 1, 9);
	EXPECT_TRUE(check(d, size, 9));
	sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
	EXPECT_EQ(0, ioctl(dfd, DMA_BUF_IOCTL_SYNC, &sync));
	/* Not past its end. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, size + page_size(), PROT_READ, MAP_SHARED, dfd, 0));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, page_size(), PROT_READ, MAP_SHARED, dfd, (off_t)size));
	/* The mapping outlives the fd too. */
	close(dfd);
	EXPECT_TRUE(check(d, size, 9));
	EXPECT_BUF_BYTES_DELTA(size);
	ASSERT_EQ(0, munmap(d, size));
	EXPECT_BUF_BYTES_DELTA(0);
}

TEST_F(buf, close_dmabuf_before_handle)
{
	const size_t size = 2 * page_size();
	unsigned char *p;
	__u64 off;
	__u32 h;
	int dfd;

	ASSERT_EQ(0, buf_create(self->fd, size, &h, &off));
	ASSERT_EQ(0, buf_export(self->fd, h, 0, &dfd));
	ASSERT_EQ(0, close(dfd));
	p = map_rw(self->fd, off, size);
	ASSERT_NE(MAP_FAILED, p);
	fill(p, size, 11);
	ASSERT_EQ(0, munmap(p, size));
	/* Exported again: still the same buffer. */
	ASSERT_EQ(0, buf_export(self->fd, h, 0, &dfd));
	p = map_rw(dfd, 0, size);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_TRUE(check(p, size, 11));
	ASSERT_EQ(0, munmap(p, size));
	ASSERT_EQ(0, close(dfd));
	EXPECT_BUF_BYTES_DELTA(size);
	ASSERT_EQ(0, handle_close(self->fd, h));
	EXPECT_BUF_BYTES_DELTA(0);
}

TEST_F(buf, export_flags)
{
	struct llmos_buf_export e;
	__u32 h;
	int dfd, i;

	ASSERT_EQ(0, buf_create(self->fd, 4096, &h, NULL));
	ASSERT_EQ(0, buf_export(self->fd, h, 0, &dfd));
	EXPECT_EQ(0, fcntl(dfd, F_GETFD) & FD_CLOEXEC);
	close(dfd);
	ASSERT_EQ(0, buf_export(self->fd, h, LLMOS_EXPORT_CLOEXEC, &dfd));
	EXPECT_NE(0, fcntl(dfd, F_GETFD) & FD_CLOEXEC);
	close(dfd);
	EXPECT_EQ(-EINVAL, buf_export(self->fd, h, 1u << 1, NULL));
	EXPECT_EQ(-EINVAL, buf_export(self->fd, h, 1u << 31, NULL));
	memset(&e, 0, sizeof(e));
	e.handle = h;
	e.reserved0 = 1;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_BUF_EXPORT, &e));
	for (i = 0; i < 3; i++) {
		memset(&e, 0, sizeof(e));
		e.handle = h;
		e.reserved[i] = 1;
		EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_BUF_EXPORT, &e));
	}
	/* Unknown handles. */
	EXPECT_EQ(-EINVAL, buf_export(self->fd, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, buf_export(self->fd, h + 1000, 0, NULL));
	EXPECT_EQ(0, handle_close(self->fd, h));
	EXPECT_EQ(-EINVAL, buf_export(self->fd, h, 0, NULL));
}

/*
 * Our own export imports as a new handle of the dma-buf's size; an imported
 * handle is an operand only: not mappable, not exportable.
 */
TEST_F(buf, import_of_own_export_gives_a_handle)
{
	const size_t size = 3 * page_size();
	__u32 h, ih, ih2;
	__u64 off, isize = 0;
	void *p;
	int dfd;

	ASSERT_EQ(0, buf_create(self->fd, size - 10, &h, &off));
	ASSERT_EQ(0, buf_export(self->fd, h, LLMOS_EXPORT_CLOEXEC, &dfd));
	ASSERT_EQ(0, buf_import(self->fd, dfd, &ih, &isize));
	EXPECT_NE(h, ih);
	EXPECT_EQ((__u64)size, isize);
	p = map_rw(self->fd, LLMOS_MMAP_OFFSET(ih), size);
	EXPECT_EQ(MAP_FAILED, p);
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, self->fd, (off_t)LLMOS_MMAP_OFFSET(ih));
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(-EINVAL, buf_export(self->fd, ih, 0, NULL));
	/* Twice: two handles. */
	ASSERT_EQ(0, buf_import(self->fd, dfd, &ih2, NULL));
	EXPECT_NE(ih, ih2);
	/* The import holds the buffer without the fd or the original handle. */
	close(dfd);
	ASSERT_EQ(0, handle_close(self->fd, h));
	EXPECT_BUF_BYTES_DELTA(size);
	EXPECT_EQ(0, handle_close(self->fd, ih));
	EXPECT_EQ(-EINVAL, handle_close(self->fd, ih));
	EXPECT_BUF_BYTES_DELTA(size);
	EXPECT_EQ(0, handle_close(self->fd, ih2));
	EXPECT_BUF_BYTES_DELTA(0);
}

/*
 * A file holds at most LLMOS_MAX_IMPORTS imports (each pins an exporter's
 * mapping the caller is not charged for); closing one gives its place back.
 */
TEST_F(buf, imports_per_file_are_bounded)
{
	__u32 h, ih[LLMOS_MAX_IMPORTS + 1];
	int dfd, i;

	ASSERT_EQ(0, buf_create(self->fd, page_size(), &h, NULL));
	ASSERT_EQ(0, buf_export(self->fd, h, LLMOS_EXPORT_CLOEXEC, &dfd));
	for (i = 0; i < LLMOS_MAX_IMPORTS; i++)
		ASSERT_EQ(0, buf_import(self->fd, dfd, &ih[i], NULL)) TH_LOG("import %d", i);
	EXPECT_EQ(-ENOSPC, buf_import(self->fd, dfd, &ih[i], NULL));
	ASSERT_EQ(0, handle_close(self->fd, ih[0]));
	EXPECT_EQ(0, buf_import(self->fd, dfd, &ih[0], NULL));
	EXPECT_EQ(-ENOSPC, buf_import(self->fd, dfd, &ih[i], NULL));
	for (i = 0; i < LLMOS_MAX_IMPORTS; i++)
		EXPECT_EQ(0, handle_close(self->fd, ih[i]));
	EXPECT_EQ(0, handle_close(self->fd, h));
	close(dfd);
	EXPECT_BUF_BYTES_DELTA(0);
}

TEST_F(buf, import_rejects_what_is_not_a_dmabuf)
{
	struct llmos_buf_import im;
	int pfd[2], ret, i, dfd;
	__u32 h;

	ASSERT_EQ(0, pipe(pfd));
	ret = buf_import(self->fd, pfd[0], NULL, NULL);
	EXPECT_TRUE(ret == -EINVAL || ret == -EBADF) TH_LOG("pipe: %d", ret);
	ret = buf_import(self->fd, -1, NULL, NULL);
	EXPECT_TRUE(ret == -EINVAL || ret == -EBADF) TH_LOG("-1: %d", ret);
	ret = buf_import(self->fd, 1000000, NULL, NULL);
	EXPECT_TRUE(ret == -EINVAL || ret == -EBADF) TH_LOG("closed fd: %d", ret);
	/* The /dev/llmos file itself is no dma-buf either. */
	ret = buf_import(self->fd, self->fd, NULL, NULL);
	EXPECT_EQ(-EINVAL, ret);
	close(pfd[0]);
	close(pfd[1]);
	/* Flags and reserved fields. */
	ASSERT_EQ(0, buf_create(self->fd, 4096, &h, NULL));
	ASSERT_EQ(0, buf_export(self->fd, h, 0, &dfd));
	memset(&im, 0, sizeof(im));
	im.fd = dfd;
	im.flags = 1;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_BUF_IMPORT, &im));
	memset(&im, 0, sizeof(im));
	im.fd = dfd;
	im.reserved0 = 1;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_BUF_IMPORT, &im));
	for (i = 0; i < 3; i++) {
		memset(&im, 0, sizeof(im));
		im.fd = dfd;
		im.reserved[i] = 1;
		EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_BUF_IMPORT, &im));
	}
	close(dfd);
	EXPECT_EQ(0, handle_close(self->fd, h));
	EXPECT_BUF_BYTES_DELTA(0);
}

/* A udmabuf (memfd pages) imports as an operand of the memfd's size. */
TEST_F(buf, import_udmabuf)
{
	const size_t size = 4 * page_size();
	struct udmabuf_create uc;
	__u64 isize = 0;
	int ufd, mfd, dfd;
	__u32 ih;
	void *p;

	ufd = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (ufd < 0)
		SKIP(return, "no /dev/udmabuf (%s)", strerror(errno));
	mfd = memfd_create("buf_test", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, size));
	ASSERT_EQ(0, fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK));
	memset(&uc, 0, sizeof(uc));
	uc.memfd = mfd;
	uc.flags = UDMABUF_FLAGS_CLOEXEC;
	uc.offset = 0;
	uc.size = size;
	dfd = ioctl(ufd, UDMABUF_CREATE, &uc);
	ASSERT_LE(0, dfd) TH_LOG("UDMABUF_CREATE: %s", strerror(errno));
	ASSERT_EQ(0, buf_import(self->fd, dfd, &ih, &isize));
	EXPECT_EQ((__u64)size, isize);
	/* Not ours to map or export; the dma-buf itself maps. */
	p = map_rw(self->fd, LLMOS_MMAP_OFFSET(ih), size);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(-EINVAL, buf_export(self->fd, ih, 0, NULL));
	/* Imports are not llmos buffers: not counted against the cap. */
	EXPECT_BUF_BYTES_DELTA(0);
	close(dfd);
	close(mfd);
	close(ufd);
	EXPECT_EQ(0, handle_close(self->fd, ih));
}

/* A model handle is not a buffer, nor a buffer handle a model (root: MODEL_CREATE). */
TEST_F(buf, model_handle_is_not_a_buffer)
{
	const char *name = "bt-not-a-buffer";
	__u32 mh, bh;
	int ret;

	if (geteuid())
		SKIP(return, "needs root (MODEL_CREATE)");
	m_unload(self->fd, name, LLMOS_UNLOAD_WHEN_UNUSED);
	ret = m_create(self->fd, name, 8192, 0644, &mh, NULL);
	if (ret == -ENOTTY || ret == -EOPNOTSUPP)
		SKIP(return, "no model memory");
	ASSERT_EQ(0, ret);
	EXPECT_EQ(-EINVAL, buf_export(self->fd, mh, 0, NULL));
	ASSERT_EQ(0, m_seal(self->fd, mh));
	EXPECT_EQ(-EINVAL, buf_export(self->fd, mh, 0, NULL));
	ASSERT_EQ(0, buf_create(self->fd, 8192, &bh, NULL));
	EXPECT_EQ(-EINVAL, m_seal(self->fd, bh));
	/* HANDLE_CLOSE closes either kind. */
	EXPECT_EQ(0, handle_close(self->fd, bh));
	EXPECT_EQ(0, handle_close(self->fd, mh));
	m_unload(self->fd, name, LLMOS_UNLOAD_WHEN_UNUSED);
	EXPECT_BUF_BYTES_DELTA(0);
}

/*
 * A forked child shares the MAP_SHARED mapping both ways; its exit (and its
 * copy of the file closing) leaves the parent's buffer alone.
 */
TEST_F(buf, fork_shares_mapping_and_child_exit_keeps_it)
{
	const size_t size = 4 * page_size(), half = size / 2;
	unsigned char *p, *q;
	__u64 off;
	pid_t pid;
	__u32 h;

	ASSERT_EQ(0, buf_create(self->fd, size, &h, &off));
	p = map_rw(self->fd, off, size);
	ASSERT_NE(MAP_FAILED, p);
	fill(p, half, 13);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (!check(p, half, 13))
			_exit(CHILD_BAD_DATA);
		fill(p + half, half, 14);
		/* The child's own mapping of the same handle (the file is shared). */
		q = map_rw(self->fd, off, size);
		if (q == MAP_FAILED)
			_exit(errno);
		if (!check(q, half, 13))
			_exit(CHILD_BAD_DATA);
		close(self->fd);
		_exit(0);
	}
	ASSERT_EQ(0, wait_code(pid));
	EXPECT_TRUE(check(p, half, 13));
	EXPECT_TRUE(check(p + half, half, 14));
	EXPECT_BUF_BYTES_DELTA(size);
	ASSERT_EQ(0, munmap(p, size));
	p = map_rw(self->fd, off, size);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_TRUE(check(p + half, half, 14));
	ASSERT_EQ(0, munmap(p, size));
	EXPECT_EQ(0, handle_close(self->fd, h));
	EXPECT_BUF_BYTES_DELTA(0);
}

/*
 * A child creates, maps, fills and exports a buffer, sends the dma-buf fd
 * over a unix socket and is SIGKILLed with all of that still open: the
 * parent's fd still maps the data, and the buffer goes with that fd.
 */
TEST_F(buf, sigkill_while_mapped_and_exported)
{
	const size_t size = 1 * MIB;
	int sv[2], dfd;
	unsigned char *d;
	pid_t pid;
	char c;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		unsigned char *p;
		__u64 off;
		__u32 h;
		int fd, xfd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sv[0]);
		fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
		if (fd < 0 || buf_create(fd, size, &h, &off))
			_exit(CHILD_SETUP_FAILED);
		p = map_rw(fd, off, size);
		if (p == MAP_FAILED || buf_export(fd, h, 0, &xfd))
			_exit(CHILD_SETUP_FAILED);
		fill(p, size, 17);
		if (send_fd(sv[1], xfd))
			_exit(CHILD_SETUP_FAILED);
		/* Wait to be killed, everything open. */
		while (read(sv[1], &c, 1) < 0 && errno == EINTR)
			;
		_exit(CHILD_UNEXPECTED_OK);
	}
	close(sv[1]);
	dfd = recv_fd(sv[0]);
	ASSERT_LE(0, dfd) TH_LOG("recv_fd: %s", strerror(-dfd));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(1000 + SIGKILL, wait_code(pid));
	close(sv[0]);
	EXPECT_BUF_BYTES_DELTA(size);
	d = map_rw(dfd, 0, size);
	ASSERT_NE(MAP_FAILED, d) TH_LOG("mmap of the dma-buf: %s", strerror(errno));
	EXPECT_TRUE(check(d, size, 17));
	close(dfd);
	EXPECT_TRUE(check(d, size, 17));
	ASSERT_EQ(0, munmap(d, size));
	EXPECT_BUF_BYTES_DELTA(0);
}

/*
 * Buffers filled with 0xAA and freed, over and over, in every way they can
 * be let go: a new buffer never shows a byte of an old one.
 */
TEST_F(buf, new_buffers_are_always_zeroed)
{
	const size_t size = 256 * 1024;
	unsigned char *p, *d;
	long nz;
	__u64 off;
	__u32 h;
	int i, dfd;

	for (i = 0; i < 64; i++) {
		ASSERT_EQ(0, buf_create(self->fd, size, &h, &off));
		p = map_rw(self->fd, off, size);
		ASSERT_NE(MAP_FAILED, p);
		nz = first_nonzero(p, size);
		ASSERT_EQ(-1, nz) TH_LOG("round %d: byte %ld is %#x", i, nz, p[nz]);
		memset(p, 0xAA, size);
		switch (i % 4) {
		case 0: /* handle, then mapping */
			ASSERT_EQ(0, handle_close(self->fd, h));
			ASSERT_EQ(0, munmap(p, size));
			break;
		case 1: /* mapping, then handle */
			ASSERT_EQ(0, munmap(p, size));
			ASSERT_EQ(0, handle_close(self->fd, h));
			break;
		case 2: /* through a dma-buf last */
			ASSERT_EQ(0, buf_export(self->fd, h, 0, &dfd));
			ASSERT_EQ(0, munmap(p, size));
			ASSERT_EQ(0, handle_close(self->fd, h));
			d = map_rw(dfd, 0, size);
			ASSERT_NE(MAP_FAILED, d);
			memset(d, 0xAA, size);
			close(dfd);
			ASSERT_EQ(0, munmap(d, size));
			break;
		default: /* with the file */
			ASSERT_EQ(0, munmap(p, size));
			close(self->fd);
			self->fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
			ASSERT_LE(0, self->fd);
			break;
		}
	}
	EXPECT_BUF_BYTES_DELTA(0);
}

/*
 * max_buf_mb caps all buffers together (whole pages, up to the cap and not
 * past it: -ENOSPC); freeing gives the room back; NPU_INFO reports both.
 */
TEST_F(buf, cap_limits_total_and_freeing_returns_room)
{
	__u32 h3, h1, h2, hp;
	int dfd;

	if (geteuid())
		SKIP(return, "needs root (max_buf_mb)");
	if (self->base_bytes < 0)
		SKIP(return, "NPU_INFO does not answer: cannot read buf_bytes");
	ASSERT_EQ(0, self->base_bytes) TH_LOG("buffers left by someone else");
	ASSERT_EQ(0, set_cap_mb(self, 4));
	EXPECT_EQ((long long)(4 * MIB), buf_cap_bytes(self->fd));
	ASSERT_EQ(0, buf_create(self->fd, 3 * MIB, &h3, NULL));
	EXPECT_EQ((long long)(3 * MIB), buf_bytes(self->fd));
	EXPECT_EQ(-ENOSPC, buf_create(self->fd, 2 * MIB, NULL, NULL));
	EXPECT_EQ(-ENOSPC, buf_create(self->fd, MIB + 1, NULL, NULL));
	/* Exactly up to the cap is fine. */
	ASSERT_EQ(0, buf_create(self->fd, MIB, &h1, NULL));
	EXPECT_EQ((long long)(4 * MIB), buf_bytes(self->fd));
	EXPECT_EQ(-ENOSPC, buf_create(self->fd, 1, NULL, NULL));
	/* Refusals cost nothing. */
	EXPECT_EQ((long long)(4 * MIB), buf_bytes(self->fd));
	/* An exported buffer counts until its dma-buf goes. */
	ASSERT_EQ(0, buf_export(self->fd, h3, 0, &dfd));
	ASSERT_EQ(0, handle_close(self->fd, h3));
	EXPECT_EQ(-ENOSPC, buf_create(self->fd, 2 * MIB, NULL, NULL));
	close(dfd);
	EXPECT_EQ((long long)MIB, buf_bytes(self->fd));
	ASSERT_EQ(0, buf_create(self->fd, 2 * MIB, &h2, NULL));
	ASSERT_EQ(0, buf_create(self->fd, 1, &hp, NULL));
	EXPECT_EQ((long long)(3 * MIB + page_size()), buf_bytes(self->fd));
	/* Raising the cap makes room at once. */
	ASSERT_EQ(0, write_ll(CAP_PARAM, 8));
	EXPECT_EQ((long long)(8 * MIB), buf_cap_bytes(self->fd));
	EXPECT_EQ(0, buf_create(self->fd, 4 * MIB, NULL, NULL));
	close(self->fd);
	self->fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(0LL, buf_bytes(self->fd));
}


/*
 * A child in a memory cgroup limited to 16 MiB: a 64 MiB buffer is refused
 * with -ENOMEM (the child is not OOM-killed), a 4 MiB one is charged to the
 * group while it exists and uncharged when it goes.
 */
TEST_F(buf, buffers_are_charged_to_the_memcg)
{
	long long cap;
	pid_t pid;
	int ret;

	if (geteuid())
		SKIP(return, "needs root (cgroups)");
	ret = memcg_setup(CG_TEST);
	if (ret)
		SKIP(return, "no cgroup v2 memory controller (%s)", strerror(-ret));
	/* The module's cap must not be what refuses 64 MiB. */
	cap = buf_cap_bytes(self->fd);
	if (cap >= 0 && cap < (long long)(128 * MIB))
		ASSERT_EQ(0, set_cap_mb(self, 256));
	ASSERT_EQ(0, write_ll(CG_TEST "/memory.max", 16 * MIB));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		long long before, during, after;
		int fd;
		__u32 h;

		if (write_ll(CG_TEST "/cgroup.procs", getpid()))
			_exit(CHILD_SETUP_FAILED);
		fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			_exit(CHILD_SETUP_FAILED);
		ret = buf_create(fd, 64 * MIB, NULL, NULL);
		if (ret != -ENOMEM) {
			fprintf(stderr, "# 64 MiB in a 16 MiB group: %d, not -ENOMEM\n", ret);
			_exit(ret ? -ret : CHILD_UNEXPECTED_OK);
		}
		before = read_ll(CG_TEST "/memory.current");
		if (buf_create(fd, 4 * MIB, &h, NULL))
			_exit(CHILD_SETUP_FAILED);
		during = read_ll(CG_TEST "/memory.current");
		if (handle_close(fd, h))
			_exit(CHILD_SETUP_FAILED);
		after = read_ll(CG_TEST "/memory.current");
		fprintf(stderr, "# memory.current %lld -> %lld with 4 MiB -> %lld after\n", before,
			during, after);
		if (during - before < (long long)(4 * MIB))
			_exit(1);
		if (during - after < (long long)(4 * MIB) - 256 * 1024)
			_exit(2);
		_exit(0);
	}
	/* 1: not charged; 2: not uncharged; 1009: OOM-killed instead of -ENOMEM. */
	EXPECT_EQ(0, wait_code(pid));
	rmdir(CG_TEST);
	EXPECT_BUF_BYTES_DELTA(0);
}

TEST_HARNESS_MAIN
