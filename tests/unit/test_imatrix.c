/* SPDX-License-Identifier: MIT */
/*
 * test_imatrix.c - the importance matrix file (lib/imatrix.c): llama.cpp's
 * imatrix.dat layout read back as mean squares (values / ncall), written
 * again byte for byte; truncated, negative, non-finite or duplicate
 * entries refused; and `llmos imatrix` on the reference model writes one
 * entry per layer matrix whose values are the mean squares of its inputs.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "imatrix.h"
#include "internal.h"

static char dir[] = "/tmp/llmos-imatrix-XXXXXX";

static void put_i32(FILE *f, int32_t v)
{
	fwrite(&v, 4, 1, f);
}

/* A file as llama-imatrix writes it: two entries, then chunks and the dataset's name. */
static void write_sample(const char *path, float bad, int truncate_at)
{
	FILE *f = fopen(path, "wb");
	float a[3] = { 8.0f, 2.0f, bad }, b[2] = { 1.5f, 0.0f };

	assert_non_null(f);
	put_i32(f, 2);
	put_i32(f, 19);
	fwrite("blk.0.attn_q.weight", 1, 19, f);
	put_i32(f, 4); /* ncall */
	put_i32(f, 3);
	fwrite(a, 4, 3, f);
	put_i32(f, 20);
	fwrite("blk.0.ffn_down.weight", 1, 20, f); /* name cut to 20 bytes: "...weigh" */
	put_i32(f, 1);
	put_i32(f, 2);
	fwrite(b, 4, 2, f);
	put_i32(f, 7);
	put_i32(f, 9);
	fwrite("calib.txt", 1, 9, f);
	fclose(f);
	if (truncate_at)
		assert_int_equal(0, truncate(path, truncate_at));
}

static char *slurp(const char *path, long *len)
{
	FILE *f = fopen(path, "rb");
	char *p;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	rewind(f);
	p = malloc((size_t)*len);
	assert_int_equal(1, fread(p, (size_t)*len, 1, f));
	fclose(f);
	return p;
}

static void llama_cpp_layout_reads_as_mean_squares(void **state)
{
	char path[64], again[64];
	struct llmos_imatrix *im;
	const float *v;
	int64_t n;
	long la, lb;
	char *a, *b;

	(void)state;
	snprintf(path, sizeof(path), "%s/a.dat", dir);
	snprintf(again, sizeof(again), "%s/b.dat", dir);
	write_sample(path, 4.0f, 0);
	assert_int_equal(0, llmos_imatrix_read(&im, path));
	assert_int_equal(2, llmos_imatrix_count(im));
	assert_int_equal(7, llmos_imatrix_chunks(im));
	v = llmos_imatrix_find(im, "blk.0.attn_q.weight", &n);
	assert_non_null(v);
	assert_int_equal(3, n);
	assert_true(v[0] == 2.0f && v[1] == 0.5f && v[2] == 1.0f); /* divided by ncall */
	assert_null(llmos_imatrix_find(im, "blk.1.attn_q.weight", &n));
	assert_int_equal(0, llmos_imatrix_write(im, again, "calib.txt"));
	a = slurp(path, &la);
	b = slurp(again, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, (size_t)la);
	free(a);
	free(b);
	llmos_imatrix_free(im);
}

static void bad_files_are_refused(void **state)
{
	char path[64];
	struct llmos_imatrix *im;

	(void)state;
	snprintf(path, sizeof(path), "%s/c.dat", dir);
	write_sample(path, -1.0f, 0);
	assert_int_equal(-LLMOS_EFORMAT, llmos_imatrix_read(&im, path));
	write_sample(path, NAN, 0);
	assert_int_equal(-LLMOS_EFORMAT, llmos_imatrix_read(&im, path));
	write_sample(path, 4.0f, 30);
	assert_int_equal(-LLMOS_EFORMAT, llmos_imatrix_read(&im, path));
	assert_int_equal(-ENOENT, llmos_imatrix_read(&im, "/nonexistent/imatrix.dat"));
}

/* `llmos imatrix` on the reference model: one entry per layer matrix, positive mean squares. */
static void tool_writes_an_entry_per_layer_matrix(void **state)
{
	const char *models = getenv("LLMOS_TEST_MODELS") ? getenv("LLMOS_TEST_MODELS")
							   : "../shared/models";
	char model[512], text[] = "tests/fixtures/tinystories-ppl.txt", out[64], cmd[1024];
	struct llmos_imatrix *im;
	const float *v;
	int64_t n;

	(void)state;
	snprintf(model, sizeof(model), "%s/stories260K-f32.gguf", models);
	if (access(model, R_OK) || access(text, R_OK)) {
		print_message("SKIP: %s or %s missing\n", model, text);
		skip();
	}
	snprintf(out, sizeof(out), "%s/s.dat", dir);
	snprintf(cmd, sizeof(cmd), "%s/llmos imatrix -m %s -f %s -o %s -c 64 -t 1 >/dev/null",
		 getenv("LLMOS_BIN") ? getenv("LLMOS_BIN") : "build/bin", model, text, out);
	assert_int_equal(0, system(cmd));
	assert_int_equal(0, llmos_imatrix_read(&im, out));
	assert_int_equal(5 * 7, llmos_imatrix_count(im)); /* 5 layers of q, k, v, o, gate, up, down */
	v = llmos_imatrix_find(im, "blk.4.ffn_down.weight", &n);
	assert_non_null(v);
	assert_int_equal(172, n);
	for (int64_t j = 0; j < n; j++)
		assert_true(v[j] >= 0 && isfinite(v[j]));
	v = llmos_imatrix_find(im, "blk.0.attn_q.weight", &n);
	assert_non_null(v);
	assert_int_equal(64, n);
	llmos_imatrix_free(im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(llama_cpp_layout_reads_as_mean_squares),
		cmocka_unit_test(bad_files_are_refused),
		cmocka_unit_test(tool_writes_an_entry_per_layer_matrix),
	};
	char rm[128];
	int ret;

	if (!mkdtemp(dir))
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	if (system(rm))
		fprintf(stderr, "test_imatrix: could not remove %s\n", dir);
	return ret;
}
