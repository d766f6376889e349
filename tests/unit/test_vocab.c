/* SPDX-License-Identifier: MIT */
/*
 * test_vocab.c - llama.cpp's tokenizer test suite: every vocabulary-only
 * GGUF in ../shared/models/vocab (or $LLMOS_TEST_VOCABS) that has NAME.inp
 * test strings and NAME.out expected ids is one test, and every string
 * must give exactly the expected ids (no BOS/EOS, control tokens not
 * parsed, as llama.cpp's test-tokenizer-0 makes them).  Byte-level BPE
 * ids must also decode back to the string's exact bytes.
 *
 * Then the pre-tokenizers the suite has no vocabulary for (llama-bpe,
 * qwen2, tekken, ...): GPT-2's vocabulary under each tokenizer.ggml.pre,
 * written by `llmos mkmodel --vocab-from ... --pre NAME`, must give the ids
 * llama-tokenize gave for tests/fixtures/pretok.inp (tests/fixtures/pretok.out).
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "llmos/llmos.h"

#define SEPARATOR "\n__ggml_vocab_test__\n"
#define MAX_FILES 64
#define MAX_PRETOKS 32

struct vocab_case_file {
	char gguf[8192];
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

/* Check every string of inp against the lines of out; returns failures, *k cases. */
static int check_all(const struct llmos_model *m, const char *name, char *inp, size_t inp_len,
		     char *out, int byte_level, int *k)
{
	char *line = out;
	size_t pos = 0;
	int failed = 0;

	*k = 0;
	for (;;) {
		char *sep = memmem(inp + pos, inp_len - pos, SEPARATOR, strlen(SEPARATOR));
		char *nl;

		if (!sep)
			break;
		assert_non_null(line);
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		failed += check_case(m, name, (*k)++, inp + pos, (size_t)(sep - (inp + pos)), line,
				     byte_level);
		line = nl ? nl + 1 : NULL;
		pos = (size_t)(sep - inp) + strlen(SEPARATOR);
	}
	return failed;
}

static void vocab_cases_pass(void **state)
{
	const struct vocab_case_file *vf = *state;
	char path[8300];
	size_t inp_len, out_len;
	char *inp, *out;
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
	failed = check_all(m, vf->name, inp, inp_len, out, byte_level, &k);
	printf("%s: %d of %d cases pass\n", vf->name, k - failed, k);
	llmos_model_free(m);
	free(inp);
	free(out);
	assert_true(k > 0);
	assert_int_equal(failed, 0);
}

static char vocab_dir[4096];

/* Run a shell command quietly; its exit status. */
static int sh(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The section of pretok.out after "pre: NAME\n", up to the next "pre:". */
static char *section(char *all, const char *name)
{
	char head[128], *at, *end;

	snprintf(head, sizeof(head), "pre: %s\n", name);
	at = strstr(all, head);
	if (!at)
		return NULL;
	at += strlen(head);
	end = strstr(at, "pre: ");
	if (end)
		end[-1] = '\0';
	return at;
}

static void pretokenizers_match_llama_cpp(void **state)
{
	static const char *const pres[] = { "llama-bpe", "qwen2", "deepseek-v3", "deepseek-llm",
					    "deepseek-coder", "tekken", "chameleon", "bloom",
					    "viking", "chatglm-bpe", "smollm", "falcon" };
	const char *bin = getenv("LLMOS_BIN");
	char dir[] = "/tmp/llmos-pretok-XXXXXX", cmd[16384], path[4200];
	size_t inp_len, out_len;
	char *inp = read_all("tests/fixtures/pretok.inp", &inp_len), *out;
	int total = 0, failed = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/ggml-vocab-gpt-2.gguf", vocab_dir);
	if (access(path, R_OK)) {
		printf("SKIP: %s not found (set LLMOS_TEST_VOCABS)\n", path);
		free(inp);
		skip();
	}
	assert_non_null(inp);
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(pres) / sizeof(pres[0]); i++) {
		struct llmos_model *m;
		char *expect;
		int k;

		out = read_all("tests/fixtures/pretok.out", &out_len);
		assert_non_null(out);
		expect = section(out, pres[i]);
		assert_non_null(expect);
		snprintf(path, sizeof(path), "%s/%s.gguf", dir, pres[i]);
		snprintf(cmd, sizeof(cmd), "%s/llmos mkmodel --vocab-from %s/ggml-vocab-gpt-2.gguf "
			 "--pre %s --dim 8 --hidden 8 --layers 1 --heads 1 --type f32 %s 2>/dev/null",
			 bin && *bin ? bin : "build/bin", vocab_dir, pres[i], path);
		assert_int_equal(sh(cmd), 0);
		if (llmos_model_load_vocab(&m, path) < 0)
			fail_msg("%s: %s", pres[i], llmos_last_error());
		failed += check_all(m, pres[i], inp, inp_len, expect, 1, &k);
		total += k;
		llmos_model_free(m);
		unlink(path);
		free(out);
	}
	rmdir(dir);
	free(inp);
	printf("pre-tokenizers: %d of %d cases pass\n", total - failed, total);
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
	const char *dir = vocab_dir;
	struct dirent *e;
	DIR *dp;
	int n = 0;

	dp = opendir(dir);
	if (!dp) {
		printf("SKIP: %s not found (set LLMOS_TEST_VOCABS)\n", dir);
		return 0;
	}
	while ((e = readdir(dp)) && n < MAX_FILES) {
		size_t len = strlen(e->d_name);
		char gguf[8192], out[8300];

		if (len < 9 || strcmp(e->d_name + len - 9, ".gguf.inp") || !wanted(e->d_name, len - 4))
			continue;
		snprintf(gguf, sizeof(gguf), "%.4000s/%.*s", dir, (int)(len - 4), e->d_name);
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
	struct CMUnitTest tests[MAX_FILES + 1];
	const char *dir = getenv("LLMOS_TEST_VOCABS");
	int n;

	snprintf(vocab_dir, sizeof(vocab_dir), "%s", dir && *dir ? dir : "../shared/models/vocab");
	n = find_files(files);
	if (n == 0) {
		printf("SKIP: no vocabulary test files\n");
		return 0;
	}
	for (int i = 0; i < n; i++) {
		tests[i] = (struct CMUnitTest)cmocka_unit_test_prestate(vocab_cases_pass, &files[i]);
		tests[i].name = files[i].name;
	}
	tests[n] = (struct CMUnitTest)cmocka_unit_test(pretokenizers_match_llama_cpp);
	return _cmocka_run_group_tests("vocab", tests, (size_t)n + 1, NULL, NULL);
}
