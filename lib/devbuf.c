/* SPDX-License-Identifier: MIT */
/* devbuf.c - module buffers: create, map, unmap and close them; anonymous memory without. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/llmos.h>

#include "devbuf.h"
#include "internal.h"

bool llmos_devbuf_available(const struct llmos *h)
{
	struct llmos_module_info info;

	if (!h || llmos_mode(h) != LLMOS_MODE_KERNEL || llmos_module_info(h, &info) < 0)
		return false;
	return info.features & LLMOS_F_BUFFERS;
}

static size_t page_round(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (size ? size + page - 1 : page) / page * page;
}

static void close_handle(int fd, uint32_t handle)
{
	struct llmos_model_handle mh;

	memset(&mh, 0, sizeof(mh));
	mh.handle = handle;
	ioctl(fd, LLMOS_CMD_HANDLE_CLOSE, &mh);
}

/* BUF_CREATE's errno as what it means. */
static int create_failed(int err, size_t size)
{
	double mb = (double)size / (1024.0 * 1024.0);

	if (err == ENOSPC)
		return llmos_fail(-ENOSPC, "a buffer of %.1f MB is over llmos.ko's buffer cap "
				  "(module parameter max_buf_mb)", mb);
	if (err == ENOMEM)
		return llmos_fail(-ENOMEM, "a buffer of %.1f MB: the memory cgroup refuses it", mb);
	return llmos_fail(-err, "BUF_CREATE of %.1f MB: %s", mb, strerror(err));
}

int llmos_devbuf_create(struct llmos *h, size_t size, struct llmos_devbuf *b)
{
	struct llmos_buf_create c;
	int fd = h ? llmos_device_fd(h) : -1;
	void *p;

	memset(b, 0, sizeof(*b));
	if (!llmos_devbuf_available(h))
		return llmos_fail(-LLMOS_EUNSUPPORTED, "llmos.ko has no buffers (LLMOS_F_BUFFERS)");
	memset(&c, 0, sizeof(c));
	c.size = page_round(size);
	c.numa_node = LLMOS_NUMA_ANY;
	if (ioctl(fd, LLMOS_CMD_BUF_CREATE, &c))
		return create_failed(errno, (size_t)c.size);
	p = mmap(NULL, (size_t)c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)c.mmap_offset);
	if (p == MAP_FAILED) {
		int err = errno;

		close_handle(fd, c.handle);
		return llmos_fail(-err, "mmap of a buffer of %llu bytes: %s",
				  (unsigned long long)c.size, strerror(err));
	}
	*b = (struct llmos_devbuf){ .data = p, .size = (size_t)c.size, .handle = c.handle };
	return 0;
}

static int anon_alloc(size_t size, struct llmos_devbuf *b)
{
	void *p;

	size = page_round(size);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return llmos_fail(-ENOMEM, "out of memory for %zu bytes", size);
	*b = (struct llmos_devbuf){ .data = p, .size = size };
	return 0;
}

int llmos_devbuf_alloc(struct llmos *h, size_t size, struct llmos_devbuf *b)
{
	int ret;

	if (!llmos_devbuf_available(h))
		return anon_alloc(size, b);
	ret = llmos_devbuf_create(h, size, b);
	/* a full cap, or a module that advertises buffers it cannot make */
	if (ret == -ENOSPC || ret == -EOPNOTSUPP || ret == -ENOTTY) {
		llmos_clear_error();
		return anon_alloc(size, b);
	}
	return ret;
}

void llmos_devbuf_free(struct llmos *h, struct llmos_devbuf *b)
{
	if (b->data)
		munmap(b->data, b->size);
	if (b->handle && h && llmos_device_fd(h) >= 0)
		close_handle(llmos_device_fd(h), b->handle);
	memset(b, 0, sizeof(*b));
}
