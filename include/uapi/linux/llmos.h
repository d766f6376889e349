/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * llmos.h - the one ABI between llmos.ko (/dev/llmos) and userspace.
 *
 * Every command is ioctl-encoded; the same number is used as an ioctl
 * request and as the cmd_op of an IORING_OP_URING_CMD submission on the
 * /dev/llmos file.  Unknown commands fail with -EOPNOTSUPP.
 *
 * Argument structs are versioned by their size: the ioctl path takes the
 * size encoded in the request number, the uring_cmd path takes the size in
 * struct llmos_uring_cmd.len.  The module accepts older (shorter) and newer
 * (longer) structs as long as every byte it does not know is zero, and it
 * writes back at most the caller's size.  Fields named "reserved" and all
 * flags not defined here must be zero, or the command fails with -EINVAL.
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
/* Every feature this header defines. */
#define LLMOS_F_ALL (LLMOS_F_IOCTL | LLMOS_F_URING_CMD)

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

#define LLMOS_CMD_GET_INFO _IOWR(LLMOS_IOC_MAGIC, 0x00, struct llmos_info)

#endif /* _UAPI_LINUX_LLMOS_H */
