/* SPDX-License-Identifier: MIT */
/*
 * llmos - the application-side tool: reports how libllmos will run
 * (kernel module or standalone); inference commands arrive with the engine.
 */
#include <stdio.h>
#include <string.h>

#include "llmos/llmos.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: llmos COMMAND [ARGS]\n"
		     "\n"
		     "Run language models with libllmos.\n"
		     "\n"
		     "commands:\n"
		     "  mode       say whether libllmos uses the kernel module or runs standalone\n"
		     "  help       print this help\n");
}

static int cmd_mode(void)
{
	struct llmos_module_info info;
	struct llmos *h;
	int ret;

	ret = llmos_open(&h, 0);
	if (ret < 0) {
		fprintf(stderr, "llmos: %s: %s\n", llmos_strerror(ret), llmos_last_error());
		return 1;
	}
	if (llmos_mode(h) == LLMOS_MODE_KERNEL) {
		llmos_module_info(h, &info);
		printf("kernel (llmos.ko %s)\n", info.version);
	} else {
		printf("standalone\n");
	}
	llmos_close(h);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "mode"))
		return cmd_mode();
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("llmos %s\n", llmos_version());
		return 0;
	}
	fprintf(stderr, "llmos: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
