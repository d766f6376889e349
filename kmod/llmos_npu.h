/* SPDX-License-Identifier: GPL-2.0 */
/*
 * llmos_npu.h - the accelerator interface inside llmos.ko: what a backend
 * (the virtual NPU, or a real NPU's driver) registers, and the jobs the
 * core hands it.  The core validates and orders jobs, holds references on
 * their memory, times them out and completes them; a backend only runs
 * them.  Documentation/npu.md says how to write one.
 */
#ifndef LLMOS_NPU_H
#define LLMOS_NPU_H

#include <linux/completion.h>
#include <linux/dma-fence.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <uapi/linux/llmos.h>

#include "llmos_npu_matmul.h"

struct io_uring_cmd;
struct llmos_buf;
struct llmos_file;
struct llmos_model;
struct llmos_npu_client;

/* What a job holds a reference on: a model or a buffer. */
struct llmos_npu_ref {
	struct llmos_model *model;
	struct llmos_buf *buf;
};

/* NEW: built, not yet visible to cancellation (a kzalloc'd job starts here). */
enum llmos_npu_state { LLMOS_NPU_NEW, LLMOS_NPU_QUEUED, LLMOS_NPU_RUNNING, LLMOS_NPU_DONE };

/*
 * struct llmos_npu_job - one submitted job.  References: the submitter
 * until it returns, the queue or the backend while queued or running, a
 * pending io_uring command, the timeout work.  The state and list fields
 * are protected by llmos_npu_lock.
 */
struct llmos_npu_job {
	struct kref ref;
	struct list_head node;           /* in its class's queue while queued */
	struct llmos_npu_client *client; /* its file's share; referenced */
	enum llmos_npu_state state;
	u32 class, weight;
	u64 vstart, cost;                /* fair-share tag and size (see llmos_npu.c) */
	u64 seqno;
	bool stop;                       /* the backend should finish now; READ_ONCE */
	int stop_result;                 /* what a stopped job reports */
	u64 start_ns;
	struct io_uring_cmd *ioucmd;     /* the pending uring_cmd, or NULL */
	struct completion done;          /* for an ioctl submitter */
	int result;                      /* valid once done */
	struct dma_fence *fence;         /* signalled when done, or NULL */
	struct delayed_work timeout;
	void *backend_priv;              /* the backend's, while running */
	unsigned int nr_ops;
	unsigned int nr_refs;
	struct llmos_npu_ref refs[3 * LLMOS_NPU_MAX_OPS];
	struct llmos_npu_matmul ops[];
};

/*
 * struct llmos_npu_backend - an accelerator.
 * @name:   shown in NPU_INFO, sysfs and fences.
 * @types:  bit (1 << LLMOS_NPU_TYPE_x) per weight type it runs.
 * @submit: start running job (the core runs one at a time); never fails:
 *          a device error is reported through llmos_npu_job_done().
 * @cancel: make a running job end soon; it still ends through
 *          llmos_npu_job_done().  The core has set job->stop first.
 * The backend calls llmos_npu_job_done(job, result) exactly once per
 * submitted job, from process context, and never from within submit (it
 * starts the next job); cancel may come before the job has started on the
 * device.
 */
struct llmos_npu_backend {
	const char *name;
	u64 types;
	void (*submit)(struct llmos_npu_job *job);
	void (*cancel)(struct llmos_npu_job *job);
};

int llmos_npu_register(const struct llmos_npu_backend *b);
void llmos_npu_unregister(const struct llmos_npu_backend *b);
void llmos_npu_job_done(struct llmos_npu_job *job, int result);
bool llmos_npu_present(void);
int llmos_npu_init(void);
void llmos_npu_exit(void);

/* llmos_npu.c: the commands and the file's end. */
int llmos_npu_info(struct llmos_file *lf, void __user *uarg, u32 usize);
int llmos_npu_submit_ioctl(struct llmos_file *lf, void __user *uarg, u32 usize);
int llmos_npu_submit_uring(struct llmos_file *lf, struct io_uring_cmd *ioucmd,
			   unsigned int issue_flags, void __user *uarg, u32 usize);
void llmos_npu_uring_cancel(struct io_uring_cmd *ioucmd, unsigned int issue_flags);
void llmos_npu_file_release(struct llmos_file *lf);
void llmos_npu_stats(struct llmos_npu_info *info);

/* llmos_npu_job.c: building a job from a submission. */
struct llmos_npu_job *llmos_npu_job_build(struct llmos_file *lf, const struct llmos_npu_submit *arg,
					  u64 types);
void llmos_npu_job_put(struct llmos_npu_job *job);
void llmos_npu_job_unref(struct llmos_npu_job *job);

/* llmos_vnpu.c: the virtual NPU (module parameter vnpu). */
int llmos_vnpu_init(void);
void llmos_vnpu_exit(void);

#endif /* LLMOS_NPU_H */
