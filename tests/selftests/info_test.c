// SPDX-License-Identifier: GPL-2.0
/*
 * info_test.c - selftests of /dev/llmos basics: GET_INFO through ioctl and
 * through io_uring (normal and SQE128 rings), unknown commands, reserved
 * fields, bad pointers, versioned struct sizes, concurrency, module refcount.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/llmos.h>

#include "kselftest_harness.h"
#include "selftest_util.h"

#define DEV_PATH "/dev/llmos"

static void check_info(struct __test_metadata *_metadata, const struct llmos_info *info)
{
	int i;

	ASSERT_EQ((__u32)LLMOS_ABI_VERSION, info->abi_version);
	ASSERT_EQ(LLMOS_F_IOCTL | LLMOS_F_URING_CMD,
		  info->features & (LLMOS_F_IOCTL | LLMOS_F_URING_CMD));
	ASSERT_EQ(0ULL, info->features & ~LLMOS_F_ALL);
	ASSERT_NE(NULL, memchr(info->module_version, '\0', sizeof(info->module_version)));
	ASSERT_LT(0UL, strlen((const char *)info->module_version));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0ULL, info->reserved[i]);
}

FIXTURE(dev)
{
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", DEV_PATH, strerror(errno));
}

FIXTURE_TEARDOWN(dev)
{
	close(self->fd);
}

TEST_F(dev, get_info_ioctl)
{
	struct llmos_info info;

	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, ioctl(self->fd, LLMOS_CMD_GET_INFO, &info));
	check_info(_metadata, &info);
}

TEST_F(dev, get_info_uring_cmd)
{
	struct llmos_info info;
	struct io_uring ring;

	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, uring_cmd(&ring, self->fd, LLMOS_CMD_GET_INFO, &info, sizeof(info), 0));
	check_info(_metadata, &info);
	io_uring_queue_exit(&ring);
}

TEST_F(dev, get_info_uring_cmd_sqe128)
{
	struct llmos_info info;
	struct io_uring ring;

	ASSERT_EQ(0, io_uring_queue_init(8, &ring, IORING_SETUP_SQE128));
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, uring_cmd(&ring, self->fd, LLMOS_CMD_GET_INFO, &info, sizeof(info), 0));
	check_info(_metadata, &info);
	io_uring_queue_exit(&ring);
}

TEST_F(dev, sqe128_nonzero_tail_is_einval)
{
	struct llmos_uring_cmd *pl;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct llmos_info info;
	struct io_uring ring;

	ASSERT_EQ(0, io_uring_queue_init(8, &ring, IORING_SETUP_SQE128));
	memset(&info, 0, sizeof(info));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, self->fd, NULL, 0, 0);
	sqe->cmd_op = LLMOS_CMD_GET_INFO;
	pl = (struct llmos_uring_cmd *)sqe->cmd;
	pl->addr = (__u64)(uintptr_t)&info;
	pl->len = sizeof(info);
	sqe->cmd[79] = 1;
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	ASSERT_EQ(-EINVAL, cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
}

TEST_F(dev, unknown_command_ioctl)
{
	struct llmos_info info;

	memset(&info, 0, sizeof(info));
	ASSERT_EQ(-1, ioctl(self->fd, _IOWR(LLMOS_IOC_MAGIC, 0x7f, struct llmos_info), &info));
	ASSERT_EQ(ENOTTY, errno);
	/* Right number, wrong type byte or direction. */
	ASSERT_EQ(-1, ioctl(self->fd, _IOWR('x', 0x00, struct llmos_info), &info));
	ASSERT_EQ(ENOTTY, errno);
	ASSERT_EQ(-1, ioctl(self->fd, _IOR(LLMOS_IOC_MAGIC, 0x00, struct llmos_info), &info));
	ASSERT_EQ(ENOTTY, errno);
}

TEST_F(dev, unknown_command_uring)
{
	struct llmos_info info;
	struct io_uring ring;

	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(-EOPNOTSUPP, uring_cmd(&ring, self->fd,
					 _IOWR(LLMOS_IOC_MAGIC, 0x7f, struct llmos_info), &info,
					 sizeof(info), 0));
	io_uring_queue_exit(&ring);
}

TEST_F(dev, nonzero_reserved_is_einval)
{
	struct llmos_info info;
	struct io_uring ring;
	int i;

	for (i = 0; i < 4; i++) {
		memset(&info, 0, sizeof(info));
		info.reserved[i] = 1;
		ASSERT_EQ(-1, ioctl(self->fd, LLMOS_CMD_GET_INFO, &info));
		ASSERT_EQ(EINVAL, errno);
	}
	memset(&info, 0, sizeof(info));
	info.flags = 1;
	ASSERT_EQ(-1, ioctl(self->fd, LLMOS_CMD_GET_INFO, &info));
	ASSERT_EQ(EINVAL, errno);

	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	memset(&info, 0, sizeof(info));
	info.reserved[3] = 7;
	ASSERT_EQ(-EINVAL, uring_cmd(&ring, self->fd, LLMOS_CMD_GET_INFO, &info, sizeof(info), 0));
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(-EINVAL, uring_cmd(&ring, self->fd, LLMOS_CMD_GET_INFO, &info, sizeof(info), 1));
	io_uring_queue_exit(&ring);
}

TEST_F(dev, bad_pointer_is_efault)
{
	struct io_uring ring;

	ASSERT_EQ(-1, ioctl(self->fd, LLMOS_CMD_GET_INFO, (void *)16));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	ASSERT_EQ(-EFAULT, uring_cmd(&ring, self->fd, LLMOS_CMD_GET_INFO, (void *)16,
				     sizeof(struct llmos_info), 0));
	io_uring_queue_exit(&ring);
}

/* A newer caller's longer struct works if its extra bytes are zero; a short one never. */
TEST_F(dev, struct_size_versioning)
{
	struct {
		struct llmos_info info;
		__u64 future[2];
	} big;
	struct io_uring ring;

	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	memset(&big, 0, sizeof(big));
	ASSERT_EQ(0, uring_cmd(&ring, self->fd, LLMOS_CMD_GET_INFO, &big, sizeof(big), 0));
	check_info(_metadata, &big.info);
	ASSERT_EQ(0ULL, big.future[0]);

	memset(&big, 0, sizeof(big));
	big.future[1] = 1;
	ASSERT_EQ(-EINVAL, uring_cmd(&ring, self->fd, LLMOS_CMD_GET_INFO, &big, sizeof(big), 0));
	memset(&big, 0, sizeof(big));
	ASSERT_EQ(-EINVAL, uring_cmd(&ring, self->fd, LLMOS_CMD_GET_INFO, &big, 40, 0));
	io_uring_queue_exit(&ring);
}

struct hammer {
	int fd;
	int use_uring;
	int iterations;
	int failures;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	struct llmos_info info;
	struct io_uring ring;
	int i, ret;

	if (h->use_uring && io_uring_queue_init(8, &ring, 0)) {
		h->failures = h->iterations;
		return NULL;
	}
	for (i = 0; i < h->iterations; i++) {
		memset(&info, 0, sizeof(info));
		if (h->use_uring)
			ret = uring_cmd(&ring, h->fd, LLMOS_CMD_GET_INFO, &info, sizeof(info), 0);
		else
			ret = ioctl(h->fd, LLMOS_CMD_GET_INFO, &info);
		if (ret != 0 || info.abi_version != LLMOS_ABI_VERSION)
			h->failures++;
	}
	if (h->use_uring)
		io_uring_queue_exit(&ring);
	return NULL;
}

TEST_F(dev, concurrent_callers_two_threads)
{
	struct hammer h[2] = {
		{ .fd = self->fd, .use_uring = 0, .iterations = 20000 },
		{ .fd = self->fd, .use_uring = 1, .iterations = 20000 },
	};
	pthread_t t[2];
	int i;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, hammer_thread, &h[i]));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	ASSERT_EQ(0, h[0].failures);
	ASSERT_EQ(0, h[1].failures);
}

/* The module cannot go while a file is open (it pins the module). */
TEST_F(dev, rmmod_refused_while_open)
{
	ASSERT_EQ(-1, syscall(SYS_delete_module, "llmos", O_NONBLOCK));
	ASSERT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	ASSERT_EQ(0, access(DEV_PATH, F_OK));
}

TEST_HARNESS_MAIN
