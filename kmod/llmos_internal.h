/* SPDX-License-Identifier: GPL-2.0 */
/*
 * llmos_internal.h - declarations shared by the files of llmos.ko.
 */
#ifndef LLMOS_INTERNAL_H
#define LLMOS_INTERNAL_H

#include <linux/types.h>
#include <linux/io_uring/cmd.h>
#include <uapi/linux/llmos.h>

#define LLMOS_MODULE_VERSION "0.1.0"

/* Features this build of the module implements. */
#define LLMOS_FEATURES (LLMOS_F_IOCTL | LLMOS_F_URING_CMD)

/*
 * struct llmos_file - per-open-file state, owned by the struct file and
 * freed in ->release().  Later features hang their per-client objects here.
 */
struct llmos_file {
	pid_t opener_tgid; /* for diagnostics only */
};

/* llmos_cmd.c: the command table shared by ioctl and uring_cmd. */
long llmos_cmd_dispatch(struct llmos_file *lf, unsigned int cmd, void __user *uarg, u32 usize);
long llmos_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
int llmos_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags);

#endif /* LLMOS_INTERNAL_H */
