/* SPDX-License-Identifier: MIT */
/*
 * internal.h - helpers shared inside libllmos, not part of the public API.
 */
#ifndef LLMOS_INTERNAL_H
#define LLMOS_INTERNAL_H

#include "llmos/llmos.h"

#define LLMOS_PRINTF(a, b) __attribute__((format(printf, a, b)))

/*
 * Record the detail of a failure for llmos_last_error() and return err, so
 * that callers can write `return llmos_fail(-EINVAL, "bad %s", x);`.
 */
int llmos_fail(int err, const char *fmt, ...) LLMOS_PRINTF(2, 3);
void llmos_clear_error(void);

/* device.c: the /dev/llmos descriptor of a handle, -1 in standalone mode. */
int llmos_device_fd(const struct llmos *h);

#endif /* LLMOS_INTERNAL_H */
