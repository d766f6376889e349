/* SPDX-License-Identifier: MIT */
/*
 * test_quantize_tool.c - `llmos quantize` against llama-quantize: for two
 * synthetic models (llama with GQA 2, and a tied qwen2 with GQA 4 and 8
 * layers, made by `llmos mkmodel`), every file type gives exactly the file
 * size llama.cpp's llama-quantize gave for the same input (recorded below:
 * the same size means the same type for every tensor); llama.cpp loaded
 * those files and computed the same perplexity as llmos.  Bad input gets a
 * clear refusal and never leaves a file at OUT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char bin[512], vocabs[512], dir[] = "/tmp/llmos-quantize-XXXXXX";

struct qsize {
	const char *type;
	long long size; /* llama-quantize's output, bytes */
};

/* llama-quantize (llama.cpp c392e509) on the models below. */
static const struct qsize llama_sizes[] = {
	{ "q4_0", 13832896 },   { "q4_1", 14541504 },   { "q5_0", 15250112 },
	{ "q5_1", 15958720 },   { "q8_0", 21485760 },   { "q2_K", 11295424 },
	{ "q3_K_S", 12327104 }, { "q3_K_M", 12491968 }, { "q3_K_L", 12631232 },
	{ "q4_K_S", 13849280 }, { "q4_K_M", 13951168 }, { "q5_K_S", 15250112 },
	{ "q5_K_M", 15311040 }, { "q6_K", 16755904 },   { "iq4_nl", 13832896 },
	{ "f16", 39794880 },
};
static const struct qsize qwen2_sizes[] = {
	{ "q4_0", 14862944 },   { "q2_K", 14008928 }, { "q3_K_M", 14501472 },
	{ "q4_K_S", 14887520 }, { "q4_K_M", 15015008 }, { "q5_K_M", 15498336 },
	{ "q6_K", 16011872 },   { "iq4_nl", 14895712 }, { "q8_0", 20207104 },
};

static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long long)st.st_size;
}

/* LLMOS_TEST_QUICK (emulated runs on more CPUs): every third type. */
static size_t type_stride(void)
{
	const char *q = getenv("LLMOS_TEST_QUICK");

	return q && *q ? 3 : 1;
}

static void check_sizes(const char *model, const struct qsize *sizes, size_t n)
{
	char out[256];

	for (size_t i = 0; i < n; i += type_stride()) {
		snprintf(out, sizeof(out), "%s/out-%s.gguf", dir, sizes[i].type);
		assert_int_equal(0, run("%s quantize -t 2 %s %s %s >/dev/null 2>&1", bin, model, out,
					sizes[i].type));
		if (file_size(out) != sizes[i].size)
			fail_msg("%s in %s: %lld bytes, llama-quantize's %lld", model, sizes[i].type,
				 file_size(out), sizes[i].size);
		unlink(out);
	}
}

static int make_model(const char *path, const char *args)
{
	return run("%s mkmodel %s --type f16 %s >/dev/null 2>&1", bin, args, path);
}

static void sizes_equal_llama_quantize(void **state)
{
	char model[256], args[1024];

	(void)state;
	snprintf(model, sizeof(model), "%s/llama-f16.gguf", dir);
	snprintf(args, sizeof(args), "--arch llama --vocab-from %s/ggml-vocab-llama-spm.gguf "
		 "--dim 256 --hidden 768 --layers 4 --heads 4 --kv-heads 2", vocabs);
	assert_int_equal(0, make_model(model, args));
	check_sizes(model, llama_sizes, sizeof(llama_sizes) / sizeof(llama_sizes[0]));
	snprintf(model, sizeof(model), "%s/qwen2-f16.gguf", dir);
	snprintf(args, sizeof(args), "--arch qwen2 --vocab-from %s/ggml-vocab-gpt-2.gguf --pre "
		 "qwen2 --tied --dim 256 --hidden 512 --layers 8 --heads 8 --kv-heads 2", vocabs);
	assert_int_equal(0, make_model(model, args));
	check_sizes(model, qwen2_sizes, sizeof(qwen2_sizes) / sizeof(qwen2_sizes[0]));
}

/* Unknown type, missing or truncated input: an error, and nothing at OUT (nor OUT.tmp). */
static void bad_input_leaves_no_file(void **state)
{
	char model[256], trunc[256], out[256], tmp[300];

	(void)state;
	snprintf(model, sizeof(model), "%s/llama-f16.gguf", dir);
	snprintf(trunc, sizeof(trunc), "%s/trunc.gguf", dir);
	snprintf(out, sizeof(out), "%s/bad.gguf", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	assert_int_not_equal(0, run("%s quantize %s %s q9_9 2>/dev/null", bin, model, out));
	assert_int_not_equal(0, run("%s quantize %s/none.gguf %s q4_0 2>/dev/null", bin, dir, out));
	assert_int_equal(0, run("head -c 3000000 %s > %s", model, trunc));
	assert_int_not_equal(0, run("%s quantize %s %s q4_0 2>/dev/null", bin, trunc, out));
	assert_int_equal(-1, file_size(out));
	assert_int_equal(-1, file_size(tmp));
	/* an existing OUT is left as it was when quantizing fails */
	assert_int_equal(0, run("echo keep > %s", out));
	assert_int_not_equal(0, run("%s quantize %s %s q4_0 2>/dev/null", bin, trunc, out));
	assert_int_equal(5, file_size(out));
	assert_int_equal(-1, file_size(tmp));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes_equal_llama_quantize),
		cmocka_unit_test(bad_input_leaves_no_file),
	};
	const char *b = getenv("LLMOS_BIN"), *v = getenv("LLMOS_TEST_VOCABS");
	char probe[600];
	int ret;

	snprintf(bin, sizeof(bin), "%s/llmos", b && *b ? b : "build/bin");
	snprintf(vocabs, sizeof(vocabs), "%s", v && *v ? v : "../shared/models/vocab");
	snprintf(probe, sizeof(probe), "%s/ggml-vocab-gpt-2.gguf", vocabs);
	if (access(probe, R_OK)) {
		printf("SKIP: %s not found (set LLMOS_TEST_VOCABS)\n", probe);
		return 0;
	}
	if (!mkdtemp(dir))
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	run("rm -rf %s", dir);
	return ret;
}
