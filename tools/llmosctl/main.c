/* SPDX-License-Identifier: MIT */
/*
 * main.c - llmosctl, the administrator's tool for llmos.ko: module
 * information, models in the module's shared memory (load, list, unload),
 * and its compute scheduler (prio, stats, top).  One file per command.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "info", cmd_info, "print the module's version, ABI and features" },
	{ "load", cmd_load, "copy a GGUF model into the module's memory under a name" },
	{ "list", cmd_list, "list the models in the module's memory" },
	{ "unload", cmd_unload, "remove a model from the module's memory" },
	{ "prio", cmd_prio, "set a process's scheduling class ceiling and weight" },
	{ "stats", cmd_stats, "show the compute scheduler's counters and waits" },
	{ "top", cmd_top, "the scheduler's counters, refreshed every second" },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: llmosctl COMMAND [ARGS]   ('llmosctl COMMAND --help' for its "
		     "options)\n\nAdminister the llmos kernel module (/dev/llmos).\n\n"
		     "commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "  %-8s %s\n", "help", "print this help");
	fprintf(out, "\nenvironment:\n  LLMOS_DEVICE  device path (default /dev/llmos)\n"
		     "\nExit status: 0 success, 1 failure, 2 bad usage.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	if (!strcmp(argv[1], "help") || ctl_is_help(argv[1])) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("llmosctl %s\n", llmos_version());
		return 0;
	}
	fprintf(stderr, "llmosctl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return CTL_EXIT_USAGE;
}
