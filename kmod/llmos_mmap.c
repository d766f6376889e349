// SPDX-License-Identifier: GPL-2.0
/*
 * llmos_mmap.c - mapping model memory into processes: writable only for the
 * creating file before seal, read-only (without VM_MAYWRITE, so mprotect
 * cannot add write) for everyone else; pages are faulted in on first touch.
 * Buffers map read-write, through their handle or their dma-buf.
 *
 * Mappings are VM_PFNMAP: the page tables point at the pages but hold no
 * page references, and get_user_pages() refuses them, so no pin (io_uring
 * fixed buffers, O_DIRECT, /proc/pid/mem) can outlive a writable mapping
 * and write into a model after seal.
 */
#include <linux/fs.h>
#include <linux/mm.h>

#include "llmos_internal.h"

static void llmos_vm_open(struct vm_area_struct *vma)
{
	struct llmos_model *m = vma->vm_private_data;

	/* A copy (fork) or a split of a mapping already counted. */
	if (vma->vm_flags & VM_MAYWRITE)
		atomic_inc(&m->writable_maps);
	llmos_model_get(m);
	atomic_inc(&m->mappings);
}

static void llmos_vm_close(struct vm_area_struct *vma)
{
	struct llmos_model *m = vma->vm_private_data;

	if (vma->vm_flags & VM_MAYWRITE)
		atomic_dec(&m->writable_maps);
	atomic_dec(&m->mappings);
	llmos_model_put(m);
}

static vm_fault_t llmos_vm_fault(struct vm_fault *vmf)
{
	struct llmos_model *m = vmf->vma->vm_private_data;
	unsigned long idx = vmf->pgoff & LLMOS_WINDOW_PGMASK;
	struct page *page;

	if (idx >= m->npages)
		return VM_FAULT_SIGBUS;
	page = m->pages[idx];
	return vmf_insert_pfn(vmf->vma, vmf->address, page_to_pfn(page));
}

static const struct vm_operations_struct llmos_vm_ops = {
	.open = llmos_vm_open,
	.close = llmos_vm_close,
	.fault = llmos_vm_fault,
};

static void llmos_buf_vm_open(struct vm_area_struct *vma)
{
	llmos_buf_get(vma->vm_private_data);
}

static void llmos_buf_vm_close(struct vm_area_struct *vma)
{
	llmos_buf_put(vma->vm_private_data);
}

static vm_fault_t llmos_buf_vm_fault(struct vm_fault *vmf)
{
	struct llmos_buf *b = vmf->vma->vm_private_data;
	unsigned long idx = vmf->pgoff & LLMOS_WINDOW_PGMASK;

	if (idx >= b->npages)
		return VM_FAULT_SIGBUS;
	return vmf_insert_pfn(vmf->vma, vmf->address, page_to_pfn(b->pages[idx]));
}

static const struct vm_operations_struct llmos_buf_vm_ops = {
	.open = llmos_buf_vm_open,
	.close = llmos_buf_vm_close,
	.fault = llmos_buf_vm_fault,
};

/*
 * Map a buffer's own pages (VM_PFNMAP, as models: no page references for
 * get_user_pages() to take); the mapping holds a reference.  vm_pgoff is
 * the first page within the buffer, under the handle's window bits.
 */
int llmos_buf_mmap_vma(struct llmos_buf *b, struct vm_area_struct *vma)
{
	unsigned long first = vma->vm_pgoff & LLMOS_WINDOW_PGMASK;

	if (!b->pages || first >= b->npages || vma_pages(vma) > b->npages - first)
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL; /* a private copy of device memory would be neither */
	llmos_buf_get(b);
	vm_flags_set(vma, VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_private_data = b;
	vma->vm_ops = &llmos_buf_vm_ops;
	return 0;
}

/*
 * The mapping's offset names the handle (LLMOS_MMAP_OFFSET) and the first
 * page within the model.  Only a creator's shared mapping may write.
 */
int llmos_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct llmos_file *lf = file->private_data;
	unsigned long first = vma->vm_pgoff & LLMOS_WINDOW_PGMASK;
	unsigned long id = vma->vm_pgoff >> (LLMOS_MMAP_SHIFT - PAGE_SHIFT);
	struct llmos_handle *h;
	bool writable;
	int ret;

	mutex_lock(&lf->lock);
	h = id <= LLMOS_MAX_HANDLE ? xa_load(&lf->handles, id) : NULL;
	if (h && h->buf) {
		ret = llmos_buf_mmap_vma(h->buf, vma);
		goto out_unlock;
	}
	if (!h || first >= h->model->npages || vma_pages(vma) > h->model->npages - first) {
		ret = -EINVAL;
		goto out_unlock;
	}
	writable = h->creator && (vma->vm_flags & VM_SHARED) && (vma->vm_flags & VM_MAYWRITE);
	if (!writable && (vma->vm_flags & VM_WRITE)) {
		ret = -EACCES;
		goto out_unlock;
	}
	ret = llmos_model_map(h->model, writable);
	if (ret)
		goto out_unlock;
	if (!writable)
		vm_flags_clear(vma, VM_MAYWRITE);
	vm_flags_set(vma, VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_private_data = h->model;
	vma->vm_ops = &llmos_vm_ops;
out_unlock:
	mutex_unlock(&lf->lock);
	return ret;
}
