/* SPDX-License-Identifier: MIT */
/* npu.c - matmuls as llmos.ko NPU jobs: weights in module memory, Q8_0 activations in, f32 out. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include <linux/llmos.h>

#include "devbuf.h"
#include "internal.h"
#include "matmul.h"
#include "npu.h"
#include "session.h"

_Static_assert(LLMOS_NPU_TYPE_F32 == LLMOS_TYPE_F32 && LLMOS_NPU_TYPE_Q4_0 == LLMOS_TYPE_Q4_0 &&
	       LLMOS_NPU_TYPE_Q8_0 == LLMOS_TYPE_Q8_0, "the NPU numbers types as GGUF does");
_Static_assert(LLMOS_NPU_NAME_MAX == LLMOS_NPU_NAME_LEN, "same backend name length");

#define NEEDS_NPU "device npu needs llmos.ko with an NPU backend (load it with vnpu=1)"
#define OUT_TOKENS 16   /* tokens of results the bounce buffer holds */
#define WEIGHT_ALIGN 64 /* of each weight matrix in a copy */
/*
 * Multiply-adds per job at most (LLMOS_NPU_JOB_MACS overrides): a job is
 * not preempted, so short ones let an urgent app's job in soon, and stay
 * far below the module's timeout (npu_timeout_ms) on a slow device.
 */
#define JOB_MACS (4ull << 20)

/* One offloaded weight matrix and where it lies in the memory the NPU reads. */
struct npu_weight {
	const struct llmos_weight *w;
	uint64_t offset; /* in the memory of handle llmos_npu.weights */
};

struct llmos_npu {
	uint64_t types;           /* weight types the backend runs: bit (1 << type) */
	uint32_t weights;         /* handle of the memory holding the weights */
	struct llmos_devbuf copy; /* a model file's offloaded weights (unused for llmos:NAME) */
	struct npu_weight *table; /* the offloaded weights, sorted by data address */
	size_t n_table;
	struct llmos_devbuf out;  /* results bound for memory outside the session's buffer */
	uint64_t jobs, ops, ns;   /* jobs run, matmuls in them, time waited for them */
	uint64_t job_macs;        /* multiply-adds per job at most */
};

/* ---- the backend -------------------------------------------------------- */

static int npu_info(struct llmos *dev, struct llmos_npu_info *ni)
{
	memset(ni, 0, sizeof(*ni));
	if (ioctl(llmos_device_fd(dev), LLMOS_CMD_NPU_INFO, ni))
		return llmos_fail(-errno, "NPU_INFO: %s", strerror(errno));
	return 0;
}

int llmos_npu_probe(struct llmos *dev, uint64_t *types)
{
	struct llmos_module_info mi;
	struct llmos_npu_info ni;
	int ret;

	if (!dev || llmos_module_info(dev, &mi) < 0)
		return llmos_fail(-LLMOS_ENOMODULE, NEEDS_NPU "; it is not loaded (no %s)",
				  getenv("LLMOS_DEVICE") ? getenv("LLMOS_DEVICE") : "/dev/llmos");
	if (!(mi.features & LLMOS_F_NPU) || !(mi.features & LLMOS_F_BUFFERS))
		return llmos_fail(-LLMOS_EUNSUPPORTED, NEEDS_NPU "; llmos.ko %s has none",
				  mi.version);
	if ((ret = npu_info(dev, &ni)))
		return ret;
	if (!ni.present)
		return llmos_fail(-LLMOS_EUNSUPPORTED, NEEDS_NPU "; none is registered");
	*types = ni.types;
	return 0;
}

int llmos_npu_stats(struct llmos *h, struct llmos_npu_stats *st)
{
	struct llmos_module_info mi;
	struct llmos_npu_info ni;
	int ret;

	if (!h || llmos_module_info(h, &mi) < 0)
		return llmos_fail(-LLMOS_ENOMODULE, "llmos module not loaded (running standalone)");
	if (!(mi.features & LLMOS_F_NPU))
		return llmos_fail(-LLMOS_EUNSUPPORTED, "llmos.ko %s has no NPU backend",
				  mi.version);
	if ((ret = npu_info(h, &ni)))
		return ret;
	memset(st, 0, sizeof(*st));
	st->present = !!ni.present;
	memcpy(st->name, ni.name, sizeof(st->name) - 1);
	st->types = ni.types;
	st->submitted = ni.submitted;
	st->completed = ni.completed;
	st->failed = ni.failed;
	st->timedout = ni.timedout;
	st->cancelled = ni.cancelled;
	st->busy_ns = ni.busy_ns;
	st->queued = ni.queued;
	st->running = ni.running;
	st->max_queued = ni.max_queued;
	st->timeout_ms = ni.timeout_ms;
	st->buf_bytes = ni.buf_bytes;
	st->buf_cap_bytes = ni.buf_cap_bytes;
	return 0;
}

/* ---- the weights it reads ---------------------------------------------- */

static bool type_runs(uint64_t types, enum llmos_type t)
{
	const struct llmos_type_traits *tr = llmos_type_traits(t);

	/* MATMUL takes Q8_0 or Q4_0 weights, with Q8_0 activations as the CPU's */
	if ((t != LLMOS_TYPE_Q8_0 && t != LLMOS_TYPE_Q4_0) || !(types & (1ULL << t)))
		return false;
	return tr && tr->vec_dot_type == LLMOS_TYPE_Q8_0;
}

bool llmos_npu_runs(const struct llmos_npu *npu, enum llmos_type type)
{
	return npu && type_runs(npu->types, type);
}

typedef void (*weight_fn)(const struct llmos_weight *w, void *arg);

/* Each matrix forward.c multiplies by: every layer's, then the output. */
static void for_each_matmul_weight(const struct llmos_model *m, weight_fn fn, void *arg)
{
	for (int l = 0; l < m->hp.n_layers; l++) {
		const struct llmos_layer *L = &m->layers[l];
		const struct llmos_weight *w[] = { &L->wq,	&L->wk,	  &L->wv,   &L->wo,
						   &L->wqkv, &L->w_gate, &L->w_up, &L->w_down };

		for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
			if (w[i]->data)
				fn(w[i], arg);
	}
	fn(&m->output, arg);
}

static size_t weight_bytes(const struct llmos_weight *w)
{
	return llmos_row_size(w->type, w->cols) * (size_t)w->rows;
}

static void add_to_table(const struct llmos_weight *w, void *arg)
{
	struct llmos_npu *npu = arg;

	if (type_runs(npu->types, w->type))
		npu->table[npu->n_table++].w = w;
}

static int by_data(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct npu_weight *)a)->w->data;
	uintptr_t y = (uintptr_t)((const struct npu_weight *)b)->w->data;

	return x < y ? -1 : x > y;
}

static void count_weight(const struct llmos_weight *w, void *arg)
{
	(void)w;
	++*(size_t *)arg;
}

/* The weights of the NPU's types, sorted, each once (a tied output is the embeddings). */
static int build_table(struct llmos_npu *npu, const struct llmos_model *m)
{
	size_t all = 0, i, n = 0;

	for_each_matmul_weight(m, count_weight, &all);
	npu->table = calloc(all, sizeof(*npu->table));
	if (!npu->table)
		return llmos_fail(-ENOMEM, "NPU: out of memory");
	for_each_matmul_weight(m, add_to_table, npu);
	qsort(npu->table, npu->n_table, sizeof(*npu->table), by_data);
	for (i = 0; i < npu->n_table; i++)
		if (!n || npu->table[i].w->data != npu->table[n - 1].w->data)
			npu->table[n++] = npu->table[i];
	npu->n_table = n;
	return 0;
}

/* "llmos:NAME": the NPU reads the weights where they are, in the model's memory. */
static void use_model_memory(struct llmos_npu *npu, const struct llmos_model *m)
{
	npu->weights = m->src.map.handle;
	for (size_t i = 0; i < npu->n_table; i++)
		npu->table[i].offset = (uint64_t)((const char *)npu->table[i].w->data -
						  (const char *)m->src.map.data);
}

/* A model file: its weights of the NPU's types copied into a module buffer. */
static int copy_weights(struct llmos_npu *npu, struct llmos *dev)
{
	uint64_t total = 0;
	size_t i;
	int ret;

	for (i = 0; i < npu->n_table; i++) {
		npu->table[i].offset = total;
		total += (weight_bytes(npu->table[i].w) + WEIGHT_ALIGN - 1) / WEIGHT_ALIGN *
			 WEIGHT_ALIGN;
	}
	if (!total)
		return 0;
	if ((ret = llmos_devbuf_create(dev, (size_t)total, &npu->copy)))
		return ret;
	for (i = 0; i < npu->n_table; i++)
		memcpy((char *)npu->copy.data + npu->table[i].offset, npu->table[i].w->data,
		       weight_bytes(npu->table[i].w));
	npu->weights = npu->copy.handle;
	return 0;
}

/* Room for OUT_TOKENS tokens (at most a batch) of the widest offloaded result. */
static int alloc_bounce(struct llmos_npu *npu, struct llmos *dev, uint32_t n_batch)
{
	uint64_t rows = 0;

	for (size_t i = 0; i < npu->n_table; i++)
		if ((uint64_t)npu->table[i].w->rows > rows)
			rows = (uint64_t)npu->table[i].w->rows;
	if (!rows)
		return 0;
	return llmos_devbuf_create(dev, rows * sizeof(float) * (n_batch < OUT_TOKENS ? n_batch :
				   OUT_TOKENS), &npu->out);
}

/* JOB_MACS, or a whole number of at least 1 in LLMOS_NPU_JOB_MACS. */
static uint64_t job_macs(void)
{
	const char *v = getenv("LLMOS_NPU_JOB_MACS");
	char *end;
	unsigned long long n;

	if (!v || !*v)
		return JOB_MACS;
	n = strtoull(v, &end, 10);
	return *end || n < 1 ? JOB_MACS : (uint64_t)n;
}

int llmos_npu_create(struct llmos_npu **out, struct llmos_session *s)
{
	struct llmos_npu *npu = calloc(1, sizeof(*npu));
	int ret;

	*out = NULL;
	if (!npu)
		return llmos_fail(-ENOMEM, "NPU: out of memory");
	npu->job_macs = job_macs();
	ret = llmos_npu_probe(s->dev, &npu->types);
	if (!ret)
		ret = build_table(npu, s->m);
	if (!ret && s->m->src.dev)
		use_model_memory(npu, s->m);
	else if (!ret)
		ret = copy_weights(npu, s->dev);
	if (!ret)
		ret = alloc_bounce(npu, s->dev, s->n_batch);
	if (ret) {
		llmos_npu_free(npu, s->dev);
		return ret;
	}
	*out = npu;
	return 0;
}

void llmos_npu_free(struct llmos_npu *npu, struct llmos *dev)
{
	if (!npu)
		return;
	llmos_devbuf_free(dev, &npu->out);
	llmos_devbuf_free(dev, &npu->copy);
	free(npu->table);
	free(npu);
}

/* ---- jobs --------------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A job's result (errno) as what happened. */
static int job_failed(int err, int n_ops)
{
	switch (err) {
	case ETIMEDOUT:
		return llmos_fail(-err, "NPU job of %d matmuls: stopped by the module's timeout "
				  "(npu_timeout_ms)", n_ops);
	case EIO:
		return llmos_fail(-err, "NPU job of %d matmuls: the device failed", n_ops);
	case ECANCELED:
		return llmos_fail(-err, "NPU job of %d matmuls: cancelled", n_ops);
	case ENODEV:
		return llmos_fail(-err, "NPU job of %d matmuls: the NPU backend is gone", n_ops);
	default:
		return llmos_fail(-err, "NPU_SUBMIT of %d matmuls: %s", n_ops, strerror(err));
	}
}

/* Run one job under the session's scheduler job (its class) and wait for its end. */
static int submit(struct llmos_session *s, struct llmos_npu_op *ops, int n_ops)
{
	struct llmos_npu_submit sub;
	uint64_t t0 = now_ns();
	int ret;

	memset(&sub, 0, sizeof(sub));
	sub.ops = (uintptr_t)ops;
	sub.nr_ops = (uint32_t)n_ops;
	sub.op_size = sizeof(*ops);
	sub.job = llmos_sched_client_job(s->sched);
	do /* a signal cancels the job; it only reads its inputs, so run it again */
		ret = ioctl(llmos_device_fd(s->dev), LLMOS_CMD_NPU_SUBMIT, &sub);
	while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return job_failed(errno, n_ops);
	s->npu->jobs++;
	s->npu->ops += (uint64_t)n_ops;
	s->npu->ns += now_ns() - t0;
	return 0;
}

static struct llmos_npu_operand operand(uint32_t handle, uint32_t type, uint64_t offset,
					uint64_t stride)
{
	return (struct llmos_npu_operand){ handle, type, offset, stride };
}

static const struct npu_weight *find_weight(const struct llmos_npu *npu,
					    const struct llmos_weight *w)
{
	struct npu_weight key = { w, 0 };

	return bsearch(&key, npu->table, npu->n_table, sizeof(key), by_data);
}

/* A MATMUL of n tokens of in into out with weights w. */
static int matmul_op(const struct llmos_npu *npu, struct llmos_npu_op *op,
		     const struct llmos_weight *w, struct llmos_npu_operand in,
		     struct llmos_npu_operand out, uint32_t n)
{
	const struct npu_weight *nw = find_weight(npu, w);

	if (!nw)
		return llmos_fail(-EINVAL, "NPU: a weight of %lld x %lld is not in its memory",
				  (long long)w->rows, (long long)w->cols);
	*op = (struct llmos_npu_op){
		.op = LLMOS_NPU_OP_MATMUL,
		.rows = (uint32_t)w->rows,
		.cols = (uint32_t)w->cols,
		.n_tokens = n,
		.weights = operand(npu->weights, w->type, nw->offset,
				   llmos_row_size(w->type, w->cols)),
		.input = in,
		.output = out,
	};
	return 0;
}

/* x quantized into the session's scratch, which is in its module buffer. */
static int quantize_input(struct llmos_session *s, const struct llmos_weight *w, const float *x,
			  uint32_t n, struct llmos_npu_operand *in)
{
	size_t row = llmos_row_size(LLMOS_TYPE_Q8_0, w->cols);
	int ret;

	if ((size_t)n * row > s->mm_scratch_size)
		return llmos_fail(-EINVAL, "NPU: %u tokens of %lld values overflow the scratch", n,
				  (long long)w->cols);
	ret = llmos_matmul_quantize(s->pool, w->type, w->cols, x, (int)n, s->mm_scratch);
	*in = operand(s->mem.handle, LLMOS_NPU_TYPE_Q8_0,
		      (uint64_t)((char *)s->mm_scratch - (char *)s->mem.data), row);
	return ret;
}

/* Is out (n tokens of rows results) in the session's module buffer? */
static bool in_session_memory(const struct llmos_session *s, const float *out, size_t n_floats)
{
	uintptr_t p = (uintptr_t)out, base = (uintptr_t)s->mem.data;

	return p >= base && p - base + n_floats * sizeof(float) <= s->mem.size;
}

/* Tokens per job for count matmuls of one input, so that a job stays within job_macs. */
static uint32_t tokens_per_job(const struct llmos_npu *npu, const struct llmos_npu_matmul *mm,
			       int count, uint32_t n)
{
	uint64_t per_token = 0, k;

	for (int i = 0; i < count; i++)
		per_token += (uint64_t)mm[i].w->rows * (uint64_t)mm[i].w->cols;
	k = per_token ? npu->job_macs / per_token : n;
	return k < 1 ? 1 : k > n ? n : (uint32_t)k;
}

/* A result bound elsewhere (logits): through the bounce buffer, OUT_TOKENS at a time. */
static int run_bounced(struct llmos_session *s, const struct llmos_npu_matmul *mm,
		       struct llmos_npu_operand in, uint32_t n)
{
	struct llmos_npu *npu = s->npu;
	size_t row_bytes = (size_t)mm->w->rows * sizeof(float);
	uint32_t chunk = (uint32_t)(npu->out.size / row_bytes), t, nt;
	struct llmos_npu_operand out = operand(npu->out.handle, LLMOS_NPU_TYPE_F32, 0, row_bytes);
	struct llmos_npu_operand tin = in;
	struct llmos_npu_op op;
	int ret;

	if (!chunk)
		return llmos_fail(-EINVAL, "NPU: no room for a result of %lld rows",
				  (long long)mm->w->rows);
	if (chunk > tokens_per_job(npu, mm, 1, n))
		chunk = tokens_per_job(npu, mm, 1, n);
	for (t = 0; t < n; t += nt) {
		nt = n - t < chunk ? n - t : chunk;
		tin.offset = in.offset + (uint64_t)t * in.stride;
		if ((ret = matmul_op(npu, &op, mm->w, tin, out, nt)) || (ret = submit(s, &op, 1)))
			return ret;
		memcpy(mm->out + (size_t)t * mm->w->rows, npu->out.data, nt * row_bytes);
	}
	return 0;
}

/*
 * Tokens [t0, t0 + nt) of the matmuls whose results are in the session's
 * own buffer, written in place: as one job (or a few, LLMOS_NPU_MAX_OPS
 * operations each).
 */
static int run_in_place(struct llmos_session *s, const struct llmos_npu_matmul *mm, int count,
			struct llmos_npu_operand in, uint32_t n, uint32_t t0, uint32_t nt)
{
	struct llmos_npu_op ops[LLMOS_NPU_MAX_OPS];
	struct llmos_npu_operand out;
	int i, n_ops = 0, ret;

	in.offset += (uint64_t)t0 * in.stride;
	for (i = 0; i < count; i++) {
		size_t rows = (size_t)mm[i].w->rows;

		if (!in_session_memory(s, mm[i].out, n * rows))
			continue;
		out = operand(s->mem.handle, LLMOS_NPU_TYPE_F32,
			      (uint64_t)((char *)(mm[i].out + (size_t)t0 * rows) - (char *)s->mem.data),
			      rows * sizeof(float));
		if ((ret = matmul_op(s->npu, &ops[n_ops++], mm[i].w, in, out, nt)))
			return ret;
		if (n_ops == LLMOS_NPU_MAX_OPS && (ret = submit(s, ops, n_ops)))
			return ret;
		n_ops %= LLMOS_NPU_MAX_OPS;
	}
	return n_ops ? submit(s, ops, n_ops) : 0;
}

int llmos_npu_run(struct llmos_session *s, const struct llmos_npu_matmul *mm, int count,
		  const float *x, uint32_t n)
{
	uint32_t chunk = tokens_per_job(s->npu, mm, count, n), t, nt;
	struct llmos_npu_operand in;
	int i, ret;

	if ((ret = quantize_input(s, mm[0].w, x, n, &in)))
		return ret;
	for (t = 0; t < n; t += nt) {
		nt = n - t < chunk ? n - t : chunk;
		if ((ret = run_in_place(s, mm, count, in, n, t, nt)))
			return ret;
	}
	for (i = 0; i < count; i++)
		if (!in_session_memory(s, mm[i].out, n * (size_t)mm[i].w->rows) &&
		    (ret = run_bounced(s, &mm[i], in, n)))
			return ret;
	return 0;
}

/* ---- counters ----------------------------------------------------------- */

struct weight_count {
	const struct llmos_npu *npu;
	uint32_t npu_weights, cpu_weights;
};

static void count_placement(const struct llmos_weight *w, void *arg)
{
	struct weight_count *c = arg;

	if (llmos_npu_runs(c->npu, w->type))
		c->npu_weights++;
	else
		c->cpu_weights++;
}

void llmos_npu_info(const struct llmos_npu *npu, const struct llmos_model *m,
		    struct llmos_session_device_info *info)
{
	struct weight_count c = { npu, 0, 0 };

	for_each_matmul_weight(m, count_placement, &c);
	info->npu_weights = c.npu_weights;
	info->cpu_weights = c.cpu_weights;
	if (!npu)
		return;
	info->npu_copy_bytes = npu->copy.handle ? npu->copy.size : 0;
	info->npu_jobs = npu->jobs;
	info->npu_ops = npu->ops;
	info->npu_ns = npu->ns;
}
