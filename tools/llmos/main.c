/* SPDX-License-Identifier: MIT */
/*
 * main.c - the llmos tool, the application side of llmos: run a prompt,
 * tokenize, measure perplexity and speed, make synthetic models, quantize
 * and compare models.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int cmd_mode(int argc, char **argv);

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "run", cmd_run, "generate text from a prompt" },
	{ "chat", cmd_chat, "talk with a model, with its chat template" },
	{ "tokenize", cmd_tokenize, "print the token ids of a text" },
	{ "perplexity", cmd_perplexity, "perplexity of a model on a text file" },
	{ "bench", cmd_bench, "prompt and generation speed in tokens/s" },
	{ "bench-load", cmd_bench_load, "time to open and map a model, and its memory" },
	{ "bench-sched", cmd_bench_sched, "an urgent client's latency with and without the scheduler" },
	{ "mkmodel", cmd_mkmodel, "write a synthetic model of a given shape and type" },
	{ "quantize", cmd_quantize, "rewrite a model in a quantized type or mix (q4_K_M, ...)" },
	{ "imatrix", cmd_imatrix, "an importance matrix for quantize, from a calibration text" },
	{ "prune", cmd_prune, "remove FFN channels and attention heads: a smaller dense model" },
	{ "compare", cmd_compare, "perplexity, KL divergence and top-1 agreement of two models" },
	{ "mode", cmd_mode, "say whether libllmos uses the kernel module or runs standalone" },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: llmos COMMAND [ARGS]   ('llmos COMMAND --help' for its options)\n\n"
		     "Run language models with libllmos.\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "  %-11s %s\n", "help", "print this help");
}

static int cmd_mode(int argc, char **argv)
{
	struct llmos_module_info info;
	struct llmos *h;
	int ret;

	(void)argv;
	if (argc > 1) {
		printf("usage: llmos mode\n\nSay whether libllmos uses the kernel module or runs "
		       "standalone.\n");
		return 0;
	}
	ret = llmos_open(&h, 0);
	if (ret < 0)
		return cli_error("mode", "cannot open llmos", ret);
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
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
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
