// SPDX-License-Identifier: GPL-2.0
/*
 * llmos_cmd.c - the command table of /dev/llmos, reached both by ioctl(2)
 * and by IORING_OP_URING_CMD with the same ioctl-encoded numbers.  The
 * checks every command shares (known number, argument size, blocking
 * allowed) happen here once; each handler copies and checks its own struct.
 */
#include <linux/fs.h>
#include <linux/io_uring.h>
#include <linux/nospec.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "llmos_internal.h"
#include "llmos_npu.h"

/* Size of the first published version of each argument struct. */
#define LLMOS_INFO_SIZE_VER0 80

/* An argument struct larger than this is refused (-E2BIG), as clone3 does. */
#define LLMOS_ARG_MAX PAGE_SIZE

/**
 * llmos_copy_arg() - copy a versioned argument struct from userspace.
 * @karg:    the module's struct.
 * @ksize:   its size.
 * @uarg:    the caller's struct.
 * @usize:   its size as the caller knows it (at most LLMOS_ARG_MAX).
 * @minsize: the first published size of the struct.
 *
 * A shorter caller struct is zero-extended; a longer one must have zeros in
 * every byte the module does not know.
 *
 * Return: 0, -EINVAL (too short, or unknown non-zero bytes), -E2BIG (larger
 * than LLMOS_ARG_MAX), or -EFAULT.
 */
int llmos_copy_arg(void *karg, size_t ksize, const void __user *uarg, u32 usize, size_t minsize)
{
	int ret;

	if (usize > LLMOS_ARG_MAX)
		return -E2BIG;
	if (usize < minsize)
		return -EINVAL;
	ret = copy_struct_from_user(karg, ksize, uarg, usize);
	return ret == -E2BIG ? -EINVAL : ret;
}

static int llmos_cmd_get_info(struct llmos_file *lf, void __user *uarg, u32 usize)
{
	struct llmos_info info;
	int ret, i;

	ret = llmos_copy_arg(&info, sizeof(info), uarg, usize, LLMOS_INFO_SIZE_VER0);
	if (ret)
		return ret;
	if (info.flags)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(info.reserved); i++)
		if (info.reserved[i])
			return -EINVAL;

	memset(&info, 0, sizeof(info));
	info.abi_version = LLMOS_ABI_VERSION;
	info.features = LLMOS_FEATURES | (llmos_npu_present() ? LLMOS_F_NPU : 0);
	strscpy(info.module_version, LLMOS_MODULE_VERSION, sizeof(info.module_version));
	if (copy_to_user(uarg, &info, min_t(size_t, usize, sizeof(info))))
		return -EFAULT;
	return 0;
}

/* JOB_WATCH waits for an event: it exists as a uring_cmd only. */
static int llmos_cmd_uring_only(struct llmos_file *lf, void __user *uarg, u32 usize)
{
	return -EINVAL;
}

typedef int (*llmos_sync_fn)(struct llmos_file *lf, void __user *uarg, u32 usize);
typedef int (*llmos_uring_fn)(struct llmos_file *lf, struct io_uring_cmd *ioucmd,
			      unsigned int issue_flags, void __user *uarg, u32 usize);
typedef void (*llmos_cancel_fn)(struct io_uring_cmd *ioucmd, unsigned int issue_flags);

/*
 * struct llmos_cmd_desc - one command.
 * @cmd:   its number (type, direction and number are matched; the size
 *         bits give the caller's struct size).
 * @sync:  the handler for an ioctl, and for a uring_cmd without @uring.
 * @uring: a handler that completes the uring_cmd later (steps, watches,
 *         NPU jobs).
 * @cancel: io_uring cancels a command @uring left pending (ring teardown).
 * @slow:  may block for long (allocating a model's pages): a uring_cmd
 *         issued without blocking gets -EAGAIN and io_uring retries it
 *         from a worker thread.
 */
struct llmos_cmd_desc {
	unsigned int cmd;
	llmos_sync_fn sync;
	llmos_uring_fn uring;
	llmos_cancel_fn cancel;
	bool slow;
};

#define LLMOS_CMD(c, ...) [_IOC_NR(c)] = { .cmd = (c), __VA_ARGS__ }

static const struct llmos_cmd_desc llmos_cmds[] = {
	LLMOS_CMD(LLMOS_CMD_GET_INFO, .sync = llmos_cmd_get_info),
	LLMOS_CMD(LLMOS_CMD_MODEL_CREATE, .sync = llmos_model_create, .slow = true),
	LLMOS_CMD(LLMOS_CMD_MODEL_SEAL, .sync = llmos_model_seal),
	LLMOS_CMD(LLMOS_CMD_MODEL_OPEN, .sync = llmos_model_open),
	LLMOS_CMD(LLMOS_CMD_MODEL_CLOSE, .sync = llmos_model_close),
	LLMOS_CMD(LLMOS_CMD_MODEL_LIST, .sync = llmos_model_list),
	LLMOS_CMD(LLMOS_CMD_MODEL_UNLOAD, .sync = llmos_model_unload),
	LLMOS_CMD(LLMOS_CMD_JOB_CREATE, .sync = llmos_sched_job_create),
	LLMOS_CMD(LLMOS_CMD_JOB_STEP, .sync = llmos_sched_step_ioctl,
		  .uring = llmos_sched_step_uring, .cancel = llmos_sched_uring_cancel),
	LLMOS_CMD(LLMOS_CMD_JOB_END, .sync = llmos_sched_job_end),
	LLMOS_CMD(LLMOS_CMD_SCHED_SET_PRIO, .sync = llmos_sched_set_prio),
	LLMOS_CMD(LLMOS_CMD_SCHED_STATS, .sync = llmos_sched_stats),
	LLMOS_CMD(LLMOS_CMD_JOB_WATCH, .sync = llmos_cmd_uring_only,
		  .uring = llmos_sched_watch_uring, .cancel = llmos_sched_uring_cancel),
	LLMOS_CMD(LLMOS_CMD_BUF_CREATE, .sync = llmos_buf_create, .slow = true),
	LLMOS_CMD(LLMOS_CMD_BUF_EXPORT, .sync = llmos_buf_export),
	LLMOS_CMD(LLMOS_CMD_BUF_IMPORT, .sync = llmos_buf_import, .slow = true),
	LLMOS_CMD(LLMOS_CMD_NPU_INFO, .sync = llmos_npu_info),
	LLMOS_CMD(LLMOS_CMD_NPU_SUBMIT, .sync = llmos_npu_submit_ioctl,
		  .uring = llmos_npu_submit_uring, .cancel = llmos_npu_uring_cancel),
};

/* The command's row, or NULL for a number this module does not know. */
static const struct llmos_cmd_desc *llmos_cmd_find(unsigned int cmd)
{
	const unsigned int match = _IOC_TYPEMASK << _IOC_TYPESHIFT |
				   _IOC_DIRMASK << _IOC_DIRSHIFT | _IOC_NRMASK << _IOC_NRSHIFT;
	unsigned int nr = _IOC_NR(cmd);

	if (nr >= ARRAY_SIZE(llmos_cmds) || !llmos_cmds[nr].sync ||
	    (llmos_cmds[nr].cmd & match) != (cmd & match))
		return NULL;
	return &llmos_cmds[array_index_nospec(nr, ARRAY_SIZE(llmos_cmds))];
}

long llmos_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	const struct llmos_cmd_desc *d = llmos_cmd_find(cmd);

	if (!d)
		return -ENOTTY;
	return d->sync(file->private_data, (void __user *)arg, _IOC_SIZE(cmd));
}

/* On an SQE128 ring the command area is 80 bytes; all past our 16 must be zero. */
static bool llmos_uring_tail_is_zero(const u8 *area, unsigned int issue_flags)
{
	size_t i;

	if (!(issue_flags & IO_URING_F_SQE128))
		return true;
	for (i = sizeof(struct llmos_uring_cmd); i < 80; i++)
		if (READ_ONCE(area[i]))
			return false;
	return true;
}

int llmos_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags)
{
	struct llmos_file *lf = ioucmd->file->private_data;
	const struct llmos_uring_cmd *sqe_cmd;
	const struct llmos_cmd_desc *d;
	struct llmos_uring_cmd pl;

	/* Cancellation comes through here too; the SQE may be gone by then. */
	d = llmos_cmd_find(ioucmd->cmd_op);
	if (issue_flags & IO_URING_F_CANCEL) {
		/* the same row as its issue: only commands left pending are marked cancelable */
		if (d && d->cancel)
			d->cancel(ioucmd, issue_flags);
		return 0;
	}
	if (!d)
		return -EOPNOTSUPP;
	sqe_cmd = io_uring_sqe_cmd(ioucmd->sqe);

	/* The SQE lives in memory the application can change: read it once. */
	pl.addr = READ_ONCE(sqe_cmd->addr);
	pl.len = READ_ONCE(sqe_cmd->len);
	pl.reserved = READ_ONCE(sqe_cmd->reserved);
	if (pl.reserved || !llmos_uring_tail_is_zero((const u8 *)sqe_cmd, issue_flags))
		return -EINVAL;
	if (pl.len > LLMOS_ARG_MAX)
		return -E2BIG;
	if (d->slow && (issue_flags & IO_URING_F_NONBLOCK))
		return -EAGAIN;
	if (d->uring)
		return d->uring(lf, ioucmd, issue_flags, u64_to_user_ptr(pl.addr), pl.len);
	return d->sync(lf, u64_to_user_ptr(pl.addr), pl.len);
}
