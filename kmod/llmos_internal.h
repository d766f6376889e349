/* SPDX-License-Identifier: GPL-2.0 */
/*
 * llmos_internal.h - declarations shared by the files of llmos.ko.
 */
#ifndef LLMOS_INTERNAL_H
#define LLMOS_INTERNAL_H

#include <linux/atomic.h>
#include <linux/io_uring/cmd.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/iosys-map.h>
#include <linux/xarray.h>
#include <uapi/linux/llmos.h>

#include "llmos_sched.h"

struct llmos_npu_client;

#define LLMOS_MODULE_VERSION "0.4.0"

/* Features this build of the module implements. */
#define LLMOS_FEATURES (LLMOS_F_IOCTL | LLMOS_F_URING_CMD | LLMOS_F_MODEL_MEMORY | LLMOS_F_SCHED | \
			LLMOS_F_SCHED_PREEMPT | LLMOS_F_STEP_RELEASE_ONLY | LLMOS_F_BUFFERS)

/*
 * Handles of one file are 1..LLMOS_MAX_HANDLE, so mmap offsets fit in a 64-bit
 * off_t; a 32-bit caller's mmap2 reaches handles 1..15 (Documentation/uapi.md).
 */
#define LLMOS_MAX_HANDLE 0xffff
/* Page offsets within one handle's mmap window. */
#define LLMOS_WINDOW_PGMASK ((1UL << (LLMOS_MMAP_SHIFT - PAGE_SHIFT)) - 1)

/*
 * struct llmos_model - a named region of zeroed, pinned pages holding one
 * model's file.  References: the registry (while listed), each handle, each
 * VMA mapping it; the last put frees the pages and their accounting.
 */
struct llmos_model {
	struct kref ref;
	struct list_head node;     /* in llmos_models; protected by llmos_models_lock */
	bool listed;               /* protected by llmos_models_lock */
	u32 state;                 /* LLMOS_MODEL_*; protected by llmos_models_lock */
	char name[LLMOS_NAME_LEN];
	u64 size;                  /* bytes as created */
	unsigned long npages;
	unsigned long nr_allocated; /* pages[0..nr_allocated) hold pages */
	u64 reserved_bytes;        /* counted in llmos_pinned_bytes */
	struct page **pages;
	int numa_node;
	kuid_t owner_uid;
	kgid_t owner_gid;
	umode_t mode;
	atomic_t users;            /* handles, in all files; raised under llmos_models_lock */
	atomic_t mappings;         /* VMAs, in all processes */
	atomic_t writable_maps;    /* VMAs that may write; changes under llmos_models_lock */
	struct mutex vmap_lock;    /* protects vaddr */
	void *vaddr;               /* read-only kernel mapping for the NPU, made on first use */
};

/*
 * struct llmos_buf - a buffer: zeroed pages of its own, or an imported
 * dma-buf.  References: each handle, each VMA, each dma-buf exported from
 * it, each NPU job using it; the last put frees it (llmos_buf.c).
 */
struct llmos_buf {
	struct kref ref;
	u64 size;                  /* bytes: pages, or the dma-buf's size */
	unsigned long npages;      /* own pages: npages of them in pages[] */
	unsigned long nr_allocated;
	struct page **pages;       /* NULL for an import */
	u64 reserved_bytes;        /* counted against max_buf_mb */
	struct mutex lock;         /* protects vaddr and exports */
	void *vaddr;               /* kernel mapping (vmap), made on first use */
	struct list_head exports;  /* struct llmos_buf_sgt mapped for importers; under lock */
	struct dma_buf *import;    /* the imported dma-buf, vmapped at vaddr */
	bool read_only;            /* imported from an fd not open for writing */
	struct dma_buf_attachment *attach; /* the import's attachment to our device */
	struct sg_table *import_sgt;       /* and its mapping */
	struct iosys_map import_map;
};

/*
 * struct llmos_handle - one file's use of one model.  It owns one reference
 * and one count in model->users, released by llmos_handle_release().
 */
struct llmos_handle {
	struct llmos_model *model; /* a model's handle, or NULL */
	struct llmos_buf *buf;     /* a buffer's handle, or NULL */
	bool creator;              /* may map writable and seal; cleared by seal */
};

/*
 * struct llmos_file - per-open-file state, owned by the struct file and
 * freed in ->release().
 */
struct llmos_file {
	pid_t opener_tgid;        /* for diagnostics only */
	struct mutex lock;        /* serialises handle changes and lookups */
	struct xarray handles;    /* handle -> struct llmos_handle; protected by lock */
	struct xarray jobs;       /* job id -> struct llmos_job; its own xa_lock, never
				   * taken under llmos_sched_lock (see llmos_sched_cmd.c) */
	struct llmos_npu_client *npu; /* its NPU jobs' owner, made on first submit; under lock */
	unsigned int imports;     /* import handles, at most LLMOS_MAX_IMPORTS: each pins an
				   * exporter's mapping, not charged to us; under lock */
};


/* llmos_cmd.c: the command table shared by ioctl and uring_cmd. */
long llmos_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
int llmos_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags);
int llmos_copy_arg(void *karg, size_t ksize, const void __user *uarg, u32 usize, size_t minsize);

/* llmos_model.c: model objects and the registry. */
void llmos_model_get(struct llmos_model *m);
void llmos_model_put(struct llmos_model *m);
void llmos_model_unuse(struct llmos_model *m);
void llmos_model_abandon(struct llmos_model *m);
int llmos_model_map(struct llmos_model *m, bool writable);
int llmos_model_create(struct llmos_file *lf, void __user *uarg, u32 usize);
int llmos_model_seal(struct llmos_file *lf, void __user *uarg, u32 usize);
int llmos_model_open(struct llmos_file *lf, void __user *uarg, u32 usize);
int llmos_model_close(struct llmos_file *lf, void __user *uarg, u32 usize);
int llmos_model_list(struct llmos_file *lf, void __user *uarg, u32 usize);
int llmos_model_unload(struct llmos_file *lf, void __user *uarg, u32 usize);
void llmos_models_unload_all(void);
u64 llmos_pinned_bytes(void);
u64 llmos_pinned_cap(void);
unsigned int llmos_models_count(void);

/* llmos_file.c: per-file state and handles. */
void llmos_file_init(struct llmos_file *lf);
void llmos_file_release(struct llmos_file *lf);
struct llmos_handle *llmos_handle_prepare(struct llmos_file *lf, u32 *id);
void llmos_handle_abort(struct llmos_file *lf, u32 id, struct llmos_handle *h);
int llmos_handle_install(struct llmos_file *lf, u32 id, struct llmos_handle *h);
void llmos_handle_release(struct llmos_handle *h);
int llmos_handle_close(struct llmos_file *lf, u32 id);

/* llmos_model.c: the NPU's view of a sealed model. */
void *llmos_model_vaddr(struct llmos_model *m);

/* llmos_mmap.c: mapping models and buffers into processes. */
int llmos_mmap(struct file *file, struct vm_area_struct *vma);
int llmos_buf_mmap_vma(struct llmos_buf *b, struct vm_area_struct *vma);

/* llmos_buf.c: buffers, their dma-buf export and import. */
void llmos_buf_get(struct llmos_buf *b);
void llmos_buf_put(struct llmos_buf *b);
void *llmos_buf_vaddr(struct llmos_buf *b);
int llmos_alloc_pinned_pages(struct page **pages, unsigned long npages, unsigned long *done,
			     int numa_node);
int llmos_buf_create(struct llmos_file *lf, void __user *uarg, u32 usize);
int llmos_buf_import(struct llmos_file *lf, void __user *uarg, u32 usize);
bool llmos_import_reserve(struct llmos_file *lf, int delta);
u64 llmos_buf_bytes(void);
u64 llmos_buf_cap(void);
struct device *llmos_dma_device(void);
void llmos_dma_ready(void);

/* llmos_dmabuf.c: a buffer as a dma-buf for other processes and drivers. */
int llmos_buf_export(struct llmos_file *lf, void __user *uarg, u32 usize);

/* llmos_main.c */
extern struct miscdevice llmos_miscdev;

/* llmos_stats.c: totals for administrators in sysfs. */
extern const struct attribute_group *llmos_attr_groups[];

#endif /* LLMOS_INTERNAL_H */
