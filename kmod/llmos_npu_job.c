// SPDX-License-Identifier: GPL-2.0
/*
 * llmos_npu_job.c - turning an NPU_SUBMIT's operations into a job: every
 * operand checked completely (handle, type, offset, stride, extent, access)
 * and referenced, so that nothing a job touches can go while it runs.
 */
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "llmos_internal.h"
#include "llmos_npu.h"

/* Bounds that keep every size computation far from overflow. */
#define NPU_MAX_COLS (1u << 20)
#define NPU_MAX_ROWS (1u << 24)
#define NPU_MAX_TOKENS 4096

enum npu_role { NPU_WEIGHTS, NPU_INPUT, NPU_OUTPUT };

/* Bytes of one row of cols values of type (cols a multiple of 32). */
static u64 npu_row_bytes(u32 type, u32 cols)
{
	switch (type) {
	case LLMOS_NPU_TYPE_Q8_0:
		return (u64)cols / 32 * 34;
	case LLMOS_NPU_TYPE_Q4_0:
		return (u64)cols / 32 * 18;
	default:
		return (u64)cols * 4;
	}
}

static int npu_check_op(const struct llmos_npu_op *op, u64 types)
{
	if (op->op != LLMOS_NPU_OP_MATMUL || op->flags || op->reserved0 ||
	    memchr_inv(op->reserved, 0, sizeof(op->reserved)))
		return -EINVAL;
	if (!op->rows || !op->cols || !op->n_tokens || op->cols % 32 || op->cols > NPU_MAX_COLS ||
	    op->rows > NPU_MAX_ROWS || op->n_tokens > NPU_MAX_TOKENS)
		return -EINVAL;
	if (op->weights.type >= 64 || !(types & BIT_ULL(op->weights.type)) ||
	    op->input.type != LLMOS_NPU_TYPE_Q8_0 || op->output.type != LLMOS_NPU_TYPE_F32)
		return -EINVAL;
	if (op->output.offset % 4 || op->output.stride % 4)
		return -EINVAL;
	return 0;
}

/* Reference what handle id names, for role; its size in *size. */
static int npu_ref_handle(struct llmos_file *lf, u32 id, enum npu_role role,
			  struct llmos_npu_ref *ref, u64 *size)
{
	struct llmos_handle *h;
	int ret = 0;

	mutex_lock(&lf->lock);
	h = xa_load(&lf->handles, id);
	if (!h) {
		ret = -EINVAL;
	} else if (h->buf && role == NPU_OUTPUT && h->buf->read_only) {
		ret = -EACCES; /* a dma-buf its importer could only read */
	} else if (h->buf) {
		ref->buf = h->buf;
		llmos_buf_get(h->buf);
		*size = h->buf->size;
	} else if (role == NPU_OUTPUT) {
		ret = -EACCES; /* models are read-only */
	} else if (role != NPU_WEIGHTS || READ_ONCE(h->model->state) != LLMOS_MODEL_SEALED) {
		ret = -EINVAL;
	} else {
		ref->model = h->model;
		llmos_model_get(h->model);
		*size = h->model->size;
	}
	mutex_unlock(&lf->lock);
	return ret;
}

/*
 * Check one operand of nrows rows of row_bytes, reference its memory (in
 * job->refs, released with the job) and give its kernel address.
 */
static int npu_operand(struct llmos_file *lf, struct llmos_npu_job *job,
		       const struct llmos_npu_operand *o, enum npu_role role, u64 row_bytes,
		       u32 nrows, const u8 **addr)
{
	struct llmos_npu_ref *ref = &job->refs[job->nr_refs];
	u64 size, end;
	u8 *base;
	int ret;

	if (o->stride < row_bytes)
		return -EINVAL;
	if (check_mul_overflow((u64)(nrows - 1), o->stride, &end) ||
	    check_add_overflow(end, row_bytes, &end) || check_add_overflow(end, o->offset, &end))
		return -EINVAL;
	ret = npu_ref_handle(lf, o->handle, role, ref, &size);
	if (ret)
		return ret;
	job->nr_refs++;
	if (end > size)
		return -EINVAL;
	base = ref->model ? llmos_model_vaddr(ref->model) : llmos_buf_vaddr(ref->buf);
	if (!base)
		return -ENOMEM;
	*addr = base + o->offset;
	return 0;
}

/* One checked operation into job->ops[i]. */
static int npu_add_matmul(struct llmos_file *lf, struct llmos_npu_job *job,
			  const struct llmos_npu_op *op, u64 types)
{
	struct llmos_npu_matmul *m = &job->ops[job->nr_ops];
	const u8 *out;
	int ret;

	ret = npu_check_op(op, types);
	if (!ret)
		ret = npu_operand(lf, job, &op->weights, NPU_WEIGHTS,
				  npu_row_bytes(op->weights.type, op->cols), op->rows, &m->w);
	if (!ret)
		ret = npu_operand(lf, job, &op->input, NPU_INPUT,
				  npu_row_bytes(LLMOS_NPU_TYPE_Q8_0, op->cols), op->n_tokens, &m->x);
	if (!ret)
		ret = npu_operand(lf, job, &op->output, NPU_OUTPUT, (u64)op->rows * 4,
				  op->n_tokens, &out);
	if (ret)
		return ret;
	m->wtype = op->weights.type;
	m->rows = op->rows;
	m->cols = op->cols;
	m->n_tokens = op->n_tokens;
	m->w_stride = op->weights.stride;
	m->x_stride = op->input.stride;
	m->out = (float *)out;
	m->out_stride = op->output.stride / 4;
	job->cost += (u64)op->rows * op->cols * op->n_tokens / 1024 + 1;
	job->nr_ops++;
	return 0;
}

/* Drop what the job references (its operands' memory). */
void llmos_npu_job_unref(struct llmos_npu_job *job)
{
	unsigned int i;

	for (i = 0; i < job->nr_refs; i++) {
		if (job->refs[i].model)
			llmos_model_put(job->refs[i].model);
		else if (job->refs[i].buf)
			llmos_buf_put(job->refs[i].buf);
	}
	job->nr_refs = 0;
}

/* Copy operation i of the caller's array, versioned by op_size like any argument. */
static int npu_copy_op(struct llmos_npu_op *op, const struct llmos_npu_submit *arg,
		       unsigned int i)
{
	u64 addr = arg->ops + (u64)i * arg->op_size;

	return llmos_copy_arg(op, sizeof(*op), u64_to_user_ptr(addr), arg->op_size, sizeof(*op));
}

/**
 * llmos_npu_job_build() - a job holding every operation of a submission.
 * @lf:    the submitting file (operand handles are its).
 * @arg:   the submission, its flags and counts already checked.
 * @types: the weight types the backend runs.
 *
 * Return: the job with one reference, or an ERR_PTR: -EINVAL (a bad
 * operation or operand), -EACCES (a model as output), -E2BIG, -EFAULT or
 * -ENOMEM.
 */
struct llmos_npu_job *llmos_npu_job_build(struct llmos_file *lf, const struct llmos_npu_submit *arg,
					  u64 types)
{
	struct llmos_npu_job *job;
	struct llmos_npu_op op;
	unsigned int i;
	int ret = 0;

	job = kzalloc(struct_size(job, ops, arg->nr_ops), GFP_KERNEL_ACCOUNT);
	if (!job)
		return ERR_PTR(-ENOMEM);
	kref_init(&job->ref);
	INIT_LIST_HEAD(&job->node);
	init_completion(&job->done);
	for (i = 0; i < arg->nr_ops && !ret; i++) {
		ret = npu_copy_op(&op, arg, i);
		if (!ret)
			ret = npu_add_matmul(lf, job, &op, types);
	}
	if (ret) {
		llmos_npu_job_unref(job);
		kfree(job);
		return ERR_PTR(ret);
	}
	return job;
}
