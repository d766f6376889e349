/* SPDX-License-Identifier: MIT */
/*
 * device.c - the handle to /dev/llmos, or to standalone mode without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/llmos.h>

#include "internal.h"

struct llmos {
	int fd; /* -1 in standalone mode */
	struct llmos_module_info info;
};

static const char *const feature_names[] = {
	"ioctl",
	"uring_cmd",
	"model_memory",
	"sched",
	"sched_preempt",
	"step_release_only",
	"buffers",
	"npu",
};
_Static_assert(LLMOS_F_ALL == (1ULL << sizeof(feature_names) / sizeof(feature_names[0])) - 1,
	       "a name for each feature bit of the UAPI");

const char *llmos_feature_name(unsigned int bit)
{
	if (bit >= sizeof(feature_names) / sizeof(feature_names[0]))
		return NULL;
	return feature_names[bit];
}

static const char *device_path(void)
{
	const char *p = getenv("LLMOS_DEVICE");

	return p && *p ? p : "/dev/llmos";
}

static int query_module(struct llmos *h, const char *path)
{
	struct llmos_info info;

	memset(&info, 0, sizeof(info));
	if (ioctl(h->fd, LLMOS_CMD_GET_INFO, &info) < 0)
		return llmos_fail(-errno, "%s: GET_INFO: %s", path, strerror(errno));
	if (info.abi_version != LLMOS_ABI_VERSION)
		return llmos_fail(-LLMOS_EABI, "%s: module ABI %u, this library needs %u", path,
				  info.abi_version, LLMOS_ABI_VERSION);
	h->info.abi_version = info.abi_version;
	h->info.features = info.features;
	memcpy(h->info.version, info.module_version, sizeof(h->info.version));
	h->info.version[sizeof(h->info.version) - 1] = '\0';
	return 0;
}

/* Absence of the device means standalone; any other failure is reported. */
static int connect_module(struct llmos *h, unsigned int flags)
{
	const char *path = device_path();

	h->fd = open(path, O_RDWR | O_CLOEXEC);
	if (h->fd < 0) {
		int err = errno;

		if ((err == ENOENT || err == ENODEV || err == ENXIO) &&
		    !(flags & LLMOS_OPEN_REQUIRE_MODULE))
			return 0;
		if (err == ENOENT || err == ENODEV || err == ENXIO)
			return llmos_fail(-LLMOS_ENOMODULE, "%s: %s (is llmos.ko loaded?)", path,
					  strerror(err));
		return llmos_fail(-err, "%s: %s", path, strerror(err));
	}
	return query_module(h, path);
}

int llmos_open(struct llmos **out, unsigned int flags)
{
	struct llmos *h;
	int ret = 0;

	*out = NULL;
	if (flags & ~(LLMOS_OPEN_REQUIRE_MODULE | LLMOS_OPEN_STANDALONE))
		return llmos_fail(-EINVAL, "llmos_open: unknown flags 0x%x", flags);
	if ((flags & LLMOS_OPEN_REQUIRE_MODULE) && (flags & LLMOS_OPEN_STANDALONE))
		return llmos_fail(-EINVAL, "llmos_open: REQUIRE_MODULE and STANDALONE conflict");
	h = calloc(1, sizeof(*h));
	if (!h)
		return llmos_fail(-ENOMEM, "llmos_open: out of memory");
	h->fd = -1;
	if (!(flags & LLMOS_OPEN_STANDALONE))
		ret = connect_module(h, flags);
	if (ret < 0) {
		llmos_close(h);
		return ret;
	}
	*out = h;
	return 0;
}

void llmos_close(struct llmos *h)
{
	if (!h)
		return;
	if (h->fd >= 0)
		close(h->fd);
	free(h);
}

enum llmos_mode llmos_mode(const struct llmos *h)
{
	return h->fd >= 0 ? LLMOS_MODE_KERNEL : LLMOS_MODE_STANDALONE;
}

int llmos_module_info(const struct llmos *h, struct llmos_module_info *info)
{
	if (h->fd < 0)
		return llmos_fail(-LLMOS_ENOMODULE, "running standalone: no module to ask");
	*info = h->info;
	return 0;
}

int llmos_device_fd(const struct llmos *h)
{
	return h->fd;
}
