// SPDX-License-Identifier: GPL-2.0
/*
 * llmos_file.c - per-open-file state: the table of handles a file holds on
 * models, released when the file goes (close or process death).
 */
#include <linux/slab.h>

#include "llmos_internal.h"

int llmos_file_init(struct llmos_file *lf)
{
	mutex_init(&lf->lock);
	xa_init_flags(&lf->handles, XA_FLAGS_ALLOC1);
	xa_init_flags(&lf->jobs, XA_FLAGS_ALLOC1);
	return 0;
}

/**
 * llmos_handle_add() - give a file a handle on a model.
 * @lf:      the file.
 * @m:       the model; the handle takes a reference of its own.
 * @creator: the file created the model (may map it writable and seal it).
 * @id:      out: the handle.
 *
 * Return: 0, -ENOMEM, or -ENOSPC when the file has LLMOS_MAX_HANDLE handles.
 */
int llmos_handle_add(struct llmos_file *lf, struct llmos_model *m, bool creator, u32 *id)
{
	struct llmos_handle *h;
	int ret;

	h = kzalloc(sizeof(*h), GFP_KERNEL);
	if (!h)
		return -ENOMEM;
	h->model = m;
	h->creator = creator;
	mutex_lock(&lf->lock);
	ret = xa_alloc(&lf->handles, id, h, XA_LIMIT(1, LLMOS_MAX_HANDLE), GFP_KERNEL);
	if (!ret) {
		llmos_model_get(m);
		atomic_inc(&m->users);
	}
	mutex_unlock(&lf->lock);
	if (ret) {
		kfree(h);
		return ret == -EBUSY ? -ENOSPC : ret;
	}
	return 0;
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
	atomic_dec(&m->users);
	llmos_model_put(m);
	kfree(h);
}

/* Take handle id out of the file's table and release it; -EINVAL if there is none. */
int llmos_handle_close(struct llmos_file *lf, u32 id)
{
	struct llmos_handle *h;

	mutex_lock(&lf->lock);
	h = xa_erase(&lf->handles, id);
	mutex_unlock(&lf->lock);
	if (!h)
		return -EINVAL;
	llmos_handle_release(h);
	return 0;
}

void llmos_file_release(struct llmos_file *lf)
{
	struct llmos_handle *h;
	unsigned long id;

	llmos_sched_file_release(lf);
	xa_for_each(&lf->handles, id, h) {
		xa_erase(&lf->handles, id);
		llmos_handle_release(h);
	}
	xa_destroy(&lf->handles);
	mutex_destroy(&lf->lock);
}
