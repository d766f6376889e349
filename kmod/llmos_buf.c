// SPDX-License-Identifier: GPL-2.0
/*
 * llmos_buf.c - buffers: unnamed regions of zeroed, pinned pages charged to
 * their creator's memory cgroup and counted against max_buf_mb (BUF_CREATE),
 * or dma-bufs of other exporters taken in as NPU operands (BUF_IMPORT).
 * A buffer's handle sits in the file's handle table beside model handles.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nodemask.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "llmos_internal.h"

/* Bytes of all buffers' own pages; freed with the last reference. */
static atomic64_t llmos_buf_total = ATOMIC64_INIT(0);

static unsigned long max_buf_mb;
module_param(max_buf_mb, ulong, 0644);
MODULE_PARM_DESC(max_buf_mb, "cap on all buffers' memory together, in MiB (0: a quarter of RAM)");

u64 llmos_buf_bytes(void)
{
	return atomic64_read(&llmos_buf_total);
}

u64 llmos_buf_cap(void)
{
	unsigned long mb = READ_ONCE(max_buf_mb);

	if (!mb)
		return (u64)totalram_pages() * PAGE_SIZE / 4;
	return (u64)mb << 20;
}

/* Set once the device's DMA mask is: imports wait for it (module load). */
static bool llmos_dma_is_ready;

void llmos_dma_ready(void)
{
	smp_store_release(&llmos_dma_is_ready, true);
}

/* The device imports attach to (it has a 64-bit DMA mask: see llmos_init()). */
struct device *llmos_dma_device(void)
{
	return llmos_miscdev.this_device;
}

/**
 * llmos_alloc_pinned_pages() - fill pages[*done..npages) with zeroed pages.
 * @pages:     the array.
 * @npages:    its length.
 * @done:      pages already there; advanced as pages come (readers may look).
 * @numa_node: node, or LLMOS_NUMA_ANY.
 *
 * The pages are charged to the caller's memory cgroup and kept off every
 * LRU list: never reclaimed, swapped or migrated.  __GFP_RETRY_MAYFAIL: a
 * request too big for memory fails rather than have the OOM killer take
 * other processes for it.
 *
 * Return: 0, -ENOMEM, or -EINTR when the caller is being killed.
 */
int llmos_alloc_pinned_pages(struct page **pages, unsigned long npages, unsigned long *done,
			     int numa_node)
{
	int nid = numa_node == LLMOS_NUMA_ANY ? NUMA_NO_NODE : numa_node;
	gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_NOWARN | __GFP_RETRY_MAYFAIL;
	struct page *page;

	while (*done < npages) {
		if (fatal_signal_pending(current))
			return -EINTR;
		page = alloc_pages_node(nid, gfp, 0);
		if (!page)
			return -ENOMEM;
		pages[*done] = page;
		WRITE_ONCE(*done, *done + 1);
		cond_resched();
	}
	return 0;
}

void llmos_buf_get(struct llmos_buf *b)
{
	kref_get(&b->ref);
}

/* Own pages are cleared again before they go back: nothing of an app lingers. */
static void llmos_buf_free_pages(struct llmos_buf *b)
{
	unsigned long i;

	for (i = 0; i < b->nr_allocated; i++) {
		clear_highpage(b->pages[i]);
		__free_page(b->pages[i]);
		cond_resched();
	}
	kvfree(b->pages);
	atomic64_sub(b->reserved_bytes, &llmos_buf_total);
}

static void llmos_buf_release(struct kref *ref)
{
	struct llmos_buf *b = container_of(ref, struct llmos_buf, ref);

	if (b->import) {
		dma_buf_vunmap_unlocked(b->import, &b->import_map);
		dma_buf_unmap_attachment_unlocked(b->attach, b->import_sgt, DMA_BIDIRECTIONAL);
		dma_buf_detach(b->import, b->attach);
		dma_buf_put(b->import);
	} else {
		if (b->vaddr)
			vunmap(b->vaddr);
		llmos_buf_free_pages(b);
	}
	mutex_destroy(&b->lock);
	kfree(b);
}

void llmos_buf_put(struct llmos_buf *b)
{
	kref_put(&b->ref, llmos_buf_release);
}

/* The buffer's kernel mapping for the NPU, made on first use; NULL if vmap fails. */
void *llmos_buf_vaddr(struct llmos_buf *b)
{
	void *v;

	mutex_lock(&b->lock);
	if (!b->vaddr && b->pages)
		b->vaddr = vmap(b->pages, b->npages, VM_MAP, PAGE_KERNEL);
	v = b->vaddr;
	mutex_unlock(&b->lock);
	return v;
}

static struct llmos_buf *llmos_buf_alloc(void)
{
	struct llmos_buf *b = kzalloc(sizeof(*b), GFP_KERNEL_ACCOUNT);

	if (!b)
		return NULL;
	kref_init(&b->ref);
	mutex_init(&b->lock);
	INIT_LIST_HEAD(&b->exports);
	return b;
}

/* Take bytes under the cap; the buffer gives them back when freed. */
static int llmos_buf_reserve(struct llmos_buf *b, u64 bytes)
{
	u64 cap = llmos_buf_cap();

	if (atomic64_add_return(bytes, &llmos_buf_total) > cap) {
		atomic64_sub(bytes, &llmos_buf_total);
		return -ENOSPC;
	}
	b->reserved_bytes = bytes;
	return 0;
}

static int llmos_check_buf_create(const struct llmos_buf_create *arg)
{
	if (arg->flags || arg->reserved0 || memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	if (!arg->size || arg->size > (1ULL << LLMOS_MMAP_SHIFT))
		return -EINVAL;
	if (PAGE_ALIGN(arg->size) > llmos_buf_cap())
		return -ENOSPC;
	if (arg->numa_node != LLMOS_NUMA_ANY &&
	    (arg->numa_node < 0 || arg->numa_node >= MAX_NUMNODES || !node_online(arg->numa_node)))
		return -EINVAL;
	return 0;
}

/* A buffer of its own zeroed pages, or an ERR_PTR. */
static struct llmos_buf *llmos_buf_make(const struct llmos_buf_create *arg)
{
	struct llmos_buf *b = llmos_buf_alloc();
	int ret;

	if (!b)
		return ERR_PTR(-ENOMEM);
	b->size = arg->size;
	b->npages = DIV_ROUND_UP(arg->size, PAGE_SIZE);
	ret = llmos_buf_reserve(b, (u64)b->npages << PAGE_SHIFT);
	if (ret)
		goto out_put;
	b->pages = kvcalloc(b->npages, sizeof(*b->pages), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	ret = b->pages ? 0 : -ENOMEM;
	if (!ret)
		ret = llmos_alloc_pinned_pages(b->pages, b->npages, &b->nr_allocated,
					       arg->numa_node);
	if (!ret)
		return b;
out_put:
	llmos_buf_put(b);
	return ERR_PTR(ret);
}

/* Publish b at a new handle once its id reached the caller; consumes b's reference. */
static int llmos_buf_publish(struct llmos_file *lf, struct llmos_buf *b, void __user *uarg,
			     void *karg, size_t ksize, u32 *handle_field, u64 *mmap_field)
{
	struct llmos_handle *h;
	u32 id;
	int ret;

	h = llmos_handle_prepare(lf, &id);
	if (IS_ERR(h)) {
		llmos_buf_put(b);
		return PTR_ERR(h);
	}
	*handle_field = id;
	if (mmap_field)
		*mmap_field = LLMOS_MMAP_OFFSET(id);
	if (copy_to_user(uarg, karg, ksize)) {
		ret = -EFAULT;
		goto out_abort;
	}
	h->buf = b;
	ret = llmos_handle_install(lf, id, h);
	if (!ret)
		return 0;
out_abort:
	llmos_handle_abort(lf, id, h);
	llmos_buf_put(b);
	return ret;
}

int llmos_buf_create(struct llmos_file *lf, void __user *uarg, u32 usize)
{
	struct llmos_buf_create arg;
	struct llmos_buf *b;
	int ret;

	ret = llmos_copy_arg(&arg, sizeof(arg), uarg, usize, sizeof(arg));
	if (!ret)
		ret = llmos_check_buf_create(&arg);
	if (ret)
		return ret;
	b = llmos_buf_make(&arg);
	if (IS_ERR(b))
		return PTR_ERR(b);
	return llmos_buf_publish(lf, b, uarg, &arg, sizeof(arg), &arg.handle, &arg.mmap_offset);
}

/*
 * Attach to the dma-buf and map the attachment as a device would (so an
 * exporter that cannot give a scatterlist fails here, not in a job), and
 * vmap it for the virtual NPU, which reads and writes with the CPU.
 */
static int llmos_buf_attach_import(struct llmos_buf *b, struct dma_buf *dmabuf)
{
	int ret;

	if (!smp_load_acquire(&llmos_dma_is_ready))
		return -ENODEV; /* the module is still loading */
	b->attach = dma_buf_attach(dmabuf, llmos_dma_device());
	if (IS_ERR(b->attach))
		return PTR_ERR(b->attach);
	b->import_sgt = dma_buf_map_attachment_unlocked(b->attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(b->import_sgt)) {
		ret = PTR_ERR(b->import_sgt);
		goto out_detach;
	}
	ret = dma_buf_vmap_unlocked(dmabuf, &b->import_map);
	if (ret)
		goto out_unmap;
	if (b->import_map.is_iomem) {
		ret = -EOPNOTSUPP; /* device memory: the CPU-side NPU cannot use it */
		dma_buf_vunmap_unlocked(dmabuf, &b->import_map);
		goto out_unmap;
	}
	b->vaddr = b->import_map.vaddr;
	return 0;
out_unmap:
	dma_buf_unmap_attachment_unlocked(b->attach, b->import_sgt, DMA_BIDIRECTIONAL);
out_detach:
	dma_buf_detach(dmabuf, b->attach);
	return ret;
}

/* A buffer wrapping the dma-buf behind fd, or an ERR_PTR. */
static struct llmos_buf *llmos_buf_from_dmabuf(int fd)
{
	struct dma_buf *dmabuf = dma_buf_get(fd);
	struct llmos_buf *b;
	int ret;

	if (IS_ERR(dmabuf))
		return ERR_CAST(dmabuf);
	b = llmos_buf_alloc();
	if (!b) {
		dma_buf_put(dmabuf);
		return ERR_PTR(-ENOMEM);
	}
	ret = llmos_buf_attach_import(b, dmabuf);
	if (ret) {
		dma_buf_put(dmabuf);
		mutex_destroy(&b->lock);
		kfree(b);
		return ERR_PTR(ret);
	}
	b->import = dmabuf;
	b->size = dmabuf->size;
	b->read_only = !(dmabuf->file->f_mode & FMODE_WRITE);
	return b;
}

/*
 * Take (delta 1) or give back (-1) one of the file's LLMOS_MAX_IMPORTS
 * places; false when the file has them all.  A handle's place is given
 * back when the handle goes (llmos_file.c).
 */
bool llmos_import_reserve(struct llmos_file *lf, int delta)
{
	bool ok = true;

	mutex_lock(&lf->lock);
	if (delta > 0 && lf->imports >= LLMOS_MAX_IMPORTS)
		ok = false;
	else
		lf->imports += delta;
	mutex_unlock(&lf->lock);
	return ok;
}

int llmos_buf_import(struct llmos_file *lf, void __user *uarg, u32 usize)
{
	struct llmos_buf_import arg;
	struct llmos_buf *b;
	int ret;

	ret = llmos_copy_arg(&arg, sizeof(arg), uarg, usize, sizeof(arg));
	if (ret)
		return ret;
	if (arg.flags || arg.reserved0 || memchr_inv(arg.reserved, 0, sizeof(arg.reserved)))
		return -EINVAL;
	if (!llmos_import_reserve(lf, 1))
		return -ENOSPC;
	b = llmos_buf_from_dmabuf(arg.fd);
	ret = IS_ERR(b) ? PTR_ERR(b) : 0;
	if (!ret) {
		arg.size = b->size;
		ret = llmos_buf_publish(lf, b, uarg, &arg, sizeof(arg), &arg.handle, NULL);
	}
	if (ret)
		llmos_import_reserve(lf, -1);
	return ret;
}
