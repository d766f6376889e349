/* SPDX-License-Identifier: MIT */
/*
 * test_npu.c - the NPU device and module buffers without the kernel module:
 * --device npu refused clearly without a backend, and sessions on a fake
 * llmos.ko (this program's own ioctl(), on a sparse temporary file standing
 * in for /dev/llmos) whose NPU checks every operand as the UAPI states and
 * computes each MATMUL with the CPU's vec_dot: the logits equal the CPU's
 * bit for bit, for Q8_0 and Q4_0 weights, from a file (copied into a
 * buffer) and from "llmos:NAME" (read in place); q|k|v and gate|up share a
 * job; KV cache and activations live in buffers; every handle is closed at
 * the end; job errors reach the eval.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/llmos.h>

#include "kernels_impl.h"
#include "llmos/llmos.h"
#include "run_cmd.h"

#define FAKE_HANDLES 14 /* windows of 1 TiB each: the file stays below 16 TiB (ext4) */
#define FEATURES_NPU (LLMOS_F_IOCTL | LLMOS_F_MODEL_MEMORY | LLMOS_F_BUFFERS | LLMOS_F_NPU)

static char fake_dev[64] = "/tmp/llmos-fake-npu.XXXXXX", tmpdir[64] = "/tmp/llmos-npu.XXXXXX";
static char q8_path[128], q4_path[128];

/* ---- a fake llmos.ko with buffers and an NPU ---------------------------- */

struct fake_handle {
	int open, is_model;
	char *p; /* the fake's own mapping of the handle's window */
	uint64_t size;
};

static struct {
	int on;
	uint64_t features;
	int present;             /* NPU_INFO: a backend is registered */
	int buf_errno;           /* make BUF_CREATE fail with this */
	int job_errno;           /* make NPU_SUBMIT's jobs fail with this */
	int eintr;               /* NPU_SUBMIT: interrupted this many times first */
	const char *model_file;  /* what MODEL_OPEN "tiny" holds */
	struct fake_handle h[FAKE_HANDLES + 1];
	uint64_t jobs, ops, model_ops, max_ops, bad_ops, buffers;
	uint64_t max_job_macs;   /* the largest job's rows x cols x tokens */
} fake;

static int dev_fd = -1;

static int new_handle(uint64_t size)
{
	uint64_t end;
	int i;

	for (i = 1; i <= FAKE_HANDLES && fake.h[i].open; i++)
		;
	if (i > FAKE_HANDLES)
		return -EMFILE;
	size = (size + 4095) & ~4095ull;
	end = LLMOS_MMAP_OFFSET(i) + size;
	if (lseek(dev_fd, 0, SEEK_END) < (off_t)end && ftruncate(dev_fd, (off_t)end))
		return -errno;
	fake.h[i].p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, dev_fd,
			   (off_t)LLMOS_MMAP_OFFSET(i));
	if (fake.h[i].p == MAP_FAILED)
		return -errno;
	memset(fake.h[i].p, 0, size);
	fake.h[i].open = 1;
	fake.h[i].is_model = 0;
	fake.h[i].size = size;
	return i;
}

static int fake_buf_create(struct llmos_buf_create *c)
{
	int h;

	if (fake.buf_errno)
		return -fake.buf_errno;
	if (!c->size || c->flags || c->reserved0 || c->reserved[0] ||
	    c->numa_node != LLMOS_NUMA_ANY)
		return -EINVAL;
	if ((h = new_handle(c->size)) < 0)
		return h;
	fake.buffers++;
	c->handle = (uint32_t)h;
	c->mmap_offset = LLMOS_MMAP_OFFSET(h);
	return 0;
}

static int fake_close(const struct llmos_model_handle *mh)
{
	struct fake_handle *h;

	if (mh->handle < 1 || mh->handle > FAKE_HANDLES || !fake.h[mh->handle].open)
		return -EBADF;
	h = &fake.h[mh->handle];
	munmap(h->p, h->size);
	h->open = 0;
	return 0;
}

/* "tiny": the bytes of fake.model_file, as a sealed model. */
static int fake_model_open(struct llmos_model_open *o)
{
	FILE *f = fake.model_file ? fopen(fake.model_file, "rb") : NULL;
	long size;
	int h;

	if (!f || strcmp((char *)o->name, "tiny")) {
		if (f)
			fclose(f);
		return -ENOENT;
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	h = new_handle((uint64_t)size);
	if (h > 0 && fread(fake.h[h].p, 1, (size_t)size, f) != (size_t)size)
		h = -EIO;
	fclose(f);
	if (h < 0)
		return h;
	fake.h[h].is_model = 1;
	o->handle = (uint32_t)h;
	o->size = (uint64_t)size;
	o->mmap_offset = LLMOS_MMAP_OFFSET(h);
	return 0;
}

/* Where an operand's n rows of row_bytes each lie, if inside its handle's memory. */
static char *operand_at(const struct llmos_npu_operand *o, uint32_t n, size_t row_bytes)
{
	if (o->handle < 1 || o->handle > FAKE_HANDLES || !fake.h[o->handle].open ||
	    o->stride < row_bytes ||
	    o->offset + (uint64_t)(n - 1) * o->stride + row_bytes > fake.h[o->handle].size)
		return NULL;
	return fake.h[o->handle].p + o->offset;
}

/* One MATMUL as the UAPI describes it, each dot by the CPU's vec_dot. */
static int fake_matmul(const struct llmos_npu_op *op)
{
	const struct llmos_type_traits *tr = llmos_type_traits((enum llmos_type)op->weights.type);
	size_t in_row = llmos_row_size(LLMOS_TYPE_Q8_0, op->cols);
	char *w, *x, *out;

	if (op->op != LLMOS_NPU_OP_MATMUL || op->flags || op->reserved0 || op->reserved[0] ||
	    op->reserved[1] || !op->rows || !op->n_tokens || !op->cols || op->cols % 32 ||
	    (op->weights.type != LLMOS_NPU_TYPE_Q8_0 && op->weights.type != LLMOS_NPU_TYPE_Q4_0) ||
	    op->input.type != LLMOS_NPU_TYPE_Q8_0 || op->output.type != LLMOS_NPU_TYPE_F32 ||
	    op->output.offset % 4 || op->output.stride % 4)
		return -EINVAL;
	w = operand_at(&op->weights, op->rows, llmos_row_size(op->weights.type, op->cols));
	x = operand_at(&op->input, op->n_tokens, in_row);
	out = operand_at(&op->output, op->n_tokens, (size_t)op->rows * sizeof(float));
	if (!w || !x || !out)
		return -EINVAL;
	if (fake.h[op->output.handle].is_model || fake.h[op->input.handle].is_model)
		return -EACCES;
	fake.model_ops += fake.h[op->weights.handle].is_model;
	for (uint32_t t = 0; t < op->n_tokens; t++)
		for (uint32_t r = 0; r < op->rows; r++) {
			float v;

			tr->vec_dot((int)op->cols, &v, w + r * op->weights.stride,
				    x + t * op->input.stride);
			memcpy(out + t * op->output.stride + r * sizeof(float), &v, sizeof(v));
		}
	return 0;
}

static int fake_submit(struct llmos_npu_submit *sub)
{
	const struct llmos_npu_op *ops = (const void *)(uintptr_t)sub->ops;
	int ret;

	if (fake.eintr && fake.eintr--)
		return -EINTR;
	if (sub->op_size != sizeof(*ops) || !sub->nr_ops || sub->nr_ops > LLMOS_NPU_MAX_OPS ||
	    sub->flags || sub->job || sub->reserved0 || sub->reserved[0])
		return -EINVAL;
	uint64_t macs = 0;

	for (uint32_t i = 0; i < sub->nr_ops; i++) {
		if ((ret = fake_matmul(&ops[i]))) {
			fake.bad_ops++;
			return ret;
		}
		macs += (uint64_t)ops[i].rows * ops[i].cols * ops[i].n_tokens;
	}
	if (macs > fake.max_job_macs)
		fake.max_job_macs = macs;
	fake.jobs++;
	fake.ops += sub->nr_ops;
	if (sub->nr_ops > fake.max_ops)
		fake.max_ops = sub->nr_ops;
	sub->fence_fd = -1;
	sub->seqno = fake.jobs;
	return fake.job_errno ? -fake.job_errno : 0;
}

static int fake_npu_info(struct llmos_npu_info *ni)
{
	if (ni->flags)
		return -EINVAL;
	ni->present = (uint32_t)fake.present;
	strcpy((char *)ni->name, "fakenpu");
	ni->types = (1ull << LLMOS_NPU_TYPE_Q8_0) | (1ull << LLMOS_NPU_TYPE_Q4_0);
	ni->submitted = fake.jobs + 1;
	ni->completed = fake.jobs;
	ni->timedout = 1;
	ni->busy_ns = 12345;
	ni->timeout_ms = 5000;
	ni->buf_bytes = 8192;
	ni->buf_cap_bytes = 1 << 30;
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
	case LLMOS_CMD_BUF_CREATE:
		return fake.features & LLMOS_F_BUFFERS ? fake_buf_create(arg) : -ENOTTY;
	case LLMOS_CMD_HANDLE_CLOSE:
		return fake_close(arg);
	case LLMOS_CMD_MODEL_OPEN:
		return fake_model_open(arg);
	case LLMOS_CMD_NPU_INFO:
		return fake.features & LLMOS_F_NPU ? fake_npu_info(arg) : -ENOTTY;
	case LLMOS_CMD_NPU_SUBMIT:
		return fake.features & LLMOS_F_NPU ? fake_submit(arg) : -ENOTTY;
	default:
		return -ENOTTY;
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
	for (int i = 1; i <= FAKE_HANDLES; i++)
		if (fake.h[i].open)
			munmap(fake.h[i].p, fake.h[i].size);
	memset(&fake, 0, sizeof(fake));
	fake.on = 1;
	fake.features = features;
	fake.present = 1;
	setenv("LLMOS_DEVICE", fake_dev, 1);
}

static int open_handles(void)
{
	int n = 0;

	for (int i = 1; i <= FAKE_HANDLES; i++)
		n += fake.h[i].open;
	return n;
}

/* ---- models and sessions ------------------------------------------------ */

static int make_model(const char *bin, const char *type, char *path, size_t cap)
{
	char cmd[1024], out[4096];

	snprintf(path, cap, "%s/tiny-%s.gguf", tmpdir, type);
	snprintf(cmd, sizeof(cmd), "%s mkmodel --dim 64 --hidden 128 --layers 2 --heads 4 "
		 "--kv-heads 2 --vocab 300 --ctx 128 --type %s %s 2>&1", bin, type, path);
	if (run_cmd(cmd, out, sizeof(out))) {
		fprintf(stderr, "mkmodel failed: %s\n", out);
		return -1;
	}
	return 0;
}

static int setup(void **state)
{
	const char *bin = getenv("LLMOS_BIN");
	char llmos[4096];

	(void)state;
	snprintf(llmos, sizeof(llmos), "%s/llmos", bin && *bin ? bin : "build/bin");
	dev_fd = mkstemp(fake_dev);
	if (dev_fd < 0 || !mkdtemp(tmpdir))
		return -1;
	if (make_model(llmos, "q8_0", q8_path, sizeof(q8_path)) ||
	    make_model(llmos, "q4_0", q4_path, sizeof(q4_path)))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(dev_fd);
	unlink(fake_dev);
	unlink(q8_path);
	unlink(q4_path);
	rmdir(tmpdir);
	return 0;
}

static int new_session(struct llmos_session **s, struct llmos_model *m, uint32_t device)
{
	struct llmos_session_params p = { 64, 2, 32, device };

	return llmos_session_create(s, m, &p);
}

/* ---- without a backend -------------------------------------------------- */

static void npu_without_module_says_what_to_load(void **state)
{
	struct llmos_session *s = (struct llmos_session *)1;
	struct llmos_model *m;

	(void)state;
	fake.on = 0;
	setenv("LLMOS_DEVICE", "/nonexistent/llmos", 1);
	assert_int_equal(0, llmos_model_load(&m, q8_path));
	assert_int_equal(-LLMOS_ENOMODULE, new_session(&s, m, LLMOS_DEVICE_NPU));
	assert_null(s);
	assert_non_null(strstr(llmos_last_error(), "vnpu=1"));
	assert_int_equal(0, new_session(&s, m, LLMOS_DEVICE_CPU));
	llmos_session_free(s);
	llmos_model_free(m);
}

static void npu_without_backend_is_unsupported(void **state)
{
	struct llmos_session *s;
	struct llmos_model *m;

	(void)state;
	assert_int_equal(0, llmos_model_load(&m, q8_path));
	use_fake_module(LLMOS_F_IOCTL | LLMOS_F_BUFFERS);
	assert_int_equal(-LLMOS_EUNSUPPORTED, new_session(&s, m, LLMOS_DEVICE_NPU));
	assert_non_null(strstr(llmos_last_error(), "vnpu=1"));
	use_fake_module(FEATURES_NPU);
	fake.present = 0;
	assert_int_equal(-LLMOS_EUNSUPPORTED, new_session(&s, m, LLMOS_DEVICE_NPU));
	assert_int_equal(0, open_handles());
	assert_int_equal(-EINVAL, llmos_session_create(&s, m, &(struct llmos_session_params){
		.device = 7 }));
	llmos_model_free(m);
}

/* ---- on the fake NPU ---------------------------------------------------- */

static int argmax(const float *v, int n)
{
	int best = 0;

	for (int i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

/*
 * The NPU sums as vec_dot does.  Where the CPU's prefill tiles sum per
 * block instead (arm64 i8mm), a prompt's results, and so the KV cache and
 * every later step, agree only to rounding; elsewhere to the bit.
 */
static void assert_logits_match(const float *cpu, const float *npu, int n)
{
	const bool *block_order = llmos_kernel_ops()->tile_block_order;
	float max = 0, diff = 0;

	if (!block_order[LLMOS_TYPE_Q8_0] && !block_order[LLMOS_TYPE_Q4_0]) {
		assert_memory_equal(cpu, npu, n * sizeof(float));
		return;
	}
	for (int i = 0; i < n; i++) {
		assert_true(isfinite(cpu[i]) && isfinite(npu[i]));
		max = fabsf(cpu[i]) > max ? fabsf(cpu[i]) : max;
		diff = fabsf(cpu[i] - npu[i]) > diff ? fabsf(cpu[i] - npu[i]) : diff;
	}
	if (diff > 1e-2f * max + 1e-6f)
		fail_msg("NPU logits differ from the CPU's (i8mm tiles) by %g of %g", diff, max);
}

/*
 * A prompt of 20 tokens with every token's logits (two bounce chunks of
 * the output's 300 rows), then 6 greedy steps: each logit of the NPU
 * session equals the CPU session's.
 */
static void npu_logits_equal_cpu(const char *cpu_path, const char *npu_path)
{
	struct llmos_session_device_info di;
	struct llmos_model *a, *b;
	struct llmos_session *sa, *sb;
	int32_t ids[20];
	int i, n_vocab = 300;

	for (i = 0; i < 20; i++)
		ids[i] = (int32_t)((i * 37 + 5) % n_vocab);
	assert_int_equal(0, llmos_model_load(&a, cpu_path));
	assert_int_equal(0, llmos_model_load(&b, npu_path));
	assert_int_equal(0, new_session(&sa, a, LLMOS_DEVICE_CPU));
	assert_int_equal(0, new_session(&sb, b, LLMOS_DEVICE_NPU));
	assert_int_equal(0, llmos_session_eval(sa, ids, 20, LLMOS_EVAL_ALL_LOGITS));
	assert_int_equal(0, llmos_session_eval(sb, ids, 20, LLMOS_EVAL_ALL_LOGITS));
	assert_int_equal(0, fake.bad_ops);
	for (i = 0; i < 20; i++)
		assert_logits_match(llmos_session_logits(sa, i), llmos_session_logits(sb, i), n_vocab);
	for (i = 0; i < 6; i++) {
		int32_t id = argmax(llmos_session_logits(sa, -1), n_vocab);

		assert_int_equal(0, llmos_session_eval(sa, &id, 1, 0));
		assert_int_equal(0, llmos_session_eval(sb, &id, 1, 0));
		assert_logits_match(llmos_session_logits(sa, -1), llmos_session_logits(sb, -1),
				    n_vocab);
	}
	llmos_session_device_info(sb, &di);
	assert_int_equal(LLMOS_DEVICE_NPU, di.device);
	assert_int_equal(1, di.module_memory);
	assert_int_equal(2 * 7 + 1, di.npu_weights);
	assert_int_equal(0, di.cpu_weights);
	assert_int_equal(fake.jobs, di.npu_jobs);
	assert_int_equal(fake.ops, di.npu_ops);
	assert_int_equal(3, fake.max_ops); /* q, k and v in one job */
	llmos_session_free(sa);
	llmos_session_free(sb);
	llmos_model_free(a);
	llmos_model_free(b);
	assert_int_equal(0, open_handles());
}

static void q8_0_file_on_npu_equals_cpu(void **state)
{
	(void)state;
	use_fake_module(FEATURES_NPU);
	npu_logits_equal_cpu(q8_path, q8_path);
	assert_true(fake.jobs > 0);
	assert_int_equal(0, fake.model_ops); /* the weights were copied into a buffer */
}

static void q4_0_file_on_npu_equals_cpu(void **state)
{
	(void)state;
	use_fake_module(FEATURES_NPU);
	npu_logits_equal_cpu(q4_path, q4_path);
	assert_true(fake.jobs > 0);
}

static void stored_model_on_npu_reads_it_in_place(void **state)
{
	(void)state;
	use_fake_module(FEATURES_NPU);
	fake.model_file = q4_path;
	npu_logits_equal_cpu(q4_path, "llmos:tiny");
	assert_true(fake.ops > 0);
	assert_int_equal(fake.ops, fake.model_ops);
}

/*
 * With jobs capped at LLMOS_NPU_JOB_MACS multiply-adds, a prompt's matmuls
 * are split by tokens into more, smaller jobs, and the logits still equal
 * the CPU's.
 */
static void jobs_split_by_size_keep_the_results(void **state)
{
	uint64_t whole_jobs;

	(void)state;
	use_fake_module(FEATURES_NPU);
	npu_logits_equal_cpu(q8_path, q8_path);
	whole_jobs = fake.jobs;
	use_fake_module(FEATURES_NPU);
	setenv("LLMOS_NPU_JOB_MACS", "50000", 1);
	npu_logits_equal_cpu(q8_path, q8_path);
	unsetenv("LLMOS_NPU_JOB_MACS");
	assert_true(fake.jobs > whole_jobs);
	/* one token of the widest matmul may exceed the cap on its own */
	assert_true(fake.max_job_macs <= 50000 + 300 * 64);
}

static void f32_model_on_npu_stays_on_cpu(void **state)
{
	struct llmos_session_device_info di;
	struct llmos_session *s;
	struct llmos_model *m;
	const char *dir = getenv("LLMOS_TEST_MODELS");
	char path[4096];
	int32_t id = 1;

	(void)state;
	snprintf(path, sizeof(path), "%s/stories260K-f32.gguf",
		 dir && *dir ? dir : "../shared/models");
	if (access(path, R_OK))
		skip();
	use_fake_module(FEATURES_NPU);
	assert_int_equal(0, llmos_model_load(&m, path));
	assert_int_equal(0, new_session(&s, m, LLMOS_DEVICE_NPU));
	assert_int_equal(0, llmos_session_eval(s, &id, 1, 0));
	llmos_session_device_info(s, &di);
	assert_int_equal(0, di.npu_weights);
	assert_true(di.cpu_weights > 0);
	assert_int_equal(0, fake.jobs);
	llmos_session_free(s);
	llmos_model_free(m);
	assert_int_equal(0, open_handles());
}

static void job_errors_reach_the_eval(void **state)
{
	struct llmos_session *s;
	struct llmos_model *m;
	int32_t id = 3;

	(void)state;
	use_fake_module(FEATURES_NPU);
	assert_int_equal(0, llmos_model_load(&m, q8_path));
	assert_int_equal(0, new_session(&s, m, LLMOS_DEVICE_NPU));
	fake.eintr = 2; /* interrupted jobs are run again */
	assert_int_equal(0, llmos_session_eval(s, &id, 1, 0));
	assert_int_equal(0, fake.eintr);
	fake.job_errno = ETIMEDOUT;
	assert_int_equal(-ETIMEDOUT, llmos_session_eval(s, &id, 1, 0));
	assert_non_null(strstr(llmos_last_error(), "npu_timeout_ms"));
	fake.job_errno = EIO;
	assert_int_equal(-EIO, llmos_session_eval(s, &id, 1, 0));
	assert_non_null(strstr(llmos_last_error(), "device failed"));
	llmos_session_free(s);
	llmos_model_free(m);
	assert_int_equal(0, open_handles());
}

/* ---- memory in buffers -------------------------------------------------- */

static void session_memory_in_buffers_when_there_are(void **state)
{
	struct llmos_session_device_info di;
	struct llmos_session *s;
	struct llmos_model *m;
	int32_t id = 3;

	(void)state;
	use_fake_module(FEATURES_NPU);
	assert_int_equal(0, llmos_model_load(&m, q8_path));
	assert_int_equal(0, new_session(&s, m, LLMOS_DEVICE_CPU));
	llmos_session_device_info(s, &di);
	assert_int_equal(1, di.module_memory);
	assert_int_equal(1, fake.buffers);
	assert_int_equal(0, llmos_session_eval(s, &id, 1, 0));
	assert_int_equal(0, fake.jobs);
	llmos_session_free(s);
	assert_int_equal(0, open_handles());

	use_fake_module(LLMOS_F_IOCTL); /* no buffers: anonymous memory */
	assert_int_equal(0, new_session(&s, m, LLMOS_DEVICE_CPU));
	llmos_session_device_info(s, &di);
	assert_int_equal(0, di.module_memory);
	llmos_session_free(s);

	use_fake_module(FEATURES_NPU); /* the buffer cap reached: the same, but not for the NPU */
	fake.buf_errno = ENOSPC;
	assert_int_equal(0, new_session(&s, m, LLMOS_DEVICE_CPU));
	llmos_session_device_info(s, &di);
	assert_int_equal(0, di.module_memory);
	assert_int_equal(0, llmos_session_eval(s, &id, 1, 0));
	llmos_session_free(s);
	assert_int_equal(-ENOSPC, new_session(&s, m, LLMOS_DEVICE_NPU));
	assert_non_null(strstr(llmos_last_error(), "max_buf_mb"));
	llmos_model_free(m);
	assert_int_equal(0, open_handles());
}

static void npu_stats_copy_the_counters(void **state)
{
	struct llmos_npu_stats st;
	struct llmos *h;

	(void)state;
	use_fake_module(FEATURES_NPU);
	assert_int_equal(0, llmos_open(&h, LLMOS_OPEN_REQUIRE_MODULE));
	assert_int_equal(0, llmos_npu_stats(h, &st));
	assert_int_equal(1, st.present);
	assert_string_equal("fakenpu", st.name);
	assert_int_equal((1u << 8) | (1u << 2), st.types);
	assert_int_equal(1, st.submitted);
	assert_int_equal(1, st.timedout);
	assert_int_equal(12345, st.busy_ns);
	assert_int_equal(5000, st.timeout_ms);
	assert_int_equal(1 << 30, st.buf_cap_bytes);
	llmos_close(h);
	use_fake_module(LLMOS_F_IOCTL);
	assert_int_equal(0, llmos_open(&h, LLMOS_OPEN_REQUIRE_MODULE));
	assert_int_equal(-LLMOS_EUNSUPPORTED, llmos_npu_stats(h, &st));
	llmos_close(h);
	fake.on = 0;
	assert_int_equal(0, llmos_open(&h, LLMOS_OPEN_STANDALONE));
	assert_int_equal(-LLMOS_ENOMODULE, llmos_npu_stats(h, &st));
	llmos_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(npu_without_module_says_what_to_load),
		cmocka_unit_test(npu_without_backend_is_unsupported),
		cmocka_unit_test(q8_0_file_on_npu_equals_cpu),
		cmocka_unit_test(q4_0_file_on_npu_equals_cpu),
		cmocka_unit_test(stored_model_on_npu_reads_it_in_place),
		cmocka_unit_test(jobs_split_by_size_keep_the_results),
		cmocka_unit_test(f32_model_on_npu_stays_on_cpu),
		cmocka_unit_test(job_errors_reach_the_eval),
		cmocka_unit_test(session_memory_in_buffers_when_there_are),
		cmocka_unit_test(npu_stats_copy_the_counters),
	};

	return cmocka_run_group_tests_name("npu", tests, setup, teardown);
}
