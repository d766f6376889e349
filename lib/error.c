/* SPDX-License-Identifier: MIT */
/*
 * error.c - error codes, their names, and the per-thread failure detail.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static _Thread_local char last_error[512];

static const char *const llmos_error_names[] = {
	[LLMOS_ENOMODULE - LLMOS_E_BASE] = "llmos kernel module not loaded",
	[LLMOS_EABI - LLMOS_E_BASE] = "llmos kernel module ABI is incompatible",
	[LLMOS_EFORMAT - LLMOS_E_BASE] = "malformed model file",
	[LLMOS_EUNSUPPORTED - LLMOS_E_BASE] = "not supported by llmos",
	[LLMOS_ECONTEXT - LLMOS_E_BASE] = "does not fit in the context",
};

const char *llmos_strerror(int err)
{
	int code = err < 0 ? -err : err;

	if (err == 0)
		return "success";
	if (code >= LLMOS_E_BASE && code < LLMOS_E_END)
		return llmos_error_names[code - LLMOS_E_BASE];
	if (code < LLMOS_E_BASE)
		return strerror(code);
	return "unknown error";
}

int llmos_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

void llmos_clear_error(void)
{
	last_error[0] = '\0';
}

const char *llmos_last_error(void)
{
	return last_error;
}

const char *llmos_version(void)
{
	return LLMOS_VERSION_STRING;
}
