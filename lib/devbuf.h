/* SPDX-License-Identifier: MIT */
/*
 * devbuf.h - memory in llmos.ko's buffers (devbuf.c): zeroed, never
 * swapped, charged to the memory cgroup, freed when the process dies.
 */
#ifndef LLMOS_DEVBUF_H
#define LLMOS_DEVBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmos/llmos.h"

/* A mapped region: a module buffer (handle > 0), or anonymous memory (handle 0). */
struct llmos_devbuf {
	void *data;
	size_t size;     /* bytes mapped: whole pages */
	uint32_t handle; /* the buffer's handle in its /dev/llmos file; 0: not a buffer */
};

/* Does h (may be NULL) reach a module with buffers (LLMOS_F_BUFFERS)? */
bool llmos_devbuf_available(const struct llmos *h);
/* A new module buffer of at least size bytes, mapped read-write: BUF_CREATE, mmap. */
int llmos_devbuf_create(struct llmos *h, size_t size, struct llmos_devbuf *b);
/*
 * The same where the module has buffers and room for this one; else
 * (standalone, no LLMOS_F_BUFFERS, the module's cap reached) zeroed
 * anonymous memory.  Other refusals are errors.
 */
int llmos_devbuf_alloc(struct llmos *h, size_t size, struct llmos_devbuf *b);
/* munmap, then HANDLE_CLOSE a buffer; b is zeroed. */
void llmos_devbuf_free(struct llmos *h, struct llmos_devbuf *b);

#endif /* LLMOS_DEVBUF_H */
