/* SPDX-License-Identifier: MIT */
/*
 * cmd_tokenize.c - `llmos tokenize`: print the token ids of a text.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void tok_usage(FILE *out)
{
	fprintf(out, "usage: llmos tokenize -m MODEL.gguf -p TEXT [--no-bos]\n"
		     "\n"
		     "Print the ids of TEXT, space-separated, BOS first if the model uses one.\n"
		     "\n"
		     "  -m, --model FILE   GGUF model file\n"
		     "  -p, --prompt TEXT  the text\n"
		     "      --no-bos       do not prepend BOS\n"
		     "  -h, --help         this help\n");
}

int cmd_tokenize(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "model", 1, NULL, 'm' }, { "prompt", 1, NULL, 'p' }, { "no-bos", 0, NULL, 1 },
		{ "help", 0, NULL, 'h' },  { NULL, 0, NULL, 0 },
	};
	const char *model = NULL, *text = NULL;
	struct llmos_model_desc d;
	struct llmos_model *m;
	int c, no_bos = 0, n, i;
	int32_t *ids;
	size_t len;

	while ((c = getopt_long(argc, argv, "m:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 'p': text = optarg; break;
		case 1: no_bos = 1; break;
		case 'h': tok_usage(stdout); return 0;
		default: tok_usage(stderr); return 2;
		}
	}
	if (!model || !text || optind != argc) {
		fprintf(stderr, "llmos tokenize: -m MODEL and -p TEXT are required\n");
		tok_usage(stderr);
		return 2;
	}
	if (cli_load("tokenize", model, &m))
		return 1;
	llmos_model_describe(m, &d);
	len = strlen(text);
	ids = malloc(llmos_tokenize_bound(len) * sizeof(*ids));
	n = ids ? llmos_model_tokenize(m, text, len, d.add_bos && !no_bos ? LLMOS_TOKENIZE_BOS : 0,
				       ids, llmos_tokenize_bound(len))
		: -12;
	if (n < 0) {
		cli_error("tokenize", "cannot tokenize", n);
	} else {
		for (i = 0; i < n; i++)
			printf("%s%d", i ? " " : "", ids[i]);
		printf("\n");
	}
	free(ids);
	llmos_model_free(m);
	return n < 0;
}
