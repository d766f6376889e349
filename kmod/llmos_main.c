// SPDX-License-Identifier: GPL-2.0
/*
 * llmos_main.c - module entry points and the /dev/llmos misc device.
 */
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "llmos_internal.h"
#include "llmos_npu.h"

static int llmos_open(struct inode *inode, struct file *file)
{
	struct llmos_file *lf;

	lf = kzalloc(sizeof(*lf), GFP_KERNEL_ACCOUNT);
	if (!lf)
		return -ENOMEM;
	lf->opener_tgid = task_tgid_nr(current);
	llmos_file_init(lf);
	file->private_data = lf;
	return 0;
}

/* Last reference to the file: close, or the death of every process holding it. */
static int llmos_release(struct inode *inode, struct file *file)
{
	struct llmos_file *lf = file->private_data;

	llmos_file_release(lf);
	kfree(lf);
	file->private_data = NULL;
	return 0;
}

static const struct file_operations llmos_fops = {
	.owner = THIS_MODULE,
	.open = llmos_open,
	.release = llmos_release,
	.unlocked_ioctl = llmos_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.uring_cmd = llmos_uring_cmd,
	.mmap = llmos_mmap,
};

/*
 * Every process may open the device: each command that needs privilege
 * checks capabilities itself.
 */
struct miscdevice llmos_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "llmos",
	.fops = &llmos_fops,
	.mode = 0666,
	.groups = llmos_attr_groups,
};

static int __init llmos_init(void)
{
	int ret;

	BUILD_BUG_ON(sizeof(struct llmos_info) != 80);
	BUILD_BUG_ON(sizeof(struct llmos_uring_cmd) != 16);
	BUILD_BUG_ON(sizeof(struct llmos_model_create) != 128);
	BUILD_BUG_ON(sizeof(struct llmos_model_handle) != 32);
	BUILD_BUG_ON(sizeof(struct llmos_model_open) != 120);
	BUILD_BUG_ON(sizeof(struct llmos_model_entry) != 112);
	BUILD_BUG_ON(sizeof(struct llmos_model_list) != 40);
	BUILD_BUG_ON(sizeof(struct llmos_model_unload) != 80);
	BUILD_BUG_ON(sizeof(struct llmos_job_create) != 40);
	BUILD_BUG_ON(sizeof(struct llmos_job_step) != 32);
	BUILD_BUG_ON(sizeof(struct llmos_job_end) != 32);
	BUILD_BUG_ON(sizeof(struct llmos_sched_prio) != 32);
	BUILD_BUG_ON(sizeof(struct llmos_sched_stat) != 248);
	BUILD_BUG_ON(sizeof(struct llmos_sched_stats) != 1032);
	BUILD_BUG_ON(sizeof(struct llmos_buf_create) != 64);
	BUILD_BUG_ON(sizeof(struct llmos_buf_export) != 40);
	BUILD_BUG_ON(sizeof(struct llmos_buf_import) != 48);
	BUILD_BUG_ON(sizeof(struct llmos_npu_operand) != 24);
	BUILD_BUG_ON(sizeof(struct llmos_npu_op) != 112);
	BUILD_BUG_ON(sizeof(struct llmos_npu_submit) != 64);
	BUILD_BUG_ON(sizeof(struct llmos_npu_info) != 160);

	ret = llmos_npu_init();
	if (ret)
		return ret;
	ret = misc_register(&llmos_miscdev);
	if (ret) {
		pr_err("llmos: cannot register /dev/llmos: %d\n", ret);
		goto out_npu;
	}
	/* imported dma-bufs attach to the device (llmos_buf.c): any address will do */
	ret = dma_coerce_mask_and_coherent(llmos_miscdev.this_device, DMA_BIT_MASK(64));
	if (!ret)
		llmos_dma_ready();
	if (!ret)
		ret = llmos_vnpu_init();
	if (ret)
		goto out_deregister;
	pr_info("llmos: version %s, ABI %d\n", LLMOS_MODULE_VERSION, LLMOS_ABI_VERSION);
	return 0;
out_deregister:
	misc_deregister(&llmos_miscdev);
out_npu:
	llmos_npu_exit();
	return ret;
}

/* No file is open (each holds a module reference), so models are unused. */
static void __exit llmos_exit(void)
{
	misc_deregister(&llmos_miscdev);
	llmos_vnpu_exit();
	llmos_npu_exit();
	llmos_sched_exit();
	llmos_models_unload_all();
}

module_init(llmos_init);
module_exit(llmos_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The llmos authors");
MODULE_DESCRIPTION("llmos: shared model memory, compute scheduling and an NPU job path for language models");
MODULE_VERSION(LLMOS_MODULE_VERSION);
