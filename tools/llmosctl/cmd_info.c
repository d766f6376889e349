/* SPDX-License-Identifier: MIT */
/*
 * cmd_info.c - `llmosctl info`: the module's version, ABI and features.
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

int cmd_info(int argc, char **argv)
{
	struct llmos_module_info info;
	struct llmos *h;

	if (argc > 1 && ctl_is_help(argv[1])) {
		printf("usage: llmosctl info\n\nPrint the module's version, ABI version and "
		       "feature bits.\n");
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
	printf("library:        %s\n", llmos_version());
	llmos_close(h);
	return 0;
}
