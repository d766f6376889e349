// SPDX-License-Identifier: GPL-2.0
/*
 * llmos_stats.c - totals for administrators, as attributes of the misc
 * device: /sys/class/misc/llmos/{models,pinned_bytes,pinned_cap_bytes}.
 */
#include <linux/device.h>
#include <linux/sysfs.h>

#include "llmos_internal.h"

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

static struct attribute *llmos_attrs[] = {
	&dev_attr_models.attr,
	&dev_attr_pinned_bytes.attr,
	&dev_attr_pinned_cap_bytes.attr,
	NULL,
};

static const struct attribute_group llmos_attr_group = {
	.attrs = llmos_attrs,
};

const struct attribute_group *llmos_attr_groups[] = {
	&llmos_attr_group,
	NULL,
};
