/* SPDX-License-Identifier: MIT */
/*
 * gguf_write.c - build GGUF v3 files: pairs are serialized as they are added,
 * tensors are described and their data pulled (pointer or fill callback)
 * only by gguf_writer_write(), which writes path.tmp and renames it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf_write.h"
#include "internal.h"

#define OUT_BUF_SIZE (1u << 20)
#define FILL_CHUNK (1u << 20) /* bytes asked of a fill callback at a time, at least a row */

struct buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

struct wtensor {
	char name[GGUF_MAX_NAME];
	uint32_t type;
	uint32_t n_dims;
	uint64_t ne[GGUF_MAX_DIMS];
	uint64_t row_bytes;
	uint64_t size;
	uint64_t offset;
	const void *data;
	gguf_fill_fn fill;
	void *ctx;
};

struct gguf_writer {
	struct buf kv; /* the pairs, serialized */
	uint64_t n_kv;
	char **keys; /* for duplicates */
	uint64_t keys_cap;
	struct wtensor *tensors;
	uint64_t n_tensors;
	uint64_t tensors_cap;
	uint32_t alignment;
};

/* The output file, buffered. */
struct out {
	int fd;
	const char *path;
	uint8_t *buf;
	size_t len;
	uint64_t pos; /* bytes of the file so far, buffered ones included */
};

static int grow(void **p, uint64_t *cap, uint64_t need, size_t elem)
{
	uint64_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * elem);
	if (!q)
		return llmos_fail(-ENOMEM, "gguf writer: out of memory");
	*p = q;
	*cap = n;
	return 0;
}

static int buf_put(struct buf *b, const void *src, size_t n)
{
	uint64_t cap = b->cap;
	int ret = grow((void **)&b->p, &cap, (uint64_t)b->len + n, 1);

	if (ret)
		return ret;
	b->cap = cap;
	if (n)
		memcpy(b->p + b->len, src, n);
	b->len += n;
	return 0;
}

static int buf_u32(struct buf *b, uint32_t v)
{
	return buf_put(b, &v, sizeof(v));
}

static int buf_u64(struct buf *b, uint64_t v)
{
	return buf_put(b, &v, sizeof(v));
}

static int buf_str(struct buf *b, const char *s, uint64_t len)
{
	int ret = buf_u64(b, len);

	return ret ? ret : buf_put(b, s, len);
}

int gguf_writer_new(struct gguf_writer **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return llmos_fail(-ENOMEM, "gguf writer: out of memory");
	(*out)->alignment = GGUF_DEFAULT_ALIGNMENT;
	return 0;
}

void gguf_writer_free(struct gguf_writer *w)
{
	if (!w)
		return;
	for (uint64_t i = 0; i < w->n_kv; i++)
		free(w->keys[i]);
	free(w->keys);
	free(w->kv.p);
	free(w->tensors);
	free(w);
}

int gguf_writer_set_alignment(struct gguf_writer *w, uint32_t alignment)
{
	if (alignment == 0 || (alignment & (alignment - 1)))
		return llmos_fail(-EINVAL, "gguf writer: alignment %u is not a power of two",
				  alignment);
	w->alignment = alignment;
	return 0;
}

static int check_key(const struct gguf_writer *w, const char *key)
{
	size_t len = strlen(key);

	if (len == 0 || len > GGUF_MAX_KEY)
		return llmos_fail(-EINVAL, "gguf writer: key of %zu bytes (1..%u)", len,
				  GGUF_MAX_KEY);
	if (!strcmp(key, GGUF_KEY_ALIGNMENT))
		return llmos_fail(-EINVAL, "gguf writer: set %s with gguf_writer_set_alignment()",
				  key);
	for (uint64_t i = 0; i < w->n_kv; i++)
		if (!strcmp(w->keys[i], key))
			return llmos_fail(-EEXIST, "gguf writer: duplicate key '%s'", key);
	return 0;
}

/* Start a pair: its key and type; *mark is where to roll back to on failure. */
static int kv_begin(struct gguf_writer *w, const char *key, enum gguf_type type, size_t *mark)
{
	int ret = check_key(w, key);

	*mark = w->kv.len;
	if (!ret)
		ret = grow((void **)&w->keys, &w->keys_cap, w->n_kv + 1, sizeof(*w->keys));
	if (!ret)
		ret = buf_str(&w->kv, key, strlen(key));
	if (!ret)
		ret = buf_u32(&w->kv, type);
	return ret;
}

static int kv_end(struct gguf_writer *w, const char *key, size_t mark, int ret)
{
	if (!ret) {
		w->keys[w->n_kv] = strdup(key);
		if (!w->keys[w->n_kv])
			ret = llmos_fail(-ENOMEM, "gguf writer: out of memory");
	}
	if (ret) {
		w->kv.len = mark;
		return ret;
	}
	w->n_kv++;
	return 0;
}

static int add_scalar(struct gguf_writer *w, const char *key, enum gguf_type type, const void *v)
{
	size_t mark;
	int ret = kv_begin(w, key, type, &mark);

	if (!ret)
		ret = buf_put(&w->kv, v, gguf_type_size(type));
	return kv_end(w, key, mark, ret);
}

int gguf_writer_add_u8(struct gguf_writer *w, const char *key, uint8_t v)
{
	return add_scalar(w, key, GGUF_TYPE_UINT8, &v);
}

int gguf_writer_add_i8(struct gguf_writer *w, const char *key, int8_t v)
{
	return add_scalar(w, key, GGUF_TYPE_INT8, &v);
}

int gguf_writer_add_u16(struct gguf_writer *w, const char *key, uint16_t v)
{
	return add_scalar(w, key, GGUF_TYPE_UINT16, &v);
}

int gguf_writer_add_i16(struct gguf_writer *w, const char *key, int16_t v)
{
	return add_scalar(w, key, GGUF_TYPE_INT16, &v);
}

int gguf_writer_add_u32(struct gguf_writer *w, const char *key, uint32_t v)
{
	return add_scalar(w, key, GGUF_TYPE_UINT32, &v);
}

int gguf_writer_add_i32(struct gguf_writer *w, const char *key, int32_t v)
{
	return add_scalar(w, key, GGUF_TYPE_INT32, &v);
}

int gguf_writer_add_u64(struct gguf_writer *w, const char *key, uint64_t v)
{
	return add_scalar(w, key, GGUF_TYPE_UINT64, &v);
}

int gguf_writer_add_i64(struct gguf_writer *w, const char *key, int64_t v)
{
	return add_scalar(w, key, GGUF_TYPE_INT64, &v);
}

int gguf_writer_add_f32(struct gguf_writer *w, const char *key, float v)
{
	return add_scalar(w, key, GGUF_TYPE_FLOAT32, &v);
}

int gguf_writer_add_f64(struct gguf_writer *w, const char *key, double v)
{
	return add_scalar(w, key, GGUF_TYPE_FLOAT64, &v);
}

int gguf_writer_add_bool(struct gguf_writer *w, const char *key, bool v)
{
	uint8_t b = v;

	return add_scalar(w, key, GGUF_TYPE_BOOL, &b);
}

int gguf_writer_add_strn(struct gguf_writer *w, const char *key, const char *s, uint64_t len)
{
	size_t mark;
	int ret = kv_begin(w, key, GGUF_TYPE_STRING, &mark);

	if (!ret)
		ret = buf_str(&w->kv, s, len);
	return kv_end(w, key, mark, ret);
}

int gguf_writer_add_str(struct gguf_writer *w, const char *key, const char *s)
{
	return gguf_writer_add_strn(w, key, s, strlen(s));
}

int gguf_writer_add_arr(struct gguf_writer *w, const char *key, enum gguf_type elem,
			const void *data, uint64_t n)
{
	size_t size = gguf_type_size(elem), mark;
	int ret;

	if (!size)
		return llmos_fail(-EINVAL, "gguf writer: '%s': arrays of %s are not numeric", key,
				  gguf_type_name(elem));
	if (n > SIZE_MAX / size)
		return llmos_fail(-EINVAL, "gguf writer: '%s': array of %" PRIu64 " is too big",
				  key, n);
	ret = kv_begin(w, key, GGUF_TYPE_ARRAY, &mark);
	if (!ret)
		ret = buf_u32(&w->kv, elem);
	if (!ret)
		ret = buf_u64(&w->kv, n);
	if (!ret)
		ret = buf_put(&w->kv, data, n * size);
	return kv_end(w, key, mark, ret);
}

int gguf_writer_add_arr_str(struct gguf_writer *w, const char *key, const char *const *strs,
			    uint64_t n)
{
	size_t mark;
	int ret = kv_begin(w, key, GGUF_TYPE_ARRAY, &mark);

	if (!ret)
		ret = buf_u32(&w->kv, GGUF_TYPE_STRING);
	if (!ret)
		ret = buf_u64(&w->kv, n);
	for (uint64_t i = 0; !ret && i < n; i++)
		ret = buf_str(&w->kv, strs[i], strlen(strs[i]));
	return kv_end(w, key, mark, ret);
}

static int check_shape(const char *name, uint32_t type, uint32_t n_dims, const uint64_t *ne,
		       struct wtensor *t)
{
	uint32_t bs, bb;
	uint64_t n = 1;

	if (gguf_ggml_type_layout(type, &bs, &bb) < 0)
		return llmos_fail(-EINVAL, "gguf writer: tensor '%s': unknown type %u", name, type);
	if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
		return llmos_fail(-EINVAL, "gguf writer: tensor '%s': n_dims %u is not in 1..%d",
				  name, n_dims, GGUF_MAX_DIMS);
	for (uint32_t j = 0; j < GGUF_MAX_DIMS; j++) {
		t->ne[j] = j < n_dims ? ne[j] : 1;
		if (t->ne[j] == 0 || __builtin_mul_overflow(n, t->ne[j], &n) || n > INT64_MAX)
			return llmos_fail(-EINVAL,
					  "gguf writer: tensor '%s': dimension %u (%" PRIu64
					  ") is zero or overflows",
					  name, j, t->ne[j]);
	}
	if (t->ne[0] % bs)
		return llmos_fail(-EINVAL,
				  "gguf writer: tensor '%s': row of %" PRIu64
				  " is not a multiple of the %s block size %u",
				  name, t->ne[0], gguf_ggml_type_name(type), bs);
	if (__builtin_mul_overflow(n / bs, (uint64_t)bb, &t->size))
		return llmos_fail(-EINVAL, "gguf writer: tensor '%s': byte size overflows", name);
	t->row_bytes = t->ne[0] / bs * bb;
	t->type = type;
	t->n_dims = n_dims;
	return 0;
}

static int check_name(const struct gguf_writer *w, const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= GGUF_MAX_NAME)
		return llmos_fail(-EINVAL, "gguf writer: tensor name '%s' is not 1..%d bytes", name,
				  GGUF_MAX_NAME - 1);
	for (uint64_t i = 0; i < w->n_tensors; i++)
		if (!strcmp(w->tensors[i].name, name))
			return llmos_fail(-EEXIST, "gguf writer: duplicate tensor name '%s'", name);
	return 0;
}

static int add_tensor(struct gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
		      const uint64_t *ne, struct wtensor *t)
{
	int ret = check_name(w, name);

	if (!ret)
		ret = check_shape(name, type, n_dims, ne, t);
	if (!ret)
		ret = grow((void **)&w->tensors, &w->tensors_cap, w->n_tensors + 1,
			   sizeof(*w->tensors));
	if (ret)
		return ret;
	strcpy(t->name, name);
	w->tensors[w->n_tensors++] = *t;
	return 0;
}

int gguf_writer_add_tensor(struct gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
			   const uint64_t *ne, const void *data)
{
	struct wtensor t = {.data = data};

	if (!data)
		return llmos_fail(-EINVAL, "gguf writer: tensor '%s': no data", name);
	return add_tensor(w, name, type, n_dims, ne, &t);
}

int gguf_writer_add_tensor_fill(struct gguf_writer *w, const char *name, uint32_t type,
				uint32_t n_dims, const uint64_t *ne, gguf_fill_fn fill, void *ctx)
{
	struct wtensor t = {.fill = fill, .ctx = ctx};

	if (!fill)
		return llmos_fail(-EINVAL, "gguf writer: tensor '%s': no fill callback", name);
	return add_tensor(w, name, type, n_dims, ne, &t);
}

static int write_all(struct out *o, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t r = write(o->fd, b, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return llmos_fail(-errno, "%s: write: %s", o->path, strerror(errno));
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static int out_flush(struct out *o)
{
	int ret = write_all(o, o->buf, o->len);

	o->len = 0;
	return ret;
}

static int out_put(struct out *o, const void *p, uint64_t n)
{
	int ret;

	if (!n)
		return 0;
	if (o->len + n <= OUT_BUF_SIZE) {
		memcpy(o->buf + o->len, p, n);
		o->len += n;
		o->pos += n;
		return 0;
	}
	ret = out_flush(o);
	for (const uint8_t *b = p; !ret && n;) {
		size_t chunk = n > (1u << 30) ? (1u << 30) : (size_t)n;

		ret = write_all(o, b, chunk);
		b += chunk;
		n -= chunk;
		o->pos += chunk;
	}
	return ret;
}

static int out_u32(struct out *o, uint32_t v)
{
	return out_put(o, &v, sizeof(v));
}

static int out_u64(struct out *o, uint64_t v)
{
	return out_put(o, &v, sizeof(v));
}

static int out_pad(struct out *o, uint32_t alignment)
{
	static const uint8_t zeros[256];
	uint64_t n = (alignment - o->pos % alignment) % alignment;
	int ret = 0;

	while (!ret && n) {
		uint64_t chunk = n > sizeof(zeros) ? sizeof(zeros) : n;

		ret = out_put(o, zeros, chunk);
		n -= chunk;
	}
	return ret;
}

static uint64_t align_up(uint64_t x, uint32_t a)
{
	return (x + a - 1) / a * a;
}

static int write_header(struct gguf_writer *w, struct out *o)
{
	bool align_kv = w->alignment != GGUF_DEFAULT_ALIGNMENT;
	int ret = out_u32(o, GGUF_MAGIC);

	if (!ret)
		ret = out_u32(o, GGUF_VERSION);
	if (!ret)
		ret = out_u64(o, w->n_tensors);
	if (!ret)
		ret = out_u64(o, w->n_kv + align_kv);
	if (!ret)
		ret = out_put(o, w->kv.p, w->kv.len);
	if (!ret && align_kv) {
		ret = out_u64(o, strlen(GGUF_KEY_ALIGNMENT));
		if (!ret)
			ret = out_put(o, GGUF_KEY_ALIGNMENT, strlen(GGUF_KEY_ALIGNMENT));
		if (!ret)
			ret = out_u32(o, GGUF_TYPE_UINT32);
		if (!ret)
			ret = out_u32(o, w->alignment);
	}
	return ret;
}

static int write_tensor_infos(struct gguf_writer *w, struct out *o)
{
	uint64_t offset = 0;
	int ret = 0;

	for (uint64_t i = 0; !ret && i < w->n_tensors; i++) {
		struct wtensor *t = &w->tensors[i];

		t->offset = offset;
		offset += align_up(t->size, w->alignment);
		ret = out_u64(o, strlen(t->name));
		if (!ret)
			ret = out_put(o, t->name, strlen(t->name));
		if (!ret)
			ret = out_u32(o, t->n_dims);
		for (uint32_t j = 0; !ret && j < t->n_dims; j++)
			ret = out_u64(o, t->ne[j]);
		if (!ret)
			ret = out_u32(o, t->type);
		if (!ret)
			ret = out_u64(o, t->offset);
	}
	return ret ? ret : out_pad(o, w->alignment);
}

static int write_filled(struct out *o, const struct wtensor *t)
{
	uint64_t rows = FILL_CHUNK / t->row_bytes ? FILL_CHUNK / t->row_bytes : 1;
	uint64_t chunk = rows * t->row_bytes;
	void *buf;
	int ret = 0;

	if (chunk > SIZE_MAX || !(buf = malloc(chunk)))
		return llmos_fail(-ENOMEM, "gguf writer: tensor '%s': no memory for a row",
				  t->name);
	for (uint64_t pos = 0; !ret && pos < t->size; pos += chunk) {
		size_t len = t->size - pos < chunk ? (size_t)(t->size - pos) : (size_t)chunk;

		ret = t->fill(t->ctx, buf, pos, len);
		if (ret < 0)
			ret = llmos_fail(
			    ret, "gguf writer: tensor '%s': fill at byte %" PRIu64 " failed: %s",
			    t->name, pos, llmos_strerror(ret));
		else
			ret = out_put(o, buf, len);
	}
	free(buf);
	return ret;
}

static int write_tensor_data(struct gguf_writer *w, struct out *o)
{
	int ret = 0;

	for (uint64_t i = 0; !ret && i < w->n_tensors; i++) {
		const struct wtensor *t = &w->tensors[i];

		if (t->fill)
			ret = write_filled(o, t);
		else
			ret = out_put(o, t->data, t->size);
		if (!ret)
			ret = out_pad(o, w->alignment);
	}
	return ret ? ret : out_flush(o);
}

static int sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	int fd, ret = 0;

	if (!dir)
		return llmos_fail(-ENOMEM, "gguf writer: out of memory");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		ret = llmos_fail(-errno, "%s: fsync: %s", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
	return ret;
}

/* Write the file through o (open on tmp); close it whatever happens. */
static int write_file(struct gguf_writer *w, struct out *o, unsigned int flags)
{
	int ret = write_header(w, o);

	if (!ret)
		ret = write_tensor_infos(w, o);
	if (!ret)
		ret = write_tensor_data(w, o);
	if (!ret && (flags & GGUF_WRITE_FSYNC) && fsync(o->fd) < 0)
		ret = llmos_fail(-errno, "%s: fsync: %s", o->path, strerror(errno));
	if (close(o->fd) < 0 && !ret)
		ret = llmos_fail(-errno, "%s: close: %s", o->path, strerror(errno));
	return ret;
}

int gguf_writer_write(struct gguf_writer *w, const char *path, unsigned int flags)
{
	struct out o = {.fd = -1};
	char *tmp;
	int ret;

	if (flags & ~GGUF_WRITE_FSYNC)
		return llmos_fail(-EINVAL, "gguf writer: unknown flags 0x%x", flags);
	tmp = malloc(strlen(path) + 5);
	o.buf = malloc(OUT_BUF_SIZE);
	if (!tmp || !o.buf) {
		free(tmp);
		free(o.buf);
		return llmos_fail(-ENOMEM, "gguf writer: out of memory");
	}
	sprintf(tmp, "%s.tmp", path);
	o.path = tmp;
	o.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (o.fd < 0)
		ret = llmos_fail(-errno, "%s: %s", tmp, strerror(errno));
	else
		ret = write_file(w, &o, flags);
	if (!ret && rename(tmp, path) < 0)
		ret = llmos_fail(-errno, "%s: rename to %s: %s", tmp, path, strerror(errno));
	if (ret && o.fd >= 0)
		unlink(tmp);
	if (!ret && (flags & GGUF_WRITE_FSYNC))
		ret = sync_dir(path);
	free(tmp);
	free(o.buf);
	return ret;
}

/* A scalar pair of any type, as the reader decoded it. */
static int copy_scalar_kv(struct gguf_writer *w, const char *key, const struct gguf_kv *kv)
{
	switch (kv->type) {
	case GGUF_TYPE_UINT8: return gguf_writer_add_u8(w, key, (uint8_t)kv->v.u64);
	case GGUF_TYPE_INT8: return gguf_writer_add_i8(w, key, (int8_t)kv->v.i64);
	case GGUF_TYPE_UINT16: return gguf_writer_add_u16(w, key, (uint16_t)kv->v.u64);
	case GGUF_TYPE_INT16: return gguf_writer_add_i16(w, key, (int16_t)kv->v.i64);
	case GGUF_TYPE_UINT32: return gguf_writer_add_u32(w, key, (uint32_t)kv->v.u64);
	case GGUF_TYPE_INT32: return gguf_writer_add_i32(w, key, (int32_t)kv->v.i64);
	case GGUF_TYPE_UINT64: return gguf_writer_add_u64(w, key, kv->v.u64);
	case GGUF_TYPE_INT64: return gguf_writer_add_i64(w, key, kv->v.i64);
	case GGUF_TYPE_FLOAT32: return gguf_writer_add_f32(w, key, (float)kv->v.f64);
	case GGUF_TYPE_FLOAT64: return gguf_writer_add_f64(w, key, kv->v.f64);
	case GGUF_TYPE_BOOL: return gguf_writer_add_bool(w, key, kv->v.u64 != 0);
	case GGUF_TYPE_STRING: return gguf_writer_add_strn(w, key, kv->v.str.ptr, kv->v.str.len);
	default: return llmos_fail(-EINVAL, "gguf writer: '%s': cannot copy a %s", key,
				   gguf_type_name(kv->type));
	}
}

/* A string array, each string a NUL-terminated copy for the writer. */
static int copy_str_array_kv(struct gguf_writer *w, const char *key, const struct gguf_kv *kv)
{
	uint64_t n = kv->v.arr.n, i, len;
	char **s = calloc(n ? n : 1, sizeof(*s));
	int ret = s ? 0 : llmos_fail(-ENOMEM, "gguf writer: '%s': out of memory", key);

	for (i = 0; !ret && i < n; i++) {
		const char *p;

		ret = gguf_arr_get_str(kv, i, &p, &len);
		if (!ret && !(s[i] = strndup(p, len)))
			ret = llmos_fail(-ENOMEM, "gguf writer: '%s': out of memory", key);
	}
	if (!ret)
		ret = gguf_writer_add_arr_str(w, key, (const char *const *)s, n);
	for (i = 0; s && i < n; i++)
		free(s[i]);
	free(s);
	return ret;
}

int gguf_writer_copy_kv(struct gguf_writer *w, const struct gguf_kv *kv)
{
	char *key = strndup(kv->key.ptr, kv->key.len);
	int ret;

	if (!key)
		return llmos_fail(-ENOMEM, "gguf writer: out of memory");
	if (kv->type != GGUF_TYPE_ARRAY)
		ret = copy_scalar_kv(w, key, kv);
	else if (kv->v.arr.type == GGUF_TYPE_STRING)
		ret = copy_str_array_kv(w, key, kv);
	else
		ret = gguf_writer_add_arr(w, key, kv->v.arr.type, kv->v.arr.data, kv->v.arr.n);
	free(key);
	return ret;
}
