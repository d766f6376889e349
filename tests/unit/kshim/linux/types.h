/* SPDX-License-Identifier: MIT */
/*
 * kshim/linux/types.h - the kernel's short integer names on top of the
 * UAPI <linux/types.h>, so that a kernel file of plain arithmetic
 * (kmod/llmos_vnpu_dot.c) builds in a host unit test.
 */
#ifndef LLMOS_KSHIM_TYPES_H
#define LLMOS_KSHIM_TYPES_H

#include_next <linux/types.h>
#include <stddef.h>

typedef __u8 u8;
typedef __s8 s8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;

#endif
