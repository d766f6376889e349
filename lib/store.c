/* SPDX-License-Identifier: MIT */
/*
 * store.c - the model store: models copied into llmos.ko's pinned memory
 * under a name (MODEL_CREATE, a writable mapping, MODEL_SEAL), listed,
 * unloaded, and opened read-only by name for llmos_model_load("llmos:NAME").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/llmos.h>

#include "gguf.h"
#include "internal.h"
#include "model.h"
#include "store.h"

#define COPY_CHUNK (4u << 20)
#define PINNED_CAP_PATH "/sys/class/misc/llmos/pinned_cap_bytes"
#define NAME_RULE "1-63 of A-Z a-z 0-9 . _ -, not starting with '.'"

_Static_assert(sizeof(((struct llmos_store_entry *)0)->name) == LLMOS_NAME_LEN,
	       "store names and UAPI names have the same size");
_Static_assert(LLMOS_STORE_NODE_ANY == LLMOS_NUMA_ANY, "same 'any node'");
_Static_assert(LLMOS_STORE_UNLOAD_WHEN_UNUSED == LLMOS_UNLOAD_WHEN_UNUSED, "same flag");
_Static_assert(LLMOS_STORE_LOADING == LLMOS_MODEL_LOADING &&
	       LLMOS_STORE_SEALED == LLMOS_MODEL_SEALED, "same states");

void llmos_store_default_params(struct llmos_store_params *p)
{
	p->mode = 0644;
	p->numa_node = LLMOS_STORE_NODE_ANY;
}

static int name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

int llmos_store_check_name(const char *name)
{
	size_t i, len;

	if (!name)
		return llmos_fail(-EINVAL, "no model name (" NAME_RULE ")");
	len = strnlen(name, LLMOS_NAME_LEN);
	for (i = 0; i < len && name_char_ok(name[i]); i++)
		;
	if (len == 0 || len > LLMOS_STORE_NAME_MAX || i < len || name[0] == '.')
		return llmos_fail(-EINVAL, "bad name '%.*s%s' (" NAME_RULE ")", 63, name,
				  len > LLMOS_STORE_NAME_MAX ? "..." : "");
	return 0;
}

/* The handle must reach a module that has model memory. */
static int require_model_memory(struct llmos *h)
{
	struct llmos_module_info info;

	if (!h || llmos_module_info(h, &info) < 0)
		return llmos_fail(-LLMOS_ENOMODULE, "llmos module not loaded (running standalone)");
	if (!(info.features & LLMOS_F_MODEL_MEMORY))
		return llmos_fail(-LLMOS_EUNSUPPORTED, "llmos.ko %s has no model memory: load a "
				  "newer module", info.version);
	return 0;
}

/* The module's cap on pinned memory in bytes, 0 if it does not say. */
static unsigned long long pinned_cap(void)
{
	unsigned long long cap = 0;
	FILE *f = fopen(PINNED_CAP_PATH, "re");

	if (!f)
		return 0;
	if (fscanf(f, "%llu", &cap) != 1)
		cap = 0;
	fclose(f);
	return cap;
}

static double mb(unsigned long long bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

static int fail_over_cap(const char *name, uint64_t size)
{
	unsigned long long cap = pinned_cap();

	if (!cap)
		return llmos_fail(-ENOSPC, "model '%s' (%.1f MB) is over the pinned-memory cap",
				  name, mb(size));
	return llmos_fail(-ENOSPC, "model '%s' (%.1f MB) is over the pinned-memory cap of "
			  "%.0f MB", name, mb(size), mb(cap));
}

/* MODEL_CREATE: the kernel's errno as what to do about it. */
static int create_model(int fd, const char *name, uint64_t size,
			const struct llmos_store_params *p, struct llmos_model_create *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->name, name, strlen(name));
	c->size = size;
	c->mode = p->mode;
	c->numa_node = p->numa_node;
	if (!ioctl(fd, LLMOS_CMD_MODEL_CREATE, c))
		return 0;
	switch (errno) {
	case EEXIST:
		return llmos_fail(-EEXIST, "model name '%s' already used", name);
	case ENOSPC:
		return fail_over_cap(name, size);
	case EPERM:
	case EACCES:
		return llmos_fail(-EPERM, "loading models needs CAP_SYS_ADMIN (run as root)");
	case ENOMEM:
		return llmos_fail(-ENOMEM, "out of memory for model '%s' (%.1f MB)", name,
				  mb(size));
	case EINVAL:
		return llmos_fail(-EINVAL, "the module refused model '%s': %.1f MB, mode 0%o, "
				  "NUMA node %d", name, mb(size), p->mode, p->numa_node);
	default:
		return llmos_fail(-errno, "MODEL_CREATE '%s': %s", name, strerror(errno));
	}
}

static int handle_cmd(int fd, unsigned long cmd, unsigned int handle)
{
	struct llmos_model_handle mh;

	memset(&mh, 0, sizeof(mh));
	mh.handle = handle;
	return ioctl(fd, cmd, &mh) ? -errno : 0;
}

/* read() the file into the mapping, chunk by chunk, reporting progress. */
static int copy_file(int in, const char *path, uint8_t *dst, uint64_t size,
		     llmos_progress_fn progress, void *arg)
{
	uint64_t done = 0;

	while (done < size) {
		size_t want = size - done < COPY_CHUNK ? size - done : COPY_CHUNK;
		ssize_t n = read(in, dst + done, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return llmos_fail(-errno, "%s: read: %s", path, strerror(errno));
		if (n == 0)
			return llmos_fail(-LLMOS_EFORMAT, "%s: file shrank while being loaded", path);
		done += (uint64_t)n;
		if (progress && progress(done, size, arg))
			return llmos_fail(-ECANCELED, "loading '%s' was cancelled", path);
	}
	return 0;
}

/* Map the new model writable, fill it from the file, unmap it. */
static int fill_model(int dev, const struct llmos_model_create *c, int in, const char *path,
		      llmos_progress_fn progress, void *arg)
{
	void *map;
	int ret;

	map = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED, dev, (off_t)c->mmap_offset);
	if (map == MAP_FAILED)
		return llmos_fail(-errno, "mmap of new model '%s': %s", (const char *)c->name,
				  strerror(errno));
	ret = copy_file(in, path, map, c->size, progress, arg);
	munmap(map, c->size);
	return ret;
}

/* The whole file, checked as a model; returns its size in *size. */
static int validate_file(const char *path, uint64_t *size)
{
	struct llmos_model *m;
	int ret;

	if (!strncmp(path, LLMOS_STORE_PREFIX, strlen(LLMOS_STORE_PREFIX)))
		return llmos_fail(-EINVAL, "%s: load a GGUF file, not a stored model", path);
	ret = llmos_model_load(&m, path);
	if (ret < 0)
		return ret;
	*size = gguf_size(m->gguf);
	llmos_model_free(m);
	return 0;
}

static int open_same_file(const char *path, uint64_t size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return llmos_fail(-errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != size) {
		close(fd);
		return llmos_fail(-LLMOS_EFORMAT, "%s: file changed while being loaded", path);
	}
	return fd;
}

int llmos_store_load(struct llmos *h, const char *name, const char *path,
		     const struct llmos_store_params *p, llmos_progress_fn progress, void *arg)
{
	struct llmos_store_params dflt;
	struct llmos_model_create c;
	uint64_t size = 0;
	int dev, in, ret;

	if (!p) {
		llmos_store_default_params(&dflt);
		p = &dflt;
	}
	if ((ret = llmos_store_check_name(name)) || (ret = validate_file(path, &size)) ||
	    (ret = require_model_memory(h)))
		return ret;
	in = open_same_file(path, size);
	if (in < 0)
		return in;
	dev = llmos_device_fd(h);
	ret = create_model(dev, name, size, p, &c);
	if (ret) {
		close(in);
		return ret;
	}
	ret = fill_model(dev, &c, in, path, progress, arg);
	if (!ret && (ret = handle_cmd(dev, LLMOS_CMD_MODEL_SEAL, c.handle)))
		llmos_fail(ret, "MODEL_SEAL '%s': %s", name, strerror(-ret));
	close(in);
	/* Sealed, the model stays; unsealed, closing its creator's handle removes it. */
	handle_cmd(dev, LLMOS_CMD_MODEL_CLOSE, c.handle);
	return ret;
}

static void entry_from_uapi(struct llmos_store_entry *e, const struct llmos_model_entry *k)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->name, k->name, LLMOS_STORE_NAME_MAX);
	e->size = k->size;
	e->pinned = k->pinned;
	e->state = k->state;
	e->users = k->users;
	e->mappings = k->mappings;
	e->numa_node = k->numa_node;
	e->owner_uid = k->owner_uid;
	e->owner_gid = k->owner_gid;
	e->mode = k->mode;
}

int llmos_store_list(struct llmos *h, struct llmos_store_entry *entries, size_t cap)
{
	struct llmos_model_entry *k = NULL;
	struct llmos_model_list l;
	uint32_t i;
	int ret;

	if ((ret = require_model_memory(h)))
		return ret;
	if (cap > 65536)
		cap = 65536;
	if (cap && !(k = calloc(cap, sizeof(*k))))
		return llmos_fail(-ENOMEM, "model list: out of memory");
	memset(&l, 0, sizeof(l));
	l.entries = (uintptr_t)k;
	l.capacity = (uint32_t)cap;
	l.entry_size = sizeof(*k);
	if (ioctl(llmos_device_fd(h), LLMOS_CMD_MODEL_LIST, &l)) {
		ret = llmos_fail(-errno, "MODEL_LIST: %s", strerror(errno));
		free(k);
		return ret;
	}
	for (i = 0; i < l.count && i < cap; i++)
		entry_from_uapi(&entries[i], &k[i]);
	free(k);
	return l.count > INT32_MAX ? INT32_MAX : (int)l.count;
}

int llmos_store_unload(struct llmos *h, const char *name, unsigned int flags)
{
	struct llmos_model_unload u;
	int ret;

	if (flags & ~LLMOS_STORE_UNLOAD_WHEN_UNUSED)
		return llmos_fail(-EINVAL, "llmos_store_unload: unknown flags 0x%x", flags);
	if ((ret = llmos_store_check_name(name)) || (ret = require_model_memory(h)))
		return ret;
	memset(&u, 0, sizeof(u));
	memcpy(u.name, name, strlen(name));
	u.flags = flags;
	if (!ioctl(llmos_device_fd(h), LLMOS_CMD_MODEL_UNLOAD, &u))
		return 0;
	switch (errno) {
	case ENOENT:
		return llmos_fail(-ENOENT, "no model named '%s'", name);
	case EBUSY:
		return llmos_fail(-EBUSY, "model '%s' is in use", name);
	case EPERM:
	case EACCES:
		return llmos_fail(-EPERM, "unloading models needs CAP_SYS_ADMIN (run as root)");
	default:
		return llmos_fail(-errno, "MODEL_UNLOAD '%s': %s", name, strerror(errno));
	}
}

static int open_model(int fd, const char *name, struct llmos_model_open *o)
{
	memset(o, 0, sizeof(*o));
	memcpy(o->name, name, strlen(name));
	if (!ioctl(fd, LLMOS_CMD_MODEL_OPEN, o))
		return 0;
	switch (errno) {
	case ENOENT:
		return llmos_fail(-ENOENT, "no model named '%s' in the module (llmosctl list "
				  "shows them)", name);
	case EACCES:
	case EPERM:
		return llmos_fail(-EACCES, "model '%s' is not open to this user (see its mode "
				  "in llmosctl list)", name);
	case EBUSY:
	case EAGAIN:
		return llmos_fail(-errno, "model '%s' is still being loaded", name);
	default:
		return llmos_fail(-errno, "MODEL_OPEN '%s': %s", name, strerror(errno));
	}
}

int llmos_store_map_model(struct llmos *h, const char *name, struct llmos_store_map *out)
{
	struct llmos_model_open o;
	int fd, ret;

	memset(out, 0, sizeof(*out));
	if ((ret = require_model_memory(h)))
		return ret;
	fd = llmos_device_fd(h);
	if ((ret = open_model(fd, name, &o)))
		return ret;
	if (o.size > SIZE_MAX) {
		handle_cmd(fd, LLMOS_CMD_MODEL_CLOSE, o.handle);
		return llmos_fail(-EOVERFLOW, "model '%s' is too large to map", name);
	}
	out->data = mmap(NULL, o.size, PROT_READ, MAP_SHARED, fd, (off_t)o.mmap_offset);
	if (out->data == MAP_FAILED) {
		ret = llmos_fail(-errno, "mmap of model '%s': %s", name, strerror(errno));
		out->data = NULL;
		handle_cmd(fd, LLMOS_CMD_MODEL_CLOSE, o.handle);
		return ret;
	}
	out->size = o.size;
	out->handle = o.handle;
	return 0;
}

void llmos_store_unmap_model(struct llmos *h, struct llmos_store_map *map)
{
	if (map->data)
		munmap(map->data, map->size);
	if (map->data && h && llmos_device_fd(h) >= 0)
		handle_cmd(llmos_device_fd(h), LLMOS_CMD_MODEL_CLOSE, map->handle);
	memset(map, 0, sizeof(*map));
}
