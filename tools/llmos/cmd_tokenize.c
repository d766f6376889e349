/* SPDX-License-Identifier: MIT */
/*
 * cmd_tokenize.c - `llmos tokenize`: print the token ids of a text, from a
 * model or a vocabulary-only GGUF file.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void tok_usage(FILE *out)
{
	fprintf(out, "usage: llmos tokenize -m FILE.gguf (-p TEXT | -f FILE) [--no-bos] [--no-special]\n"
		     "\n"
		     "Print the token ids of a text, space-separated on one line, with BOS (and\n"
		     "EOS) as the model's metadata asks.  FILE.gguf may be a whole model or a\n"
		     "vocabulary-only file (a tokenizer and no tensors).\n"
		     "\n"
		     "  -m, --model FILE    GGUF model or vocabulary file\n"
		     "  -p, --prompt TEXT   the text\n"
		     "  -f, --file FILE     the text is this file's bytes, exactly\n"
		     "      --no-bos        add neither BOS nor EOS\n"
		     "      --no-special    special tokens' texts (\"<|im_start|>\") stay text\n"
		     "  -h, --help          this help\n");
}

struct tok_opts {
	const char *model, *text, *file;
	int no_bos, no_special;
};

static int parse(int argc, char **argv, struct tok_opts *o)
{
	static const struct option longopts[] = {
		{ "model", 1, NULL, 'm' },  { "prompt", 1, NULL, 'p' },	   { "file", 1, NULL, 'f' },
		{ "no-bos", 0, NULL, 1 },   { "no-special", 0, NULL, 2 },  { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "m:p:f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'p': o->text = optarg; break;
		case 'f': o->file = optarg; break;
		case 1: o->no_bos = 1; break;
		case 2: o->no_special = 1; break;
		case 'h': tok_usage(stdout); return 0;
		default: tok_usage(stderr); return 2;
		}
	}
	if (!o->model || !!o->text == !!o->file || optind != argc) {
		fprintf(stderr, "llmos tokenize: -m FILE and one of -p TEXT or -f FILE are required\n");
		tok_usage(stderr);
		return 2;
	}
	return -1;
}

static int print_ids(struct llmos_model *m, const char *text, size_t len, const struct tok_opts *o)
{
	struct llmos_model_desc d;
	unsigned int flags = o->no_special ? 0 : LLMOS_TOKENIZE_SPECIAL;
	size_t cap = llmos_tokenize_bound(len);
	int32_t *ids = malloc(cap * sizeof(*ids));
	int n, i;

	llmos_model_describe(m, &d);
	if (d.add_bos && !o->no_bos)
		flags |= LLMOS_TOKENIZE_BOS;
	if (d.add_eos && !o->no_bos)
		flags |= LLMOS_TOKENIZE_EOS;
	n = ids ? llmos_model_tokenize(m, text, len, flags, ids, cap) : -ENOMEM;
	if (n < 0) {
		free(ids);
		return cli_error("tokenize", "cannot tokenize", n);
	}
	for (i = 0; i < n; i++)
		printf("%s%d", i ? " " : "", ids[i]);
	printf("\n");
	free(ids);
	return 0;
}

int cmd_tokenize(int argc, char **argv)
{
	struct tok_opts o = { 0 };
	struct llmos_model *m;
	char *buf = NULL;
	size_t len;
	int ret = parse(argc, argv, &o);

	if (ret >= 0)
		return ret;
	if (o.file && cli_read_file("tokenize", o.file, &buf, &len))
		return 1;
	ret = llmos_model_load_vocab(&m, o.model);
	if (ret < 0) {
		free(buf);
		return cli_error("tokenize", o.model, ret);
	}
	ret = print_ids(m, o.file ? buf : o.text, o.file ? len : strlen(o.text), &o);
	llmos_model_free(m);
	free(buf);
	return ret;
}
