// SPDX-License-Identifier: GPL-2.0
/*
 * llmos_vnpu.c - the virtual NPU: a backend that runs jobs on one kernel
 * worker, one job at a time like a single-queue device, with the CPU's
 * vector unit (kernel_fpu_begin() on x86, kernel_neon_begin() on arm64).
 * It proves the accelerator path where no NPU exists, as vkms does for
 * display drivers.  Off unless the module parameter vnpu is set.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/workqueue.h>
#if defined(CONFIG_X86)
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#elif defined(CONFIG_ARM64)
#include <asm/cpufeature.h>
#include <asm/neon.h>
#endif

#include "llmos_npu.h"

static bool vnpu;
module_param(vnpu, bool, 0444);
MODULE_PARM_DESC(vnpu, "register the virtual NPU backend (default: off)");

/* Multiply-adds per slice of rows: between slices it yields and checks for a stop. */
#define VNPU_SLICE_MACS (1u << 18)

struct vnpu_device {
	struct workqueue_struct *wq;  /* ordered: one job at a time */
	struct work_struct work;
	struct llmos_npu_job *job;    /* the running job; set before the work is queued */
};

static struct vnpu_device vnpu_dev;

#if defined(CONFIG_X86)
static bool vnpu_fpu_usable(void)
{
	/* the arithmetic is built with -mfma (llmos_vnpu_dot.c) */
	return boot_cpu_has(X86_FEATURE_FMA) && boot_cpu_has(X86_FEATURE_AVX);
}
#define vnpu_fpu_begin() kernel_fpu_begin()
#define vnpu_fpu_end() kernel_fpu_end()
#elif defined(CONFIG_ARM64)
static bool vnpu_fpu_usable(void)
{
	return system_supports_fpsimd();
}
#define vnpu_fpu_begin() kernel_neon_begin()
#define vnpu_fpu_end() kernel_neon_end()
#else
static bool vnpu_fpu_usable(void)
{
	return false;
}
#define vnpu_fpu_begin() do { } while (0)
#define vnpu_fpu_end() do { } while (0)
#endif

/*
 * One MATMUL, token by token, a slice of rows at a time: one FPU section is
 * at most max(VNPU_SLICE_MACS, cols) multiply-adds, so preemption, a stop
 * and the timeout are never far.  -ECANCELED once the core says stop.
 */
static int vnpu_run_matmul(struct llmos_npu_job *job, const struct llmos_npu_matmul *op)
{
	u32 slice = max_t(u32, 1, VNPU_SLICE_MACS / op->cols);
	u32 t, r0, r1;

	for (t = 0; t < op->n_tokens; t++) {
		for (r0 = 0; r0 < op->rows; r0 = r1) {
			if (READ_ONCE(job->stop))
				return -ECANCELED;
			r1 = min(op->rows, r0 + slice);
			vnpu_fpu_begin();
			llmos_vnpu_matmul_rows(op, r0, r1, t);
			vnpu_fpu_end();
			cond_resched();
		}
	}
	return 0;
}

static void vnpu_work(struct work_struct *work)
{
	struct vnpu_device *dev = container_of(work, struct vnpu_device, work);
	struct llmos_npu_job *job = dev->job;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < job->nr_ops && !ret; i++)
		ret = vnpu_run_matmul(job, &job->ops[i]);
	dev->job = NULL;
	llmos_npu_job_done(job, ret);
}

static void vnpu_submit(struct llmos_npu_job *job)
{
	vnpu_dev.job = job;
	queue_work(vnpu_dev.wq, &vnpu_dev.work);
}

/* The worker checks job->stop between slices: nothing else to do. */
static void vnpu_cancel(struct llmos_npu_job *job)
{
}

static const struct llmos_npu_backend vnpu_backend = {
	.name = "vnpu",
	.types = BIT_ULL(LLMOS_NPU_TYPE_Q8_0) | BIT_ULL(LLMOS_NPU_TYPE_Q4_0),
	.submit = vnpu_submit,
	.cancel = vnpu_cancel,
};

int llmos_vnpu_init(void)
{
	int ret;

	if (!vnpu)
		return 0;
	if (!vnpu_fpu_usable()) {
		pr_warn("llmos: vnpu needs a CPU with FMA (x86) or NEON (arm64); not registered\n");
		vnpu = false;
		return 0;
	}
	vnpu_dev.wq = alloc_ordered_workqueue("llmos-vnpu", 0);
	if (!vnpu_dev.wq)
		return -ENOMEM;
	INIT_WORK(&vnpu_dev.work, vnpu_work);
	ret = llmos_npu_register(&vnpu_backend);
	if (ret) {
		destroy_workqueue(vnpu_dev.wq);
		vnpu = false;
	}
	return ret;
}

void llmos_vnpu_exit(void)
{
	if (!vnpu)
		return;
	llmos_npu_unregister(&vnpu_backend);
	destroy_workqueue(vnpu_dev.wq);
}
