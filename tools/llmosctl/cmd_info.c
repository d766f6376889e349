/* SPDX-License-Identifier: MIT */
/*
 * cmd_info.c - `llmosctl info`: the module's version, ABI and features (and NPU backend).
 */
#include <stdio.h>

#include "ctl.h"

static void print_features(uint64_t features)
{
	unsigned int bit;

	printf("features:      ");
	for (bit = 0; bit < 64; bit++) {
		const char *name = llmos_feature_name(bit);

		if (!(features & (1ULL << bit)))
			continue;
		if (name)
			printf(" %s", name);
		else
			printf(" bit%u", bit);
	}
	printf("\n");
}

/* The NPU backend's name, when the module has one. */
static void print_npu(struct llmos *h)
{
	struct llmos_npu_stats st;

	if (llmos_npu_stats(h, &st) == 0)
		printf("npu backend:    %s\n", st.present ? st.name : "(none registered)");
}

int cmd_info(int argc, char **argv)
{
	struct llmos_module_info info;
	struct llmos *h;

	if (argc > 1 && ctl_is_help(argv[1])) {
		printf("usage: llmosctl info\n\nPrint the module's version, ABI version and "
		       "feature bits, and its NPU backend if it has one.\n");
		return 0;
	}
	if (argc > 1)
		return ctl_usage("info", "unexpected argument '%s'", argv[1]);
	if (ctl_open("info", &h))
		return CTL_EXIT_FAIL;
	llmos_module_info(h, &info);
	printf("module version: %s\n", info.version);
	printf("abi version:    %u\n", info.abi_version);
	print_features(info.features);
	print_npu(h);
	printf("library:        %s\n", llmos_version());
	llmos_close(h);
	return 0;
}
