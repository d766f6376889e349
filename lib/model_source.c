/* SPDX-License-Identifier: MIT */
/*
 * model_source.c - where a model's bytes come from: a GGUF file mapped from
 * disk, or, for "llmos:NAME", a model the kernel module holds, mapped
 * read-only from /dev/llmos.  Either way the GGUF is parsed in place.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gguf.h"
#include "internal.h"
#include "model.h"

/* Put "llmos:NAME: " in front of the detail of the failure. */
static int fail_with_name(int err, const char *name)
{
	char detail[400];

	snprintf(detail, sizeof(detail), "%s", llmos_last_error());
	return llmos_fail(err, LLMOS_STORE_PREFIX "%s: %s", name, detail);
}

static int open_stored(struct llmos_model_source *src, const char *name,
		       struct gguf_file **gguf)
{
	int ret;

	ret = llmos_store_check_name(name);
	if (!ret)
		ret = llmos_open(&src->dev, LLMOS_OPEN_REQUIRE_MODULE);
	if (ret == -LLMOS_ENOMODULE) {
		char detail[400];

		snprintf(detail, sizeof(detail), "%s", llmos_last_error());
		return llmos_fail(ret, LLMOS_STORE_PREFIX "%s: llmos module not loaded (%s)", name,
				  detail);
	}
	if (!ret)
		ret = llmos_store_map_model(src->dev, name, &src->map);
	if (!ret)
		ret = gguf_parse(gguf, src->map.data, src->map.size);
	if (ret < 0) {
		ret = fail_with_name(ret, name);
		llmos_model_source_close(src);
	}
	return ret;
}

int llmos_model_source_open(struct llmos_model_source *src, const char *path,
			    struct gguf_file **gguf)
{
	size_t plen = strlen(LLMOS_STORE_PREFIX);

	memset(src, 0, sizeof(*src));
	*gguf = NULL;
	if (!path)
		return llmos_fail(-EINVAL, "model: no path");
	if (!strncmp(path, LLMOS_STORE_PREFIX, plen))
		return open_stored(src, path + plen, gguf);
	return gguf_open(gguf, path);
}

void llmos_model_source_close(struct llmos_model_source *src)
{
	llmos_store_unmap_model(src->dev, &src->map);
	llmos_close(src->dev);
	src->dev = NULL;
}
