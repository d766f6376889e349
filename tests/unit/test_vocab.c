/* SPDX-License-Identifier: MIT */
/*
 * test_vocab.c - llama.cpp's tokenizer test suite: every vocabulary-only
 * GGUF in ../shared/models/vocab (or $LLMOS_TEST_VOCABS) that has NAME.inp
 * test strings and NAME.out expected ids is one test, and every string
 * must give exactly the expected ids (no BOS/EOS, control tokens not
 * parsed, as llama.cpp's test-tokenizer-0 makes them).  Byte-level BPE
 * ids must also decode back to the string's exact bytes.
 */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "llmos/llmos.h"

#define SEPARATOR "\n__ggml_vocab_test__\n"
#define MAX_FILES 64

struct vocab_case_file {
	char gguf[4096];
	char name[256];
};

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

/* Parse a line of ids; returns how many, or -1 if a token is not a number. */
static int parse_ids(const char *line, int32_t *ids, int cap)
{
	int n = 0;

	for (;;) {
		char *end;
		long v;

		while (*line == ' ')
			line++;
		if (!*line || *line == '\n')
			return n;
		v = strtol(line, &end, 10);
		if (end == line || n >= cap)
			return -1;
		ids[n++] = (int32_t)v;
		line = end;
	}
}

/* Decode ids with the public decoder into out (NUL-terminated). */
static size_t decode(const struct llmos_model *m, const int32_t *ids, int n, char *out,
		     size_t cap)
{
	struct llmos_decoder *d;
	size_t len = 0;

	assert_int_equal(llmos_decoder_create(&d, m), 0);
	for (int i = 0; i < n; i++) {
		int k = llmos_decoder_push(d, ids[i], out + len, cap - len);

		assert_true(k >= 0);
		len += (size_t)k;
	}
	len += (size_t)llmos_decoder_flush(d, out + len, cap - len);
	llmos_decoder_free(d);
	out[len] = '\0';
	return len;
}

/* Check one string; returns 0 if its ids are as expected. */
static int check_case(const struct llmos_model *m, const char *name, int k, const char *text,
		      size_t len, const char *expect_line, int byte_level)
{
	size_t cap = llmos_tokenize_bound(len);
	int32_t *got = malloc(cap * sizeof(*got)), *want = malloc(cap * sizeof(*want));
	int n_got = llmos_model_tokenize(m, text, len, 0, got, cap);
	int n_want = parse_ids(expect_line, want, (int)cap), bad = 0;

	assert_true(n_got >= 0);
	assert_true(n_want >= 0);
	if (n_got != n_want || memcmp(got, want, (size_t)n_got * sizeof(*got))) {
		printf("%s case %d \"%.*s\": expected %s  got", name, k, (int)(len > 60 ? 60 : len),
		       text, expect_line);
		for (int i = 0; i < n_got; i++)
			printf(" %d", got[i]);
		printf("\n");
		bad = 1;
	} else if (byte_level) {
		char *back = malloc(4 * len + 64);
		size_t blen = decode(m, got, n_got, back, 4 * len + 64);

		if (blen != len || memcmp(back, text, len)) {
			printf("%s case %d: decoding gives \"%s\"\n", name, k, back);
			bad = 1;
		}
		free(back);
	}
	free(got);
	free(want);
	return bad;
}

static void vocab_cases_pass(void **state)
{
	const struct vocab_case_file *vf = *state;
	char path[4200];
	size_t inp_len, out_len, pos = 0;
	char *inp, *out, *line;
	struct llmos_model *m;
	int k = 0, failed = 0, byte_level;
	struct llmos_model_desc d;

	snprintf(path, sizeof(path), "%s.inp", vf->gguf);
	inp = read_all(path, &inp_len);
	snprintf(path, sizeof(path), "%s.out", vf->gguf);
	out = read_all(path, &out_len);
	assert_non_null(inp);
	assert_non_null(out);
	if (llmos_model_load_vocab(&m, vf->gguf) < 0)
		fail_msg("%s: %s", vf->name, llmos_last_error());
	llmos_model_describe(m, &d);
	byte_level = !strcmp(d.tokenizer, "gpt2");
	line = out;
	for (;;) {
		char *sep = memmem(inp + pos, inp_len - pos, SEPARATOR, strlen(SEPARATOR));
		char *nl;

		if (!sep)
			break;
		assert_non_null(line);
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		failed += check_case(m, vf->name, k++, inp + pos, (size_t)(sep - (inp + pos)), line,
				     byte_level);
		line = nl ? nl + 1 : NULL;
		pos = (size_t)(sep - inp) + strlen(SEPARATOR);
	}
	printf("%s: %d of %d cases pass\n", vf->name, k - failed, k);
	llmos_model_free(m);
	free(inp);
	free(out);
	assert_true(k > 0);
	assert_int_equal(failed, 0);
}

static int wanted(const char *name, size_t len)
{
	/* WordPiece (bert) is not implemented: say so rather than fail */
	if (strstr(name, "bert-bge")) {
		printf("SKIP: %.*s is a WordPiece vocabulary, which llmos does not implement\n",
		       (int)len, name);
		return 0;
	}
	return 1;
}

static int find_files(struct vocab_case_file *files)
{
	const char *dir = getenv("LLMOS_TEST_VOCABS");
	struct dirent *e;
	DIR *dp;
	int n = 0;

	if (!dir || !*dir)
		dir = "../shared/models/vocab";
	dp = opendir(dir);
	if (!dp) {
		printf("SKIP: %s not found (set LLMOS_TEST_VOCABS)\n", dir);
		return 0;
	}
	while ((e = readdir(dp)) && n < MAX_FILES) {
		size_t len = strlen(e->d_name);
		char gguf[4096], out[4200];

		if (len < 9 || strcmp(e->d_name + len - 9, ".gguf.inp") || !wanted(e->d_name, len - 4))
			continue;
		snprintf(gguf, sizeof(gguf), "%s/%.*s", dir, (int)(len - 4), e->d_name);
		snprintf(out, sizeof(out), "%s.out", gguf);
		if (access(gguf, R_OK) || access(out, R_OK))
			continue;
		snprintf(files[n].gguf, sizeof(files[n].gguf), "%s", gguf);
		snprintf(files[n].name, sizeof(files[n].name), "%.*s", (int)(len - 9), e->d_name);
		n++;
	}
	closedir(dp);
	return n;
}

int main(void)
{
	static struct vocab_case_file files[MAX_FILES];
	struct CMUnitTest tests[MAX_FILES];
	int n = find_files(files);

	if (n == 0) {
		printf("SKIP: no vocabulary test files\n");
		return 0;
	}
	for (int i = 0; i < n; i++) {
		tests[i] = (struct CMUnitTest)cmocka_unit_test_prestate(vocab_cases_pass, &files[i]);
		tests[i].name = files[i].name;
	}
	return _cmocka_run_group_tests("vocab", tests, (size_t)n, NULL, NULL);
}
