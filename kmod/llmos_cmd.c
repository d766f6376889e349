// SPDX-License-Identifier: GPL-2.0
/*
 * llmos_cmd.c - the command table of /dev/llmos, reached both by ioctl(2)
 * and by IORING_OP_URING_CMD with the same ioctl-encoded numbers.
 */
#include <linux/fs.h>
#include <linux/io_uring.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "llmos_internal.h"

/* Size of the first published version of each argument struct. */
#define LLMOS_INFO_SIZE_VER0 80

/**
 * llmos_copy_arg() - copy a versioned argument struct from userspace.
 * @karg:    the module's struct.
 * @ksize:   its size.
 * @uarg:    the caller's struct.
 * @usize:   its size as the caller knows it.
 * @minsize: the first published size of the struct.
 *
 * A shorter caller struct is zero-extended; a longer one must have zeros in
 * every byte the module does not know.
 *
 * Return: 0, -EINVAL (too short, or unknown non-zero bytes), or -EFAULT.
 */
int llmos_copy_arg(void *karg, size_t ksize, const void __user *uarg, u32 usize, size_t minsize)
{
	int ret;

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
	info.features = LLMOS_FEATURES;
	strscpy(info.module_version, LLMOS_MODULE_VERSION, sizeof(info.module_version));
	if (copy_to_user(uarg, &info, min_t(size_t, usize, sizeof(info))))
		return -EFAULT;
	return 0;
}

/**
 * llmos_cmd_dispatch() - run one command for a client of /dev/llmos.
 * @lf:    the client's per-file state.
 * @cmd:   ioctl-encoded command number (LLMOS_CMD_*).
 * @uarg:  user pointer to the command's argument struct.
 * @usize: size of that struct as the caller knows it.
 *
 * Return: 0 or a positive result on success, a negative errno on failure;
 * -EOPNOTSUPP for a command this module does not know.
 */
long llmos_cmd_dispatch(struct llmos_file *lf, unsigned int cmd, void __user *uarg, u32 usize)
{
	if (_IOC_TYPE(cmd) != LLMOS_IOC_MAGIC || _IOC_DIR(cmd) != (_IOC_READ | _IOC_WRITE))
		return -EOPNOTSUPP;

	switch (_IOC_NR(cmd)) {
	case _IOC_NR(LLMOS_CMD_GET_INFO):
		return llmos_cmd_get_info(lf, uarg, usize);
	case _IOC_NR(LLMOS_CMD_MODEL_CREATE):
		return llmos_model_create(lf, uarg, usize);
	case _IOC_NR(LLMOS_CMD_MODEL_SEAL):
		return llmos_model_seal(lf, uarg, usize);
	case _IOC_NR(LLMOS_CMD_MODEL_OPEN):
		return llmos_model_open(lf, uarg, usize);
	case _IOC_NR(LLMOS_CMD_MODEL_CLOSE):
		return llmos_model_close(lf, uarg, usize);
	case _IOC_NR(LLMOS_CMD_MODEL_LIST):
		return llmos_model_list(lf, uarg, usize);
	case _IOC_NR(LLMOS_CMD_MODEL_UNLOAD):
		return llmos_model_unload(lf, uarg, usize);
	case _IOC_NR(LLMOS_CMD_JOB_CREATE):
		return llmos_sched_job_create(lf, uarg, usize);
	case _IOC_NR(LLMOS_CMD_JOB_STEP):
		return llmos_sched_step_ioctl(lf, uarg, usize);
	case _IOC_NR(LLMOS_CMD_JOB_END):
		return llmos_sched_job_end(lf, uarg, usize);
	case _IOC_NR(LLMOS_CMD_SCHED_SET_PRIO):
		return llmos_sched_set_prio(lf, uarg, usize);
	case _IOC_NR(LLMOS_CMD_SCHED_STATS):
		return llmos_sched_stats(lf, uarg, usize);
	case _IOC_NR(LLMOS_CMD_JOB_WATCH):
		return -EINVAL; /* it waits for an event: uring_cmd only */
	default:
		return -EOPNOTSUPP;
	}
}

long llmos_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	return llmos_cmd_dispatch(file->private_data, cmd, (void __user *)arg, _IOC_SIZE(cmd));
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
	struct llmos_uring_cmd pl;

	/* Cancellation comes through here too; the SQE may be gone by then. */
	if (issue_flags & IO_URING_F_CANCEL) {
		llmos_sched_uring_cancel(ioucmd, issue_flags);
		return 0;
	}
	sqe_cmd = io_uring_sqe_cmd(ioucmd->sqe);

	/* The SQE lives in memory the application can change: read it once. */
	pl.addr = READ_ONCE(sqe_cmd->addr);
	pl.len = READ_ONCE(sqe_cmd->len);
	pl.reserved = READ_ONCE(sqe_cmd->reserved);
	if (pl.reserved || !llmos_uring_tail_is_zero((const u8 *)sqe_cmd, issue_flags))
		return -EINVAL;

	/* A step completes when granted, a watch when preempted; the rest at once. */
	if (_IOC_TYPE(ioucmd->cmd_op) == LLMOS_IOC_MAGIC &&
	    _IOC_NR(ioucmd->cmd_op) == _IOC_NR(LLMOS_CMD_JOB_STEP))
		return llmos_sched_step_uring(lf, ioucmd, issue_flags, u64_to_user_ptr(pl.addr),
					      pl.len);
	if (_IOC_TYPE(ioucmd->cmd_op) == LLMOS_IOC_MAGIC &&
	    _IOC_NR(ioucmd->cmd_op) == _IOC_NR(LLMOS_CMD_JOB_WATCH))
		return llmos_sched_watch_uring(lf, ioucmd, issue_flags, u64_to_user_ptr(pl.addr),
					       pl.len);
	return llmos_cmd_dispatch(lf, ioucmd->cmd_op, u64_to_user_ptr(pl.addr), pl.len);
}
