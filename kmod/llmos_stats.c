// SPDX-License-Identifier: GPL-2.0
/*
 * llmos_stats.c - totals for administrators, as attributes of the misc
 * device: /sys/class/misc/llmos/{models,pinned_bytes,pinned_cap_bytes},
 * the buffers' bytes and the NPU's backend and counters (npu_*).
 */
#include <linux/device.h>
#include <linux/sysfs.h>

#include "llmos_internal.h"
#include "llmos_npu.h"

static ssize_t models_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", llmos_models_count());
}
static DEVICE_ATTR_RO(models);

static ssize_t pinned_bytes_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", llmos_pinned_bytes());
}
static DEVICE_ATTR_RO(pinned_bytes);

static ssize_t pinned_cap_bytes_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", llmos_pinned_cap());
}
static DEVICE_ATTR_RO(pinned_cap_bytes);

static ssize_t buf_bytes_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", llmos_buf_bytes());
}
static DEVICE_ATTR_RO(buf_bytes);

static ssize_t buf_cap_bytes_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", llmos_buf_cap());
}
static DEVICE_ATTR_RO(buf_cap_bytes);

static ssize_t npu_backend_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct llmos_npu_info info = { 0 };

	llmos_npu_stats(&info);
	return sysfs_emit(buf, "%s\n", info.present ? (char *)info.name : "none");
}
static DEVICE_ATTR_RO(npu_backend);

/* One read-only attribute per NPU counter. */
#define NPU_COUNTER_ATTR(field)                                                               \
	static ssize_t npu_##field##_show(struct device *dev, struct device_attribute *attr,  \
					  char *buf)                                          \
	{                                                                                     \
		struct llmos_npu_info info = { 0 };                                           \
                                                                                              \
		llmos_npu_stats(&info);                                                       \
		return sysfs_emit(buf, "%llu\n", (unsigned long long)info.field);             \
	}                                                                                     \
	static DEVICE_ATTR_RO(npu_##field)

NPU_COUNTER_ATTR(submitted);
NPU_COUNTER_ATTR(completed);
NPU_COUNTER_ATTR(failed);
NPU_COUNTER_ATTR(timedout);
NPU_COUNTER_ATTR(cancelled);
NPU_COUNTER_ATTR(busy_ns);
NPU_COUNTER_ATTR(queued);
NPU_COUNTER_ATTR(max_queued);

static struct attribute *llmos_attrs[] = {
	&dev_attr_models.attr,
	&dev_attr_pinned_bytes.attr,
	&dev_attr_pinned_cap_bytes.attr,
	&dev_attr_buf_bytes.attr,
	&dev_attr_buf_cap_bytes.attr,
	&dev_attr_npu_backend.attr,
	&dev_attr_npu_submitted.attr,
	&dev_attr_npu_completed.attr,
	&dev_attr_npu_failed.attr,
	&dev_attr_npu_timedout.attr,
	&dev_attr_npu_cancelled.attr,
	&dev_attr_npu_busy_ns.attr,
	&dev_attr_npu_queued.attr,
	&dev_attr_npu_max_queued.attr,
	NULL,
};

static const struct attribute_group llmos_attr_group = {
	.attrs = llmos_attrs,
};

const struct attribute_group *llmos_attr_groups[] = {
	&llmos_attr_group,
	NULL,
};
