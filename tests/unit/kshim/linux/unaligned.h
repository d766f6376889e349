/* SPDX-License-Identifier: MIT */
/* kshim/linux/unaligned.h - the one accessor kmod/llmos_vnpu_dot.c uses (x86 and arm64 are little-endian). */
#ifndef LLMOS_KSHIM_UNALIGNED_H
#define LLMOS_KSHIM_UNALIGNED_H

#include <string.h>

static inline u16 get_unaligned_le16(const void *p)
{
	u16 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

#endif
