// SPDX-License-Identifier: GPL-2.0
/*
 * llmos_model.c - shared model memory: named regions of zeroed, pinned
 * pages, created and filled once by an administrator, sealed, then opened
 * read-only by any process the model's mode admits.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nodemask.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "llmos_internal.h"

/* The registry of models by name; see struct llmos_model for what it protects. */
static DEFINE_MUTEX(llmos_models_lock);
static LIST_HEAD(llmos_models); /* protected by llmos_models_lock */

/* Bytes reserved by all models, freed when the last reference goes. */
static atomic64_t llmos_pinned = ATOMIC64_INIT(0);

static unsigned long max_pinned_mb;
module_param(max_pinned_mb, ulong, 0644);
MODULE_PARM_DESC(max_pinned_mb, "cap on the model memory pinned in total, in MiB (0: half of RAM)");

u64 llmos_pinned_bytes(void)
{
	return atomic64_read(&llmos_pinned);
}

u64 llmos_pinned_cap(void)
{
	unsigned long mb = READ_ONCE(max_pinned_mb);

	if (!mb)
		return (u64)totalram_pages() * PAGE_SIZE / 2;
	return (u64)mb << 20;
}

unsigned int llmos_models_count(void)
{
	struct llmos_model *m;
	unsigned int n = 0;

	mutex_lock(&llmos_models_lock);
	list_for_each_entry(m, &llmos_models, node)
		n++;
	mutex_unlock(&llmos_models_lock);
	return n;
}

void llmos_model_get(struct llmos_model *m)
{
	kref_get(&m->ref);
}

static void llmos_model_release(struct kref *ref)
{
	struct llmos_model *m = container_of(ref, struct llmos_model, ref);
	unsigned long i;

	if (m->vaddr)
		vunmap(m->vaddr);
	mutex_destroy(&m->vmap_lock);
	for (i = 0; i < m->nr_allocated; i++) {
		__free_page(m->pages[i]);
		cond_resched(); /* a model can be gigabytes */
	}
	kvfree(m->pages);
	atomic64_sub(m->reserved_bytes, &llmos_pinned);
	kfree(m);
}

void llmos_model_put(struct llmos_model *m)
{
	kref_put(&m->ref, llmos_model_release);
}

/* Drop a user count and the reference that came with it (a handle's, or one being made). */
void llmos_model_unuse(struct llmos_model *m)
{
	atomic_dec(&m->users);
	llmos_model_put(m);
}

static bool llmos_name_char(u8 c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* 1..63 bytes of [A-Za-z0-9._-], not starting with '.', NUL padded. */
static bool llmos_name_valid(const u8 *name)
{
	size_t len = strnlen(name, LLMOS_NAME_LEN), i;

	if (len == 0 || len == LLMOS_NAME_LEN || name[0] == '.')
		return false;
	for (i = 0; i < len; i++)
		if (!llmos_name_char(name[i]))
			return false;
	return !memchr_inv(name + len, 0, LLMOS_NAME_LEN - len);
}

/* Look a listed model up by name; caller holds llmos_models_lock. */
static struct llmos_model *llmos_model_find(const u8 *name)
{
	struct llmos_model *m;

	lockdep_assert_held(&llmos_models_lock);
	list_for_each_entry(m, &llmos_models, node)
		if (!strncmp(m->name, name, LLMOS_NAME_LEN))
			return m;
	return NULL;
}

/* Take a listed model out of the registry; caller holds the lock and then puts its ref. */
static void llmos_model_unlist(struct llmos_model *m)
{
	lockdep_assert_held(&llmos_models_lock);
	list_del(&m->node);
	m->listed = false;
}

static int llmos_check_create(const struct llmos_model_create *arg)
{
	if (arg->flags || memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	if (!llmos_name_valid(arg->name) || arg->mode & ~0777)
		return -EINVAL;
	if (!arg->size || arg->size > (1ULL << LLMOS_MMAP_SHIFT))
		return -EINVAL;
	/* Refuse what can never fit before allocating anything for it. */
	if (PAGE_ALIGN(arg->size) > llmos_pinned_cap())
		return -ENOSPC;
	if (arg->numa_node != LLMOS_NUMA_ANY &&
	    (arg->numa_node < 0 || arg->numa_node >= MAX_NUMNODES || !node_online(arg->numa_node)))
		return -EINVAL;
	return 0;
}

static struct llmos_model *llmos_model_alloc(const struct llmos_model_create *arg)
{
	struct llmos_model *m;

	m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		return NULL;
	kref_init(&m->ref);
	mutex_init(&m->vmap_lock);
	INIT_LIST_HEAD(&m->node);
	memcpy(m->name, arg->name, LLMOS_NAME_LEN);
	m->size = arg->size;
	m->npages = DIV_ROUND_UP(arg->size, PAGE_SIZE);
	m->numa_node = arg->numa_node;
	m->owner_uid = current_fsuid();
	m->owner_gid = current_fsgid();
	m->mode = arg->mode;
	m->state = LLMOS_MODEL_LOADING;
	m->pages = kvcalloc(m->npages, sizeof(*m->pages), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!m->pages) {
		mutex_destroy(&m->vmap_lock);
		kfree(m);
		return NULL;
	}
	return m;
}

/*
 * Reserve its bytes under the cap and list it under a unique name.  The
 * caller's reference becomes its creator's handle's, so the model counts
 * that user from the moment it is listed: an unload cannot slip in.
 */
static int llmos_model_publish(struct llmos_model *m)
{
	u64 bytes = (u64)m->npages << PAGE_SHIFT;
	int ret = 0;

	mutex_lock(&llmos_models_lock);
	if (llmos_model_find(m->name)) {
		ret = -EEXIST;
	} else if (atomic64_read(&llmos_pinned) + bytes > llmos_pinned_cap()) {
		ret = -ENOSPC;
	} else {
		atomic64_add(bytes, &llmos_pinned);
		m->reserved_bytes = bytes;
		list_add_tail(&m->node, &llmos_models);
		m->listed = true;
		atomic_set(&m->users, 1);
		llmos_model_get(m); /* the registry's reference */
	}
	mutex_unlock(&llmos_models_lock);
	return ret;
}

/* Zeroed, pinned pages charged to the creator (llmos_alloc_pinned_pages()). */
static int llmos_model_fill_pages(struct llmos_model *m)
{
	return llmos_alloc_pinned_pages(m->pages, m->npages, &m->nr_allocated, m->numa_node);
}

/*
 * Take a model out of the registry if it is still listed and, unless
 * loading_only is false, still loading; drops the registry's reference.
 */
static void llmos_model_withdraw(struct llmos_model *m, bool loading_only)
{
	bool unlisted = false;

	mutex_lock(&llmos_models_lock);
	if (m->listed && (!loading_only || m->state == LLMOS_MODEL_LOADING)) {
		llmos_model_unlist(m);
		unlisted = true;
	}
	mutex_unlock(&llmos_models_lock);
	if (unlisted)
		llmos_model_put(m);
}

/**
 * llmos_model_map() - count a new mapping of a model.
 * @m:        the model; the mapping takes a reference.
 * @writable: the mapping may write (its creator's, shared); allowed only
 *            while the model is loading, so that seal can wait for none.
 *
 * Return: 0, or -EACCES for a writable mapping of a sealed model.
 */
int llmos_model_map(struct llmos_model *m, bool writable)
{
	int ret = 0;

	if (writable) {
		mutex_lock(&llmos_models_lock);
		if (m->state != LLMOS_MODEL_LOADING)
			ret = -EACCES;
		else
			atomic_inc(&m->writable_maps);
		mutex_unlock(&llmos_models_lock);
		if (ret)
			return ret;
	}
	llmos_model_get(m);
	atomic_inc(&m->mappings);
	return 0;
}

/*
 * A sealed model's read-only kernel mapping for the NPU, made on first use
 * and kept until the model is freed; NULL if vmap fails.
 */
void *llmos_model_vaddr(struct llmos_model *m)
{
	void *v;

	mutex_lock(&m->vmap_lock);
	if (!m->vaddr)
		m->vaddr = vmap(m->pages, m->npages, VM_MAP, PAGE_KERNEL_RO);
	v = m->vaddr;
	mutex_unlock(&m->vmap_lock);
	return v;
}

/* Its creator let go before sealing it: the half-made model disappears. */
void llmos_model_abandon(struct llmos_model *m)
{
	llmos_model_withdraw(m, true);
}

/*
 * MODEL_CREATE: the model is listed (as loading) first, so that its name and
 * bytes are taken; the creator's handle appears only once the pages exist
 * and the caller has its id.  Any failure before that withdraws the model.
 */
int llmos_model_create(struct llmos_file *lf, void __user *uarg, u32 usize)
{
	struct llmos_model_create arg;
	struct llmos_handle *h;
	struct llmos_model *m;
	u32 id;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = llmos_copy_arg(&arg, sizeof(arg), uarg, usize, sizeof(arg));
	if (!ret)
		ret = llmos_check_create(&arg);
	if (ret)
		return ret;
	h = llmos_handle_prepare(lf, &id);
	if (IS_ERR(h))
		return PTR_ERR(h);
	m = llmos_model_alloc(&arg);
	if (!m) {
		ret = -ENOMEM;
		goto out_abort;
	}
	ret = llmos_model_publish(m);
	if (ret) {
		llmos_model_put(m);
		goto out_abort;
	}
	ret = llmos_model_fill_pages(m);
	if (ret)
		goto out_withdraw;
	arg.handle = id;
	arg.mmap_offset = LLMOS_MMAP_OFFSET(id);
	if (copy_to_user(uarg, &arg, sizeof(arg))) {
		ret = -EFAULT;
		goto out_withdraw;
	}
	h->model = m;
	h->creator = true;
	ret = llmos_handle_install(lf, id, h);
	if (!ret)
		return 0;
out_withdraw:
	llmos_model_withdraw(m, false);
	llmos_model_unuse(m);
out_abort:
	llmos_handle_abort(lf, id, h);
	return ret;
}

static int llmos_copy_handle_arg(struct llmos_model_handle *arg, void __user *uarg, u32 usize)
{
	int ret = llmos_copy_arg(arg, sizeof(*arg), uarg, usize, sizeof(*arg));

	if (ret)
		return ret;
	if (arg->flags || memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	return 0;
}

int llmos_model_seal(struct llmos_file *lf, void __user *uarg, u32 usize)
{
	struct llmos_model_handle arg;
	struct llmos_handle *h;
	struct llmos_model *m;
	int ret;

	ret = llmos_copy_handle_arg(&arg, uarg, usize);
	if (ret)
		return ret;
	mutex_lock(&lf->lock);
	h = xa_load(&lf->handles, arg.handle);
	if (!h || !h->creator) {
		ret = -EINVAL;
		goto out_unlock_file;
	}
	m = h->model;
	mutex_lock(&llmos_models_lock);
	if (!m->listed)
		ret = -ENOENT; /* unloaded by an administrator while loading */
	else if (atomic_read(&m->writable_maps))
		ret = -EBUSY;
	else
		m->state = LLMOS_MODEL_SEALED;
	mutex_unlock(&llmos_models_lock);
	if (!ret)
		h->creator = false;
out_unlock_file:
	mutex_unlock(&lf->lock);
	return ret;
}

/* Read permission by the mode's bits, as for a file: owner, group, other. */
static bool llmos_model_mode_admits(const struct llmos_model *m)
{
	umode_t mode = m->mode;

	if (uid_eq(current_fsuid(), m->owner_uid))
		mode >>= 6;
	else if (in_group_p(m->owner_gid))
		mode >>= 3;
	return mode & 4;
}

/* Read permission: the mode's bits, or DAC override. */
static bool llmos_model_may_open(const struct llmos_model *m)
{
	return llmos_model_mode_admits(m) || capable(CAP_DAC_READ_SEARCH) ||
	       capable(CAP_DAC_OVERRIDE);
}

/*
 * A sealed, listed model the caller may read, with a reference and a user
 * count taken under the lock (so an unload sees the user); or an ERR_PTR.
 */
static struct llmos_model *llmos_model_lookup_for_open(const u8 *name)
{
	struct llmos_model *m;

	mutex_lock(&llmos_models_lock);
	m = llmos_model_find(name);
	if (!m)
		m = ERR_PTR(-ENOENT);
	else if (!llmos_model_may_open(m))
		m = ERR_PTR(-EACCES); /* before its state: that is not for everyone to learn */
	else if (m->state != LLMOS_MODEL_SEALED)
		m = ERR_PTR(-EBUSY);
	else {
		llmos_model_get(m);
		atomic_inc(&m->users);
	}
	mutex_unlock(&llmos_models_lock);
	return m;
}

/* MODEL_OPEN: as for create, the handle is installed after its id reached the caller. */
int llmos_model_open(struct llmos_file *lf, void __user *uarg, u32 usize)
{
	struct llmos_model_open arg;
	struct llmos_handle *h;
	struct llmos_model *m;
	u32 id;
	int ret;

	ret = llmos_copy_arg(&arg, sizeof(arg), uarg, usize, sizeof(arg));
	if (ret)
		return ret;
	if (arg.flags || memchr_inv(arg.reserved, 0, sizeof(arg.reserved)) ||
	    !llmos_name_valid(arg.name))
		return -EINVAL;
	h = llmos_handle_prepare(lf, &id);
	if (IS_ERR(h))
		return PTR_ERR(h);
	m = llmos_model_lookup_for_open(arg.name);
	if (IS_ERR(m)) {
		ret = PTR_ERR(m);
		goto out_abort;
	}
	arg.size = m->size;
	arg.handle = id;
	arg.mmap_offset = LLMOS_MMAP_OFFSET(id);
	if (copy_to_user(uarg, &arg, sizeof(arg))) {
		ret = -EFAULT;
		goto out_unuse;
	}
	h->model = m;
	ret = llmos_handle_install(lf, id, h);
	if (!ret)
		return 0;
out_unuse:
	llmos_model_unuse(m);
out_abort:
	llmos_handle_abort(lf, id, h);
	return ret;
}

int llmos_model_close(struct llmos_file *lf, void __user *uarg, u32 usize)
{
	struct llmos_model_handle arg;
	int ret;

	ret = llmos_copy_handle_arg(&arg, uarg, usize);
	if (ret)
		return ret;
	return llmos_handle_close(lf, arg.handle);
}

static void llmos_model_describe(const struct llmos_model *m, struct llmos_model_entry *e)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->name, m->name, LLMOS_NAME_LEN);
	e->size = m->size;
	e->pinned = (u64)READ_ONCE(m->nr_allocated) << PAGE_SHIFT;
	e->state = m->state;
	e->users = atomic_read(&m->users);
	e->mappings = atomic_read(&m->mappings);
	e->numa_node = m->numa_node;
	e->owner_uid = from_kuid_munged(current_user_ns(), m->owner_uid);
	e->owner_gid = from_kgid_munged(current_user_ns(), m->owner_gid);
	e->mode = m->mode;
}

/*
 * Snapshot up to cap entries under the lock; *count gets the total.  A
 * caller sees the models it may open (all, with CAP_SYS_ADMIN or DAC
 * override), as a directory listing shows what its mode admits.
 */
static struct llmos_model_entry *llmos_models_snapshot(u32 cap, u32 *count, u32 *filled)
{
	bool all = has_capability_noaudit(current, CAP_SYS_ADMIN) ||
		   has_capability_noaudit(current, CAP_DAC_READ_SEARCH) ||
		   has_capability_noaudit(current, CAP_DAC_OVERRIDE);
	struct llmos_model_entry *buf = NULL;
	struct llmos_model *m;
	u32 n = 0;

	if (cap) {
		buf = kvcalloc(min_t(u32, cap, 4096), sizeof(*buf), GFP_KERNEL_ACCOUNT);
		if (!buf)
			return ERR_PTR(-ENOMEM);
		cap = min_t(u32, cap, 4096);
	}
	mutex_lock(&llmos_models_lock);
	list_for_each_entry(m, &llmos_models, node) {
		if (!all && !llmos_model_mode_admits(m))
			continue;
		if (n < cap)
			llmos_model_describe(m, &buf[n]);
		n++;
	}
	mutex_unlock(&llmos_models_lock);
	*count = n;
	*filled = min(n, cap);
	return buf;
}

int llmos_model_list(struct llmos_file *lf, void __user *uarg, u32 usize)
{
	struct llmos_model_entry *buf;
	struct llmos_model_list arg;
	u32 filled, i;
	int ret;

	ret = llmos_copy_arg(&arg, sizeof(arg), uarg, usize, sizeof(arg));
	if (ret)
		return ret;
	if (arg.flags || memchr_inv(arg.reserved, 0, sizeof(arg.reserved)) ||
	    (arg.capacity && arg.entry_size < sizeof(*buf)) || arg.entry_size > PAGE_SIZE)
		return -EINVAL;
	buf = llmos_models_snapshot(arg.capacity, &arg.count, &filled);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	for (i = 0; i < filled && !ret; i++) {
		void __user *dst = u64_to_user_ptr(arg.entries + (u64)i * arg.entry_size);

		if (copy_to_user(dst, &buf[i], sizeof(*buf)) ||
		    clear_user(dst + sizeof(*buf), arg.entry_size - sizeof(*buf)))
			ret = -EFAULT;
	}
	kvfree(buf);
	if (!ret && copy_to_user(uarg, &arg, sizeof(arg)))
		ret = -EFAULT;
	return ret;
}

int llmos_model_unload(struct llmos_file *lf, void __user *uarg, u32 usize)
{
	struct llmos_model_unload arg;
	struct llmos_model *m;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = llmos_copy_arg(&arg, sizeof(arg), uarg, usize, sizeof(arg));
	if (ret)
		return ret;
	if (arg.flags & ~LLMOS_UNLOAD_WHEN_UNUSED || memchr_inv(arg.reserved, 0,
								 sizeof(arg.reserved)) ||
	    !llmos_name_valid(arg.name))
		return -EINVAL;
	mutex_lock(&llmos_models_lock);
	m = llmos_model_find(arg.name);
	if (!m)
		ret = -ENOENT;
	else if (!(arg.flags & LLMOS_UNLOAD_WHEN_UNUSED) &&
		 (atomic_read(&m->users) || atomic_read(&m->mappings)))
		ret = -EBUSY;
	else
		llmos_model_unlist(m);
	mutex_unlock(&llmos_models_lock);
	if (!ret)
		llmos_model_put(m); /* the registry's reference */
	return ret;
}

/* Module unload: no file is open, so the registry holds the last references. */
void llmos_models_unload_all(void)
{
	struct llmos_model *m, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&llmos_models_lock);
	list_for_each_entry_safe(m, tmp, &llmos_models, node) {
		llmos_model_unlist(m);
		list_add(&m->node, &gone);
	}
	mutex_unlock(&llmos_models_lock);
	list_for_each_entry_safe(m, tmp, &gone, node) {
		list_del(&m->node);
		llmos_model_put(m);
	}
}
