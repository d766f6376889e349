/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * llmos.h - the one ABI between llmos.ko (/dev/llmos) and userspace.
 *
 * Every command is ioctl-encoded; the same number is used as an ioctl
 * request and as the cmd_op of an IORING_OP_URING_CMD submission on the
 * /dev/llmos file.  Unknown commands fail with -ENOTTY as ioctls and with
 * -EOPNOTSUPP as uring_cmds.
 *
 * Argument structs are versioned by their size: the ioctl path takes the
 * size encoded in the request number, the uring_cmd path takes the size in
 * struct llmos_uring_cmd.len.  A size above 4096 bytes fails with -E2BIG
 * (as clone3 and openat2 do).  The module accepts older (shorter) and newer
 * (longer) structs as long as every byte it does not know is zero, and it
 * writes back at most the caller's size.  Fields named "reserved" and all
 * flags not defined here must be zero, or the command fails with -EINVAL.
 * Fields marked "out" are ignored on input, so a struct can be reused.
 *
 * Capabilities are advertised by LLMOS_F_* bits from LLMOS_CMD_GET_INFO.
 */
#ifndef _UAPI_LINUX_LLMOS_H
#define _UAPI_LINUX_LLMOS_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* Bumped only for incompatible changes; additions use feature bits. */
#define LLMOS_ABI_VERSION 1

/* Feature bits reported in struct llmos_info.features. */
/* GET_INFO and the other control commands work as ioctl(2). */
#define LLMOS_F_IOCTL (1ULL << 0)
/* Commands are also accepted as IORING_OP_URING_CMD, on SQE64 and SQE128 rings. */
#define LLMOS_F_URING_CMD (1ULL << 1)
/* Shared model memory: MODEL_CREATE/SEAL/OPEN/CLOSE/LIST/UNLOAD and mmap. */
#define LLMOS_F_MODEL_MEMORY (1ULL << 2)
/* Compute scheduler: JOB_CREATE/STEP/END, SCHED_SET_PRIO, SCHED_STATS. */
#define LLMOS_F_SCHED (1ULL << 3)
/* JOB_WATCH: a running step learns that a more urgent request waits. */
#define LLMOS_F_SCHED_PREEMPT (1ULL << 4)
/* JOB_STEP accepts LLMOS_STEP_RELEASE_ONLY (give the slot back without queueing). */
#define LLMOS_F_STEP_RELEASE_ONLY (1ULL << 5)
/* Buffers: BUF_CREATE/EXPORT/IMPORT, mmap of buffer handles, dma-buf export and import. */
#define LLMOS_F_BUFFERS (1ULL << 6)
/* An accelerator backend is registered: NPU_INFO reports it, NPU_SUBMIT runs jobs on it. */
#define LLMOS_F_NPU (1ULL << 7)
/* Every feature this header defines. */
#define LLMOS_F_ALL (LLMOS_F_IOCTL | LLMOS_F_URING_CMD | LLMOS_F_MODEL_MEMORY | LLMOS_F_SCHED | \
		     LLMOS_F_SCHED_PREEMPT | LLMOS_F_STEP_RELEASE_ONLY | LLMOS_F_BUFFERS | \
		     LLMOS_F_NPU)

/* ioctl type byte; 0xB9 is unassigned in ioctl-number.rst. */
#define LLMOS_IOC_MAGIC 0xB9

#define LLMOS_VERSION_LEN 32

/*
 * struct llmos_info - LLMOS_CMD_GET_INFO argument.
 * @abi_version:    out: LLMOS_ABI_VERSION of the running module.
 * @flags:          in: must be zero.
 * @features:       out: LLMOS_F_* bits the module supports.
 * @module_version: out: NUL-terminated module version string.
 * @reserved:       in: must be zero; out: zero.
 */
struct llmos_info {
	__u32 abi_version;
	__u32 flags;
	__u64 features;
	__u8 module_version[LLMOS_VERSION_LEN];
	__u64 reserved[4];
};

/*
 * struct llmos_uring_cmd - the payload of an IORING_OP_URING_CMD SQE
 * (sqe->cmd, 16 bytes, so it fits normal and SQE128 rings alike).
 * @addr:     user pointer to the command's argument struct.
 * @len:      size in bytes of that struct as the caller knows it.
 * @reserved: must be zero.  On an SQE128 ring the remaining 64 bytes of
 *            the command area must be zero too.
 * The CQE's res is the command's return value (0 or a negative errno).
 */
struct llmos_uring_cmd {
	__u64 addr;
	__u32 len;
	__u32 reserved;
};

/*
 * Shared model memory (LLMOS_F_MODEL_MEMORY).
 *
 * A model is a named, fixed-size region of zeroed, pinned kernel pages.  Its
 * creator maps it writable (MAP_SHARED) through the offset MODEL_CREATE
 * returns, fills it, unmaps it and seals it; from then on it is immutable and
 * any process whose credentials its mode admits may MODEL_OPEN it and map it
 * read-only.  A handle names one model within one open file of /dev/llmos;
 * mmap offsets are LLMOS_MMAP_OFFSET(handle) plus an offset in the model.
 * Closing the file releases its handles; a model whose creator goes before
 * sealing it disappears.
 *
 * Names are 1..63 bytes of [A-Za-z0-9._-], not starting with '.', NUL
 * padded.  Creating and unloading need CAP_SYS_ADMIN.
 */
#define LLMOS_NAME_LEN 64
#define LLMOS_MMAP_SHIFT 40 /* each handle's window is 1 TiB */
#define LLMOS_MMAP_OFFSET(handle) ((__u64)(handle) << LLMOS_MMAP_SHIFT)
#define LLMOS_NUMA_ANY (-1)

/* Model states, as MODEL_LIST reports them. */
#define LLMOS_MODEL_LOADING 0 /* created, being written by its creator */
#define LLMOS_MODEL_SEALED 1  /* immutable, open for use */

/*
 * struct llmos_model_create - LLMOS_CMD_MODEL_CREATE argument.
 * @name:        in: the model's name.
 * @size:        in: bytes (rounded up to whole pages), at least 1.
 * @mode:        in: permission bits (0..0777), like a file's; the owner and
 *               group are the creator's effective uid and gid.
 * @numa_node:   in: node to allocate on, or LLMOS_NUMA_ANY.
 * @flags:       in: must be zero.
 * @handle:      out: the model's handle in this file.
 * @mmap_offset: out: LLMOS_MMAP_OFFSET(handle).
 * @reserved:    must be zero.
 */
struct llmos_model_create {
	__u8 name[LLMOS_NAME_LEN];
	__u64 size;
	__u32 mode;
	__s32 numa_node;
	__u32 flags;
	__u32 handle;
	__u64 mmap_offset;
	__u64 reserved[4];
};

/*
 * struct llmos_model_handle - MODEL_SEAL and MODEL_CLOSE argument.
 * @handle:   in: a handle of this file (SEAL: one MODEL_CREATE gave).
 * @flags:    in: must be zero.
 * @reserved: must be zero.
 */
struct llmos_model_handle {
	__u32 handle;
	__u32 flags;
	__u64 reserved[3];
};

/*
 * struct llmos_model_open - LLMOS_CMD_MODEL_OPEN argument.
 * @name:        in: a sealed model's name.
 * @flags:       in: must be zero.
 * @handle:      out: the model's handle in this file.
 * @size:        out: the model's size in bytes (as created).
 * @mmap_offset: out: LLMOS_MMAP_OFFSET(handle); map it PROT_READ.
 * @reserved:    must be zero.
 */
struct llmos_model_open {
	__u8 name[LLMOS_NAME_LEN];
	__u32 flags;
	__u32 handle;
	__u64 size;
	__u64 mmap_offset;
	__u64 reserved[4];
};

/* struct llmos_model_entry - one model, as MODEL_LIST describes it. */
struct llmos_model_entry {
	__u8 name[LLMOS_NAME_LEN];
	__u64 size;       /* bytes as created */
	__u64 pinned;     /* bytes of pages held */
	__u32 state;      /* LLMOS_MODEL_* */
	__u32 users;      /* handles open on it, in all files */
	__u32 mappings;   /* memory mappings of it, in all processes */
	__s32 numa_node;  /* as requested (LLMOS_NUMA_ANY: any) */
	__u32 owner_uid;
	__u32 owner_gid;
	__u32 mode;
	__u32 reserved;
};

/*
 * struct llmos_model_list - LLMOS_CMD_MODEL_LIST argument.
 * @entries:  in: user pointer to an array of struct llmos_model_entry.
 * @capacity: in: entries the array holds (0 to ask for the count).
 * @count:    out: models there are; min(count, capacity) were written.
 * @entry_size: in: sizeof(struct llmos_model_entry) as the caller knows it.
 * @reserved: must be zero.
 */
struct llmos_model_list {
	__u64 entries;
	__u32 capacity;
	__u32 count;
	__u32 entry_size;
	__u32 flags; /* in: must be zero */
	__u64 reserved[2];
};

/* Unload as soon as the last user goes; the name is free at once. */
#define LLMOS_UNLOAD_WHEN_UNUSED (1u << 0)

/*
 * struct llmos_model_unload - LLMOS_CMD_MODEL_UNLOAD argument.
 * Fails with -EBUSY while the model is open or mapped, unless
 * LLMOS_UNLOAD_WHEN_UNUSED is given.
 */
struct llmos_model_unload {
	__u8 name[LLMOS_NAME_LEN];
	__u32 flags;
	__u32 reserved[3];
};

/*
 * Compute scheduler (LLMOS_F_SCHED).
 *
 * The module hands out a fixed number of compute slots (module parameter
 * `slots`, default 1: a step uses every core).  A client creates a job with
 * a priority class and a weight, then for each forward step submits
 * LLMOS_CMD_JOB_STEP as an IORING_OP_URING_CMD: its CQE arrives when the
 * step is granted a slot.  With LLMOS_STEP_RELEASE the same submission
 * first releases the grant of the previous step, so one round trip per step
 * suffices.  Classes are strictly ordered (REALTIME first); inside a class,
 * processes share by weight.  A request waiting longer than the module
 * parameter `starve_ms` is served before any class (aging); aging then
 * pauses for `starve_ms` or nine times that step's hold, whichever is
 * longer, so starving classes get about a tenth of slot time: this bounds
 * how long a lower class can starve while keeping the classes' order.  A grant held longer than `lease_ms`
 * is revoked: the job's next JOB_STEP fails with -ETIME (and does not
 * queue), and the one after works again.  Pending steps complete with
 * -ECANCELED when their job ends or their ring is torn down (ring close,
 * process death).  On 6.12 kernels IORING_OP_ASYNC_CANCEL does not reach
 * uring_cmd requests, and a thread's exit leaves its queued steps queued.
 *
 * A process's class ceiling and weight (SCHED_SET_PRIO) bound the classes
 * its jobs may use; by default NORMAL and weight 100.  Raising a ceiling
 * above NORMAL, or changing another user's process, needs CAP_SYS_NICE.
 */
#define LLMOS_CLASS_REALTIME 0
#define LLMOS_CLASS_INTERACTIVE 1
#define LLMOS_CLASS_NORMAL 2
#define LLMOS_CLASS_BACKGROUND 3
#define LLMOS_NR_CLASSES 4

#define LLMOS_WEIGHT_DEFAULT 100
#define LLMOS_WEIGHT_MAX 10000

/*
 * struct llmos_job_create - LLMOS_CMD_JOB_CREATE argument.
 * @sched_class: in: LLMOS_CLASS_*; at or below the process's ceiling (-EPERM).
 * @weight:   in: 1..LLMOS_WEIGHT_MAX, or 0 for the process's weight; above
 *            LLMOS_WEIGHT_DEFAULT needs CAP_SYS_NICE (-EPERM).
 * @flags:    in: must be zero.
 * @job:      out: the job's id in this file.
 * @reserved: must be zero.
 */
struct llmos_job_create {
	__u32 sched_class;
	__u32 weight;
	__u32 flags;
	__u32 job;
	__u64 reserved[3];
};

/* JOB_STEP flags. */
#define LLMOS_STEP_RELEASE (1u << 0) /* release the grant this job holds, then queue */
/* Only release the grant this job holds (if any); complete at once with 0. */
#define LLMOS_STEP_RELEASE_ONLY (1u << 1)

/*
 * struct llmos_job_step - LLMOS_CMD_JOB_STEP argument (uring_cmd; as an
 * ioctl it blocks, interruptibly, until granted).
 * @job:      in: a job of this file.
 * @flags:    in: LLMOS_STEP_*.
 * @reserved: must be zero.
 * CQE res: 0 once granted; -ETIME if the previous grant was revoked for
 * overrunning its lease; -EBUSY if the job already has a step queued or
 * holds a grant it did not release; -ECANCELED if cancelled.
 */
struct llmos_job_step {
	__u32 job;
	__u32 flags;
	__u64 reserved[3];
};

/*
 * LLMOS_CMD_JOB_WATCH (LLMOS_F_SCHED_PREEMPT; uring_cmd only, argument
 * struct llmos_job_step with no flags): submitted while the job holds a
 * grant, it completes with LLMOS_WATCH_PREEMPT when a request of a higher
 * class than the grant's queues, so that the client can hand the slot over
 * at its next safe point (between layers: JOB_STEP with RELEASE, then go
 * on when granted again); or with 0 when the grant ends first (released,
 * revoked, job ended) and at once if the job holds nothing.  -EBUSY if the
 * job already has a watch; -ECANCELED if its ring goes.
 */
#define LLMOS_WATCH_PREEMPT 1

/* struct llmos_job_end - LLMOS_CMD_JOB_END argument: release all, cancel pending. */
struct llmos_job_end {
	__u32 job;
	__u32 flags;
	__u64 reserved[3];
};

/*
 * struct llmos_sched_prio - LLMOS_CMD_SCHED_SET_PRIO argument.
 * @pid:      in: a process (thread group) id; 0 for the caller.
 * @sched_class: in: the highest class its jobs may use.
 * @weight:   in: 1..LLMOS_WEIGHT_MAX, its share inside a class; above
 *            LLMOS_WEIGHT_DEFAULT needs CAP_SYS_NICE (-EPERM).
 * @flags:    in: must be zero.
 * @reserved: must be zero.
 */
struct llmos_sched_prio {
	__s32 pid;
	__u32 sched_class;
	__u32 weight;
	__u32 flags;
	__u64 reserved[2];
};

/* Wait times are kept as log2 histograms of microseconds. */
#define LLMOS_WAIT_BUCKETS 24 /* bucket i: [2^i, 2^(i+1)) us; 0 holds [0, 2) us */

/* struct llmos_sched_stat - counters of one class, or of one process. */
struct llmos_sched_stat {
	__s32 pid;        /* process entries: its id; class entries: -1 */
	__u32 sched_class; /* process entries: its ceiling */
	__u32 weight;     /* process entries: its weight */
	__u32 queued;     /* requests waiting now */
	__u32 held;       /* grants held now */
	__u32 jobs;       /* jobs open now */
	__u64 grants;     /* total */
	__u64 revocations;/* total */
	__u64 cancels;    /* total */
	__u64 wait_us_total;
	__u64 wait_hist[LLMOS_WAIT_BUCKETS];
};

/*
 * struct llmos_sched_stats - LLMOS_CMD_SCHED_STATS argument.
 * @classes:    out: one entry per class.
 * @procs:      in: user pointer to an array of struct llmos_sched_stat.
 * @capacity:   in: entries @procs holds.
 * @count:      out: processes known; min(count, capacity) were written.
 * @slots:      out: compute slots; @slots_busy: how many are held now.
 * @flags:      in: must be zero.
 * @reserved:   must be zero.
 */
struct llmos_sched_stats {
	struct llmos_sched_stat classes[LLMOS_NR_CLASSES];
	__u64 procs;
	__u32 capacity;
	__u32 count;
	__u32 slots;
	__u32 slots_busy;
	__u32 flags;
	__u32 reserved[3];
};

/*
 * Buffers (LLMOS_F_BUFFERS).
 *
 * A buffer is an unnamed region of zeroed pages, kept off the LRU (never
 * swapped or reclaimed), charged to the creator's memory cgroup and counted
 * against the module's cap (parameter max_buf_mb).  Its handle lives in the
 * same table as model handles: map it read-write (MAP_SHARED) at
 * LLMOS_MMAP_OFFSET(handle), close it with LLMOS_CMD_HANDLE_CLOSE, use it as
 * an NPU job operand.  BUF_EXPORT makes a dma-buf fd of it (mmap, vmap,
 * DMA_BUF_IOCTL_SYNC, attach by any driver); BUF_IMPORT makes a handle of
 * any exporter's dma-buf fd (job operands only: map the dma-buf itself).
 * The pages are freed when the last handle, mapping, dma-buf and job that
 * use them are gone; they are zeroed when allocated, so nothing of a
 * previous user is ever seen.
 */
#define LLMOS_CMD_HANDLE_CLOSE LLMOS_CMD_MODEL_CLOSE /* closes any handle */

/*
 * struct llmos_buf_create - LLMOS_CMD_BUF_CREATE argument.
 * @size:        in: bytes (rounded up to whole pages), 1 to 1 TiB (one
 *               handle's mmap window; -EINVAL outside).
 * @numa_node:   in: node to allocate on, or LLMOS_NUMA_ANY.
 * @flags:       in: must be zero.
 * @handle:      out: the buffer's handle in this file.
 * @reserved0:   must be zero.
 * @mmap_offset: out: LLMOS_MMAP_OFFSET(handle).
 * @reserved:    must be zero.
 * -ENOSPC when the module's buffer cap would be passed, -ENOMEM when the
 * memory cgroup refuses.
 */
struct llmos_buf_create {
	__u64 size;
	__s32 numa_node;
	__u32 flags;
	__u32 handle;
	__u32 reserved0;
	__u64 mmap_offset;
	__u64 reserved[4];
};

/* BUF_EXPORT flags. */
#define LLMOS_EXPORT_CLOEXEC (1u << 0) /* the new fd is close-on-exec */

/*
 * struct llmos_buf_export - LLMOS_CMD_BUF_EXPORT argument.
 * @handle:   in: a buffer created in this file (not an imported one).
 * @flags:    in: LLMOS_EXPORT_*.
 * @fd:       out: a dma-buf file descriptor (read-write).
 * @reserved: must be zero.
 */
struct llmos_buf_export {
	__u32 handle;
	__u32 flags;
	__s32 fd;
	__u32 reserved0;
	__u64 reserved[3];
};

/*
 * struct llmos_buf_import - LLMOS_CMD_BUF_IMPORT argument.
 * @fd:       in: a dma-buf file descriptor of any exporter (udmabuf, a GPU,
 *            another llmos buffer); the exporter must support vmap.  A
 *            dma-buf whose fd is not open for writing is input only (as an
 *            NPU output: -EACCES).  A file holds at most LLMOS_MAX_IMPORTS
 *            imports (-ENOSPC).
 * @flags:    in: must be zero.
 * @handle:   out: a handle usable as an NPU operand (not mappable here).
 * @size:     out: the dma-buf's size in bytes.
 * @reserved: must be zero.
 */
#define LLMOS_MAX_IMPORTS 64

struct llmos_buf_import {
	__s32 fd;
	__u32 flags;
	__u32 handle;
	__u32 reserved0;
	__u64 size;
	__u64 reserved[3];
};

/*
 * The accelerator job path (LLMOS_F_NPU).
 *
 * A job is a list of 1..LLMOS_NPU_MAX_OPS operations run in order by the
 * registered backend (one job at a time, like a single-queue device).
 * NPU_SUBMIT validates every operand at submit time (handle, type, offset,
 * stride and extent within the memory; -EINVAL, or -EACCES for an output
 * that is not writable) and holds references on all of them until the job
 * is over, so closing handles, unmapping or dying never frees memory the
 * device still uses.  Queued jobs run by the scheduler's classes (the class
 * and weight of the scheduler job named in @job, else NORMAL and the
 * process's weight): a higher class first, then fair shares by weight.
 *
 * As an IORING_OP_URING_CMD the CQE arrives when the job is over: res 0,
 * -ETIMEDOUT when it ran longer than the module parameter npu_timeout_ms (0: no limit),
 * -ECANCELED when the file or ring went first, -EIO when the device failed.
 * As an ioctl it blocks until then (a fatal signal cancels the job; other
 * signals are handled once it is over),
 * unless LLMOS_NPU_FENCE_OUT is given: then it returns once the job is
 * queued and the fence tells the end.  With LLMOS_NPU_FENCE_OUT, @fence_fd
 * gets a sync_file fd whose fence signals when the job is over (its status
 * is the job's result), for poll(2) or any driver that takes sync_files.
 */
#define LLMOS_NPU_MAX_OPS 16
#define LLMOS_NPU_MAX_QUEUED 64 /* jobs a file may have queued or running */

/* Operations. */
#define LLMOS_NPU_OP_MATMUL 1 /* out[t][r] = dot(weights row r, input token t) */

/* Operand types (ggml's numbers). */
#define LLMOS_NPU_TYPE_F32 0
#define LLMOS_NPU_TYPE_Q4_0 2
#define LLMOS_NPU_TYPE_Q8_0 8

/*
 * struct llmos_npu_operand - one tensor of an operation.
 * @handle: a handle of this file: a sealed model (weights only), a buffer
 *          or an imported dma-buf.
 * @type:   LLMOS_NPU_TYPE_*.
 * @offset: bytes from the start of the handle's memory to row 0.
 * @stride: bytes from one row (weights) or token (input, output) to the
 *          next; at least the row's size.
 */
struct llmos_npu_operand {
	__u32 handle;
	__u32 type;
	__u64 offset;
	__u64 stride;
};

/*
 * struct llmos_npu_op - one operation.
 * MATMUL: weights Q8_0 or Q4_0, @rows rows of @cols values (@cols a
 * multiple of 32); input Q8_0, @n_tokens rows of @cols values; output F32,
 * @n_tokens rows of @rows values (@offset and @stride multiples of 4).
 * Each result is the sum CPU kernels compute: per block of 32, int8 x int8
 * summed in int32, scaled by the two fp16 scales, accumulated in float.
 */
struct llmos_npu_op {
	__u32 op;
	__u32 flags;     /* in: must be zero */
	__u32 rows;
	__u32 cols;
	__u32 n_tokens;
	__u32 reserved0;
	struct llmos_npu_operand weights;
	struct llmos_npu_operand input;
	struct llmos_npu_operand output;
	__u64 reserved[2];
};

/* NPU_SUBMIT flags. */
#define LLMOS_NPU_FENCE_OUT (1u << 0)     /* return a sync_file fd in @fence_fd */
#define LLMOS_NPU_FENCE_CLOEXEC (1u << 1) /* that fd is close-on-exec */

/*
 * struct llmos_npu_submit - LLMOS_CMD_NPU_SUBMIT argument.
 * @ops:      in: user pointer to @nr_ops struct llmos_npu_op.
 * @nr_ops:   in: 1..LLMOS_NPU_MAX_OPS.
 * @op_size:  in: sizeof(struct llmos_npu_op) as the caller knows it.
 * @flags:    in: LLMOS_NPU_*.
 * @job:      in: a scheduler job of this file (JOB_CREATE) whose class and
 *            weight order this job, or 0.
 * @fence_fd: out: the sync_file fd (LLMOS_NPU_FENCE_OUT), else -1.
 * @seqno:    out: the job's number, as the fence's seqno.
 * @reserved: must be zero.
 * -EBUSY when the file already has LLMOS_NPU_MAX_QUEUED jobs; -ENODEV with
 * no backend.
 */
struct llmos_npu_submit {
	__u64 ops;
	__u32 nr_ops;
	__u32 op_size;
	__u32 flags;
	__u32 job;
	__s32 fence_fd;
	__u32 reserved0;
	__u64 seqno;
	__u64 reserved[3];
};

#define LLMOS_NPU_NAME_LEN 32

/*
 * struct llmos_npu_info - LLMOS_CMD_NPU_INFO argument: the backend and its
 * counters since the module loaded (the same as in sysfs).
 * @flags:       in: must be zero.
 * @present:     out: 1 when a backend is registered.
 * @name:        out: the backend's name ("vnpu").
 * @types:       out: bit (1 << LLMOS_NPU_TYPE_x) per weight type it runs.
 * @submitted:   out: jobs accepted.
 * @completed:   out: jobs that finished with 0.
 * @failed:      out: jobs that finished with an error other than these two:
 * @timedout:    out: jobs stopped by the timeout.
 * @cancelled:   out: jobs cancelled (file or ring gone, signal).
 * @busy_ns:     out: time the device spent running jobs.
 * @queued:      out: jobs waiting now; @running: 0 or 1.
 * @max_queued:  out: the most jobs ever waiting at once.
 * @buf_bytes:   out: bytes of all llmos buffers now; @buf_cap_bytes: the cap.
 * @timeout_ms:  out: the job timeout.
 * @reserved:    must be zero.
 */
struct llmos_npu_info {
	__u32 flags;
	__u32 present;
	__u8 name[LLMOS_NPU_NAME_LEN];
	__u64 types;
	__u64 submitted;
	__u64 completed;
	__u64 failed;
	__u64 timedout;
	__u64 cancelled;
	__u64 busy_ns;
	__u32 queued;
	__u32 running;
	__u32 max_queued;
	__u32 timeout_ms;
	__u64 buf_bytes;
	__u64 buf_cap_bytes;
	__u64 reserved[4];
};

#define LLMOS_CMD_GET_INFO _IOWR(LLMOS_IOC_MAGIC, 0x00, struct llmos_info)
#define LLMOS_CMD_MODEL_CREATE _IOWR(LLMOS_IOC_MAGIC, 0x10, struct llmos_model_create)
#define LLMOS_CMD_MODEL_SEAL _IOWR(LLMOS_IOC_MAGIC, 0x11, struct llmos_model_handle)
#define LLMOS_CMD_MODEL_OPEN _IOWR(LLMOS_IOC_MAGIC, 0x12, struct llmos_model_open)
#define LLMOS_CMD_MODEL_CLOSE _IOWR(LLMOS_IOC_MAGIC, 0x13, struct llmos_model_handle)
#define LLMOS_CMD_MODEL_LIST _IOWR(LLMOS_IOC_MAGIC, 0x14, struct llmos_model_list)
#define LLMOS_CMD_MODEL_UNLOAD _IOWR(LLMOS_IOC_MAGIC, 0x15, struct llmos_model_unload)
#define LLMOS_CMD_JOB_CREATE _IOWR(LLMOS_IOC_MAGIC, 0x20, struct llmos_job_create)
#define LLMOS_CMD_JOB_STEP _IOWR(LLMOS_IOC_MAGIC, 0x21, struct llmos_job_step)
#define LLMOS_CMD_JOB_END _IOWR(LLMOS_IOC_MAGIC, 0x22, struct llmos_job_end)
#define LLMOS_CMD_SCHED_SET_PRIO _IOWR(LLMOS_IOC_MAGIC, 0x23, struct llmos_sched_prio)
#define LLMOS_CMD_SCHED_STATS _IOWR(LLMOS_IOC_MAGIC, 0x24, struct llmos_sched_stats)
#define LLMOS_CMD_JOB_WATCH _IOWR(LLMOS_IOC_MAGIC, 0x25, struct llmos_job_step)
#define LLMOS_CMD_BUF_CREATE _IOWR(LLMOS_IOC_MAGIC, 0x30, struct llmos_buf_create)
#define LLMOS_CMD_BUF_EXPORT _IOWR(LLMOS_IOC_MAGIC, 0x31, struct llmos_buf_export)
#define LLMOS_CMD_BUF_IMPORT _IOWR(LLMOS_IOC_MAGIC, 0x32, struct llmos_buf_import)
#define LLMOS_CMD_NPU_INFO _IOWR(LLMOS_IOC_MAGIC, 0x40, struct llmos_npu_info)
#define LLMOS_CMD_NPU_SUBMIT _IOWR(LLMOS_IOC_MAGIC, 0x41, struct llmos_npu_submit)

#endif /* _UAPI_LINUX_LLMOS_H */
