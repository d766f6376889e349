// SPDX-License-Identifier: GPL-2.0
/*
 * llmos_file.c - per-open-file state: the table of handles a file holds on
 * models and buffers, released when the file goes (close or process death).
 *
 * A handle becomes visible only after the last step that can fail, as file
 * descriptors do: the command allocates a handle and reserves its id
 * (llmos_handle_prepare, like get_unused_fd_flags), copies the id out to the
 * caller, and only then installs the handle (llmos_handle_install, like
 * fd_install); if anything fails before, it gives both back
 * (llmos_handle_abort).  A reserved id is invisible: lookups see nothing
 * there and MODEL_CLOSE cannot take it.
 */
#include <linux/slab.h>

#include "llmos_internal.h"
#include "llmos_npu.h"

void llmos_file_init(struct llmos_file *lf)
{
	mutex_init(&lf->lock);
	xa_init_flags(&lf->handles, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	xa_init_flags(&lf->jobs, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
}

/*
 * A new handle (no model yet) and a reserved id for it; an ERR_PTR of
 * -ENOMEM, or -ENOSPC when the file has LLMOS_MAX_HANDLE handles.
 */
struct llmos_handle *llmos_handle_prepare(struct llmos_file *lf, u32 *id)
{
	struct llmos_handle *h = kzalloc(sizeof(*h), GFP_KERNEL_ACCOUNT);
	int ret;

	if (!h)
		return ERR_PTR(-ENOMEM);
	mutex_lock(&lf->lock);
	ret = xa_alloc(&lf->handles, id, NULL, XA_LIMIT(1, LLMOS_MAX_HANDLE), GFP_KERNEL_ACCOUNT);
	mutex_unlock(&lf->lock);
	if (ret) {
		kfree(h);
		return ERR_PTR(ret == -EBUSY ? -ENOSPC : ret);
	}
	return h;
}

/* Give back a prepared handle and its id, never installed (h->model is not touched). */
void llmos_handle_abort(struct llmos_file *lf, u32 id, struct llmos_handle *h)
{
	mutex_lock(&lf->lock);
	xa_release(&lf->handles, id);
	mutex_unlock(&lf->lock);
	kfree(h);
}

/*
 * Install h at its reserved id: from now on the handle is the file's.  The
 * slot exists, so the store allocates nothing; should it fail all the same,
 * the caller still owns h and aborts it.
 */
int llmos_handle_install(struct llmos_file *lf, u32 id, struct llmos_handle *h)
{
	void *old;

	mutex_lock(&lf->lock);
	old = xa_store(&lf->handles, id, h, GFP_KERNEL_ACCOUNT);
	mutex_unlock(&lf->lock);
	return xa_err(old);
}

/*
 * Drop a handle taken out of its file's table (a buffer's: its reference).  A creator that lets go of
 * a model it never sealed abandons it: the model leaves the registry.
 */
void llmos_handle_release(struct llmos_handle *h)
{
	struct llmos_model *m = h->model;

	if (h->buf) {
		llmos_buf_put(h->buf);
		kfree(h);
		return;
	}
	if (h->creator)
		llmos_model_abandon(m);
	llmos_model_unuse(m);
	kfree(h);
}

/* Take handle id out of the file's table and release it; -EINVAL if there is none. */
int llmos_handle_close(struct llmos_file *lf, u32 id)
{
	struct llmos_handle *h;

	mutex_lock(&lf->lock);
	h = xa_load(&lf->handles, id); /* NULL for a reserved id: leave it be */
	if (h) {
		xa_erase(&lf->handles, id);
		if (h->buf && h->buf->import)
			lf->imports--;
	}
	mutex_unlock(&lf->lock);
	if (!h)
		return -EINVAL;
	llmos_handle_release(h);
	return 0;
}

/* The last reference to the file is gone: no command runs on it any more. */
void llmos_file_release(struct llmos_file *lf)
{
	struct llmos_handle *h;
	unsigned long id;

	llmos_npu_file_release(lf);
	llmos_sched_file_release(lf);
	xa_for_each(&lf->handles, id, h) {
		xa_erase(&lf->handles, id);
		llmos_handle_release(h);
		cond_resched();
	}
	xa_destroy(&lf->handles);
	mutex_destroy(&lf->lock);
}
