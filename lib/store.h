/* SPDX-License-Identifier: MIT */
/*
 * store.h - the parts of the model store (store.c) that model loading uses:
 * name checks and opening a stored model as a read-only mapping.
 */
#ifndef LLMOS_STORE_H
#define LLMOS_STORE_H

#include <stddef.h>

#include "llmos/llmos.h"

/* A stored model mapped read-only; the handle stays open with the device. */
struct llmos_store_map {
	void *data;
	size_t size;
	unsigned int handle;
};

/* 0 if name is a valid model name, else -EINVAL with the reason. */
int llmos_store_check_name(const char *name);
/* MODEL_OPEN name on h and map it PROT_READ/MAP_SHARED. */
int llmos_store_map_model(struct llmos *h, const char *name, struct llmos_store_map *out);
/* Unmap and MODEL_CLOSE. */
void llmos_store_unmap_model(struct llmos *h, struct llmos_store_map *map);

#endif /* LLMOS_STORE_H */
