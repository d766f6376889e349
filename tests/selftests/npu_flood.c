// SPDX-License-Identifier: GPL-2.0
/*
 * npu_flood.c - fill the NPU's queue and wait to be killed: the helper of
 * scenario-npu-rmmod.  It creates buffers for a large Q8_0 MATMUL, submits
 * JOBS jobs (by uring_cmd, or by ioctl with a fence kept open), prints
 * "queued N" once they are all in, and sleeps.  Whoever kills it checks
 * that the module lets go of everything and unloads.
 *
 *   npu_flood [-u | -f] [-j JOBS]   (-u uring_cmd, the default; -f fences)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/llmos.h>

#define ROWS 1024
#define COLS 4096
#define TOKENS 16
#define Q8_ROW (COLS / 32 * 34)

static void die(const char *what)
{
	fprintf(stderr, "npu_flood: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A buffer of size bytes filled with byte, mapped; its handle in *handle. */
static void make_buf(int fd, size_t size, unsigned char byte, __u32 *handle)
{
	struct llmos_buf_create c = { .size = size, .numa_node = LLMOS_NUMA_ANY };
	void *p;

	if (ioctl(fd, LLMOS_CMD_BUF_CREATE, &c))
		die("BUF_CREATE");
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, c.mmap_offset);
	if (p == MAP_FAILED)
		die("mmap");
	memset(p, byte, size); /* scales 0x1111 (small normal halves), values 17 */
	munmap(p, size);
	*handle = c.handle;
}

int main(int argc, char **argv)
{
	struct llmos_npu_op op = { .op = LLMOS_NPU_OP_MATMUL, .rows = ROWS, .cols = COLS,
				   .n_tokens = TOKENS };
	struct llmos_npu_submit s = { .nr_ops = 1, .op_size = sizeof(op) };
	struct io_uring ring;
	int fd, opt, jobs = 32, fences = 0, i;

	while ((opt = getopt(argc, argv, "ufj:")) != -1) {
		if (opt == 'u')
			fences = 0;
		else if (opt == 'f')
			fences = 1;
		else if (opt == 'j')
			jobs = atoi(optarg);
		else
			return 2;
	}
	if (jobs < 1 || jobs > LLMOS_NPU_MAX_QUEUED)
		return 2;
	fd = open("/dev/llmos", O_RDWR);
	if (fd < 0)
		die("/dev/llmos");
	make_buf(fd, (size_t)ROWS * Q8_ROW, 0x11, &op.weights.handle);
	make_buf(fd, (size_t)TOKENS * Q8_ROW, 0x11, &op.input.handle);
	make_buf(fd, (size_t)TOKENS * ROWS * 4, 0, &op.output.handle);
	op.weights = (struct llmos_npu_operand){ op.weights.handle, LLMOS_NPU_TYPE_Q8_0, 0, Q8_ROW };
	op.input = (struct llmos_npu_operand){ op.input.handle, LLMOS_NPU_TYPE_Q8_0, 0, Q8_ROW };
	op.output = (struct llmos_npu_operand){ op.output.handle, LLMOS_NPU_TYPE_F32, 0, ROWS * 4 };
	s.ops = (__u64)(unsigned long)&op;
	if (!fences && io_uring_queue_init(LLMOS_NPU_MAX_QUEUED, &ring, 0))
		die("io_uring_queue_init");
	for (i = 0; i < jobs; i++) {
		if (fences) {
			s.flags = LLMOS_NPU_FENCE_OUT;
			if (ioctl(fd, LLMOS_CMD_NPU_SUBMIT, &s))
				die("NPU_SUBMIT");
		} else {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			struct llmos_uring_cmd *pl = (struct llmos_uring_cmd *)sqe->cmd;

			io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
			sqe->cmd_op = LLMOS_CMD_NPU_SUBMIT;
			pl->addr = (__u64)(unsigned long)&s;
			pl->len = sizeof(s);
			pl->reserved = 0;
			if (io_uring_submit(&ring) != 1)
				die("io_uring_submit");
		}
	}
	printf("queued %d\n", jobs);
	fflush(stdout);
	for (;;)
		pause();
}
