/* SPDX-License-Identifier: MIT */
/*
 * ctl.c - helpers shared by the llmosctl commands.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const char *device_path(void)
{
	const char *p = getenv("LLMOS_DEVICE");

	return p && *p ? p : "/dev/llmos";
}

static const char *standard_hint(int err)
{
	switch (err) {
	case -LLMOS_ENOMODULE:
		return "insmod llmos.ko";
	case -EPERM:
	case -EACCES:
		return "run as root";
	default:
		return NULL;
	}
}

int ctl_error(const char *cmd, int err, const char *hint)
{
	const char *detail = llmos_last_error();

	if (!hint)
		hint = standard_hint(err);
	if (err == -LLMOS_ENOMODULE)
		fprintf(stderr, "llmosctl %s: llmos module not loaded (no %s): %s\n", cmd,
			device_path(), hint);
	else
		fprintf(stderr, "llmosctl %s: %s%s%s\n", cmd, *detail ? detail : llmos_strerror(err),
			hint ? ": " : "", hint ? hint : "");
	return CTL_EXIT_FAIL;
}

int ctl_open(const char *cmd, struct llmos **h)
{
	int ret = llmos_open(h, LLMOS_OPEN_REQUIRE_MODULE);

	return ret < 0 ? ctl_error(cmd, ret, NULL) : 0;
}

int ctl_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "llmosctl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'llmosctl %s --help')\n", cmd);
	return CTL_EXIT_USAGE;
}

int ctl_is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

double ctl_mb(unsigned long long bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

void ctl_print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}
