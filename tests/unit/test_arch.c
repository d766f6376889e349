/* SPDX-License-Identifier: MIT */
/*
 * test_arch.c - each model family against llama.cpp: for every line of
 * tests/fixtures/arch-models.txt, remake the synthetic model with
 * `llmos mkmodel` (a real vocabulary from ../shared/models/vocab), then
 * check that `llmos run` gives llama.cpp's 16 greedy ids and `llmos
 * perplexity` its perplexity within 0.5 %.  One cmocka test per line
 * (with LLMOS_TEST_QUICK set, the first per weight type).
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <math.h>
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

#include "kernels.h"
#include "run_cmd.h"

#define FIXTURE "tests/fixtures/arch-models.txt"
#define PPL_TEXT "tests/fixtures/tinystories-ppl.txt"
#define MAX_CASES 64

struct arch_case {
	char name[64], type[16], args[1024], ids[1024], ids_avx2[1024];
	double ppl;
};

static char llmos_bin[4096], vocab_dir[4096], prompt[512], tmpdir[64];


/* args with VOCAB/ replaced by the vocabulary directory. */
static void expand(const char *args, char *out, size_t cap)
{
	const char *at;
	size_t n = 0;

	while ((at = strstr(args, "VOCAB/")) && n < cap) {
		n += (size_t)snprintf(out + n, cap - n, "%.*s%s/", (int)(at - args), args, vocab_dir);
		args = at + 6;
	}
	if (n < cap)
		snprintf(out + n, cap - n, "%s", args);
}

static void trim(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\n'))
		s[--n] = '\0';
}

/*
 * The ids to expect: llama.cpp's on an AVX-512 machine (the fixture's
 * machine), or where its AVX2 build printed others, those, for every level
 * that sums in the AVX2 order (x86 AVX2, and arm64, which mirrors it).
 */
static const char *expected_ids(const struct arch_case *c)
{
#if defined(__x86_64__)
	if (llmos_simd_current() == LLMOS_SIMD_AVX512)
		return c->ids;
#endif
	return c->ids_avx2;
}

static void family_matches_llama_cpp(void **state)
{
	const struct arch_case *c = *state;
	const char *want = expected_ids(c);
	static char cmd[16384], args[4096], out[65536];
	char path[256];
	const char *ppl;

	snprintf(path, sizeof(path), "%s/%s-%s.gguf", tmpdir, c->name, c->type);
	expand(c->args, args, sizeof(args));
	snprintf(cmd, sizeof(cmd), "%s mkmodel %s --type %s %s 2>&1", llmos_bin, args, c->type,
		 path);
	if (run_cmd(cmd, out, sizeof(out)))
		fail_msg("mkmodel failed: %s", out);
	snprintf(cmd, sizeof(cmd), "%s run -m %s -p '%s' -n 16 --temp 0 --ids --ignore-eos -c 256",
		 llmos_bin, path, prompt);
	assert_int_equal(run_cmd(cmd, out, sizeof(out)), 0);
	trim(out);
	if (strcmp(out, want))
		fail_msg("%s %s greedy ids\n  llama.cpp: %s\n  llmos:     %s", c->name, c->type,
			 want, out);
	snprintf(cmd, sizeof(cmd), "%s perplexity -m %s -f %s -c 64", llmos_bin, path, PPL_TEXT);
	assert_int_equal(run_cmd(cmd, out, sizeof(out)), 0);
	ppl = strstr(out, "PPL = ");
	assert_non_null(ppl);
	printf("%s %s: ids equal; perplexity %.4f, llama.cpp %.4f\n", c->name, c->type,
	       atof(ppl + 6), c->ppl);
	assert_true(fabs(atof(ppl + 6) / c->ppl - 1.0) <= 0.005);
	unlink(path);
}

/* Make a model with mkmodel ARGS into path; its run must fail saying want. */
static void refused(const char *args, const char *path, const char *want)
{
	static char cmd[16384], out[65536];

	snprintf(cmd, sizeof(cmd), "%s mkmodel %s --dim 64 --hidden 128 --layers 1 --heads 4 "
		 "--type f32 %s 2>&1", llmos_bin, args, path);
	if (run_cmd(cmd, out, sizeof(out)))
		fail_msg("mkmodel failed: %s", out);
	snprintf(cmd, sizeof(cmd), "%s run -m %s -p hi -n 1 2>&1", llmos_bin, path);
	assert_int_not_equal(run_cmd(cmd, out, sizeof(out)), 0);
	if (!strstr(out, want))
		fail_msg("expected '%s' in: %s", want, out);
}

/* Replace the first "llama" after general.architecture with another name. */
static void rename_arch(const char *path, const char *name)
{
	FILE *f = fopen(path, "r+b");
	static char buf[1 << 16];
	size_t n;
	char *at;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	at = memmem(buf, n, "general.architecture", 20);
	assert_non_null(at);
	at = memmem(at, n - (size_t)(at - buf), "llama", 5);
	assert_non_null(at);
	assert_int_equal(fseek(f, at - buf, SEEK_SET), 0);
	assert_int_equal(fwrite(name, 1, 5, f), 5);
	fclose(f);
}

static void unsupported_files_are_refused_by_name(void **state)
{
	static char cmd[16384], out[65536], args[4096];
	char path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/bad.gguf", tmpdir);
	/* a bias qwen2 does not have: llama.cpp refuses the file too */
	refused("--arch qwen2 --biases", path, "'blk.0.attn_output.bias' is not part of the qwen2");
	expand("--vocab-from VOCAB/ggml-vocab-gpt-2.gguf --pre no-such-pre", args, sizeof(args));
	refused(args, path, "pre-tokenizer 'no-such-pre' is not supported");
	snprintf(cmd, sizeof(cmd), "%s mkmodel --dim 64 --hidden 128 --layers 1 --heads 4 --type "
		 "f32 %s 2>&1", llmos_bin, path);
	assert_int_equal(run_cmd(cmd, out, sizeof(out)), 0);
	rename_arch(path, "mamba");
	snprintf(cmd, sizeof(cmd), "%s run -m %s -p hi -n 1 2>&1", llmos_bin, path);
	assert_int_not_equal(run_cmd(cmd, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "architecture 'mamba' is not supported (supported: llama, "
				    "qwen2, phi3, gemma2)"));
	unlink(path);
}

static int parse_line(char *line, struct arch_case *c)
{
	char *f[6], *save = NULL;
	int n = 0;

	for (char *t = strtok_r(line, "|", &save); t && n < 6; t = strtok_r(NULL, "|", &save))
		f[n++] = t;
	if (n != 5 && n != 6)
		return -1;
	for (int i = 0; i < n; i++) {
		while (*f[i] == ' ')
			f[i]++;
		trim(f[i]);
	}
	snprintf(c->name, sizeof(c->name), "%s", f[0]);
	snprintf(c->type, sizeof(c->type), "%s", f[1]);
	snprintf(c->args, sizeof(c->args), "%s", f[2]);
	snprintf(c->ids, sizeof(c->ids), "%s", f[3]);
	c->ppl = atof(f[4]);
	snprintf(c->ids_avx2, sizeof(c->ids_avx2), "%s", n == 6 ? f[5] : f[3]);
	return 0;
}

static int read_cases(struct arch_case *cases)
{
	FILE *f = fopen(FIXTURE, "r");
	char line[4096];
	int n = 0;

	assert_non_null(f);
	while (n < MAX_CASES && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "# prompt: ", 10)) {
			snprintf(prompt, sizeof(prompt), "%.500s", line + 10);
			trim(prompt);
		}
		if (line[0] != '#' && !parse_line(line, &cases[n]))
			n++;
	}
	fclose(f);
	return n;
}

/*
 * LLMOS_TEST_QUICK (emulated runs on further CPUs, where only the kernels
 * differ): only the first line of each weight type, which takes each
 * type's kernels through a whole model.
 */
static int first_of_each_type(struct arch_case *cases, int n)
{
	int kept = 0;

	for (int i = 0; i < n; i++) {
		int seen = 0;

		for (int j = 0; j < kept && !seen; j++)
			seen = !strcmp(cases[j].type, cases[i].type);
		if (!seen)
			cases[kept++] = cases[i];
	}
	printf("LLMOS_TEST_QUICK: %d of %d cases, the first of each weight type\n", kept, n);
	return kept;
}

int main(void)
{
	static struct arch_case cases[MAX_CASES];
	static char names[MAX_CASES][96];
	struct CMUnitTest tests[MAX_CASES + 1];
	const char *bin = getenv("LLMOS_BIN"), *dir = getenv("LLMOS_TEST_VOCABS");
	int n, ret;

	snprintf(llmos_bin, sizeof(llmos_bin), "%s/llmos", bin && *bin ? bin : "build/bin");
	snprintf(vocab_dir, sizeof(vocab_dir), "%s", dir && *dir ? dir : "../shared/models/vocab");
	if (access(vocab_dir, R_OK)) {
		printf("SKIP: %s not found (set LLMOS_TEST_VOCABS)\n", vocab_dir);
		return 0;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/llmos-arch-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	n = read_cases(cases);
	if (getenv("LLMOS_TEST_QUICK") && *getenv("LLMOS_TEST_QUICK"))
		n = first_of_each_type(cases, n);
	for (int i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "%.60s_%.15s", cases[i].name, cases[i].type);
		tests[i] = (struct CMUnitTest)cmocka_unit_test_prestate(family_matches_llama_cpp,
									 &cases[i]);
		tests[i].name = names[i];
	}
	tests[n] = (struct CMUnitTest)cmocka_unit_test(unsupported_files_are_refused_by_name);
	ret = _cmocka_run_group_tests("arch", tests, (size_t)n + 1, NULL, NULL);
	rmdir(tmpdir);
	return ret;
}
