/* SPDX-License-Identifier: MIT */
/*
 * llmos.h - the public API of libllmos.
 *
 * Conventions: functions that can fail return 0 (or a count) on success and
 * a negative error code on failure: either -errno (for example -ENOMEM) or
 * one of the LLMOS_E* codes below.  llmos_strerror() names any of them, and
 * llmos_last_error() gives the detail of the calling thread's last failure
 * (which field, which offset, which path).  Nothing here prints or exits.
 */
#ifndef LLMOS_LLMOS_H
#define LLMOS_LLMOS_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LLMOS_VERSION_STRING "0.1.0"

/* llmos-specific error codes, returned negated, beyond the errno range. */
enum llmos_error {
	LLMOS_E_BASE = 4096,
	LLMOS_ENOMODULE = LLMOS_E_BASE, /* the llmos kernel module is not loaded */
	LLMOS_EABI,                     /* the module speaks an incompatible ABI */
	LLMOS_EFORMAT,                  /* the model file is malformed */
	LLMOS_EUNSUPPORTED,             /* valid input that llmos cannot handle */
	LLMOS_E_END
};

/* How a handle reaches the hardware. */
enum llmos_mode {
	LLMOS_MODE_STANDALONE = 0, /* no kernel module: weights mapped from files */
	LLMOS_MODE_KERNEL = 1,     /* /dev/llmos is open */
};

/* Flags for llmos_open(). */
#define LLMOS_OPEN_REQUIRE_MODULE (1u << 0) /* fail with -LLMOS_ENOMODULE if absent */
#define LLMOS_OPEN_STANDALONE (1u << 1)     /* do not try the module at all */

/* What the kernel module reports about itself. */
struct llmos_module_info {
	uint32_t abi_version;
	uint64_t features; /* LLMOS_F_* bits of <linux/llmos.h> */
	char version[32];
};

struct llmos;

/*
 * llmos_open() - connect to /dev/llmos, or run standalone when it is absent.
 * The device path can be changed with the LLMOS_DEVICE environment variable.
 * On success *out is a handle to free with llmos_close().
 */
int llmos_open(struct llmos **out, unsigned int flags);
void llmos_close(struct llmos *h);
enum llmos_mode llmos_mode(const struct llmos *h);

/* The module's version and features; -LLMOS_ENOMODULE in standalone mode. */
int llmos_module_info(const struct llmos *h, struct llmos_module_info *info);

/* Names of the module's feature bits, one per call; NULL past the last. */
const char *llmos_feature_name(unsigned int bit);

/* A static description of any error code this library returns. */
const char *llmos_strerror(int err);
/* The calling thread's last failure, in detail ("" if none). */
const char *llmos_last_error(void);

const char *llmos_version(void);

#ifdef __cplusplus
}
#endif

#endif /* LLMOS_LLMOS_H */
