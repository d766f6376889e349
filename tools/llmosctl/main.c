/* SPDX-License-Identifier: MIT */
/*
 * llmosctl - the administrator's tool for llmos.ko: module information now;
 * model loading, priorities and statistics as the module gains them.
 */
#include <stdio.h>
#include <string.h>

#include <linux/llmos.h>

#include "llmos/llmos.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: llmosctl COMMAND [ARGS]\n"
		     "\n"
		     "Administer the llmos kernel module (/dev/llmos).\n"
		     "\n"
		     "commands:\n"
		     "  info       print the module's version, ABI and features\n"
		     "  help       print this help\n"
		     "\n"
		     "environment:\n"
		     "  LLMOS_DEVICE  device path (default /dev/llmos)\n");
}

static int cmd_info(int argc, char **argv)
{
	struct llmos_module_info info;
	struct llmos *h;
	unsigned int bit;
	int ret;

	if (argc > 1) {
		if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
			printf("usage: llmosctl info\n\nPrint the module's version, ABI version "
			       "and feature bits.\n");
			return 0;
		}
		fprintf(stderr, "llmosctl info: unexpected argument '%s'\n", argv[1]);
		return 2;
	}
	ret = llmos_open(&h, LLMOS_OPEN_REQUIRE_MODULE);
	if (ret < 0) {
		fprintf(stderr, "llmosctl: %s: %s\n", llmos_strerror(ret), llmos_last_error());
		if (ret == -LLMOS_ENOMODULE)
			fprintf(stderr, "llmosctl: load it with 'insmod llmos.ko' (libllmos "
					"still runs models standalone without it)\n");
		return 1;
	}
	llmos_module_info(h, &info);
	printf("module version: %s\n", info.version);
	printf("abi version:    %u\n", info.abi_version);
	printf("features:      ");
	for (bit = 0; bit < 64; bit++) {
		const char *name = llmos_feature_name(bit);

		if (!(info.features & (1ULL << bit)))
			continue;
		if (name)
			printf(" %s", name);
		else
			printf(" bit%u", bit);
	}
	printf("\nlibrary:        %s\n", llmos_version());
	llmos_close(h);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("llmosctl %s\n", llmos_version());
		return 0;
	}
	fprintf(stderr, "llmosctl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
