/* SPDX-License-Identifier: MIT */
/*
 * cmd_unload.c - `llmosctl unload NAME [--when-unused]`: remove a model
 * from the module's memory.
 */
#include <errno.h>
#include <string.h>

#include "ctl.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: llmosctl unload NAME [--when-unused]\n"
		"\n"
		"Remove the model NAME from llmos.ko's memory.  A model still open or mapped\n"
		"by an application is refused, unless --when-unused is given: then the name is\n"
		"free at once (a new model may be loaded under it) and the memory is released\n"
		"when its last user goes.  Needs root.\n"
		"\n"
		"options:\n"
		"  --when-unused  do not fail while the model is in use\n"
		"  -h, --help     this help\n"
		"\n"
		"Exit status: 0 unloaded, 1 failed, 2 bad usage.\n");
}

static int report_failure(const char *name, int err)
{
	char hint[160];

	switch (err) {
	case -EBUSY:
		snprintf(hint, sizeof(hint), "stop its users, or llmosctl unload %s --when-unused",
			 name);
		return ctl_error("unload", err, hint);
	case -ENOENT:
		return ctl_error("unload", err, "llmosctl list shows the loaded models");
	default:
		return ctl_error("unload", err, NULL);
	}
}

int cmd_unload(int argc, char **argv)
{
	unsigned int flags = 0;
	const char *name = NULL;
	struct llmos *h;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (ctl_is_help(argv[i])) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--when-unused")) {
			flags |= LLMOS_STORE_UNLOAD_WHEN_UNUSED;
		} else if (argv[i][0] == '-') {
			return ctl_usage("unload", "unknown option '%s'", argv[i]);
		} else if (name) {
			return ctl_usage("unload", "one NAME only, not '%s' too", argv[i]);
		} else {
			name = argv[i];
		}
	}
	if (!name)
		return ctl_usage("unload", "wants the NAME of a model");
	if (ctl_open("unload", &h))
		return CTL_EXIT_FAIL;
	ret = llmos_store_unload(h, name, flags);
	llmos_close(h);
	if (ret < 0)
		return report_failure(name, ret);
	printf("unloaded %s%s\n", name, flags ? " (memory freed when its last user goes)" : "");
	return 0;
}
