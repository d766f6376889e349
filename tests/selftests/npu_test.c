// SPDX-License-Identifier: GPL-2.0
/*
 * npu_test.c - selftests of the accelerator job path (LLMOS_F_NPU):
 * NPU_SUBMIT's MATMUL against a userspace reference for Q8_0 and Q4_0
 * weights, operands in buffers, sealed models and imported dma-bufs, the
 * validation of every field, ioctl and io_uring submission, sync_file
 * fences, the job timeout, cancellation (signal, SIGKILL, ring exit), the
 * references a job holds, priority classes, the per-file queue limit, and
 * NPU_INFO's counters.
 *
 * Jobs that must keep the device busy are sized at run time (calibrate()):
 * one MATMUL of BIG_ROWS x BIG_COLS per token is timed once, and a "big"
 * job gets as many token-operations as take BUSY_MS, so the tests hold
 * under TCG and on fast machines alike.  Waiting is done on events (CQEs,
 * fences, pipes, waitpid); NPU_INFO is polled only for kernel work no event
 * reports (a job accepted, a queue drained, pages freed after a job).
 *
 * Children report by exit status: 0 for success, otherwise a code
 * documented at the call; they never use ASSERT_*.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/sync_file.h>
#include <linux/udmabuf.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/llmos.h>

#include "kselftest_harness.h"
#include "selftest_util.h"

#define DEV_PATH "/dev/llmos"
#define PARAM_DIR "/sys/module/llmos/parameters/"
#define TIMEOUT_PARAM PARAM_DIR "npu_timeout_ms"
#define CAP_PARAM PARAM_DIR "max_buf_mb"
#define MIB (1024ULL * 1024ULL)
#define LONG_MS 60000 /* npu_timeout_ms while a test does not exercise it */
#define EVENT_MS 5000 /* how long a small job or a kernel reaction may take under TCG */
#define WAIT_MS 60000 /* how long a big job may take */
#define BUSY_MS 1500  /* how long a big job keeps the device busy */
#define NO_CQE 1000000

#define BIG_ROWS 1024
#define BIG_COLS 4096
#define BIG_TOKENS 64
#define BIG_MAX_OPS (LLMOS_NPU_MAX_OPS - 1) /* one op left for a checked one */

#define CHILD_SETUP_FAILED 200
#define CHILD_BAD_RES 201

/* The ggml blocks the operands are made of. */
#define QK 32
struct block_q8_0 {
	uint16_t d; /* fp16 scale */
	int8_t qs[QK];
};
static_assert(sizeof(struct block_q8_0) == 34, "block_q8_0 is 34 bytes");

struct block_q4_0 {
	uint16_t d;          /* fp16 scale */
	uint8_t qs[QK / 2];  /* element j: low nibble of qs[j]; j + 16: high nibble; minus 8 */
};
static_assert(sizeof(struct block_q4_0) == 18, "block_q4_0 is 18 bytes");

static size_t block_size(__u32 type)
{
	return type == LLMOS_NPU_TYPE_Q4_0 ? sizeof(struct block_q4_0) : sizeof(struct block_q8_0);
}

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static size_t page_round(size_t n)
{
	return (n + page_size() - 1) & ~(page_size() - 1);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static float fp16_to_f32(uint16_t h)
{
	int exp = (h >> 10) & 31, man = h & 1023;
	float v;

	if (exp == 0)
		v = ldexpf((float)man, -24);
	else if (exp == 31)
		v = man ? NAN : INFINITY;
	else
		v = ldexpf((float)(man + 1024), exp - 25);
	return (h & 0x8000) ? -v : v;
}

/* xorshift64*: reproducible inputs from a logged seed. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* A random normal fp16 scale of either sign, 2^-9 .. 2^-2 in size. */
static uint16_t rnd_scale(uint64_t *s)
{
	uint64_t r = rnd(s);

	return (uint16_t)(((r >> 20) & 1) << 15 | (6 + r % 8) << 10 | ((r >> 8) & 1023));
}

/* ---- commands: 0 or -errno ---- */

static int npu_info(int fd, struct llmos_npu_info *ni)
{
	memset(ni, 0, sizeof(*ni));
	return do_ioctl(fd, LLMOS_CMD_NPU_INFO, ni);
}

static void init_submit(struct llmos_npu_submit *sub, const struct llmos_npu_op *ops, __u32 n,
			__u32 flags, __u32 job)
{
	memset(sub, 0, sizeof(*sub));
	sub->ops = (__u64)(uintptr_t)ops;
	sub->nr_ops = n;
	sub->op_size = sizeof(*ops);
	sub->flags = flags;
	sub->job = job;
}

/* NPU_SUBMIT as an ioctl; *out (if given) gets the struct as written back. */
static int npu_submit(int fd, const struct llmos_npu_op *ops, __u32 n, __u32 flags, __u32 job,
		      struct llmos_npu_submit *out)
{
	struct llmos_npu_submit sub;
	int ret;

	init_submit(&sub, ops, n, flags, job);
	ret = do_ioctl(fd, LLMOS_CMD_NPU_SUBMIT, &sub);
	if (out)
		*out = sub;
	return ret;
}

/* An NPU_SUBMIT uring_cmd for @sub (which must live until its CQE). */
static void prep_npu(struct io_uring_sqe *sqe, int fd, struct llmos_npu_submit *sub, __u64 ud)
{
	struct llmos_uring_cmd *pl;

	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = LLMOS_CMD_NPU_SUBMIT;
	pl = (struct llmos_uring_cmd *)sqe->cmd;
	pl->addr = (__u64)(uintptr_t)sub;
	pl->len = sizeof(*sub);
	pl->reserved = 0;
	io_uring_sqe_set_data64(sqe, ud);
}

/* The next CQE within @ms: its res and *ud; NO_CQE if none came. */
static int wait_cqe_ms(struct io_uring *ring, int ms, __u64 *ud)
{
	struct __kernel_timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	struct io_uring_cqe *cqe;
	int res;

	if (io_uring_wait_cqe_timeout(ring, &cqe, &ts))
		return NO_CQE;
	res = cqe->res;
	if (ud)
		*ud = io_uring_cqe_get_data64(cqe);
	io_uring_cqe_seen(ring, cqe);
	return res;
}

static int handle_close(int fd, __u32 handle)
{
	return m_handle_cmd(fd, LLMOS_CMD_HANDLE_CLOSE, handle);
}

static int buf_export(int fd, __u32 handle, int *dmafd)
{
	struct llmos_buf_export e;
	int ret;

	memset(&e, 0, sizeof(e));
	e.handle = handle;
	e.flags = LLMOS_EXPORT_CLOEXEC;
	ret = do_ioctl(fd, LLMOS_CMD_BUF_EXPORT, &e);
	if (!ret)
		*dmafd = e.fd;
	return ret;
}

static int buf_import(int fd, int dmafd, __u32 *handle)
{
	struct llmos_buf_import im;
	int ret;

	memset(&im, 0, sizeof(im));
	im.fd = dmafd;
	ret = do_ioctl(fd, LLMOS_CMD_BUF_IMPORT, &im);
	if (!ret)
		*handle = im.handle;
	return ret;
}

/*
 * Poll NPU_INFO (every millisecond, at most @ms) until pred() holds, for
 * kernel work no event reports.  1 if it held, 0 if not; *ni: the last one.
 */
static int await_info(int fd, int ms, int (*pred)(const struct llmos_npu_info *, long long),
		      long long arg, struct llmos_npu_info *ni)
{
	double end = now_ms() + ms;

	for (;;) {
		if (npu_info(fd, ni))
			return 0;
		if (pred(ni, arg))
			return 1;
		if (now_ms() > end)
			return 0;
		usleep(1000);
	}
}

static int idle_pred(const struct llmos_npu_info *ni, long long arg)
{
	(void)arg;
	return !ni->queued && !ni->running;
}

static int submitted_pred(const struct llmos_npu_info *ni, long long arg)
{
	return ni->submitted >= (__u64)arg;
}

static int buf_bytes_pred(const struct llmos_npu_info *ni, long long arg)
{
	return ni->buf_bytes == (__u64)arg;
}

/* ---- buffers on the device ---- */

struct dbuf {
	__u32 handle;         /* 0: none */
	size_t size;          /* bytes, whole pages */
	unsigned char *map;   /* NULL: not mapped */
};

static int dbuf_new(int fd, size_t size, struct dbuf *b)
{
	struct llmos_buf_create c;
	void *p;
	int ret;

	memset(b, 0, sizeof(*b));
	memset(&c, 0, sizeof(c));
	c.size = page_round(size);
	c.numa_node = LLMOS_NUMA_ANY;
	ret = do_ioctl(fd, LLMOS_CMD_BUF_CREATE, &c);
	if (ret)
		return ret;
	b->handle = c.handle;
	b->size = c.size;
	p = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)c.mmap_offset);
	if (p == MAP_FAILED) {
		ret = -errno;
		handle_close(fd, b->handle);
		b->handle = 0;
		return ret;
	}
	b->map = p;
	return 0;
}

static void dbuf_unmap(struct dbuf *b)
{
	if (b->map)
		munmap(b->map, b->size);
	b->map = NULL;
}

static void dbuf_free(int fd, struct dbuf *b)
{
	dbuf_unmap(b);
	if (b->handle)
		handle_close(fd, b->handle);
	b->handle = 0;
}

/* ---- a MATMUL with its reference ---- */

/* Shape and layout: offsets before row 0, and bytes added to each stride. */
struct mm_shape {
	__u32 wtype, rows, cols, n_tokens;
	__u64 w_off, x_off, o_off;
	__u64 w_pad, x_pad, o_pad;
};

struct mm {
	struct mm_shape s;
	size_t w_row, x_row, o_row;        /* bytes of one row / token */
	__u64 w_stride, x_stride, o_stride;
	size_t w_end, x_end, o_end;        /* where each operand's last row ends */
	unsigned char *w, *x;              /* images of the operands: w_end, x_end bytes */
	float *ref;                        /* (n_tokens, rows) */
	float *tol;                        /* (n_tokens, rows): allowed error */
};

/* A weights row (Q8_0 or Q4_0) dotted with a Q8_0 token: the reference sum and its error bound. */
static void mm_dot(const struct mm *m, const unsigned char *wr, const unsigned char *xr,
		   float *sum, float *tol)
{
	size_t bw = block_size(m->s.wtype);
	struct block_q8_0 xb;
	float acc = 0.0f;
	double mag = 0.0;
	__u32 b;
	int j;

	for (b = 0; b < m->s.cols / QK; b++) {
		int32_t isum = 0, iabs = 0;
		uint16_t wd;
		float term, d;

		memcpy(&xb, xr + b * sizeof(xb), sizeof(xb));
		if (m->s.wtype == LLMOS_NPU_TYPE_Q8_0) {
			struct block_q8_0 wb;

			memcpy(&wb, wr + b * bw, sizeof(wb));
			wd = wb.d;
			for (j = 0; j < QK; j++) {
				isum += (int32_t)wb.qs[j] * xb.qs[j];
				iabs += abs((int32_t)wb.qs[j] * xb.qs[j]);
			}
		} else {
			struct block_q4_0 wb;

			memcpy(&wb, wr + b * bw, sizeof(wb));
			wd = wb.d;
			for (j = 0; j < QK / 2; j++) {
				int lo = ((wb.qs[j] & 15) - 8) * (int32_t)xb.qs[j];
				int hi = ((wb.qs[j] >> 4) - 8) * (int32_t)xb.qs[j + QK / 2];

				isum += lo + hi;
				iabs += abs(lo) + abs(hi);
			}
		}
		d = fp16_to_f32(wd) * fp16_to_f32(xb.d);
		term = (float)isum * d;
		acc += term;
		mag += fabs(d) * iabs;
	}
	*sum = acc;
	/*
	 * A kernel may split each block's integer sum into partial sums (the
	 * vnpu, like llama.cpp's AVX2 path, scales eight sums of four) and add
	 * the scaled parts in any fixed order: every such float sum of at most
	 * 64 x 8 parts lands within this of the exact one.
	 */
	*tol = (float)(1e-5 * mag);
}

/* Random operands of shape @s (gaps filled with junk), and their reference. */
static int mm_init(struct mm *m, const struct mm_shape *s, uint64_t *seed)
{
	size_t bw = block_size(s->wtype), i;
	__u32 r, t, b;

	memset(m, 0, sizeof(*m));
	m->s = *s;
	m->w_row = s->cols / QK * bw;
	m->x_row = s->cols / QK * sizeof(struct block_q8_0);
	m->o_row = (size_t)s->rows * 4;
	m->w_stride = m->w_row + s->w_pad;
	m->x_stride = m->x_row + s->x_pad;
	m->o_stride = m->o_row + s->o_pad;
	m->w_end = s->w_off + (s->rows - 1) * m->w_stride + m->w_row;
	m->x_end = s->x_off + (s->n_tokens - 1) * m->x_stride + m->x_row;
	m->o_end = s->o_off + (s->n_tokens - 1) * m->o_stride + m->o_row;
	m->w = malloc(m->w_end);
	m->x = malloc(m->x_end);
	m->ref = calloc((size_t)s->rows * s->n_tokens, sizeof(float));
	m->tol = calloc((size_t)s->rows * s->n_tokens, sizeof(float));
	if (!m->w || !m->x || !m->ref || !m->tol)
		return -ENOMEM;
	for (i = 0; i < m->w_end; i++)
		m->w[i] = (unsigned char)rnd(seed);
	for (i = 0; i < m->x_end; i++)
		m->x[i] = (unsigned char)rnd(seed);
	/* Scales: random normal fp16 values (the junk around them stays junk). */
	for (r = 0; r < s->rows; r++)
		for (b = 0; b < s->cols / QK; b++) {
			uint16_t d = rnd_scale(seed);

			memcpy(m->w + s->w_off + r * m->w_stride + b * bw, &d, 2);
		}
	for (t = 0; t < s->n_tokens; t++)
		for (b = 0; b < s->cols / QK; b++) {
			uint16_t d = rnd_scale(seed);

			memcpy(m->x + s->x_off + t * m->x_stride + b * sizeof(struct block_q8_0), &d, 2);
		}
	for (t = 0; t < s->n_tokens; t++)
		for (r = 0; r < s->rows; r++)
			mm_dot(m, m->w + s->w_off + r * m->w_stride, m->x + s->x_off + t * m->x_stride,
			       &m->ref[(size_t)t * s->rows + r], &m->tol[(size_t)t * s->rows + r]);
	return 0;
}

static void mm_free(struct mm *m)
{
	free(m->w);
	free(m->x);
	free(m->ref);
	free(m->tol);
	memset(m, 0, sizeof(*m));
}

/* The op for @m with its operands in handles @w, @x, @o. */
static void mm_op(const struct mm *m, __u32 w, __u32 x, __u32 o, struct llmos_npu_op *op)
{
	memset(op, 0, sizeof(*op));
	op->op = LLMOS_NPU_OP_MATMUL;
	op->rows = m->s.rows;
	op->cols = m->s.cols;
	op->n_tokens = m->s.n_tokens;
	op->weights = (struct llmos_npu_operand){ w, m->s.wtype, m->s.w_off, m->w_stride };
	op->input = (struct llmos_npu_operand){ x, LLMOS_NPU_TYPE_Q8_0, m->s.x_off, m->x_stride };
	op->output = (struct llmos_npu_operand){ o, LLMOS_NPU_TYPE_F32, m->s.o_off, m->o_stride };
}

#define SENTINEL 0xff /* output bytes before a job: 0xffffffff is a NaN */

/*
 * Compare the output region @o (the whole buffer, @o_size bytes) with the
 * reference, and check that nothing outside the output elements changed.
 * The number of wrong values or bytes (the first few are printed).
 */
static int mm_check(const struct mm *m, const unsigned char *o, size_t o_size)
{
	size_t i, k, bad = 0, elem;
	__u32 t, r;
	float got;

	for (t = 0; t < m->s.n_tokens; t++)
		for (r = 0; r < m->s.rows; r++) {
			k = (size_t)t * m->s.rows + r;
			memcpy(&got, o + m->s.o_off + t * m->o_stride + r * 4, 4);
			if (isfinite(got) && fabsf(got - m->ref[k]) <= m->tol[k])
				continue;
			if (bad++ < 5)
				fprintf(stderr, "#   token %u row %u: got %.9g, want %.9g (+-%.3g)\n", t,
					r, got, m->ref[k], m->tol[k]);
		}
	for (i = 0; i < o_size; i++) {
		if (i >= m->s.o_off && i < m->o_end) {
			elem = (i - m->s.o_off) % m->o_stride;
			if (elem < m->o_row)
				continue;
		}
		if (o[i] != SENTINEL && bad++ < 5)
			fprintf(stderr, "#   output byte %zu outside the result changed to %#x\n", i, o[i]);
	}
	if (bad)
		fprintf(stderr, "#   %zu wrong (%u x %u x %u, weights type %u)\n", bad, m->s.rows,
			m->s.cols, m->s.n_tokens, m->s.wtype);
	return (int)bad;
}

/* Operands of @m in three new buffers of @fd: weights, input, output (all sentinel). */
struct mm_dev {
	struct dbuf w, x, o;
};

static int mm_dev_new(int fd, const struct mm *m, struct mm_dev *d)
{
	int ret;

	memset(d, 0, sizeof(*d));
	ret = dbuf_new(fd, m->w_end, &d->w);
	if (!ret)
		ret = dbuf_new(fd, m->x_end, &d->x);
	if (!ret)
		ret = dbuf_new(fd, m->o_end, &d->o);
	if (ret)
		return ret;
	memcpy(d->w.map, m->w, m->w_end);
	memcpy(d->x.map, m->x, m->x_end);
	memset(d->o.map, SENTINEL, d->o.size);
	return 0;
}

static void mm_dev_free(int fd, struct mm_dev *d)
{
	dbuf_free(fd, &d->w);
	dbuf_free(fd, &d->x);
	dbuf_free(fd, &d->o);
}

/* Build @s, run it through the ioctl path, check it: the number of wrong values, or -errno. */
static int run_checked(int fd, const struct mm_shape *s, uint64_t *seed)
{
	struct llmos_npu_op op;
	struct mm_dev d;
	struct mm m;
	int ret;

	ret = mm_init(&m, s, seed);
	if (!ret)
		ret = mm_dev_new(fd, &m, &d);
	if (!ret) {
		mm_op(&m, d.w.handle, d.x.handle, d.o.handle, &op);
		ret = npu_submit(fd, &op, 1, 0, 0, NULL);
		if (!ret)
			ret = mm_check(&m, d.o.map, d.o.size);
		mm_dev_free(fd, &d);
	}
	mm_free(&m);
	return ret;
}

/* Shapes over the spec's range: rows 1..67, cols 32..2048, tokens 1..9, packed and padded. */
#define Q8 LLMOS_NPU_TYPE_Q8_0
static const struct mm_shape shapes[] = {
	{ Q8, 1, 32, 1, 0, 0, 0, 0, 0, 0 },
	{ Q8, 2, 64, 2, 0, 0, 0, 0, 0, 0 },
	{ Q8, 67, 2048, 9, 0, 0, 0, 0, 0, 0 },
	{ Q8, 3, 2048, 1, 4160, 100, 12, 36, 4, 20 },
	{ Q8, 67, 32, 9, 64, 64, 64, 64, 64, 64 },
	{ Q8, 16, 256, 4, 4096, 8192, 4096, 4096, 2, 4096 },
	{ Q8, 31, 1024, 3, 2, 34, 4, 34, 34, 4 },
	{ Q8, 64, 512, 8, 0, 0, 0, 340, 0, 0 },
	{ Q8, 5, 96, 7, 18, 68, 8, 18, 68, 8 },
	{ Q8, 1, 2016, 9, 34, 2, 4, 0, 340, 0 },
	{ Q8, 40, 160, 5, 1000, 2000, 3000, 10, 20, 40 },
};

/* A small job that is quick anywhere. */
static const struct mm_shape small_shape = {
	.wtype = LLMOS_NPU_TYPE_Q8_0, .rows = 8, .cols = 64, .n_tokens = 2,
};

/* ---- big jobs: keep the device busy for about BUSY_MS ---- */

struct big {
	struct dbuf w, x, o;
	struct llmos_npu_op ops[LLMOS_NPU_MAX_OPS];
	__u32 nr_ops;
	__u32 tokops; /* token-operations: sum over ops of n_tokens */
};

/* Buffers for big jobs (non-zero data: nothing can be skipped). */
static int big_new(int fd, struct big *b)
{
	size_t wsize = (size_t)BIG_ROWS * BIG_COLS / QK * sizeof(struct block_q8_0);
	size_t xsize = (size_t)BIG_TOKENS * BIG_COLS / QK * sizeof(struct block_q8_0);
	int ret;

	memset(b, 0, sizeof(*b));
	ret = dbuf_new(fd, wsize, &b->w);
	if (!ret)
		ret = dbuf_new(fd, xsize, &b->x);
	if (!ret)
		ret = dbuf_new(fd, (size_t)BIG_TOKENS * BIG_ROWS * 4, &b->o);
	if (ret)
		return ret;
	memset(b->w.map, 0x11, b->w.size);
	memset(b->x.map, 0x11, b->x.size);
	return 0;
}

/* Make the job @tokops token-operations long, in at least @min_ops ops. */
static void big_set(struct big *b, __u32 tokops, __u32 min_ops)
{
	__u32 n_ops, tokens, i;

	if (tokops > BIG_MAX_OPS * BIG_TOKENS)
		tokops = BIG_MAX_OPS * BIG_TOKENS;
	n_ops = (tokops + BIG_TOKENS - 1) / BIG_TOKENS;
	if (n_ops < min_ops)
		n_ops = min_ops;
	if (n_ops > BIG_MAX_OPS)
		n_ops = BIG_MAX_OPS;
	tokens = (tokops + n_ops - 1) / n_ops;
	if (tokens < 1)
		tokens = 1;
	if (tokens > BIG_TOKENS)
		tokens = BIG_TOKENS;
	for (i = 0; i < n_ops; i++) {
		struct llmos_npu_op *op = &b->ops[i];

		memset(op, 0, sizeof(*op));
		op->op = LLMOS_NPU_OP_MATMUL;
		op->rows = BIG_ROWS;
		op->cols = BIG_COLS;
		op->n_tokens = tokens;
		op->weights = (struct llmos_npu_operand){ b->w.handle, LLMOS_NPU_TYPE_Q8_0, 0,
							  BIG_COLS / QK * sizeof(struct block_q8_0) };
		op->input = (struct llmos_npu_operand){ b->x.handle, LLMOS_NPU_TYPE_Q8_0, 0,
							BIG_COLS / QK * sizeof(struct block_q8_0) };
		op->output = (struct llmos_npu_operand){ b->o.handle, LLMOS_NPU_TYPE_F32, 0,
							 BIG_ROWS * 4 };
	}
	b->nr_ops = n_ops;
	b->tokops = n_ops * tokens;
}

static void big_free(int fd, struct big *b)
{
	dbuf_free(fd, &b->w);
	dbuf_free(fd, &b->x);
	dbuf_free(fd, &b->o);
}

/* Milliseconds one token-operation of a big job takes (timed on @b), or < 0. */
static double calibrate(int fd, struct big *b)
{
	double t0, ms = -1;
	int i;

	/* The first run warms up; the second is the measure. */
	for (i = 0; i < 2; i++) {
		big_set(b, 2, 1);
		t0 = now_ms();
		if (npu_submit(fd, b->ops, b->nr_ops, 0, 0, NULL))
			return -1;
		ms = (now_ms() - t0) / b->tokops;
	}
	return ms;
}

/* Token-operations that take about @ms. */
static __u32 tokops_for(double ms_per_tokop, double ms)
{
	double n = ms / (ms_per_tokop > 0.001 ? ms_per_tokop : 0.001);

	return n < 1 ? 1 : n > BIG_MAX_OPS * BIG_TOKENS ? BIG_MAX_OPS * BIG_TOKENS : (__u32)n;
}

/* ---- fences ---- */

/* The sync_file's status (1 signalled, 0 active, < 0 error), or -1000 - errno. */
static int fence_status(int fence)
{
	struct sync_file_info info;

	memset(&info, 0, sizeof(info));
	if (ioctl(fence, SYNC_IOC_FILE_INFO, &info))
		return -1000 - errno;
	return info.status;
}

/* 1 when @fence is readable within @ms, 0 if not, -errno. */
static int fence_wait(int fence, int ms)
{
	struct pollfd p = { .fd = fence, .events = POLLIN };
	int ret = poll(&p, 1, ms);

	if (ret < 0)
		return -errno;
	return ret == 1 && (p.revents & POLLIN);
}

/* The lowest free fd number: unchanged means no fd was leaked. */
static int lowest_free_fd(void)
{
	int fd = dup(0);

	if (fd >= 0)
		close(fd);
	return fd;
}

/* ---- fixture ---- */

FIXTURE(npu)
{
	int fd;
	long long saved_timeout; /* -1: not changed */
	long long saved_cap;     /* -1: not changed */
};

FIXTURE_SETUP(npu)
{
	struct llmos_npu_info ni;
	struct llmos_info info;
	long long cap;

	self->saved_timeout = -1;
	self->saved_cap = -1;
	self->fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", DEV_PATH, strerror(errno));
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, ioctl(self->fd, LLMOS_CMD_GET_INFO, &info));
	if (!(info.features & LLMOS_F_NPU))
		SKIP(return, "LLMOS_F_NPU not advertised");
	if (geteuid())
		SKIP(return, "needs root (module parameters)");
	self->saved_timeout = read_ll(TIMEOUT_PARAM);
	ASSERT_LE(0, self->saved_timeout) TH_LOG("cannot read %s", TIMEOUT_PARAM);
	ASSERT_EQ(0, write_ll(TIMEOUT_PARAM, LONG_MS));
	/* Room for big jobs in two processes. */
	ASSERT_EQ(0, npu_info(self->fd, &ni));
	if (ni.buf_cap_bytes < 128 * MIB) {
		cap = read_ll(CAP_PARAM);
		ASSERT_LE(0, cap);
		ASSERT_EQ(0, write_ll(CAP_PARAM, 256));
		self->saved_cap = cap;
	}
	/* Whatever an earlier test left running is over. */
	ASSERT_EQ(1, await_info(self->fd, WAIT_MS, idle_pred, 0, &ni))
		TH_LOG("device still busy: %u queued, %u running", ni.queued, ni.running);
}

FIXTURE_TEARDOWN(npu)
{
	if (self->saved_timeout >= 0)
		write_ll(TIMEOUT_PARAM, self->saved_timeout);
	if (self->saved_cap >= 0)
		write_ll(CAP_PARAM, self->saved_cap);
	close(self->fd);
}

/* ===================================================================== */

TEST_F(npu, info_reports_vnpu)
{
	struct llmos_npu_info ni;
	struct llmos_info info;
	int i;

	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, ioctl(self->fd, LLMOS_CMD_GET_INFO, &info));
	EXPECT_NE(0ULL, info.features & LLMOS_F_BUFFERS);
	ASSERT_EQ(0, npu_info(self->fd, &ni));
	EXPECT_EQ(1U, ni.present);
	EXPECT_STREQ("vnpu", (const char *)ni.name);
	EXPECT_NE(0ULL, ni.types & (1ULL << LLMOS_NPU_TYPE_Q4_0));
	EXPECT_NE(0ULL, ni.types & (1ULL << LLMOS_NPU_TYPE_Q8_0));
	/* F32 weights are refused, so not advertised. */
	EXPECT_EQ(0ULL, ni.types & (1ULL << LLMOS_NPU_TYPE_F32));
	EXPECT_EQ((__u32)LONG_MS, ni.timeout_ms);
	EXPECT_EQ(0U, ni.queued);
	EXPECT_EQ(0U, ni.running);
	EXPECT_LE(ni.buf_bytes, ni.buf_cap_bytes);
	if (read_ll(CAP_PARAM) > 0)
		EXPECT_EQ((__u64)read_ll(CAP_PARAM) * MIB, ni.buf_cap_bytes);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0ULL, ni.reserved[i]);
	/* in: flags and reserved must be zero. */
	memset(&ni, 0, sizeof(ni));
	ni.flags = 1;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_NPU_INFO, &ni));
	for (i = 0; i < 4; i++) {
		memset(&ni, 0, sizeof(ni));
		ni.reserved[i] = 1;
		EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_NPU_INFO, &ni)) TH_LOG("reserved[%d]", i);
	}
}

/*
 * A job moves submitted and completed by one, nothing else.  busy_ns grows,
 * by no more than the time that passed (jobs run for at least 200 ms: a
 * short one may round to nothing on a coarse clock).
 */
TEST_F(npu, info_counters_follow_a_job)
{
	struct llmos_npu_info a, b;
	uint64_t seed = 1;
	double t0, wall;
	int n = 1;

	ASSERT_EQ(0, npu_info(self->fd, &a));
	t0 = now_ms();
	ASSERT_EQ(0, run_checked(self->fd, &small_shape, &seed));
	ASSERT_EQ(0, npu_info(self->fd, &b));
	EXPECT_EQ(a.submitted + 1, b.submitted);
	EXPECT_EQ(a.completed + 1, b.completed);
	EXPECT_EQ(a.failed, b.failed);
	EXPECT_EQ(a.timedout, b.timedout);
	EXPECT_EQ(a.cancelled, b.cancelled);
	EXPECT_EQ(0U, b.queued);
	EXPECT_EQ(0U, b.running);
	EXPECT_LE(1U, b.max_queued);
	while (now_ms() - t0 < 200 && n < 100) {
		ASSERT_EQ(0, run_checked(self->fd, &shapes[2], &seed));
		n++;
	}
	wall = now_ms() - t0;
	ASSERT_EQ(0, npu_info(self->fd, &b));
	EXPECT_EQ(a.completed + n, b.completed);
	TH_LOG("%d jobs: busy %.1f ms in %.1f ms", n, (b.busy_ns - a.busy_ns) / 1e6, wall);
	EXPECT_LT(a.busy_ns, b.busy_ns);
	EXPECT_GE(wall * 1e6 + 1e7, (double)(b.busy_ns - a.busy_ns));
}


static void run_shapes(struct __test_metadata *_metadata, int fd, __u32 wtype, uint64_t seed)
{
	struct mm_shape s;
	unsigned int i;

	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		s = shapes[i];
		s.wtype = wtype;
		EXPECT_EQ(0, run_checked(fd, &s, &seed))
			TH_LOG("shape %u: %u x %u x %u", i, s.rows, s.cols, s.n_tokens);
	}
}

TEST_F_TIMEOUT(npu, matmul_q8_0_matches_reference, 120)
{
	run_shapes(_metadata, self->fd, LLMOS_NPU_TYPE_Q8_0, 0x8008);
}

TEST_F_TIMEOUT(npu, matmul_q4_0_matches_reference, 120)
{
	run_shapes(_metadata, self->fd, LLMOS_NPU_TYPE_Q4_0, 0x4004);
}

/* Offsets and strides with no alignment at all (the output's stay multiples of 4). */
TEST_F_TIMEOUT(npu, matmul_accepts_unaligned_operands, 120)
{
	const struct mm_shape odd[] = {
		{ LLMOS_NPU_TYPE_Q8_0, 7, 96, 3, 3, 7, 4, 1, 3, 4 },
		{ LLMOS_NPU_TYPE_Q4_0, 7, 96, 3, 1, 5, 8, 3, 1, 8 },
		{ LLMOS_NPU_TYPE_Q4_0, 33, 1024, 5, 4095, 4097, 4092, 5, 7, 12 },
	};
	uint64_t seed = 0x0dd;
	unsigned int i;

	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		EXPECT_EQ(0, run_checked(self->fd, &odd[i], &seed)) TH_LOG("case %u", i);
}

TEST_F_TIMEOUT(npu, matmul_random_shapes_and_layouts, 120)
{
	uint64_t seed = (uint64_t)time(NULL) | 1;
	struct mm_shape s;
	int i;

	TH_LOG("seed %#llx", (unsigned long long)seed);
	for (i = 0; i < 16; i++) {
		memset(&s, 0, sizeof(s));
		s.wtype = rnd(&seed) & 1 ? LLMOS_NPU_TYPE_Q4_0 : LLMOS_NPU_TYPE_Q8_0;
		s.rows = 1 + rnd(&seed) % 67;
		s.cols = QK * (1 + rnd(&seed) % 64);
		s.n_tokens = 1 + rnd(&seed) % 9;
		s.w_off = rnd(&seed) % 5000;
		s.x_off = rnd(&seed) % 5000;
		s.o_off = 4 * (rnd(&seed) % 1000);
		s.w_pad = rnd(&seed) % 100;
		s.x_pad = rnd(&seed) % 100;
		s.o_pad = 4 * (rnd(&seed) % 30);
		EXPECT_EQ(0, run_checked(self->fd, &s, &seed))
			TH_LOG("case %d: type %u, %u x %u x %u", i, s.wtype, s.rows, s.cols, s.n_tokens);
	}
}

/*
 * All operands of three ops in one buffer at disjoint offsets; ops 0 and 2
 * write the same output: op 2's result is what remains (ops run in order).
 */
TEST_F(npu, ops_of_a_job_run_in_order)
{
	const struct mm_shape s0 = { LLMOS_NPU_TYPE_Q8_0, 9, 128, 3, 0, 0, 0, 0, 0, 0 };
	const struct mm_shape s1 = { LLMOS_NPU_TYPE_Q4_0, 5, 64, 2, 0, 0, 0, 0, 0, 0 };
	struct llmos_npu_op ops[3];
	struct mm m0, m1, m2;
	size_t at_w0, at_w1, at_w2, at_x0, at_x1, at_o0, at_o1, end;
	uint64_t seed = 3;
	struct dbuf b;
	__u32 t, r;

	ASSERT_EQ(0, mm_init(&m0, &s0, &seed));
	ASSERT_EQ(0, mm_init(&m1, &s1, &seed));
	ASSERT_EQ(0, mm_init(&m2, &s0, &seed));
	/* m2 reads m0's input: its reference is redone for that input. */
	memcpy(m2.x, m0.x, m0.x_end);
	for (t = 0; t < s0.n_tokens; t++)
		for (r = 0; r < s0.rows; r++)
			mm_dot(&m2, m2.w + r * m2.w_stride, m2.x + t * m2.x_stride,
			       &m2.ref[t * s0.rows + r], &m2.tol[t * s0.rows + r]);
	at_w0 = 0;
	at_w1 = at_w0 + m0.w_end;
	at_w2 = at_w1 + m1.w_end;
	at_x0 = at_w2 + m2.w_end;
	at_x1 = at_x0 + m0.x_end;
	at_o0 = (at_x1 + m1.x_end + 3) & ~(size_t)3;
	at_o1 = at_o0 + m0.o_end;
	end = at_o1 + m1.o_end;
	ASSERT_EQ(0, dbuf_new(self->fd, end, &b));
	memcpy(b.map + at_w0, m0.w, m0.w_end);
	memcpy(b.map + at_w1, m1.w, m1.w_end);
	memcpy(b.map + at_w2, m2.w, m2.w_end);
	memcpy(b.map + at_x0, m0.x, m0.x_end);
	memcpy(b.map + at_x1, m1.x, m1.x_end);
	memset(b.map + at_o0, SENTINEL, end - at_o0);
	mm_op(&m0, b.handle, b.handle, b.handle, &ops[0]);
	ops[0].weights.offset = at_w0;
	ops[0].input.offset = at_x0;
	ops[0].output.offset = at_o0;
	mm_op(&m1, b.handle, b.handle, b.handle, &ops[1]);
	ops[1].weights.offset = at_w1;
	ops[1].input.offset = at_x1;
	ops[1].output.offset = at_o1;
	ops[2] = ops[0];
	ops[2].weights.offset = at_w2;
	ASSERT_EQ(0, npu_submit(self->fd, ops, 3, 0, 0, NULL));
	EXPECT_EQ(0, mm_check(&m2, b.map + at_o0, m0.o_end));
	EXPECT_EQ(0, mm_check(&m1, b.map + at_o1, m1.o_end));
	dbuf_free(self->fd, &b);
	mm_free(&m0);
	mm_free(&m1);
	mm_free(&m2);
}

/* An operand may end at the buffer's last byte, and not one byte later. */
TEST_F(npu, operand_may_end_at_the_last_byte)
{
	struct mm_shape s = { LLMOS_NPU_TYPE_Q8_0, 4, 64, 2, 0, 0, 0, 0, 0, 0 };
	struct llmos_npu_op op;
	struct mm_dev d;
	uint64_t seed = 5;
	struct mm m;

	ASSERT_EQ(0, mm_init(&m, &s, &seed));
	ASSERT_EQ(0, mm_dev_new(self->fd, &m, &d));
	/* Move every operand to the end of its buffer. */
	mm_op(&m, d.w.handle, d.x.handle, d.o.handle, &op);
	op.weights.offset = d.w.size - m.w_end;
	op.input.offset = d.x.size - m.x_end;
	op.output.offset = d.o.size - m.o_end;
	memcpy(d.w.map + op.weights.offset, m.w, m.w_end);
	memcpy(d.x.map + op.input.offset, m.x, m.x_end);
	m.s.o_off = op.output.offset;
	m.o_end += op.output.offset;
	ASSERT_EQ(0, npu_submit(self->fd, &op, 1, 0, 0, NULL));
	EXPECT_EQ(0, mm_check(&m, d.o.map, d.o.size));
	op.weights.offset++;
	EXPECT_EQ(-EINVAL, npu_submit(self->fd, &op, 1, 0, 0, NULL));
	op.weights.offset--;
	op.input.offset++;
	EXPECT_EQ(-EINVAL, npu_submit(self->fd, &op, 1, 0, 0, NULL));
	op.input.offset--;
	op.output.offset += 4;
	EXPECT_EQ(-EINVAL, npu_submit(self->fd, &op, 1, 0, 0, NULL));
	mm_dev_free(self->fd, &d);
	mm_free(&m);
}

/* ---- validation ---- */

/* One bad field each; every case is refused with -EINVAL. */
enum bad_op {
	BAD_OP_ZERO, BAD_OP_UNKNOWN, BAD_OP_FLAGS, BAD_OP_RESERVED0, BAD_OP_RESERVED_0,
	BAD_OP_RESERVED_1, BAD_INPUT_Q4_0, BAD_INPUT_F32, BAD_WEIGHTS_F32, BAD_WEIGHTS_TYPE_1,
	BAD_WEIGHTS_TYPE_HUGE, BAD_OUTPUT_Q8_0, BAD_COLS_48, BAD_COLS_33, BAD_COLS_HUGE,
	BAD_ROWS_HUGE, BAD_TOKENS_HUGE, BAD_W_OFFSET_PAST_END, BAD_W_OFFSET_MAX, BAD_W_OFFSET_WRAP,
	BAD_W_STRIDE_SHORT, BAD_W_STRIDE_ZERO, BAD_W_STRIDE_WRAP, BAD_X_OFFSET_PAST_END,
	BAD_X_OFFSET_MAX, BAD_X_STRIDE_SHORT, BAD_X_STRIDE_WRAP, BAD_O_OFFSET_PAST_END,
	BAD_O_OFFSET_MAX, BAD_O_OFFSET_UNALIGNED, BAD_O_STRIDE_UNALIGNED, BAD_O_STRIDE_SHORT,
	BAD_O_STRIDE_WRAP, BAD_W_HANDLE_UNKNOWN, BAD_X_HANDLE_ZERO, BAD_O_HANDLE_UNKNOWN,
	NR_BAD_OPS
};

static const char *const bad_op_name[NR_BAD_OPS] = {
	"op 0", "op 2", "op flags", "op reserved0", "op reserved[0]", "op reserved[1]",
	"input Q4_0", "input F32", "weights F32", "weights type 1", "weights type 0x80000002",
	"output Q8_0", "cols 48", "cols 33", "cols 0xffffffe0", "rows 0xffffffff",
	"n_tokens 0xffffffff", "weights one byte past the end", "weights offset ~0",
	"weights offset wrapping", "weights stride < row", "weights stride 0",
	"weights stride wrapping", "input one byte past the end", "input offset ~0",
	"input stride < row", "input stride wrapping", "output 4 bytes past the end",
	"output offset ~0 - 3", "output offset 2", "output stride not a multiple of 4",
	"output stride < row", "output stride wrapping", "weights handle unknown",
	"input handle 0", "output handle unknown",
};

/* Make @op (valid, rows 4, tokens 2, in buffers of @bufsize bytes) bad in one way. */
static void make_bad(struct llmos_npu_op *op, enum bad_op which, __u64 bufsize)
{
	__u64 w_end = op->weights.offset + (op->rows - 1) * op->weights.stride +
		      op->cols / QK * block_size(op->weights.type);
	__u64 x_end = op->input.offset + (op->n_tokens - 1) * op->input.stride +
		      op->cols / QK * sizeof(struct block_q8_0);
	__u64 o_end = op->output.offset + (op->n_tokens - 1) * op->output.stride + op->rows * 4;

	switch (which) {
	case BAD_OP_ZERO: op->op = 0; break;
	case BAD_OP_UNKNOWN: op->op = 2; break;
	case BAD_OP_FLAGS: op->flags = 1; break;
	case BAD_OP_RESERVED0: op->reserved0 = 1; break;
	case BAD_OP_RESERVED_0: op->reserved[0] = 1; break;
	case BAD_OP_RESERVED_1: op->reserved[1] = 1; break;
	case BAD_INPUT_Q4_0: op->input.type = LLMOS_NPU_TYPE_Q4_0; break;
	case BAD_INPUT_F32: op->input.type = LLMOS_NPU_TYPE_F32; break;
	case BAD_WEIGHTS_F32: op->weights.type = LLMOS_NPU_TYPE_F32; break;
	case BAD_WEIGHTS_TYPE_1: op->weights.type = 1; break;
	case BAD_WEIGHTS_TYPE_HUGE: op->weights.type = 0x80000002u; break;
	case BAD_OUTPUT_Q8_0: op->output.type = LLMOS_NPU_TYPE_Q8_0; break;
	case BAD_COLS_48: op->cols = 48; break;
	case BAD_COLS_33: op->cols = 33; break;
	case BAD_COLS_HUGE: op->cols = 0xffffffe0u; break;
	case BAD_ROWS_HUGE: op->rows = 0xffffffffu; break;
	case BAD_TOKENS_HUGE: op->n_tokens = 0xffffffffu; break;
	case BAD_W_OFFSET_PAST_END: op->weights.offset += bufsize - w_end + 1; break;
	case BAD_W_OFFSET_MAX: op->weights.offset = ~0ULL; break;
	case BAD_W_OFFSET_WRAP: op->weights.offset = ~0ULL - 100; break;
	case BAD_W_STRIDE_SHORT: op->weights.stride = op->cols / QK * 34 - 1; break;
	case BAD_W_STRIDE_ZERO: op->weights.stride = 0; break;
	/* 4 * 2^62 is 2^64: a 32-bit or unchecked product wraps to 0. */
	case BAD_W_STRIDE_WRAP:
		op->rows = 5;
		op->output.stride = 5 * 4;
		op->weights.stride = 1ULL << 62;
		break;
	case BAD_X_OFFSET_PAST_END: op->input.offset += bufsize - x_end + 1; break;
	case BAD_X_OFFSET_MAX: op->input.offset = ~0ULL; break;
	case BAD_X_STRIDE_SHORT: op->input.stride = op->cols / QK * 34 - 1; break;
	case BAD_X_STRIDE_WRAP: op->n_tokens = 5; op->input.stride = 1ULL << 62; break;
	case BAD_O_OFFSET_PAST_END: op->output.offset += bufsize - o_end + 4; break;
	case BAD_O_OFFSET_MAX: op->output.offset = ~0ULL - 3; break;
	case BAD_O_OFFSET_UNALIGNED: op->output.offset = 2; break;
	case BAD_O_STRIDE_UNALIGNED: op->output.stride = op->rows * 4 + 2; break;
	case BAD_O_STRIDE_SHORT: op->output.stride = op->rows * 4 - 4; break;
	case BAD_O_STRIDE_WRAP: op->n_tokens = 5; op->output.stride = 1ULL << 62; break;
	case BAD_W_HANDLE_UNKNOWN: op->weights.handle = 99999; break;
	case BAD_X_HANDLE_ZERO: op->input.handle = 0; break;
	case BAD_O_HANDLE_UNKNOWN: op->output.handle = 0x7fffffff; break;
	case NR_BAD_OPS: break;
	}
}

/*
 * A job of a valid op 0 and a bad op 1 is refused as a whole: nothing runs
 * (op 0's output stays untouched), nothing is counted, no fence fd is left.
 */
TEST_F(npu, submit_refuses_each_invalid_op_and_runs_nothing)
{
	const struct mm_shape s = { LLMOS_NPU_TYPE_Q8_0, 4, 64, 2, 0, 0, 0, 0, 0, 0 };
	struct llmos_npu_info before, after;
	struct llmos_npu_submit sub;
	struct llmos_npu_op ops[2];
	struct io_uring ring;
	struct mm_dev d;
	uint64_t seed = 7;
	int i, lowest, ret;
	struct mm m;

	ASSERT_EQ(0, mm_init(&m, &s, &seed));
	ASSERT_EQ(0, mm_dev_new(self->fd, &m, &d));
	ASSERT_EQ(d.w.size, d.o.size);
	ASSERT_EQ(d.w.size, d.x.size);
	ASSERT_EQ(0, npu_info(self->fd, &before));
	lowest = lowest_free_fd();
	for (i = 0; i < NR_BAD_OPS; i++) {
		mm_op(&m, d.w.handle, d.x.handle, d.o.handle, &ops[0]);
		ops[1] = ops[0];
		make_bad(&ops[1], i, d.w.size);
		ret = npu_submit(self->fd, ops, 2, LLMOS_NPU_FENCE_OUT, 0, &sub);
		EXPECT_EQ(-EINVAL, ret) TH_LOG("%s", bad_op_name[i]);
		if (!ret && sub.fence_fd >= 0) {
			fence_wait(sub.fence_fd, WAIT_MS);
			close(sub.fence_fd);
		}
		/* Alone, too. */
		EXPECT_EQ(-EINVAL, npu_submit(self->fd, &ops[1], 1, 0, 0, NULL))
			TH_LOG("%s alone", bad_op_name[i]);
	}
	/* The same through io_uring. */
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	make_bad(&ops[1], BAD_W_STRIDE_WRAP, d.w.size);
	init_submit(&sub, ops, 2, 0, 0);
	prep_npu(io_uring_get_sqe(&ring), self->fd, &sub, 1);
	ASSERT_EQ(1, io_uring_submit(&ring));
	EXPECT_EQ(-EINVAL, wait_cqe_ms(&ring, EVENT_MS, NULL));
	io_uring_queue_exit(&ring);
	ASSERT_EQ(0, npu_info(self->fd, &after));
	EXPECT_EQ(before.submitted, after.submitted);
	EXPECT_EQ(before.completed, after.completed);
	EXPECT_EQ(before.failed, after.failed);
	EXPECT_EQ(0U, after.queued);
	EXPECT_EQ(0U, after.running);
	EXPECT_EQ(lowest, lowest_free_fd());
	for (i = 0; i < (int)d.o.size; i++)
		if (d.o.map[i] != SENTINEL)
			break;
	EXPECT_EQ((int)d.o.size, i) TH_LOG("a refused job wrote output byte %d", i);
	mm_dev_free(self->fd, &d);
	mm_free(&m);
}

/* Dimensions of zero: either refused or a job that writes nothing. */
TEST_F(npu, zero_dimensions_write_nothing)
{
	const struct mm_shape s = { LLMOS_NPU_TYPE_Q8_0, 4, 64, 2, 0, 0, 0, 0, 0, 0 };
	struct llmos_npu_op op;
	struct mm_dev d;
	uint64_t seed = 8;
	int i, k, ret;
	struct mm m;

	ASSERT_EQ(0, mm_init(&m, &s, &seed));
	ASSERT_EQ(0, mm_dev_new(self->fd, &m, &d));
	for (k = 0; k < 3; k++) {
		mm_op(&m, d.w.handle, d.x.handle, d.o.handle, &op);
		if (k == 0)
			op.rows = 0;
		else if (k == 1)
			op.cols = 0;
		else
			op.n_tokens = 0;
		ret = npu_submit(self->fd, &op, 1, 0, 0, NULL);
		EXPECT_TRUE(ret == 0 || ret == -EINVAL) TH_LOG("case %d: %d", k, ret);
		if (k == 1)
			continue; /* cols 0: a row of zeros is a correct result */
		for (i = 0; i < (int)d.o.size; i++)
			if (d.o.map[i] != SENTINEL)
				break;
		EXPECT_EQ((int)d.o.size, i) TH_LOG("case %d wrote byte %d", k, i);
	}
	mm_dev_free(self->fd, &d);
	mm_free(&m);
}

TEST_F(npu, submit_refuses_bad_submit_fields)
{
	const struct mm_shape s = { LLMOS_NPU_TYPE_Q8_0, 4, 64, 2, 0, 0, 0, 0, 0, 0 };
	struct llmos_npu_info before, after;
	struct llmos_npu_op ops[LLMOS_NPU_MAX_OPS + 1];
	struct llmos_npu_submit sub;
	struct {
		struct llmos_npu_op op;
		__u64 future[2];
	} ext[2];
	struct mm_dev d;
	uint64_t seed = 9;
	struct mm m;
	int i;

	ASSERT_EQ(0, mm_init(&m, &s, &seed));
	ASSERT_EQ(0, mm_dev_new(self->fd, &m, &d));
	for (i = 0; i <= LLMOS_NPU_MAX_OPS; i++)
		mm_op(&m, d.w.handle, d.x.handle, d.o.handle, &ops[i]);
	ASSERT_EQ(0, npu_info(self->fd, &before));
	EXPECT_EQ(-EINVAL, npu_submit(self->fd, ops, 0, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, npu_submit(self->fd, ops, LLMOS_NPU_MAX_OPS + 1, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, npu_submit(self->fd, ops, ~0u, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, npu_submit(self->fd, ops, 1, 1u << 2, 0, NULL));
	EXPECT_EQ(-EINVAL, npu_submit(self->fd, ops, 1, 1u << 31, 0, NULL));
	/* FENCE_CLOEXEC alone asks for nothing that exists. */
	EXPECT_EQ(-EINVAL, npu_submit(self->fd, ops, 1, LLMOS_NPU_FENCE_CLOEXEC, 0, NULL));
	/* A scheduler job this file does not have. */
	EXPECT_EQ(-EINVAL, npu_submit(self->fd, ops, 1, 0, 9999, NULL));
	init_submit(&sub, ops, 1, 0, 0);
	sub.reserved0 = 1;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_NPU_SUBMIT, &sub));
	for (i = 0; i < 3; i++) {
		init_submit(&sub, ops, 1, 0, 0);
		sub.reserved[i] = 1;
		EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_NPU_SUBMIT, &sub)) TH_LOG("reserved[%d]", i);
	}
	/* op_size: shorter than the first version, or past a page. */
	init_submit(&sub, ops, 1, 0, 0);
	sub.op_size = 0;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_NPU_SUBMIT, &sub));
	sub.op_size = sizeof(ops[0]) - 8;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_NPU_SUBMIT, &sub));
	sub.op_size = 8;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_NPU_SUBMIT, &sub));
	sub.op_size = 8192;
	EXPECT_EQ(-E2BIG, do_ioctl(self->fd, LLMOS_CMD_NPU_SUBMIT, &sub));
	/* Unreadable ops. */
	init_submit(&sub, (void *)16, 1, 0, 0);
	EXPECT_EQ(-EFAULT, do_ioctl(self->fd, LLMOS_CMD_NPU_SUBMIT, &sub));
	EXPECT_EQ(-EFAULT, do_ioctl(self->fd, LLMOS_CMD_NPU_SUBMIT, (void *)16));
	ASSERT_EQ(0, npu_info(self->fd, &after));
	EXPECT_EQ(before.submitted, after.submitted);
	/* A newer caller's longer op works when its extra bytes are zero... */
	memset(ext, 0, sizeof(ext));
	ext[0].op = ops[0];
	ext[1].op = ops[0];
	init_submit(&sub, &ext[0].op, 2, 0, 0);
	sub.op_size = sizeof(ext[0]);
	EXPECT_EQ(0, do_ioctl(self->fd, LLMOS_CMD_NPU_SUBMIT, &sub));
	EXPECT_EQ(0, mm_check(&m, d.o.map, d.o.size));
	/* ...and is refused when they are not (in any op). */
	ext[1].future[1] = 1;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, LLMOS_CMD_NPU_SUBMIT, &sub));
	ASSERT_EQ(0, npu_info(self->fd, &after));
	EXPECT_EQ(before.submitted + 1, after.submitted);
	mm_dev_free(self->fd, &d);
	mm_free(&m);
}

/* The seqno grows with each job; without FENCE_OUT fence_fd is -1. */
TEST_F(npu, ioctl_submit_blocks_and_reports_seqno)
{
	struct llmos_npu_submit a, b;
	struct llmos_npu_info ni;
	struct llmos_npu_op op;
	struct mm_dev d;
	uint64_t seed = 10;
	struct mm m;

	ASSERT_EQ(0, mm_init(&m, &small_shape, &seed));
	ASSERT_EQ(0, mm_dev_new(self->fd, &m, &d));
	mm_op(&m, d.w.handle, d.x.handle, d.o.handle, &op);
	ASSERT_EQ(0, npu_submit(self->fd, &op, 1, 0, 0, &a));
	/* Over when the ioctl returns. */
	ASSERT_EQ(0, npu_info(self->fd, &ni));
	EXPECT_EQ(0U, ni.running);
	EXPECT_EQ(0, mm_check(&m, d.o.map, d.o.size));
	EXPECT_EQ(-1, a.fence_fd);
	ASSERT_EQ(0, npu_submit(self->fd, &op, 1, 0, 0, &b));
	EXPECT_LT(a.seqno, b.seqno);
	EXPECT_EQ(-1, b.fence_fd);
	mm_dev_free(self->fd, &d);
	mm_free(&m);
}

TEST_F(npu, uring_submit_completes_with_output_ready)
{
	struct llmos_npu_submit sub[2];
	struct llmos_npu_op op[2];
	struct io_uring ring;
	struct mm_dev d[2];
	struct mm m[2];
	uint64_t seed = 11;
	__u64 ud, seen = 0;
	int i;

	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, mm_init(&m[i], &shapes[3 + i], &seed));
		ASSERT_EQ(0, mm_dev_new(self->fd, &m[i], &d[i]));
		mm_op(&m[i], d[i].w.handle, d[i].x.handle, d[i].o.handle, &op[i]);
		init_submit(&sub[i], &op[i], 1, 0, 0);
		prep_npu(io_uring_get_sqe(&ring), self->fd, &sub[i], 100 + i);
	}
	ASSERT_EQ(2, io_uring_submit(&ring));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, wait_cqe_ms(&ring, WAIT_MS, &ud));
		ASSERT_TRUE(ud == 100 || ud == 101);
		/* Each job's output is complete when its CQE is there. */
		EXPECT_EQ(0, mm_check(&m[ud - 100], d[ud - 100].o.map, d[ud - 100].o.size));
		seen |= 1ULL << (ud - 100);
	}
	EXPECT_EQ(3ULL, seen);
	io_uring_queue_exit(&ring);
	for (i = 0; i < 2; i++) {
		mm_dev_free(self->fd, &d[i]);
		mm_free(&m[i]);
	}
}

/* ---- operands other than buffers ---- */

/*
 * Weights in a sealed model work (root: MODEL_CREATE); a model is refused
 * as the output (-EACCES: not writable), as the input (weights only) and
 * while it is not sealed.
 */
TEST_F(npu, sealed_model_as_weights)
{
	const struct mm_shape s = { LLMOS_NPU_TYPE_Q4_0, 24, 512, 3, 4096 + 2, 0, 0, 6, 0, 0 };
	struct llmos_npu_op op, bad;
	__u32 mh, uh;
	struct mm_dev d;
	uint64_t seed = 12;
	__u64 moff;
	size_t msize;
	void *p;
	struct mm m;

	ASSERT_EQ(0, mm_init(&m, &s, &seed));
	ASSERT_EQ(0, mm_dev_new(self->fd, &m, &d));
	msize = page_round(m.w_end);
	m_unload(self->fd, "nt-weights", LLMOS_UNLOAD_WHEN_UNUSED);
	m_unload(self->fd, "nt-unsealed", LLMOS_UNLOAD_WHEN_UNUSED);
	ASSERT_EQ(0, m_create(self->fd, "nt-weights", msize, 0644, &mh, &moff));
	p = m_map(self->fd, moff, msize, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	memcpy(p, m.w, m.w_end);
	ASSERT_EQ(0, munmap(p, msize));
	/* Not sealed yet: refused. */
	mm_op(&m, mh, d.x.handle, d.o.handle, &op);
	EXPECT_EQ(-EINVAL, npu_submit(self->fd, &op, 1, 0, 0, NULL));
	ASSERT_EQ(0, m_seal(self->fd, mh));
	ASSERT_EQ(0, npu_submit(self->fd, &op, 1, 0, 0, NULL));
	EXPECT_EQ(0, mm_check(&m, d.o.map, d.o.size));
	/* Not an output, not an input. */
	bad = op;
	bad.output.handle = mh;
	bad.output.offset = 0;
	EXPECT_EQ(-EACCES, npu_submit(self->fd, &bad, 1, 0, 0, NULL));
	bad = op;
	bad.input.handle = mh;
	bad.input.offset = 0;
	EXPECT_EQ(-EINVAL, npu_submit(self->fd, &bad, 1, 0, 0, NULL));
	/* An unsealed model never, in any role. */
	ASSERT_EQ(0, m_create(self->fd, "nt-unsealed", msize, 0644, &uh, &moff));
	bad = op;
	bad.weights.handle = uh;
	EXPECT_EQ(-EINVAL, npu_submit(self->fd, &bad, 1, 0, 0, NULL));
	bad = op;
	bad.output.handle = uh;
	bad.output.offset = 0;
	EXPECT_NE(0, npu_submit(self->fd, &bad, 1, 0, 0, NULL));
	EXPECT_EQ(0, handle_close(self->fd, uh));
	EXPECT_EQ(0, handle_close(self->fd, mh));
	m_unload(self->fd, "nt-weights", LLMOS_UNLOAD_WHEN_UNUSED);
	mm_dev_free(self->fd, &d);
	mm_free(&m);
}

/* A udmabuf of a new memfd holding @len bytes of @src (or SENTINEL): its fd, or -errno. */
static int udmabuf_of(int ufd, const void *src, size_t len, int *memfd, void **map)
{
	struct udmabuf_create uc;
	size_t size = page_round(len);
	int mfd, dfd;
	void *p;

	mfd = memfd_create("npu_test", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (mfd < 0)
		return -errno;
	if (ftruncate(mfd, size) || fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK))
		return -errno;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (src)
		memcpy(p, src, len);
	else
		memset(p, SENTINEL, size);
	memset(&uc, 0, sizeof(uc));
	uc.memfd = mfd;
	uc.flags = UDMABUF_FLAGS_CLOEXEC;
	uc.size = size;
	dfd = ioctl(ufd, UDMABUF_CREATE, &uc);
	if (dfd < 0)
		return -errno;
	*memfd = mfd;
	*map = p;
	return dfd;
}

/*
 * Imported dma-bufs as operands: weights from our own export (its handle
 * and mapping gone), input and output in udmabufs read through the memfd.
 */
TEST_F(npu, imported_dmabufs_as_operands)
{
	const struct mm_shape s = { LLMOS_NPU_TYPE_Q8_0, 19, 256, 4, 10, 20, 40, 2, 2, 8 };
	int ufd, dfd, xfd, ofd, xmem, omem;
	__u32 iw, ix, io;
	struct llmos_npu_op op;
	void *xmap, *omap;
	uint64_t seed = 13;
	struct dbuf w;
	struct mm m;

	ufd = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (ufd < 0)
		SKIP(return, "no /dev/udmabuf (%s)", strerror(errno));
	ASSERT_EQ(0, mm_init(&m, &s, &seed));
	ASSERT_EQ(0, dbuf_new(self->fd, m.w_end, &w));
	memcpy(w.map, m.w, m.w_end);
	ASSERT_EQ(0, buf_export(self->fd, w.handle, &dfd));
	ASSERT_EQ(0, buf_import(self->fd, dfd, &iw));
	close(dfd);
	dbuf_free(self->fd, &w);
	xfd = udmabuf_of(ufd, m.x, m.x_end, &xmem, &xmap);
	ASSERT_LE(0, xfd) TH_LOG("udmabuf: %s", strerror(-xfd));
	ofd = udmabuf_of(ufd, NULL, m.o_end, &omem, &omap);
	ASSERT_LE(0, ofd) TH_LOG("udmabuf: %s", strerror(-ofd));
	ASSERT_EQ(0, buf_import(self->fd, xfd, &ix));
	ASSERT_EQ(0, buf_import(self->fd, ofd, &io));
	close(xfd);
	close(ofd);
	mm_op(&m, iw, ix, io, &op);
	ASSERT_EQ(0, npu_submit(self->fd, &op, 1, 0, 0, NULL));
	EXPECT_EQ(0, mm_check(&m, omap, page_round(m.o_end)));
	EXPECT_EQ(0, handle_close(self->fd, iw));
	EXPECT_EQ(0, handle_close(self->fd, ix));
	EXPECT_EQ(0, handle_close(self->fd, io));
	munmap(xmap, page_round(m.x_end));
	munmap(omap, page_round(m.o_end));
	close(xmem);
	close(omem);
	close(ufd);
	mm_free(&m);
}

/* ---- fences ---- */

TEST_F(npu, fence_out_signals_with_status_1)
{
	struct llmos_npu_submit sub;
	struct llmos_npu_op op;
	struct mm_dev d;
	uint64_t seed = 14;
	struct mm m;

	ASSERT_EQ(0, mm_init(&m, &shapes[2], &seed));
	ASSERT_EQ(0, mm_dev_new(self->fd, &m, &d));
	mm_op(&m, d.w.handle, d.x.handle, d.o.handle, &op);
	ASSERT_EQ(0, npu_submit(self->fd, &op, 1, LLMOS_NPU_FENCE_OUT, 0, &sub));
	ASSERT_LE(0, sub.fence_fd);
	ASSERT_EQ(1, fence_wait(sub.fence_fd, WAIT_MS));
	EXPECT_EQ(1, fence_status(sub.fence_fd));
	EXPECT_EQ(0, mm_check(&m, d.o.map, d.o.size));
	/* Readable for good. */
	EXPECT_EQ(1, fence_wait(sub.fence_fd, 0));
	close(sub.fence_fd);
	mm_dev_free(self->fd, &d);
	mm_free(&m);
}

TEST_F(npu, fence_cloexec)
{
	struct llmos_npu_submit sub;
	struct llmos_npu_op op;
	struct mm_dev d;
	uint64_t seed = 15;
	struct mm m;

	ASSERT_EQ(0, mm_init(&m, &small_shape, &seed));
	ASSERT_EQ(0, mm_dev_new(self->fd, &m, &d));
	mm_op(&m, d.w.handle, d.x.handle, d.o.handle, &op);
	ASSERT_EQ(0, npu_submit(self->fd, &op, 1, LLMOS_NPU_FENCE_OUT, 0, &sub));
	ASSERT_LE(0, sub.fence_fd);
	EXPECT_EQ(0, fcntl(sub.fence_fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(1, fence_wait(sub.fence_fd, WAIT_MS));
	close(sub.fence_fd);
	ASSERT_EQ(0, npu_submit(self->fd, &op, 1, LLMOS_NPU_FENCE_OUT | LLMOS_NPU_FENCE_CLOEXEC, 0,
				&sub));
	ASSERT_LE(0, sub.fence_fd);
	EXPECT_NE(0, fcntl(sub.fence_fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(1, fence_wait(sub.fence_fd, WAIT_MS));
	EXPECT_EQ(1, fence_status(sub.fence_fd));
	close(sub.fence_fd);
	mm_dev_free(self->fd, &d);
	mm_free(&m);
}

/* With FENCE_OUT the ioctl returns once the job is queued; the fence tells the end. */
TEST_F_TIMEOUT(npu, fence_out_returns_before_the_job_is_done, 120)
{
	struct llmos_npu_submit sub;
	struct llmos_npu_info ni;
	double ms_per;
	struct big b;

	ASSERT_EQ(0, big_new(self->fd, &b));
	ms_per = calibrate(self->fd, &b);
	ASSERT_LT(0, ms_per);
	big_set(&b, tokops_for(ms_per, BUSY_MS), 1);
	TH_LOG("%.2f ms per token-op; big job: %u ops, %u token-ops", ms_per, b.nr_ops, b.tokops);
	ASSERT_EQ(0, npu_submit(self->fd, b.ops, b.nr_ops, LLMOS_NPU_FENCE_OUT, 0, &sub));
	ASSERT_LE(0, sub.fence_fd);
	EXPECT_EQ(0, fence_wait(sub.fence_fd, 0));
	EXPECT_EQ(0, fence_status(sub.fence_fd));
	ASSERT_EQ(0, npu_info(self->fd, &ni));
	EXPECT_EQ(1U, ni.running + ni.queued);
	ASSERT_EQ(1, fence_wait(sub.fence_fd, WAIT_MS));
	EXPECT_EQ(1, fence_status(sub.fence_fd));
	close(sub.fence_fd);
	big_free(self->fd, &b);
}

/* ---- timeout ---- */

/*
 * npu_timeout_ms=1: a big job is stopped (-ETIMEDOUT, long before it
 * would end) and counted; its fence says -ETIMEDOUT too; the device then
 * runs the next job normally.
 */
TEST_F_TIMEOUT(npu, timeout_stops_a_long_job, 120)
{
	struct llmos_npu_info a, b;
	struct llmos_npu_submit sub;
	double ms_per, planned, t0, took;
	uint64_t seed = 16;
	struct big big;

	ASSERT_EQ(0, big_new(self->fd, &big));
	ms_per = calibrate(self->fd, &big);
	ASSERT_LT(0, ms_per);
	big_set(&big, tokops_for(ms_per, 2 * BUSY_MS), 4);
	planned = big.tokops * ms_per;
	TH_LOG("%.2f ms per token-op; big job: %u ops, %u token-ops, ~%.0f ms", ms_per, big.nr_ops,
	       big.tokops, planned);
	ASSERT_EQ(0, write_ll(TIMEOUT_PARAM, 1));
	ASSERT_EQ(0, npu_info(self->fd, &a));
	EXPECT_EQ(1U, a.timeout_ms);
	t0 = now_ms();
	EXPECT_EQ(-ETIMEDOUT, npu_submit(self->fd, big.ops, big.nr_ops, 0, 0, NULL));
	took = now_ms() - t0;
	TH_LOG("timed out after %.0f ms", took);
	EXPECT_LT(took, 0.6 * planned);
	ASSERT_EQ(0, npu_info(self->fd, &b));
	EXPECT_EQ(a.timedout + 1, b.timedout);
	EXPECT_EQ(a.completed, b.completed);
	/* The fence carries the result. */
	ASSERT_EQ(0, npu_submit(self->fd, big.ops, big.nr_ops, LLMOS_NPU_FENCE_OUT, 0, &sub));
	ASSERT_LE(0, sub.fence_fd);
	ASSERT_EQ(1, fence_wait(sub.fence_fd, WAIT_MS));
	EXPECT_EQ(-ETIMEDOUT, fence_status(sub.fence_fd));
	close(sub.fence_fd);
	ASSERT_EQ(0, npu_info(self->fd, &b));
	EXPECT_EQ(a.timedout + 2, b.timedout);
	/* Back to a sane timeout, the device works. */
	ASSERT_EQ(0, write_ll(TIMEOUT_PARAM, LONG_MS));
	EXPECT_EQ(0, run_checked(self->fd, &shapes[2], &seed));
	big_free(self->fd, &big);
}

/* ---- cancellation and the references a job holds ---- */

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
}

struct kicker {
	int fd;
	pthread_t target;
	__u64 submitted; /* signal once NPU_INFO's submitted reaches this */
	int sent;
};

static void *kick_when_submitted(void *arg)
{
	struct kicker *k = arg;
	struct llmos_npu_info ni;

	if (await_info(k->fd, WAIT_MS, submitted_pred, (long long)k->submitted, &ni)) {
		pthread_kill(k->target, SIGUSR1);
		k->sent = 1;
	}
	return NULL;
}

/*
 * A signal that does not kill, arriving during a blocking ioctl submit, is
 * handled once the job is over: the ioctl returns 0 with the job done (not
 * cancelled), and the job is submitted once, also with SA_RESTART.  (A
 * fatal signal cancels: sigkill_mid_job_cancels_and_frees.)
 */
static void signal_waits(struct __test_metadata *_metadata, int fd, int sa_flags)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = sa_flags };
	struct llmos_npu_info a, b;
	struct kicker k = { 0 };
	double ms_per, t0, took;
	uint64_t seed = 17;
	pthread_t t;
	struct big big;
	int ret;

	ASSERT_EQ(0, big_new(fd, &big));
	ms_per = calibrate(fd, &big);
	ASSERT_LT(0, ms_per);
	big_set(&big, tokops_for(ms_per, 2 * BUSY_MS), 4);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, npu_info(fd, &a));
	k.fd = fd;
	k.target = pthread_self();
	k.submitted = a.submitted + 1;
	got_signal = 0;
	ASSERT_EQ(0, pthread_create(&t, NULL, kick_when_submitted, &k));
	t0 = now_ms();
	ret = npu_submit(fd, big.ops, big.nr_ops, 0, 0, NULL);
	took = now_ms() - t0;
	pthread_join(t, NULL);
	ASSERT_TRUE(k.sent);
	EXPECT_TRUE(got_signal);
	EXPECT_EQ(0, ret) TH_LOG("after %.0f ms of a ~%.0f ms job", took, big.tokops * ms_per);
	ASSERT_EQ(1, await_info(fd, WAIT_MS, idle_pred, 0, &b));
	EXPECT_EQ(a.submitted + 1, b.submitted);
	EXPECT_EQ(a.cancelled, b.cancelled);
	EXPECT_EQ(a.completed + 1, b.completed);
	EXPECT_EQ(0, run_checked(fd, &small_shape, &seed));
	big_free(fd, &big);
}

TEST_F_TIMEOUT(npu, signal_during_ioctl_submit_waits_for_the_job, 120)
{
	signal_waits(_metadata, self->fd, 0);
}

TEST_F_TIMEOUT(npu, sa_restart_signal_does_not_resubmit, 120)
{
	signal_waits(_metadata, self->fd, SA_RESTART);
}

/*
 * A child with one big job running and one queued (io_uring) is SIGKILLed:
 * the queued one is cancelled, the running one cancelled or finished, its
 * buffers freed once it is over, and the device runs the next job.
 */
TEST_F_TIMEOUT(npu, sigkill_mid_job_cancels_and_frees, 120)
{
	struct llmos_npu_info a, b;
	int ready[2];
	double ms_per;
	uint64_t seed = 18;
	struct big big;
	__u32 tokops;
	pid_t pid;
	char c;

	ASSERT_EQ(0, big_new(self->fd, &big));
	ms_per = calibrate(self->fd, &big);
	ASSERT_LT(0, ms_per);
	tokops = tokops_for(ms_per, BUSY_MS);
	big_free(self->fd, &big);
	ASSERT_EQ(0, npu_info(self->fd, &a));
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct llmos_npu_submit sub[2];
		struct io_uring ring;
		struct big cb;
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(ready[0]);
		fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
		if (fd < 0 || big_new(fd, &cb) || io_uring_queue_init(4, &ring, 0))
			_exit(CHILD_SETUP_FAILED);
		big_set(&cb, tokops, 1);
		init_submit(&sub[0], cb.ops, cb.nr_ops, 0, 0);
		init_submit(&sub[1], cb.ops, cb.nr_ops, 0, 0);
		prep_npu(io_uring_get_sqe(&ring), fd, &sub[0], 1);
		prep_npu(io_uring_get_sqe(&ring), fd, &sub[1], 2);
		if (io_uring_submit(&ring) != 2)
			_exit(CHILD_SETUP_FAILED);
		if (write(ready[1], "r", 1) != 1)
			_exit(CHILD_SETUP_FAILED);
		/* Any CQE now is wrong: be killed first. */
		_exit(wait_cqe_ms(&ring, WAIT_MS, NULL) == NO_CQE ? 0 : CHILD_BAD_RES);
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	close(ready[0]);
	/* Both accepted, one running: kill it now. */
	ASSERT_EQ(1, await_info(self->fd, EVENT_MS, submitted_pred, a.submitted + 2, &b));
	EXPECT_EQ(1U, b.running);
	EXPECT_EQ(1U, b.queued);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(1000 + SIGKILL, wait_code(pid));
	/* The next job runs, after the killed one is over. */
	EXPECT_EQ(0, run_checked(self->fd, &shapes[2], &seed));
	ASSERT_EQ(1, await_info(self->fd, WAIT_MS, idle_pred, 0, &b));
	EXPECT_EQ(a.submitted + 3, b.submitted);
	EXPECT_LE(a.cancelled + 1, b.cancelled);
	EXPECT_EQ(a.cancelled + a.completed + 3, b.cancelled + b.completed);
	EXPECT_EQ(a.failed, b.failed);
	EXPECT_EQ(a.timedout, b.timedout);
	/* The child's buffers go with its last job. */
	EXPECT_EQ(1, await_info(self->fd, EVENT_MS, buf_bytes_pred, (long long)a.buf_bytes, &b))
		TH_LOG("buf_bytes %llu, was %llu", (unsigned long long)b.buf_bytes,
		       (unsigned long long)a.buf_bytes);
}

/*
 * A job whose ring goes while it waits in the queue is cancelled; the job
 * ahead of it is not disturbed.
 */
/*
 * Ring teardown cancels the queued job of that ring, whatever size bits
 * its cmd_op carries (the module matches a command by type, direction and
 * number; the size comes from the payload), while the other ring's job runs
 * to its end.
 */
static void ring_exit_cancels(struct __test_metadata *_metadata, int fd, __u32 cmd_op)
{
	struct llmos_npu_submit sub_big, sub_small;
	struct io_uring ring_a, ring_b;
	struct llmos_npu_info a, b;
	struct llmos_npu_op op;
	double ms_per;
	uint64_t seed = 19;
	struct mm_dev d;
	struct big big;
	struct mm m;

	struct io_uring_sqe *sqe;

	ASSERT_EQ(0, big_new(fd, &big));
	ms_per = calibrate(fd, &big);
	ASSERT_LT(0, ms_per);
	big_set(&big, tokops_for(ms_per, BUSY_MS), 1);
	ASSERT_EQ(0, mm_init(&m, &small_shape, &seed));
	ASSERT_EQ(0, mm_dev_new(fd, &m, &d));
	mm_op(&m, d.w.handle, d.x.handle, d.o.handle, &op);
	ASSERT_EQ(0, io_uring_queue_init(4, &ring_a, 0));
	ASSERT_EQ(0, io_uring_queue_init(4, &ring_b, 0));
	ASSERT_EQ(0, npu_info(fd, &a));
	init_submit(&sub_big, big.ops, big.nr_ops, 0, 0);
	prep_npu(io_uring_get_sqe(&ring_a), fd, &sub_big, 1);
	ASSERT_EQ(1, io_uring_submit(&ring_a));
	init_submit(&sub_small, &op, 1, 0, 0);
	sqe = io_uring_get_sqe(&ring_b);
	prep_npu(sqe, fd, &sub_small, 2);
	sqe->cmd_op = cmd_op;
	ASSERT_EQ(1, io_uring_submit(&ring_b));
	ASSERT_EQ(1, await_info(fd, EVENT_MS, submitted_pred, a.submitted + 2, &b));
	ASSERT_EQ(1U, b.queued) TH_LOG("the big job was over too soon");
	io_uring_queue_exit(&ring_b);
	EXPECT_EQ(0, wait_cqe_ms(&ring_a, WAIT_MS, NULL));
	io_uring_queue_exit(&ring_a);
	ASSERT_EQ(1, await_info(fd, WAIT_MS, idle_pred, 0, &b));
	EXPECT_EQ(a.cancelled + 1, b.cancelled);
	EXPECT_EQ(a.completed + 1, b.completed);
	/* The cancelled job never wrote its output. */
	EXPECT_EQ(SENTINEL, d.o.map[0]);
	mm_dev_free(fd, &d);
	mm_free(&m);
	big_free(fd, &big);
}

TEST_F_TIMEOUT(npu, ring_exit_cancels_queued_job, 120)
{
	ring_exit_cancels(_metadata, self->fd, LLMOS_CMD_NPU_SUBMIT);
}

TEST_F_TIMEOUT(npu, ring_exit_cancels_a_job_whose_cmd_op_has_other_size_bits, 120)
{
	ring_exit_cancels(_metadata, self->fd,
			  _IOC(_IOC_READ | _IOC_WRITE, LLMOS_IOC_MAGIC, 0x41, 80));
}

/*
 * Every handle closed and every mapping gone while the job runs: the job
 * still completes correctly (it holds its operands), and the pages go with
 * the job.  The output is read back through a dma-buf exported before.
 */
TEST_F_TIMEOUT(npu, job_holds_operands_after_handles_close, 120)
{
	struct llmos_npu_op ops[LLMOS_NPU_MAX_OPS];
	struct llmos_npu_info a, b;
	struct llmos_npu_submit sub;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	double ms_per;
	uint64_t seed = 20;
	unsigned char *o;
	struct mm_dev d;
	struct big big;
	struct mm m;
	int ofd;
	__u32 i;

	ASSERT_EQ(0, npu_info(self->fd, &a));
	ASSERT_EQ(0, big_new(self->fd, &big));
	ms_per = calibrate(self->fd, &big);
	ASSERT_LT(0, ms_per);
	big_set(&big, tokops_for(ms_per, BUSY_MS), 1);
	ASSERT_EQ(0, mm_init(&m, &shapes[5], &seed));
	ASSERT_EQ(0, mm_dev_new(self->fd, &m, &d));
	for (i = 0; i < big.nr_ops; i++)
		ops[i] = big.ops[i];
	mm_op(&m, d.w.handle, d.x.handle, d.o.handle, &ops[i]);
	ASSERT_EQ(0, buf_export(self->fd, d.o.handle, &ofd));
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	init_submit(&sub, ops, big.nr_ops + 1, 0, 0);
	prep_npu(io_uring_get_sqe(&ring), self->fd, &sub, 1);
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(1, await_info(self->fd, EVENT_MS, submitted_pred, a.submitted + 3, &b));
	mm_dev_free(self->fd, &d);
	big_free(self->fd, &big);
	ASSERT_EQ(-EAGAIN, io_uring_peek_cqe(&ring, &cqe)) TH_LOG("the job was over too soon");
	ASSERT_EQ(0, wait_cqe_ms(&ring, WAIT_MS, NULL));
	io_uring_queue_exit(&ring);
	o = mmap(NULL, d.o.size, PROT_READ, MAP_SHARED, ofd, 0);
	ASSERT_NE(MAP_FAILED, o);
	EXPECT_EQ(0, mm_check(&m, o, d.o.size));
	munmap(o, d.o.size);
	close(ofd);
	EXPECT_EQ(1, await_info(self->fd, EVENT_MS, buf_bytes_pred, (long long)a.buf_bytes, &b))
		TH_LOG("buf_bytes %llu, was %llu", (unsigned long long)b.buf_bytes,
		       (unsigned long long)a.buf_bytes);
	mm_free(&m);
}

/*
 * io_uring delivers completions (and its ring teardown) to the task as
 * task_work, which makes signal_pending() true without any signal: a
 * blocking ioctl submit must not take that for a signal (no -EINTR, no
 * cancelled job).  Here a job submitted through io_uring completes while
 * the same thread waits in the ioctl for the next one, and then a ring is
 * torn down while the thread waits again.
 */
TEST_F_TIMEOUT(npu, blocking_submit_ignores_io_uring_task_work, 120)
{
	struct llmos_npu_op ops[LLMOS_NPU_MAX_OPS];
	struct llmos_npu_info a, b;
	struct llmos_npu_submit sub;
	struct llmos_npu_op op;
	struct io_uring ring;
	double ms_per;
	uint64_t seed = 23;
	struct mm_dev d;
	struct big big;
	struct mm m;
	__u32 i;

	ASSERT_EQ(0, big_new(self->fd, &big));
	ms_per = calibrate(self->fd, &big);
	ASSERT_LT(0, ms_per);
	big_set(&big, tokops_for(ms_per, BUSY_MS), 1);
	ASSERT_EQ(0, mm_init(&m, &small_shape, &seed));
	ASSERT_EQ(0, mm_dev_new(self->fd, &m, &d));
	mm_op(&m, d.w.handle, d.x.handle, d.o.handle, &op);
	ASSERT_EQ(0, npu_info(self->fd, &a));
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	init_submit(&sub, big.ops, big.nr_ops, 0, 0);
	prep_npu(io_uring_get_sqe(&ring), self->fd, &sub, 1);
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(1, await_info(self->fd, EVENT_MS, submitted_pred, a.submitted + 1, &b));
	/* Queued behind the ring's job, whose completion arrives meanwhile. */
	for (i = 0; i < big.nr_ops; i++)
		ops[i] = big.ops[i];
	ops[i] = op;
	EXPECT_EQ(0, npu_submit(self->fd, ops, big.nr_ops + 1, 0, 0, NULL))
		TH_LOG("an io_uring completion interrupted the ioctl");
	EXPECT_EQ(0, mm_check(&m, d.o.map, d.o.size));
	EXPECT_EQ(0, wait_cqe_ms(&ring, WAIT_MS, NULL));
	/* The ring goes; its teardown reaches this thread while it waits. */
	io_uring_queue_exit(&ring);
	EXPECT_EQ(0, npu_submit(self->fd, big.ops, big.nr_ops, 0, 0, NULL))
		TH_LOG("a ring's teardown interrupted the ioctl");
	ASSERT_EQ(1, await_info(self->fd, WAIT_MS, idle_pred, 0, &b));
	EXPECT_EQ(a.cancelled, b.cancelled);
	EXPECT_EQ(a.completed + 3, b.completed);
	mm_dev_free(self->fd, &d);
	mm_free(&m);
	big_free(self->fd, &big);
}

/* ---- order and limits ---- */

/*
 * The device busy with a BACKGROUND job; three more BACKGROUND jobs, one
 * NORMAL (no scheduler job) and one INTERACTIVE job queue, in that order:
 * INTERACTIVE runs next, then NORMAL, then the BACKGROUND ones.
 */
TEST_F_TIMEOUT(npu, interactive_job_overtakes_queued_background_jobs, 120)
{
	struct llmos_npu_submit sub[6];
	struct llmos_npu_info a, b;
	struct llmos_npu_op op;
	struct io_uring ring;
	__u32 bg, ia;
	double ms_per;
	uint64_t seed = 21;
	__u64 ud, order[6];
	struct mm_dev d;
	struct big big;
	struct mm m;
	int i;

	ASSERT_EQ(0, set_prio(self->fd, 0, LLMOS_CLASS_INTERACTIVE, LLMOS_WEIGHT_DEFAULT));
	ASSERT_EQ(0, job_create(self->fd, LLMOS_CLASS_BACKGROUND, 0, &bg));
	ASSERT_EQ(0, job_create(self->fd, LLMOS_CLASS_INTERACTIVE, 0, &ia));
	ASSERT_EQ(0, big_new(self->fd, &big));
	ms_per = calibrate(self->fd, &big);
	ASSERT_LT(0, ms_per);
	big_set(&big, tokops_for(ms_per, BUSY_MS), 1);
	ASSERT_EQ(0, mm_init(&m, &small_shape, &seed));
	ASSERT_EQ(0, mm_dev_new(self->fd, &m, &d));
	mm_op(&m, d.w.handle, d.x.handle, d.o.handle, &op);
	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	ASSERT_EQ(0, npu_info(self->fd, &a));
	init_submit(&sub[0], big.ops, big.nr_ops, 0, bg);
	prep_npu(io_uring_get_sqe(&ring), self->fd, &sub[0], 0);
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(1, await_info(self->fd, EVENT_MS, submitted_pred, a.submitted + 1, &b));
	for (i = 1; i <= 3; i++) {
		init_submit(&sub[i], &op, 1, 0, bg);
		prep_npu(io_uring_get_sqe(&ring), self->fd, &sub[i], i);
	}
	init_submit(&sub[4], &op, 1, 0, 0);
	prep_npu(io_uring_get_sqe(&ring), self->fd, &sub[4], 4);
	init_submit(&sub[5], &op, 1, 0, ia);
	prep_npu(io_uring_get_sqe(&ring), self->fd, &sub[5], 5);
	ASSERT_EQ(5, io_uring_submit(&ring));
	ASSERT_EQ(1, await_info(self->fd, EVENT_MS, submitted_pred, a.submitted + 6, &b));
	ASSERT_EQ(5U, b.queued) TH_LOG("the background job was over too soon (%u queued)", b.queued);
	EXPECT_LE(5U, b.max_queued);
	for (i = 0; i < 6; i++) {
		ud = 99;
		EXPECT_EQ(0, wait_cqe_ms(&ring, WAIT_MS, &ud)) TH_LOG("CQE %d (user_data %llu)", i,
								     (unsigned long long)ud);
		order[i] = ud;
	}
	TH_LOG("completion order: %llu %llu %llu %llu %llu %llu", (unsigned long long)order[0],
	       (unsigned long long)order[1], (unsigned long long)order[2],
	       (unsigned long long)order[3], (unsigned long long)order[4],
	       (unsigned long long)order[5]);
	EXPECT_EQ(0ULL, order[0]);
	EXPECT_EQ(5ULL, order[1]);
	EXPECT_EQ(4ULL, order[2]);
	EXPECT_EQ(6ULL, order[3] + order[4] + order[5]);
	io_uring_queue_exit(&ring);
	EXPECT_EQ(0, job_end(self->fd, bg));
	EXPECT_EQ(0, job_end(self->fd, ia));
	mm_dev_free(self->fd, &d);
	mm_free(&m);
	big_free(self->fd, &big);
}

/*
 * One file may have LLMOS_NPU_MAX_QUEUED jobs queued or running: the next
 * is -EBUSY (ioctl and io_uring alike, nothing counted); another file is
 * not limited by it; once they are done the file submits again.
 */
TEST_F_TIMEOUT(npu, file_may_queue_at_most_max_queued_jobs, 120)
{
	struct llmos_npu_submit sub, usub;
	int fences[LLMOS_NPU_MAX_QUEUED], i, fd2, fence2, n = 0;
	struct llmos_npu_info a, b;
	struct llmos_npu_op op, op2;
	struct io_uring ring;
	struct mm_dev d, d2;
	double ms_per;
	uint64_t seed = 22;
	struct big big;
	struct mm m;

	ASSERT_EQ(0, big_new(self->fd, &big));
	ms_per = calibrate(self->fd, &big);
	ASSERT_LT(0, ms_per);
	big_set(&big, tokops_for(ms_per, 2 * BUSY_MS), 1);
	ASSERT_EQ(0, mm_init(&m, &small_shape, &seed));
	ASSERT_EQ(0, mm_dev_new(self->fd, &m, &d));
	mm_op(&m, d.w.handle, d.x.handle, d.o.handle, &op);
	ASSERT_EQ(0, npu_submit(self->fd, big.ops, big.nr_ops, LLMOS_NPU_FENCE_OUT, 0, &sub));
	fences[n++] = sub.fence_fd;
	while (n < LLMOS_NPU_MAX_QUEUED) {
		ASSERT_EQ(0, npu_submit(self->fd, &op, 1, LLMOS_NPU_FENCE_OUT, 0, &sub))
			TH_LOG("job %d", n);
		fences[n++] = sub.fence_fd;
	}
	ASSERT_EQ(0, npu_info(self->fd, &a));
	ASSERT_EQ(0, fence_wait(fences[0], 0)) TH_LOG("the big job was over too soon");
	EXPECT_EQ((__u32)LLMOS_NPU_MAX_QUEUED, a.queued + a.running);
	EXPECT_LE((__u32)LLMOS_NPU_MAX_QUEUED - 1, a.max_queued);
	EXPECT_EQ(-EBUSY, npu_submit(self->fd, &op, 1, LLMOS_NPU_FENCE_OUT, 0, &sub));
	EXPECT_EQ(-EBUSY, npu_submit(self->fd, &op, 1, 0, 0, NULL));
	/* Another file has its own allowance. */
	fd2 = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, mm_dev_new(fd2, &m, &d2));
	mm_op(&m, d2.w.handle, d2.x.handle, d2.o.handle, &op2);
	EXPECT_EQ(0, npu_submit(fd2, &op2, 1, LLMOS_NPU_FENCE_OUT, 0, &sub));
	fence2 = sub.fence_fd;
	ASSERT_LE(0, fence2);
	ASSERT_EQ(0, npu_info(self->fd, &b));
	EXPECT_EQ(a.submitted + 1, b.submitted);
	/* io_uring is refused alike. */
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	init_submit(&usub, &op, 1, 0, 0);
	prep_npu(io_uring_get_sqe(&ring), self->fd, &usub, 1);
	ASSERT_EQ(1, io_uring_submit(&ring));
	EXPECT_EQ(-EBUSY, wait_cqe_ms(&ring, EVENT_MS, NULL));
	io_uring_queue_exit(&ring);
	ASSERT_EQ(0, fence_wait(fences[0], 0)) TH_LOG("the big job was over too soon");
	EXPECT_EQ(1, fence_wait(fence2, WAIT_MS));
	EXPECT_EQ(1, fence_status(fence2));
	close(fence2);
	EXPECT_EQ(0, mm_check(&m, d2.o.map, d2.o.size));
	mm_dev_free(fd2, &d2);
	close(fd2);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(1, fence_wait(fences[i], WAIT_MS)) TH_LOG("fence %d", i);
		EXPECT_EQ(1, fence_status(fences[i])) TH_LOG("fence %d", i);
		close(fences[i]);
	}
	EXPECT_EQ(0, mm_check(&m, d.o.map, d.o.size));
	EXPECT_EQ(0, npu_submit(self->fd, &op, 1, 0, 0, NULL));
	mm_dev_free(self->fd, &d);
	mm_free(&m);
	big_free(self->fd, &big);
}

TEST_HARNESS_MAIN
