/* SPDX-License-Identifier: MIT */
/*
 * test_gguf.c - the GGUF reader on the real stories260K model, the writer
 * by round trip, and both against hostile input: truncations, absurd counts
 * and lengths, bad shapes, types, offsets and alignments.  Each hostile case
 * checks the error code and that the message names the field.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
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

#include "gguf.h"
#include "gguf_write.h"
#include "llmos/llmos.h"

#define MODEL_NAME "stories260K-f32.gguf"

/* ---- helpers ---------------------------------------------------------- */

/* Path of the reference model, or NULL (and a message) where it is absent. */
static const char *model_path(char *buf, size_t n)
{
	const char *dir = getenv("LLMOS_TEST_MODELS");

	snprintf(buf, n, "%s/%s", dir && *dir ? dir : "../shared/models", MODEL_NAME);
	if (access(buf, R_OK) == 0)
		return buf;
	print_message("SKIP: %s not found (set LLMOS_TEST_MODELS to its directory)\n", buf);
	return NULL;
}

static void *read_whole(const char *path, size_t *size)
{
	FILE *fp = fopen(path, "rb");
	void *p;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n > 0);
	rewind(fp);
	p = malloc((size_t)n);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*size = (size_t)n;
	return p;
}

/* A byte builder to craft files, valid or not. */
struct rb {
	uint8_t *p;
	size_t len;
	size_t cap;
};

static void rb_put(struct rb *b, const void *src, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void rb_u8(struct rb *b, uint8_t v)
{
	rb_put(b, &v, 1);
}

static void rb_u32(struct rb *b, uint32_t v)
{
	rb_put(b, &v, 4);
}

static void rb_u64(struct rb *b, uint64_t v)
{
	rb_put(b, &v, 8);
}

static void rb_str(struct rb *b, const char *s)
{
	rb_u64(b, strlen(s));
	rb_put(b, s, strlen(s));
}

static void rb_zeros(struct rb *b, size_t n)
{
	while (n--)
		rb_u8(b, 0);
}

static void rb_pad(struct rb *b, size_t a)
{
	rb_zeros(b, (a - b->len % a) % a);
}

static void rb_header(struct rb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
	rb_u32(b, GGUF_MAGIC);
	rb_u32(b, version);
	rb_u64(b, n_tensors);
	rb_u64(b, n_kv);
}

static void rb_kv_u32(struct rb *b, const char *key, uint32_t v)
{
	rb_str(b, key);
	rb_u32(b, GGUF_TYPE_UINT32);
	rb_u32(b, v);
}

static void rb_tensor(struct rb *b, const char *name, uint32_t n_dims, const uint64_t *ne,
		      uint32_t type, uint64_t offset)
{
	rb_str(b, name);
	rb_u32(b, n_dims);
	for (uint32_t i = 0; i < n_dims; i++)
		rb_u64(b, ne[i]);
	rb_u32(b, type);
	rb_u64(b, offset);
}

/* One kv, one tensor, then data_bytes of data. */
static void rb_tiny(struct rb *b, uint32_t n_dims, const uint64_t *ne, uint32_t type,
		    uint64_t offset, size_t data_bytes)
{
	rb_header(b, 3, 1, 1);
	rb_kv_u32(b, "general.x", 1);
	rb_tensor(b, "t", n_dims, ne, type, offset);
	rb_pad(b, 32);
	rb_zeros(b, data_bytes);
}

/* Parse a copy of exactly size bytes, so ASan sees any read past the end. */
static int parse_copy(const void *data, size_t size)
{
	struct gguf_file *f = (struct gguf_file *)&f;
	void *copy = malloc(size ? size : 1);
	int ret;

	assert_non_null(copy);
	memcpy(copy, data, size);
	ret = gguf_parse(&f, copy, size);
	if (ret)
		assert_null(f);
	gguf_close(f);
	free(copy);
	return ret;
}

static void expect_fail(struct rb *b, int err, const char *substr)
{
	int ret = parse_copy(b->p, b->len);

	if (getenv("LLMOS_TEST_VERBOSE"))
		print_message("  %d: %s\n", ret, llmos_last_error());
	if (ret != err || !strstr(llmos_last_error(), substr))
		fail_msg("got %d (%s), want %d with '%s'", ret, llmos_last_error(), err, substr);
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void expect_ok(struct rb *b)
{
	int ret = parse_copy(b->p, b->len);

	if (ret)
		fail_msg("got %d (%s), want success", ret, llmos_last_error());
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/llmos-gguf-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *tmp_path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", tmpdir, name);
	return buf;
}

/* ---- the real model ----------------------------------------------------- */

static void test_real_model_facts(void **state)
{
	const struct gguf_tensor *t;
	const struct gguf_kv *kv;
	struct gguf_file *f;
	char path[512];
	const char *s;
	uint64_t len;
	uint32_t u;
	float eps;

	(void)state;
	if (!model_path(path, sizeof(path)))
		skip();
	assert_int_equal(gguf_open(&f, path), 0);
	assert_int_equal(gguf_version(f), 3);
	assert_int_equal(gguf_alignment(f), 32);
	assert_int_equal(gguf_size(f), 1185376);
	assert_int_equal(gguf_tensor_count(f), 48);
	assert_int_equal(gguf_kv_count(f), 19);
	assert_int_equal(gguf_get_str(f, "general.architecture", &s, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(s, "llama", 5);
	assert_int_equal(gguf_get_u32(f, "llama.embedding_length", &u), 0);
	assert_int_equal(u, 64);
	assert_int_equal(gguf_get_u32(f, "llama.block_count", &u), 0);
	assert_int_equal(u, 5);
	assert_int_equal(gguf_get_u32(f, "llama.context_length", &u), 0);
	assert_int_equal(u, 128);
	assert_int_equal(gguf_get_u32(f, "llama.feed_forward_length", &u), 0);
	assert_int_equal(u, 172);
	assert_int_equal(gguf_get_u32(f, "llama.attention.head_count_kv", &u), 0);
	assert_int_equal(u, 4);
	assert_int_equal(gguf_get_u32(f, "tokenizer.ggml.bos_token_id", &u), 0);
	assert_int_equal(u, 1);
	assert_int_equal(gguf_get_u32(f, "tokenizer.ggml.eos_token_id", &u), 0);
	assert_int_equal(u, 2);
	assert_int_equal(gguf_get_f32(f, "llama.attention.layer_norm_rms_epsilon", &eps), 0);
	assert_true(fabsf(eps - 1e-5f) < 1e-9f);

	assert_int_equal(gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &kv), 0);
	assert_int_equal(kv->v.arr.n, 512);
	assert_int_equal(gguf_arr_get_str(kv, 1, &s, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "<s>", 3);
	assert_int_equal(gguf_arr_get_str(kv, 3, &s, &len), 0);
	assert_memory_equal(s, "<0x00>", 6);
	assert_int_equal(gguf_arr_get_str(kv, 512, &s, &len), -ERANGE);
	assert_int_equal(gguf_get_arr(f, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, &kv), 0);
	assert_int_equal(kv->v.arr.n, 512);
	assert_int_equal(gguf_get_arr(f, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, &kv), 0);
	assert_int_equal(kv->v.arr.n, 512);

	t = gguf_find_tensor(f, "token_embd.weight");
	assert_non_null(t);
	assert_int_equal(t->n_dims, 2);
	assert_int_equal(t->ne[0], 64);
	assert_int_equal(t->ne[1], 512);
	assert_int_equal(t->type, 0);
	assert_int_equal(t->size, 64 * 512 * 4);
	assert_ptr_equal(t->data, (const uint8_t *)gguf_data(f) + gguf_data_offset(f));
	assert_non_null(gguf_find_tensor(f, "output.weight"));
	assert_non_null(gguf_find_tensor(f, "blk.4.ffn_norm.weight"));
	assert_null(gguf_find_tensor(f, "blk.5.ffn_norm.weight"));
	assert_null(gguf_find_key(f, "llama.nonexistent"));
	gguf_close(f);
}

static void test_real_model_tables(void **state)
{
	struct gguf_file *f;
	char path[512];

	(void)state;
	if (!model_path(path, sizeof(path)))
		skip();
	assert_int_equal(gguf_open(&f, path), 0);
	for (uint64_t i = 0; i < gguf_tensor_count(f); i++) {
		const struct gguf_tensor *t = gguf_tensor_at(f, i);

		assert_ptr_equal(gguf_find_tensor(f, t->name), t);
		assert_int_equal(strlen(t->name), t->name_len);
		assert_int_equal(t->size, t->n_elems * 4);
		assert_int_equal(((uintptr_t)t->data) % 32, 0);
		assert_true(t->offset + t->size <= gguf_size(f) - gguf_data_offset(f));
	}
	for (uint64_t i = 0; i < gguf_kv_count(f); i++) {
		const struct gguf_kv *kv = gguf_kv_at(f, i);
		char key[128];

		snprintf(key, sizeof(key), "%.*s", (int)kv->key.len, kv->key.ptr);
		assert_ptr_equal(gguf_find_key(f, key), kv);
	}
	assert_null(gguf_tensor_at(f, 48));
	assert_null(gguf_kv_at(f, 19));
	gguf_close(f);
}

/* Every prefix of the header and metadata, and a sample of the data. */
static void test_real_model_truncated(void **state)
{
	uint64_t data_start, data_end = 0, step;
	struct gguf_file *f;
	char path[512];
	size_t size;
	uint8_t *buf;

	(void)state;
	if (!model_path(path, sizeof(path)))
		skip();
	buf = read_whole(path, &size);
	assert_int_equal(gguf_parse(&f, buf, size), 0);
	data_start = gguf_data_offset(f);
	for (uint64_t i = 0; i < gguf_tensor_count(f); i++) {
		const struct gguf_tensor *t = gguf_tensor_at(f, i);

		if (t->offset + t->size > data_end)
			data_end = t->offset + t->size;
	}
	data_end += data_start;
	gguf_close(f);
	for (uint64_t n = 0; n <= data_start; n++) {
		int ret = parse_copy(buf, n);

		if (ret != -LLMOS_EFORMAT)
			fail_msg("truncated at %" PRIu64 ": got %d (%s)", n, ret,
				 llmos_last_error());
	}
	step = (data_end - data_start) / 300 + 1;
	for (uint64_t n = data_start + 1; n < data_end; n += step)
		assert_int_equal(parse_copy(buf, n), -LLMOS_EFORMAT);
	assert_int_equal(parse_copy(buf, data_end - 1), -LLMOS_EFORMAT);
	assert_non_null(strstr(llmos_last_error(), "beyond end of file"));
	free(buf);
}

static void test_open_errors(void **state)
{
	struct gguf_file *f = (struct gguf_file *)&f;
	char path[256];
	FILE *fp;

	(void)state;
	assert_int_equal(gguf_open(&f, "/nonexistent/model.gguf"), -ENOENT);
	assert_null(f);
	assert_non_null(strstr(llmos_last_error(), "/nonexistent/model.gguf"));
	assert_int_equal(gguf_open(&f, tmpdir), -EINVAL);
	tmp_path(path, sizeof(path), "empty.gguf");
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(gguf_open(&f, path), -LLMOS_EFORMAT);
	assert_non_null(strstr(llmos_last_error(), "magic"));
	assert_non_null(strstr(llmos_last_error(), "empty.gguf"));
}

/* ---- writer round trip -------------------------------------------------- */

struct fill_ctx {
	uint64_t calls;
	uint64_t row_bytes;
	int fail_at; /* fail on this call (1-based), 0 never */
};

static int fill_pattern(void *ctx, void *buf, uint64_t pos, size_t len)
{
	struct fill_ctx *c = ctx;

	c->calls++;
	if (c->fail_at && c->calls == (uint64_t)c->fail_at)
		return -EIO;
	assert_int_equal(pos % c->row_bytes, 0);
	assert_int_equal(len % c->row_bytes, 0);
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = (uint8_t)((pos + i) * 7 + 3);
	return 0;
}

static void fill_bytes(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed);
}

static const char *const words[] = {"alpha", "", "gamma with spaces", "\xce\xb4"};

static void add_all_kvs(struct gguf_writer *w)
{
	static const float f32s[] = {0.5f, -1.25f, 3e38f};
	static const int32_t i32s[] = {-7, 0, INT32_MAX};
	static const uint8_t bools[] = {1, 0, 1};
	static const double f64s[] = {1e-300, -2.5};
	static const int64_t i64s[] = {INT64_MIN, 42};

	assert_int_equal(gguf_writer_add_u8(w, "t.u8", 250), 0);
	assert_int_equal(gguf_writer_add_i8(w, "t.i8", -100), 0);
	assert_int_equal(gguf_writer_add_u16(w, "t.u16", 65000), 0);
	assert_int_equal(gguf_writer_add_i16(w, "t.i16", -32000), 0);
	assert_int_equal(gguf_writer_add_u32(w, "t.u32", 4000000000u), 0);
	assert_int_equal(gguf_writer_add_i32(w, "t.i32", -2000000000), 0);
	assert_int_equal(gguf_writer_add_u64(w, "t.u64", UINT64_MAX), 0);
	assert_int_equal(gguf_writer_add_i64(w, "t.i64", INT64_MIN), 0);
	assert_int_equal(gguf_writer_add_f32(w, "t.f32", 1.5f), 0);
	assert_int_equal(gguf_writer_add_f64(w, "t.f64", -0.125), 0);
	assert_int_equal(gguf_writer_add_bool(w, "t.bool", true), 0);
	assert_int_equal(gguf_writer_add_str(w, "t.str", "hello"), 0);
	assert_int_equal(gguf_writer_add_strn(w, "t.empty", "", 0), 0);
	assert_int_equal(gguf_writer_add_arr_str(w, "t.words", words, 4), 0);
	assert_int_equal(gguf_writer_add_arr(w, "t.f32s", GGUF_TYPE_FLOAT32, f32s, 3), 0);
	assert_int_equal(gguf_writer_add_arr(w, "t.i32s", GGUF_TYPE_INT32, i32s, 3), 0);
	assert_int_equal(gguf_writer_add_arr(w, "t.bools", GGUF_TYPE_BOOL, bools, 3), 0);
	assert_int_equal(gguf_writer_add_arr(w, "t.f64s", GGUF_TYPE_FLOAT64, f64s, 2), 0);
	assert_int_equal(gguf_writer_add_arr(w, "t.i64s", GGUF_TYPE_INT64, i64s, 2), 0);
	assert_int_equal(gguf_writer_add_arr(w, "t.none", GGUF_TYPE_UINT16, NULL, 0), 0);
}

static void check_all_kvs(const struct gguf_file *f)
{
	const struct gguf_kv *kv;
	const char *s;
	uint64_t u64, len;
	int64_t i64;
	uint32_t u32;
	int32_t i32;
	double f64;
	float f32;
	bool b;

	assert_int_equal(gguf_get_u32(f, "t.u8", &u32), 0);
	assert_int_equal(u32, 250);
	assert_int_equal(gguf_get_i32(f, "t.i8", &i32), 0);
	assert_int_equal(i32, -100);
	assert_int_equal(gguf_get_u32(f, "t.u16", &u32), 0);
	assert_int_equal(u32, 65000);
	assert_int_equal(gguf_get_i64(f, "t.i16", &i64), 0);
	assert_int_equal(i64, -32000);
	assert_int_equal(gguf_get_u32(f, "t.u32", &u32), 0);
	assert_int_equal(u32, 4000000000u);
	assert_int_equal(gguf_get_i32(f, "t.i32", &i32), 0);
	assert_int_equal(i32, -2000000000);
	assert_int_equal(gguf_get_u64(f, "t.u64", &u64), 0);
	assert_true(u64 == UINT64_MAX);
	assert_int_equal(gguf_get_i64(f, "t.i64", &i64), 0);
	assert_true(i64 == INT64_MIN);
	assert_int_equal(gguf_get_f32(f, "t.f32", &f32), 0);
	assert_true(f32 == 1.5f);
	assert_int_equal(gguf_get_f64(f, "t.f64", &f64), 0);
	assert_true(f64 == -0.125);
	assert_int_equal(gguf_get_bool(f, "t.bool", &b), 0);
	assert_true(b);
	assert_int_equal(gguf_get_str(f, "t.str", &s, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(s, "hello", 5);
	assert_int_equal(gguf_get_str(f, "t.empty", &s, &len), 0);
	assert_int_equal(len, 0);

	assert_int_equal(gguf_get_arr(f, "t.words", GGUF_TYPE_STRING, &kv), 0);
	assert_int_equal(kv->v.arr.n, 4);
	for (uint64_t i = 0; i < 4; i++) {
		assert_int_equal(gguf_arr_get_str(kv, i, &s, &len), 0);
		assert_int_equal(len, strlen(words[i]));
		assert_memory_equal(s, words[i], len);
	}
	assert_int_equal(gguf_get_arr(f, "t.f32s", GGUF_TYPE_FLOAT32, &kv), 0);
	assert_int_equal(gguf_arr_get_f32(kv, 1, &f32), 0);
	assert_true(f32 == -1.25f);
	assert_int_equal(gguf_arr_get_f32(kv, 2, &f32), 0);
	assert_true(f32 == 3e38f);
	assert_int_equal(gguf_arr_get_i32(kv, 0, &i32), -LLMOS_EFORMAT);
	assert_int_equal(gguf_get_arr(f, "t.i32s", GGUF_TYPE_INT32, &kv), 0);
	assert_int_equal(gguf_arr_get_i32(kv, 0, &i32), 0);
	assert_int_equal(i32, -7);
	assert_int_equal(gguf_arr_get_u32(kv, 0, &u32), -LLMOS_EFORMAT);
	assert_int_equal(gguf_arr_get_u32(kv, 2, &u32), 0);
	assert_int_equal(u32, INT32_MAX);
	assert_int_equal(gguf_arr_get_i32(kv, 3, &i32), -ERANGE);
	assert_int_equal(gguf_get_arr(f, "t.bools", GGUF_TYPE_BOOL, &kv), 0);
	assert_int_equal(kv->v.arr.n, 3);
	assert_memory_equal(kv->v.arr.data, "\1\0\1", 3);
	assert_int_equal(gguf_get_arr(f, "t.f64s", GGUF_TYPE_FLOAT64, &kv), 0);
	assert_int_equal(gguf_arr_get_f32(kv, 1, &f32), 0);
	assert_true(f32 == -2.5f);
	assert_int_equal(gguf_get_arr(f, "t.i64s", GGUF_TYPE_COUNT, &kv), 0);
	assert_int_equal(gguf_arr_get_i64(kv, 0, &i64), 0);
	assert_true(i64 == INT64_MIN);
	assert_int_equal(gguf_arr_get_i32(kv, 0, &i32), -LLMOS_EFORMAT);
	assert_int_equal(gguf_get_arr(f, "t.none", GGUF_TYPE_UINT16, &kv), 0);
	assert_int_equal(kv->v.arr.n, 0);
}

/* Tensors of every supported type, one of them produced by a fill callback. */
static const struct {
	const char *name;
	uint32_t type;
	uint32_t n_dims;
	uint64_t ne[4];
} wt[] = {
    {"a.f32", 0, 2, {5, 3}}, {"b.f16", 1, 3, {7, 2, 2}},      {"c.q4_0", 2, 2, {64, 3}},
    {"d.q4_1", 3, 1, {32}},  {"e.q8_0", 8, 4, {32, 2, 1, 3}}, {"f.q8_1", 9, 2, {96, 1}},
    {"g.bf16", 30, 1, {9}},
};
#define N_WT (sizeof(wt) / sizeof(wt[0]))

static uint64_t wt_size(size_t i)
{
	uint32_t bs, bb;
	uint64_t n = 1;

	assert_int_equal(gguf_ggml_type_layout(wt[i].type, &bs, &bb), 0);
	for (uint32_t j = 0; j < wt[i].n_dims; j++)
		n *= wt[i].ne[j];
	return n / bs * bb;
}

static void roundtrip(uint32_t alignment)
{
	static const uint64_t big_ne[2] = {4096, 300}; /* 4.7 MB: several fill chunks */
	struct fill_ctx fc = {.row_bytes = 4096 * 4};
	uint8_t *data[N_WT];
	struct gguf_writer *w;
	struct gguf_file *f;
	char path[256];
	struct stat st;

	assert_int_equal(gguf_writer_new(&w), 0);
	if (alignment)
		assert_int_equal(gguf_writer_set_alignment(w, alignment), 0);
	add_all_kvs(w);
	for (size_t i = 0; i < N_WT; i++) {
		data[i] = malloc(wt_size(i));
		fill_bytes(data[i], wt_size(i), (unsigned int)i);
		assert_int_equal(gguf_writer_add_tensor(w, wt[i].name, wt[i].type, wt[i].n_dims,
							wt[i].ne, data[i]),
				 0);
	}
	assert_int_equal(gguf_writer_add_tensor_fill(w, "z.big", 0, 2, big_ne, fill_pattern, &fc),
			 0);
	tmp_path(path, sizeof(path), "roundtrip.gguf");
	assert_int_equal(gguf_writer_write(w, path, GGUF_WRITE_FSYNC), 0);
	gguf_writer_free(w);
	assert_true(fc.calls > 1);

	assert_int_equal(gguf_open(&f, path), 0);
	assert_int_equal(gguf_version(f), 3);
	assert_int_equal(gguf_alignment(f), alignment ? alignment : 32);
	assert_int_equal(gguf_kv_count(f), 20 + (alignment && alignment != 32));
	check_all_kvs(f);
	assert_int_equal(gguf_tensor_count(f), N_WT + 1);
	for (size_t i = 0; i < N_WT; i++) {
		const struct gguf_tensor *t = gguf_tensor_at(f, i);

		assert_string_equal(t->name, wt[i].name);
		assert_int_equal(t->type, wt[i].type);
		assert_int_equal(t->n_dims, wt[i].n_dims);
		for (uint32_t j = 0; j < 4; j++)
			assert_int_equal(t->ne[j], j < wt[i].n_dims ? wt[i].ne[j] : 1);
		assert_int_equal(t->size, wt_size(i));
		assert_memory_equal(t->data, data[i], t->size);
		assert_int_equal(t->offset % gguf_alignment(f), 0);
		free(data[i]);
	}
	{
		const struct gguf_tensor *t = gguf_find_tensor(f, "z.big");
		const uint8_t *p;

		assert_non_null(t);
		assert_int_equal(t->size, 4096 * 300 * 4);
		p = t->data;
		for (uint64_t i = 0; i < t->size; i++)
			if (p[i] != (uint8_t)(i * 7 + 3))
				fail_msg("z.big byte %" PRIu64 " differs", i);
	}
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((uint64_t)st.st_size, gguf_size(f));
	gguf_close(f);
	strcat(path, ".tmp");
	assert_int_equal(access(path, F_OK), -1);
}

static void test_writer_roundtrip(void **state)
{
	(void)state;
	roundtrip(0);
}

static void test_writer_roundtrip_aligned(void **state)
{
	(void)state;
	roundtrip(64);
	roundtrip(4096);
}

/* A failed write leaves neither a partial file nor the .tmp behind. */
static void test_writer_atomic(void **state)
{
	static const uint64_t ne[2] = {32, 100};
	struct fill_ctx fc = {.row_bytes = 128, .fail_at = 1};
	struct gguf_writer *w;
	char path[256], tmp[300];
	struct stat st;
	FILE *fp;

	(void)state;
	tmp_path(path, sizeof(path), "atomic.gguf");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs("old", fp);
	fclose(fp);
	assert_int_equal(gguf_writer_new(&w), 0);
	assert_int_equal(gguf_writer_add_str(w, "general.name", "x"), 0);
	assert_int_equal(gguf_writer_add_tensor_fill(w, "t", 0, 2, ne, fill_pattern, &fc), 0);
	assert_int_equal(gguf_writer_write(w, path, 0), -EIO);
	assert_non_null(strstr(llmos_last_error(), "'t'"));
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 3);
	assert_int_equal(gguf_writer_write(w, "/nonexistent/dir/x.gguf", 0), -ENOENT);
	fc.fail_at = 0;
	assert_int_equal(gguf_writer_write(w, path, 0), 0);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 32 * 100 * 4);
	gguf_writer_free(w);
}

static void test_writer_refuses(void **state)
{
	static const uint64_t ne[2] = {32, 2}, ne0[2] = {0, 2}, odd[1] = {48};
	static const uint64_t huge[4] = {1ull << 32, 1ull << 32, 1ull << 32, 1};
	struct gguf_writer *w;
	static const float dummy[64];
	char name[65];

	(void)state;
	assert_int_equal(gguf_writer_new(&w), 0);
	assert_int_equal(gguf_writer_add_u32(w, "k", 1), 0);
	assert_int_equal(gguf_writer_add_str(w, "k", "again"), -EEXIST);
	assert_int_equal(gguf_writer_add_u32(w, "", 1), -EINVAL);
	assert_int_equal(gguf_writer_add_u32(w, GGUF_KEY_ALIGNMENT, 64), -EINVAL);
	assert_int_equal(gguf_writer_set_alignment(w, 0), -EINVAL);
	assert_int_equal(gguf_writer_set_alignment(w, 48), -EINVAL);
	assert_int_equal(gguf_writer_add_arr(w, "a", GGUF_TYPE_STRING, NULL, 0), -EINVAL);
	assert_int_equal(gguf_writer_add_tensor(w, "t", 0, 2, ne, NULL), -EINVAL);
	assert_int_equal(gguf_writer_add_tensor_fill(w, "t", 0, 2, ne, NULL, NULL), -EINVAL);
	assert_int_equal(gguf_writer_add_tensor(w, "t", 0, 2, ne, dummy), 0);
	assert_int_equal(gguf_writer_add_tensor(w, "t", 0, 2, ne, dummy), -EEXIST);
	assert_int_equal(gguf_writer_add_tensor(w, "", 0, 2, ne, dummy), -EINVAL);
	assert_int_equal(gguf_writer_add_tensor(w, "z", 0, 0, ne, dummy), -EINVAL);
	assert_int_equal(gguf_writer_add_tensor(w, "z", 0, 5, ne, dummy), -EINVAL);
	assert_int_equal(gguf_writer_add_tensor(w, "z", 0, 2, ne0, dummy), -EINVAL);
	assert_int_equal(gguf_writer_add_tensor(w, "z", 200, 2, ne, dummy), -EINVAL);
	assert_int_equal(gguf_writer_add_tensor(w, "z", 8, 1, odd, dummy), -EINVAL);
	assert_int_equal(gguf_writer_add_tensor(w, "z", 0, 3, huge, dummy), -EINVAL);
	memset(name, 'x', 64);
	name[64] = '\0';
	assert_int_equal(gguf_writer_add_tensor(w, name, 0, 2, ne, dummy), -EINVAL);
	name[63] = '\0';
	assert_int_equal(gguf_writer_add_tensor(w, name, 0, 2, ne, dummy), 0);
	gguf_writer_free(w);
}

static void test_writer_empty(void **state)
{
	struct gguf_writer *w;
	struct gguf_file *f;
	char path[256];

	(void)state;
	assert_int_equal(gguf_writer_new(&w), 0);
	tmp_path(path, sizeof(path), "empty-writer.gguf");
	assert_int_equal(gguf_writer_write(w, path, 0), 0);
	gguf_writer_free(w);
	assert_int_equal(gguf_open(&f, path), 0);
	assert_int_equal(gguf_kv_count(f), 0);
	assert_int_equal(gguf_tensor_count(f), 0);
	assert_null(gguf_find_tensor(f, "x"));
	assert_null(gguf_find_key(f, "x"));
	gguf_close(f);
}

/* ---- getters -------------------------------------------------------------- */

static void test_getter_conversions(void **state)
{
	struct gguf_writer *w;
	struct gguf_file *f;
	char path[256];
	uint32_t u32;
	int32_t i32;
	uint64_t u64, len;
	float f32;
	bool b;
	const char *s;
	const struct gguf_kv *kv;

	(void)state;
	assert_int_equal(gguf_writer_new(&w), 0);
	assert_int_equal(gguf_writer_add_u64(w, "big", 1ull << 32), 0);
	assert_int_equal(gguf_writer_add_i32(w, "neg", -1), 0);
	assert_int_equal(gguf_writer_add_i64(w, "i64max", INT64_MAX), 0);
	assert_int_equal(gguf_writer_add_u64(w, "u64max", UINT64_MAX), 0);
	assert_int_equal(gguf_writer_add_u32(w, "small", 7), 0);
	assert_int_equal(gguf_writer_add_str(w, "name", "x"), 0);
	assert_int_equal(gguf_writer_add_bool(w, "flag", false), 0);
	assert_int_equal(gguf_writer_add_f64(w, "huge", 1e300), 0);
	assert_int_equal(gguf_writer_add_f64(w, "inf", 1.0 / 0.0), 0);
	tmp_path(path, sizeof(path), "getters.gguf");
	assert_int_equal(gguf_writer_write(w, path, 0), 0);
	gguf_writer_free(w);
	assert_int_equal(gguf_open(&f, path), 0);

	assert_int_equal(gguf_get_u32(f, "big", &u32), -LLMOS_EFORMAT);
	assert_non_null(strstr(llmos_last_error(), "'big'"));
	assert_non_null(strstr(llmos_last_error(), "does not fit u32"));
	assert_int_equal(gguf_get_u64(f, "big", &u64), 0);
	assert_int_equal(gguf_get_u32(f, "neg", &u32), -LLMOS_EFORMAT);
	assert_int_equal(gguf_get_u64(f, "neg", &u64), -LLMOS_EFORMAT);
	assert_int_equal(gguf_get_i32(f, "neg", &i32), 0);
	assert_int_equal(i32, -1);
	assert_int_equal(gguf_get_i32(f, "i64max", &i32), -LLMOS_EFORMAT);
	assert_int_equal(gguf_get_u64(f, "i64max", &u64), 0);
	assert_true(u64 == INT64_MAX);
	assert_int_equal(gguf_get_i32(f, "u64max", &i32), -LLMOS_EFORMAT);
	assert_int_equal(gguf_get_i32(f, "small", &i32), 0);
	assert_int_equal(i32, 7);
	assert_int_equal(gguf_get_f32(f, "small", &f32), -LLMOS_EFORMAT);
	assert_non_null(strstr(llmos_last_error(), "expected f32 or f64"));
	assert_int_equal(gguf_get_u32(f, "name", &u32), -LLMOS_EFORMAT);
	assert_non_null(strstr(llmos_last_error(), "is string"));
	assert_int_equal(gguf_get_str(f, "small", &s, &len), -LLMOS_EFORMAT);
	assert_int_equal(gguf_get_bool(f, "small", &b), -LLMOS_EFORMAT);
	assert_int_equal(gguf_get_bool(f, "flag", &b), 0);
	assert_false(b);
	assert_int_equal(gguf_get_arr(f, "name", GGUF_TYPE_COUNT, &kv), -LLMOS_EFORMAT);
	assert_int_equal(gguf_get_f32(f, "huge", &f32), -LLMOS_EFORMAT);
	assert_non_null(strstr(llmos_last_error(), "does not fit f32"));
	assert_int_equal(gguf_get_f32(f, "inf", &f32), 0);
	assert_true(isinf(f32));
	assert_int_equal(gguf_get_u32(f, "missing", &u32), -ENOENT);
	assert_non_null(strstr(llmos_last_error(), "'missing'"));
	gguf_close(f);
}

static void test_type_tables(void **state)
{
	uint32_t bs, bb;

	(void)state;
	assert_int_equal(gguf_ggml_type_layout(8, &bs, &bb), 0);
	assert_int_equal(bs, 32);
	assert_int_equal(bb, 34);
	assert_int_equal(gguf_ggml_type_layout(12, &bs, &bb), 0);
	assert_int_equal(bs, 256);
	assert_int_equal(bb, 144);
	assert_string_equal(gguf_ggml_type_name(30), "bf16");
	assert_null(gguf_ggml_type_name(4));
	assert_null(gguf_ggml_type_name(200));
	assert_int_equal(gguf_ggml_type_layout(200, &bs, &bb), -ENOENT);
	assert_true(gguf_ggml_type_supported(9));
	assert_true(gguf_ggml_type_supported(12));	 /* q4_K */
	assert_false(gguf_ggml_type_supported(16));	 /* iq2_xxs */
	assert_string_equal(gguf_type_name(GGUF_TYPE_STRING), "string");
	assert_string_equal(gguf_type_name((enum gguf_type)99), "?");
}

/* ---- hostile headers ---------------------------------------------------- */

static const uint64_t ne8[1] = {8};

static void test_tiny_valid(void **state)
{
	struct rb b = {0};
	static const uint64_t ne[2] = {32, 2};

	(void)state;
	rb_tiny(&b, 1, ne8, 0, 0, 32);
	expect_ok(&b);
	rb_tiny(&b, 2, ne, 8, 0, 68); /* q8_0 */
	expect_ok(&b);
	/* v2, and no tensors at all with the padding left out */
	rb_header(&b, 2, 0, 1);
	rb_kv_u32(&b, "general.x", 1);
	expect_ok(&b);
	rb_header(&b, 3, 0, 0);
	expect_ok(&b);
}

static void test_bad_magic_version(void **state)
{
	struct rb b = {0};

	(void)state;
	rb_put(&b, "GGML", 4);
	rb_u32(&b, 3);
	rb_zeros(&b, 16);
	expect_fail(&b, -LLMOS_EFORMAT, "magic");
	rb_put(&b, "GGU", 3);
	expect_fail(&b, -LLMOS_EFORMAT, "magic");
	rb_header(&b, 1, 0, 0);
	expect_fail(&b, -LLMOS_EUNSUPPORTED, "version 1");
	rb_header(&b, 4, 0, 0);
	expect_fail(&b, -LLMOS_EUNSUPPORTED, "version 4");
	rb_header(&b, 0, 0, 0);
	expect_fail(&b, -LLMOS_EFORMAT, "version 0");
	rb_header(&b, 0x03000000, 0, 0);
	expect_fail(&b, -LLMOS_EUNSUPPORTED, "big-endian");
	rb_header(&b, 0xdeadbeef, 0, 0);
	expect_fail(&b, -LLMOS_EFORMAT, "version");
}

static void test_absurd_counts(void **state)
{
	struct rb b = {0};

	(void)state;
	rb_header(&b, 3, 1ull << 63, 0);
	expect_fail(&b, -LLMOS_EFORMAT, "tensor count");
	rb_header(&b, 3, UINT64_MAX, 0);
	expect_fail(&b, -LLMOS_EFORMAT, "tensor count");
	rb_header(&b, 3, 0, 1ull << 40);
	rb_kv_u32(&b, "general.x", 1);
	expect_fail(&b, -LLMOS_EFORMAT, "kv count");
	/* plausible counts, but more than the file holds */
	rb_header(&b, 3, 0, 3);
	rb_kv_u32(&b, "a", 1);
	rb_kv_u32(&b, "b", 2);
	rb_zeros(&b, 14);
	expect_fail(&b, -LLMOS_EFORMAT, "kv 2");
	rb_header(&b, 3, 2, 0);
	rb_tensor(&b, "t", 1, ne8, 0, 0);
	rb_zeros(&b, 40);
	expect_fail(&b, -LLMOS_EFORMAT, "tensor 1");
}

static void test_absurd_lengths(void **state)
{
	struct rb b = {0};

	(void)state;
	/* key length */
	rb_header(&b, 3, 0, 1);
	rb_u64(&b, 1ull << 63);
	rb_zeros(&b, 16);
	expect_fail(&b, -LLMOS_EFORMAT, "key at byte 24: length 9223372036854775808");
	rb_header(&b, 3, 0, 1);
	rb_u64(&b, UINT64_MAX);
	rb_zeros(&b, 16);
	expect_fail(&b, -LLMOS_EFORMAT, "key");
	/* string value length */
	rb_header(&b, 3, 0, 1);
	rb_str(&b, "general.name");
	rb_u32(&b, GGUF_TYPE_STRING);
	rb_u64(&b, UINT64_MAX - 3);
	rb_put(&b, "abc", 3);
	expect_fail(&b, -LLMOS_EFORMAT, "string value");
	/* array whose count * 4 wraps to 0 */
	rb_header(&b, 3, 0, 1);
	rb_str(&b, "a");
	rb_u32(&b, GGUF_TYPE_ARRAY);
	rb_u32(&b, GGUF_TYPE_UINT32);
	rb_u64(&b, 1ull << 62);
	rb_zeros(&b, 8);
	expect_fail(&b, -LLMOS_EFORMAT, "array length 4611686018427387904");
	/* array of f64 one element too long */
	rb_header(&b, 3, 0, 1);
	rb_str(&b, "a");
	rb_u32(&b, GGUF_TYPE_ARRAY);
	rb_u32(&b, GGUF_TYPE_FLOAT64);
	rb_u64(&b, 3);
	rb_zeros(&b, 23);
	expect_fail(&b, -LLMOS_EFORMAT, "array length 3");
	/* array of strings: absurd count, then absurd element length */
	rb_header(&b, 3, 0, 1);
	rb_str(&b, "tokenizer.ggml.tokens");
	rb_u32(&b, GGUF_TYPE_ARRAY);
	rb_u32(&b, GGUF_TYPE_STRING);
	rb_u64(&b, 1ull << 61);
	rb_str(&b, "a");
	expect_fail(&b, -LLMOS_EFORMAT, "array length");
	rb_header(&b, 3, 0, 1);
	rb_str(&b, "tokenizer.ggml.tokens");
	rb_u32(&b, GGUF_TYPE_ARRAY);
	rb_u32(&b, GGUF_TYPE_STRING);
	rb_u64(&b, 3);
	rb_str(&b, "a");
	rb_u64(&b, 1ull << 40);
	rb_str(&b, "c");
	expect_fail(&b, -LLMOS_EFORMAT, "array string 1");
	/* tensor name length */
	rb_header(&b, 3, 1, 0);
	rb_u64(&b, 1ull << 62);
	rb_zeros(&b, 40);
	expect_fail(&b, -LLMOS_EFORMAT, "tensor 0: name");
}

static void test_bad_values(void **state)
{
	struct rb b = {0};

	(void)state;
	rb_header(&b, 3, 0, 1);
	rb_str(&b, "a");
	rb_u32(&b, 13);
	rb_u32(&b, 0);
	expect_fail(&b, -LLMOS_EFORMAT, "value type 13");
	rb_header(&b, 3, 0, 1);
	rb_str(&b, "a");
	rb_u32(&b, GGUF_TYPE_BOOL);
	rb_u8(&b, 2);
	expect_fail(&b, -LLMOS_EFORMAT, "bool");
	rb_header(&b, 3, 0, 1);
	rb_str(&b, "a");
	rb_u32(&b, GGUF_TYPE_ARRAY);
	rb_u32(&b, GGUF_TYPE_BOOL);
	rb_u64(&b, 3);
	rb_put(&b, "\1\0\7", 3);
	expect_fail(&b, -LLMOS_EFORMAT, "array bool 2");
	rb_header(&b, 3, 0, 1);
	rb_str(&b, "a");
	rb_u32(&b, GGUF_TYPE_ARRAY);
	rb_u32(&b, GGUF_TYPE_ARRAY);
	rb_u64(&b, 0);
	expect_fail(&b, -LLMOS_EUNSUPPORTED, "nested arrays");
	rb_header(&b, 3, 0, 1);
	rb_str(&b, "a");
	rb_u32(&b, GGUF_TYPE_ARRAY);
	rb_u32(&b, 77);
	rb_u64(&b, 0);
	expect_fail(&b, -LLMOS_EFORMAT, "array element type 77");
	/* keys: empty, with a NUL, duplicated */
	rb_header(&b, 3, 0, 1);
	rb_kv_u32(&b, "", 1);
	expect_fail(&b, -LLMOS_EFORMAT, "key at byte 24 is empty");
	rb_header(&b, 3, 0, 1);
	rb_u64(&b, 3);
	rb_put(&b, "a\0b", 3);
	rb_u32(&b, GGUF_TYPE_UINT8);
	rb_u8(&b, 0);
	expect_fail(&b, -LLMOS_EFORMAT, "NUL");
	rb_header(&b, 3, 0, 3);
	rb_kv_u32(&b, "general.a", 1);
	rb_kv_u32(&b, "general.b", 1);
	rb_kv_u32(&b, "general.a", 2);
	expect_fail(&b, -LLMOS_EFORMAT, "kv 2 'general.a': duplicate key");
}

static void test_bad_alignment(void **state)
{
	static const uint32_t bad[] = {0, 3, 48, 0x80000001u};
	struct rb b = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rb_header(&b, 3, 0, 1);
		rb_kv_u32(&b, GGUF_KEY_ALIGNMENT, bad[i]);
		expect_fail(&b, -LLMOS_EFORMAT, GGUF_KEY_ALIGNMENT);
	}
	rb_header(&b, 3, 0, 1);
	rb_str(&b, GGUF_KEY_ALIGNMENT);
	rb_u32(&b, GGUF_TYPE_STRING);
	rb_str(&b, "32");
	expect_fail(&b, -LLMOS_EFORMAT, GGUF_KEY_ALIGNMENT);
	rb_header(&b, 3, 0, 1);
	rb_str(&b, GGUF_KEY_ALIGNMENT);
	rb_u32(&b, GGUF_TYPE_INT64);
	rb_u64(&b, 1ull << 32);
	expect_fail(&b, -LLMOS_EFORMAT, GGUF_KEY_ALIGNMENT);
	/* 64 is fine, and then tensor offsets must be multiples of it */
	rb_header(&b, 3, 1, 1);
	rb_kv_u32(&b, GGUF_KEY_ALIGNMENT, 64);
	rb_tensor(&b, "t", 1, ne8, 0, 0);
	rb_pad(&b, 64);
	rb_zeros(&b, 32);
	expect_ok(&b);
	rb_header(&b, 3, 2, 1);
	rb_kv_u32(&b, GGUF_KEY_ALIGNMENT, 64);
	rb_tensor(&b, "t", 1, ne8, 0, 0);
	rb_tensor(&b, "u", 1, ne8, 0, 32);
	rb_pad(&b, 64);
	rb_zeros(&b, 128);
	expect_fail(&b, -LLMOS_EFORMAT, "misaligned");
	/* a huge alignment pushes the data section out of the file */
	rb_header(&b, 3, 1, 1);
	rb_kv_u32(&b, GGUF_KEY_ALIGNMENT, 1u << 31);
	rb_tensor(&b, "t", 1, ne8, 0, 0);
	rb_zeros(&b, 64);
	expect_fail(&b, -LLMOS_EFORMAT, "data section");
}

static void test_bad_shapes(void **state)
{
	static const uint64_t ovf[3] = {1ull << 32, 1ull << 32, 1ull << 32};
	static const uint64_t ovf2[2] = {1ull << 62, 2};
	static const uint64_t zero[2] = {8, 0};
	static const uint64_t neg[1] = {1ull << 63};
	static const uint64_t five[5] = {1, 1, 1, 1, 1};
	static const uint64_t q8_48[1] = {48};
	static const uint64_t big_f32[2] = {1ull << 31, 1ull << 31};
	struct rb b = {0};

	(void)state;
	rb_tiny(&b, 3, ovf, 0, 0, 32);
	expect_fail(&b, -LLMOS_EFORMAT, "element count overflows");
	rb_tiny(&b, 2, ovf2, 0, 0, 32);
	expect_fail(&b, -LLMOS_EFORMAT, "element count overflows");
	rb_tiny(&b, 2, big_f32, 0, 0, 32); /* 2^62 elements of 4 bytes */
	expect_fail(&b, -LLMOS_EFORMAT, "byte size of 4611686018427387904 f32 elements overflows");
	rb_tiny(&b, 0, ne8, 0, 0, 32);
	expect_fail(&b, -LLMOS_EFORMAT, "n_dims 0");
	rb_tiny(&b, 5, five, 0, 0, 32);
	expect_fail(&b, -LLMOS_EFORMAT, "n_dims 5");
	rb_tiny(&b, 2, zero, 0, 0, 32);
	expect_fail(&b, -LLMOS_EFORMAT, "dimension 1 (0)");
	rb_tiny(&b, 1, neg, 0, 0, 32);
	expect_fail(&b, -LLMOS_EFORMAT, "dimension 0");
	rb_tiny(&b, 1, q8_48, 8, 0, 64);
	expect_fail(&b, -LLMOS_EFORMAT, "block size 32");
}

static void test_bad_types(void **state)
{
	static const uint64_t ne256[1] = {256};
	struct rb b = {0};

	(void)state;
	rb_tiny(&b, 1, ne8, 200, 0, 32);
	expect_fail(&b, -LLMOS_EFORMAT, "type 200 at byte");
	assert_non_null(strstr(llmos_last_error(), "unknown type"));
	rb_tiny(&b, 1, ne8, 4, 0, 32); /* removed from ggml */
	expect_fail(&b, -LLMOS_EFORMAT, "unknown type");
	rb_tiny(&b, 1, ne8, UINT32_MAX, 0, 32);
	expect_fail(&b, -LLMOS_EFORMAT, "unknown type");
	rb_tiny(&b, 1, ne256, 16, 0, 96); /* iq2_xxs */
	expect_fail(&b, -LLMOS_EUNSUPPORTED, "iq2_xxs");
	assert_non_null(strstr(llmos_last_error(), "unsupported type"));
}

static void test_bad_tensor_names(void **state)
{
	struct rb b = {0};

	(void)state;
	rb_header(&b, 3, 1, 0);
	rb_tensor(&b, "", 1, ne8, 0, 0);
	rb_pad(&b, 32);
	rb_zeros(&b, 32);
	expect_fail(&b, -LLMOS_EFORMAT, "name at byte 24 is empty");
	rb_header(&b, 3, 1, 0);
	rb_tensor(&b, "x123456789x123456789x123456789x123456789x123456789x123456789abcd", 1, ne8, 0,
		  0);
	rb_pad(&b, 32);
	rb_zeros(&b, 32);
	expect_fail(&b, -LLMOS_EFORMAT, "name at byte 24 is 64 bytes long");
	rb_header(&b, 3, 1, 0);
	rb_u64(&b, 2);
	rb_put(&b, "a\0", 2);
	rb_u32(&b, 1);
	rb_u64(&b, 8);
	rb_u32(&b, 0);
	rb_u64(&b, 0);
	rb_pad(&b, 32);
	rb_zeros(&b, 32);
	expect_fail(&b, -LLMOS_EFORMAT, "NUL");
	rb_header(&b, 3, 3, 0);
	rb_tensor(&b, "blk.0.attn_q.weight", 1, ne8, 0, 0);
	rb_tensor(&b, "blk.0.attn_k.weight", 1, ne8, 0, 32);
	rb_tensor(&b, "blk.0.attn_q.weight", 1, ne8, 0, 64);
	rb_pad(&b, 32);
	rb_zeros(&b, 96);
	expect_fail(&b, -LLMOS_EFORMAT, "tensor 2 'blk.0.attn_q.weight': duplicate tensor name");
}

static void test_bad_offsets(void **state)
{
	static const uint64_t ne[2] = {64, 16}; /* 4096 bytes of f32 */
	struct rb b = {0};

	(void)state;
	rb_tiny(&b, 2, ne, 0, 0, 4095);
	expect_fail(&b, -LLMOS_EFORMAT,
		    "tensor 0 't': data [offset 0, size 4096] beyond end of file");
	rb_tiny(&b, 2, ne, 0, 1ull << 40, 4096);
	expect_fail(&b, -LLMOS_EFORMAT, "offset 1099511627776");
	rb_tiny(&b, 2, ne, 0, UINT64_MAX - 31, 4096); /* offset + size wraps */
	expect_fail(&b, -LLMOS_EFORMAT, "beyond end of file");
	rb_tiny(&b, 2, ne, 0, 4, 8192);
	expect_fail(&b, -LLMOS_EFORMAT, "offset 4 at byte");
	assert_non_null(strstr(llmos_last_error(), "misaligned"));
	/* overlapping, in either order */
	rb_header(&b, 3, 2, 0);
	rb_tensor(&b, "a", 2, ne, 0, 0);
	rb_tensor(&b, "b", 1, ne8, 0, 4064);
	rb_pad(&b, 32);
	rb_zeros(&b, 8192);
	expect_fail(&b, -LLMOS_EFORMAT, "overlaps");
	rb_header(&b, 3, 2, 0);
	rb_tensor(&b, "a", 1, ne8, 0, 4096);
	rb_tensor(&b, "b", 2, ne, 0, 32);
	rb_pad(&b, 32);
	rb_zeros(&b, 8192);
	expect_fail(&b, -LLMOS_EFORMAT,
		    "tensor 0 'a': data [offset 4096, size 32] overlaps tensor 1 'b'");
	/* adjacent is fine, and the data section may start late in the file */
	rb_header(&b, 3, 2, 0);
	rb_tensor(&b, "a", 1, ne8, 0, 32);
	rb_tensor(&b, "b", 2, ne, 0, 64);
	rb_pad(&b, 32);
	rb_zeros(&b, 64 + 4096);
	expect_ok(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_real_model_facts),
	    cmocka_unit_test(test_real_model_tables),
	    cmocka_unit_test(test_real_model_truncated),
	    cmocka_unit_test(test_open_errors),
	    cmocka_unit_test(test_writer_roundtrip),
	    cmocka_unit_test(test_writer_roundtrip_aligned),
	    cmocka_unit_test(test_writer_atomic),
	    cmocka_unit_test(test_writer_refuses),
	    cmocka_unit_test(test_writer_empty),
	    cmocka_unit_test(test_getter_conversions),
	    cmocka_unit_test(test_type_tables),
	    cmocka_unit_test(test_tiny_valid),
	    cmocka_unit_test(test_bad_magic_version),
	    cmocka_unit_test(test_absurd_counts),
	    cmocka_unit_test(test_absurd_lengths),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_bad_alignment),
	    cmocka_unit_test(test_bad_shapes),
	    cmocka_unit_test(test_bad_types),
	    cmocka_unit_test(test_bad_tensor_names),
	    cmocka_unit_test(test_bad_offsets),
	};

	return cmocka_run_group_tests_name("gguf", tests, make_tmpdir, remove_tmpdir);
}
