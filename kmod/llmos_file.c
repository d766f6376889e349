// SPDX-License-Identifier: GPL-2.0
/*
 * llmos_file.c - per-open-file state: the table of handles a file holds on
 * models, released when the file goes (close or process death).
 *
 * A handle becomes visible only after the last step that can fail, as file
 * descriptors do: the command reserves an id (llmos_handle_reserve, like
 * get_unused_fd_flags), copies it out to the caller, and only then installs
 * the handle (llmos_handle_install, like fd_install); if the copy fails it
 * gives the id back (llmos_handle_unreserve).  A reserved id is invisible:
 * lookups see nothing there and MODEL_CLOSE cannot take it.
 */
#include <linux/slab.h>

#include "llmos_internal.h"

int llmos_file_init(struct llmos_file *lf)
{
	mutex_init(&lf->lock);
	xa_init_flags(&lf->handles, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	xa_init_flags(&lf->jobs, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	return 0;
}

/* Reserve a handle id in the file; -ENOSPC when it has LLMOS_MAX_HANDLE. */
int llmos_handle_reserve(struct llmos_file *lf, u32 *id)
{
	int ret;

	mutex_lock(&lf->lock);
	ret = xa_alloc(&lf->handles, id, NULL, XA_LIMIT(1, LLMOS_MAX_HANDLE), GFP_KERNEL_ACCOUNT);
	mutex_unlock(&lf->lock);
	return ret == -EBUSY ? -ENOSPC : ret;
}

/* Give back a reserved id that was never installed. */
void llmos_handle_unreserve(struct llmos_file *lf, u32 id)
{
	mutex_lock(&lf->lock);
	xa_release(&lf->handles, id);
	mutex_unlock(&lf->lock);
}

/*
 * Install h at a reserved id: from now on the handle is the file's.  The
 * slot exists, so the store allocates nothing; should it fail all the same,
 * the id is given back and the caller still owns h.
 */
int llmos_handle_install(struct llmos_file *lf, u32 id, struct llmos_handle *h)
{
	void *old;

	mutex_lock(&lf->lock);
	old = xa_store(&lf->handles, id, h, GFP_KERNEL_ACCOUNT);
	if (xa_is_err(old))
		xa_release(&lf->handles, id);
	mutex_unlock(&lf->lock);
	return xa_err(old);
}

/*
 * Drop a handle taken out of its file's table.  A creator that lets go of
 * a model it never sealed abandons it: the model leaves the registry.
 */
void llmos_handle_release(struct llmos_handle *h)
{
	struct llmos_model *m = h->model;

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
	if (h)
		xa_erase(&lf->handles, id);
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

	llmos_sched_file_release(lf);
	xa_for_each(&lf->handles, id, h) {
		xa_erase(&lf->handles, id);
		llmos_handle_release(h);
		cond_resched();
	}
	xa_destroy(&lf->handles);
	mutex_destroy(&lf->lock);
}
