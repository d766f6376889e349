// SPDX-License-Identifier: GPL-2.0
/*
 * llmos_mmap.c - mapping model memory into processes: writable only for the
 * creating file before seal, read-only (without VM_MAYWRITE, so mprotect
 * cannot add write) for everyone else; pages are faulted in on first touch.
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
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct llmos_vm_ops = {
	.open = llmos_vm_open,
	.close = llmos_vm_close,
	.fault = llmos_vm_fault,
};

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
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_private_data = h->model;
	vma->vm_ops = &llmos_vm_ops;
out_unlock:
	mutex_unlock(&lf->lock);
	return ret;
}
