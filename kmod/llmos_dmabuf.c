// SPDX-License-Identifier: GPL-2.0
/*
 * llmos_dmabuf.c - BUF_EXPORT: a buffer as a dma-buf, so that another
 * process (by passing the fd) or another driver (by attaching) can use it.
 * Each dma-buf holds a reference on the buffer, dropped in ->release.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/fcntl.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "llmos_internal.h"

MODULE_IMPORT_NS(DMA_BUF);

/* An importer's mapping of a buffer, kept so CPU access can sync it. */
struct llmos_buf_sgt {
	struct list_head node;     /* in buf->exports; under buf->lock */
	struct device *dev;
	struct sg_table sgt;
	enum dma_data_direction dir;
};

static struct sg_table *llmos_dmabuf_map(struct dma_buf_attachment *attach,
					 enum dma_data_direction dir)
{
	struct llmos_buf *b = attach->dmabuf->priv;
	struct llmos_buf_sgt *m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	int ret;

	if (!m)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table_from_pages(&m->sgt, b->pages, b->npages, 0,
					(unsigned long)b->npages << PAGE_SHIFT, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto out_free;
	ret = dma_map_sgtable(attach->dev, &m->sgt, dir, 0);
	if (ret)
		goto out_free_table;
	m->dev = attach->dev;
	m->dir = dir;
	mutex_lock(&b->lock);
	list_add(&m->node, &b->exports);
	mutex_unlock(&b->lock);
	return &m->sgt;
out_free_table:
	sg_free_table(&m->sgt);
out_free:
	kfree(m);
	return ERR_PTR(ret);
}

static void llmos_dmabuf_unmap(struct dma_buf_attachment *attach, struct sg_table *sgt,
			       enum dma_data_direction dir)
{
	struct llmos_buf *b = attach->dmabuf->priv;
	struct llmos_buf_sgt *m = container_of(sgt, struct llmos_buf_sgt, sgt);

	mutex_lock(&b->lock);
	list_del(&m->node);
	mutex_unlock(&b->lock);
	dma_unmap_sgtable(attach->dev, sgt, dir, 0);
	sg_free_table(sgt);
	kfree(m);
}

static void llmos_dmabuf_release(struct dma_buf *dmabuf)
{
	llmos_buf_put(dmabuf->priv);
}

/* Make the CPU see what devices wrote (begin), or devices what it wrote (end). */
static void llmos_dmabuf_sync(struct llmos_buf *b, bool for_cpu)
{
	struct llmos_buf_sgt *m;

	mutex_lock(&b->lock);
	list_for_each_entry(m, &b->exports, node) {
		if (for_cpu)
			dma_sync_sgtable_for_cpu(m->dev, &m->sgt, m->dir);
		else
			dma_sync_sgtable_for_device(m->dev, &m->sgt, m->dir);
	}
	mutex_unlock(&b->lock);
}

static int llmos_dmabuf_begin_cpu(struct dma_buf *dmabuf, enum dma_data_direction dir)
{
	llmos_dmabuf_sync(dmabuf->priv, true);
	return 0;
}

static int llmos_dmabuf_end_cpu(struct dma_buf *dmabuf, enum dma_data_direction dir)
{
	llmos_dmabuf_sync(dmabuf->priv, false);
	return 0;
}

static int llmos_dmabuf_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	return llmos_buf_mmap_vma(dmabuf->priv, vma);
}

/* The buffer keeps one kernel mapping for its life; vunmap has nothing to undo. */
static int llmos_dmabuf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	void *v = llmos_buf_vaddr(dmabuf->priv);

	if (!v)
		return -ENOMEM;
	iosys_map_set_vaddr(map, v);
	return 0;
}

static void llmos_dmabuf_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
}

static const struct dma_buf_ops llmos_dmabuf_ops = {
	.map_dma_buf = llmos_dmabuf_map,
	.unmap_dma_buf = llmos_dmabuf_unmap,
	.release = llmos_dmabuf_release,
	.begin_cpu_access = llmos_dmabuf_begin_cpu,
	.end_cpu_access = llmos_dmabuf_end_cpu,
	.mmap = llmos_dmabuf_mmap,
	.vmap = llmos_dmabuf_vmap,
	.vunmap = llmos_dmabuf_vunmap,
};

/* A new dma-buf of b holding its own reference on b; or an ERR_PTR. */
static struct dma_buf *llmos_buf_dmabuf(struct llmos_buf *b)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct dma_buf *dmabuf;

	info.exp_name = "llmos";
	info.owner = THIS_MODULE;
	info.ops = &llmos_dmabuf_ops;
	info.size = (size_t)b->npages << PAGE_SHIFT;
	info.flags = O_RDWR;
	info.priv = b;
	llmos_buf_get(b);
	dmabuf = dma_buf_export(&info);
	if (IS_ERR(dmabuf))
		llmos_buf_put(b);
	return dmabuf;
}

/* An own buffer of this file with a reference, or NULL. */
static struct llmos_buf *llmos_buf_lookup_own(struct llmos_file *lf, u32 id)
{
	struct llmos_handle *h;
	struct llmos_buf *b = NULL;

	mutex_lock(&lf->lock);
	h = xa_load(&lf->handles, id);
	if (h && h->buf && h->buf->pages) {
		b = h->buf;
		llmos_buf_get(b);
	}
	mutex_unlock(&lf->lock);
	return b;
}

/* BUF_EXPORT: the fd is installed only after it reached the caller. */
int llmos_buf_export(struct llmos_file *lf, void __user *uarg, u32 usize)
{
	struct llmos_buf_export arg;
	struct dma_buf *dmabuf;
	struct llmos_buf *b;
	int ret, fd;

	ret = llmos_copy_arg(&arg, sizeof(arg), uarg, usize, sizeof(arg));
	if (ret)
		return ret;
	if (arg.flags & ~LLMOS_EXPORT_CLOEXEC || arg.reserved0 ||
	    memchr_inv(arg.reserved, 0, sizeof(arg.reserved)))
		return -EINVAL;
	b = llmos_buf_lookup_own(lf, arg.handle);
	if (!b)
		return -EINVAL;
	dmabuf = llmos_buf_dmabuf(b);
	llmos_buf_put(b); /* the dma-buf holds its own */
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	fd = get_unused_fd_flags(arg.flags & LLMOS_EXPORT_CLOEXEC ? O_CLOEXEC : 0);
	if (fd < 0) {
		ret = fd;
		goto out_put;
	}
	arg.fd = fd;
	if (copy_to_user(uarg, &arg, sizeof(arg))) {
		ret = -EFAULT;
		goto out_put_fd;
	}
	fd_install(fd, dmabuf->file);
	return 0;
out_put_fd:
	put_unused_fd(fd);
out_put:
	dma_buf_put(dmabuf);
	return ret;
}
