/* SPDX-License-Identifier: MIT */
/*
 * gguf.c - parse and validate a GGUF v2/v3 file in memory (or mapped from a
 * path) without copying it.  Every read goes through a bounds-checked
 * cursor, every count is bounded by the bytes left before anything is
 * allocated, and every failure names the field and its file offset.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf.h"
#include "hash.h"
#include "internal.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf.c reads the little-endian GGUF format with native loads"
#endif

#define HEADER_SIZE 24		   /* magic, version, tensor count, kv count */
#define MIN_KV_SIZE 14		   /* key length, 1-byte key, type, 1-byte value */
#define MIN_TENSOR_SIZE 33	   /* name length, 1-byte name, n_dims, one dim, type, offset */
#define MAX_COUNT (UINT32_MAX - 1) /* index slots hold index + 1 in a u32 */

/* Open addressing from names to indices; a slot holds index + 1, 0 if empty. */
struct name_index {
	uint32_t *slots;
	uint64_t mask;
};

struct gguf_file {
	const uint8_t *data;
	size_t size;
	void *map; /* gguf_open()'s mapping of data, NULL for gguf_parse() */
	uint32_t version;
	uint32_t alignment;
	uint64_t data_offset;
	uint64_t n_kv;
	uint64_t n_tensors;
	struct gguf_kv *kv;
	struct gguf_tensor *tensors;
	struct name_index kv_index;
	struct name_index tensor_index;
};

/* The parser: a cursor over the file and what it is reading, for messages. */
struct parser {
	struct gguf_file *f;
	uint64_t pos;
	char what[128]; /* "header", "kv 3 'general.name'", "tensor 0 'output.weight'" */
};

typedef struct gguf_str (*name_of_fn)(const struct gguf_file *f, uint32_t i);

static int index_init(struct name_index *ix, uint64_t n)
{
	uint64_t cap = 8;

	while (cap < 2 * n)
		cap *= 2;
	ix->slots = calloc(cap, sizeof(*ix->slots));
	if (!ix->slots)
		return llmos_fail(-ENOMEM, "gguf: out of memory for an index of %" PRIu64 " names",
				  n);
	ix->mask = cap - 1;
	return 0;
}

/* The slot holding name, or the empty slot where it would go. */
static uint32_t *index_slot(const struct gguf_file *f, const struct name_index *ix,
			    name_of_fn name_of, const char *name, uint64_t len)
{
	uint64_t i = llmos_hash_bytes(name, len) & ix->mask;

	for (;; i = (i + 1) & ix->mask) {
		uint32_t *slot = &ix->slots[i];
		struct gguf_str other;

		if (!*slot)
			return slot;
		other = name_of(f, *slot - 1);
		if (other.len == len && !memcmp(other.ptr, name, len))
			return slot;
	}
}

static struct gguf_str kv_name(const struct gguf_file *f, uint32_t i)
{
	return f->kv[i].key;
}

static struct gguf_str tensor_name(const struct gguf_file *f, uint32_t i)
{
	return (struct gguf_str){f->tensors[i].name, f->tensors[i].name_len};
}

static uint64_t remaining(const struct parser *p)
{
	return p->f->size - p->pos;
}

static int truncated(const struct parser *p, const char *field, uint64_t need)
{
	return llmos_fail(-LLMOS_EFORMAT,
			  "gguf: %s: %s at byte %" PRIu64 ": truncated (needs %" PRIu64
			  " bytes, %" PRIu64 " left in a file of %zu)",
			  p->what, field, p->pos, need, remaining(p), p->f->size);
}

static int take(struct parser *p, uint64_t n, const char *field, const uint8_t **out)
{
	if (n > remaining(p))
		return truncated(p, field, n);
	*out = p->f->data + p->pos;
	p->pos += n;
	return 0;
}

static int read_u32(struct parser *p, const char *field, uint32_t *v)
{
	const uint8_t *b = NULL;
	int ret = take(p, sizeof(*v), field, &b);

	if (!ret)
		memcpy(v, b, sizeof(*v));
	return ret;
}

static int read_u64(struct parser *p, const char *field, uint64_t *v)
{
	const uint8_t *b = NULL;
	int ret = take(p, sizeof(*v), field, &b);

	if (!ret)
		memcpy(v, b, sizeof(*v));
	return ret;
}

/* A length-prefixed string; field names it in messages (with index if not -1). */
static int read_str(struct parser *p, const char *field, uint64_t index, struct gguf_str *s)
{
	uint64_t at = p->pos, len;
	const uint8_t *b = NULL;
	char name[64];
	int ret;

	if (index == UINT64_MAX)
		snprintf(name, sizeof(name), "%s", field);
	else
		snprintf(name, sizeof(name), "%s %" PRIu64, field, index);
	ret = read_u64(p, name, &len);
	if (ret)
		return ret;
	if (len > remaining(p))
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: %s: %s at byte %" PRIu64 ": length %" PRIu64
				  " exceeds the %" PRIu64 " bytes left in the file",
				  p->what, name, at, len, remaining(p));
	ret = take(p, len, name, &b);
	if (ret)
		return ret;
	s->ptr = (const char *)b;
	s->len = len;
	return 0;
}

static int check_header(struct parser *p)
{
	struct gguf_file *f = p->f;
	uint32_t magic;
	int ret;

	snprintf(p->what, sizeof(p->what), "header");
	ret = read_u32(p, "magic", &magic);
	if (ret)
		return ret;
	if (magic != GGUF_MAGIC)
		return llmos_fail(
		    -LLMOS_EFORMAT,
		    "gguf: bad magic 0x%08x at byte 0 (expected 'GGUF'): not a GGUF file", magic);
	ret = read_u32(p, "version", &f->version);
	if (ret)
		return ret;
	if (f->version == 2 || f->version == 3)
		return 0;
	if (f->version == 1)
		return llmos_fail(
		    -LLMOS_EUNSUPPORTED,
		    "gguf: version 1 at byte 4 is not supported (GGUF v1 is obsolete; "
		    "convert the model again)");
	if (f->version == 0x02000000 || f->version == 0x03000000)
		return llmos_fail(-LLMOS_EUNSUPPORTED,
				  "gguf: version at byte 4 is byte-swapped: big-endian GGUF is not "
				  "supported");
	if (f->version > 3 && f->version < 256)
		return llmos_fail(-LLMOS_EUNSUPPORTED,
				  "gguf: version %u at byte 4 is newer than this reader (2 and 3)",
				  f->version);
	return llmos_fail(-LLMOS_EFORMAT, "gguf: version %u at byte 4 is invalid", f->version);
}

/* A count is bounded by what the rest of the file could hold. */
static int read_count(struct parser *p, const char *field, uint64_t min_entry, uint64_t *n)
{
	uint64_t at = p->pos;
	int ret = read_u64(p, field, n);

	if (ret)
		return ret;
	if (*n > remaining(p) / min_entry || *n > MAX_COUNT)
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: %s %" PRIu64 " at byte %" PRIu64
				  " is more than the %" PRIu64 " bytes left can hold",
				  field, *n, at, remaining(p));
	return 0;
}

static int decode_scalar(struct parser *p, enum gguf_type t, const uint8_t *b, struct gguf_kv *kv)
{
	if (t == GGUF_TYPE_BOOL && b[0] > 1)
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: %s: bool value %u at byte %" PRIu64 " is neither 0 nor 1",
				  p->what, b[0], (uint64_t)(b - p->f->data));
	gguf_decode_scalar(t, b, kv);
	return 0;
}

static int parse_string_array(struct parser *p, struct gguf_kv *kv, uint64_t at)
{
	uint64_t n = kv->v.arr.n, base = p->pos;
	uint64_t *off;
	struct gguf_str s;
	int ret;

	if (n > remaining(p) / sizeof(uint64_t))
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: %s: array length %" PRIu64 " at byte %" PRIu64
				  ": that many strings exceed the %" PRIu64 " bytes left",
				  p->what, n, at, remaining(p));
	off = malloc((n ? n : 1) * sizeof(*off));
	if (!off)
		return llmos_fail(-ENOMEM, "gguf: %s: out of memory for %" PRIu64 " strings",
				  p->what, n);
	kv->v.arr.str_off = off; /* freed by gguf_close() whatever happens next */
	for (uint64_t i = 0; i < n; i++) {
		off[i] = p->pos - base;
		ret = read_str(p, "array string", i, &s);
		if (ret)
			return ret;
	}
	return 0;
}

static int check_bools(struct parser *p, const uint8_t *b, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (b[i] > 1)
			return llmos_fail(-LLMOS_EFORMAT,
					  "gguf: %s: array bool %" PRIu64
					  " (value %u) at byte %" PRIu64 " is neither 0 nor 1",
					  p->what, i, b[i], (uint64_t)(b + i - p->f->data));
	return 0;
}

static int parse_array(struct parser *p, struct gguf_kv *kv)
{
	uint64_t at = p->pos, n;
	uint32_t type;
	size_t esize;
	int ret;

	ret = read_u32(p, "array element type", &type);
	if (ret)
		return ret;
	if (type == GGUF_TYPE_ARRAY)
		return llmos_fail(-LLMOS_EUNSUPPORTED,
				  "gguf: %s: array element type at byte %" PRIu64
				  " is array: nested arrays are not supported",
				  p->what, at);
	if (type >= GGUF_TYPE_COUNT)
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: %s: array element type %u at byte %" PRIu64 " is unknown",
				  p->what, type, at);
	at = p->pos;
	ret = read_u64(p, "array length", &n);
	if (ret)
		return ret;
	kv->v.arr.type = type;
	kv->v.arr.n = n;
	kv->v.arr.data = p->f->data + p->pos;
	if (type == GGUF_TYPE_STRING)
		return parse_string_array(p, kv, at);
	esize = gguf_type_size(type);
	if (n > remaining(p) / esize)
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: %s: array length %" PRIu64 " at byte %" PRIu64 ": %" PRIu64
				  " elements of %zu bytes exceed the %" PRIu64 " bytes left",
				  p->what, n, at, n, esize, remaining(p));
	if (type == GGUF_TYPE_BOOL) {
		ret = check_bools(p, kv->v.arr.data, n);
		if (ret)
			return ret;
	}
	p->pos += n * esize;
	return 0;
}

static int parse_value(struct parser *p, struct gguf_kv *kv)
{
	uint64_t at = p->pos;
	const uint8_t *b = NULL;
	uint32_t type;
	int ret;

	ret = read_u32(p, "value type", &type);
	if (ret)
		return ret;
	if (type >= GGUF_TYPE_COUNT)
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: %s: value type %u at byte %" PRIu64 " is unknown", p->what,
				  type, at);
	kv->type = type;
	if (type == GGUF_TYPE_STRING)
		return read_str(p, "string value", UINT64_MAX, &kv->v.str);
	if (type == GGUF_TYPE_ARRAY)
		return parse_array(p, kv);
	ret = take(p, gguf_type_size(type), "value", &b);
	if (ret)
		return ret;
	return decode_scalar(p, type, b, kv);
}

static int parse_key(struct parser *p, uint64_t i, struct gguf_kv *kv)
{
	struct gguf_file *f = p->f;
	uint32_t *slot;
	int ret;

	snprintf(p->what, sizeof(p->what), "kv %" PRIu64, i);
	kv->file_offset = p->pos;
	ret = read_str(p, "key", UINT64_MAX, &kv->key);
	if (ret)
		return ret;
	if (kv->key.len == 0)
		return llmos_fail(-LLMOS_EFORMAT, "gguf: %s: key at byte %" PRIu64 " is empty",
				  p->what, kv->file_offset);
	if (kv->key.len > GGUF_MAX_KEY)
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: %s: key at byte %" PRIu64 " is %" PRIu64
				  " bytes long, the limit is %u",
				  p->what, kv->file_offset, kv->key.len, GGUF_MAX_KEY);
	if (memchr(kv->key.ptr, '\0', kv->key.len))
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: %s: key at byte %" PRIu64 " contains a NUL byte", p->what,
				  kv->file_offset);
	snprintf(p->what, sizeof(p->what), "kv %" PRIu64 " '%.*s'", i,
		 (int)(kv->key.len > 64 ? 64 : kv->key.len), kv->key.ptr);
	slot = index_slot(f, &f->kv_index, kv_name, kv->key.ptr, kv->key.len);
	if (*slot)
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: %s: duplicate key at byte %" PRIu64 " (also kv %u)",
				  p->what, kv->file_offset, *slot - 1);
	*slot = (uint32_t)i + 1;
	return 0;
}

static int parse_kvs(struct parser *p)
{
	struct gguf_file *f = p->f;
	int ret;

	f->kv = calloc(f->n_kv ? f->n_kv : 1, sizeof(*f->kv));
	if (!f->kv)
		return llmos_fail(-ENOMEM, "gguf: out of memory for %" PRIu64 " kvs", f->n_kv);
	ret = index_init(&f->kv_index, f->n_kv);
	for (uint64_t i = 0; !ret && i < f->n_kv; i++) {
		ret = parse_key(p, i, &f->kv[i]);
		if (!ret)
			ret = parse_value(p, &f->kv[i]);
	}
	return ret;
}

static int read_alignment(struct gguf_file *f)
{
	const struct gguf_kv *kv = gguf_find_key(f, GGUF_KEY_ALIGNMENT);
	uint32_t a;
	int ret;

	f->alignment = GGUF_DEFAULT_ALIGNMENT;
	if (!kv)
		return 0;
	ret = gguf_get_u32(f, GGUF_KEY_ALIGNMENT, &a);
	if (ret)
		return ret;
	if (a == 0 || (a & (a - 1)))
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: " GGUF_KEY_ALIGNMENT " %u at byte %" PRIu64
				  " is not a non-zero power of two",
				  a, kv->file_offset);
	f->alignment = a;
	return 0;
}

static int parse_tensor_name(struct parser *p, uint64_t i, struct gguf_tensor *t)
{
	struct gguf_file *f = p->f;
	struct gguf_str name;
	uint32_t *slot;
	int ret;

	snprintf(p->what, sizeof(p->what), "tensor %" PRIu64, i);
	ret = read_str(p, "name", UINT64_MAX, &name);
	if (ret)
		return ret;
	if (name.len == 0)
		return llmos_fail(-LLMOS_EFORMAT, "gguf: %s: name at byte %" PRIu64 " is empty",
				  p->what, t->info_offset);
	if (name.len >= GGUF_MAX_NAME)
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: %s: name at byte %" PRIu64 " is %" PRIu64
				  " bytes long, the limit is %d",
				  p->what, t->info_offset, name.len, GGUF_MAX_NAME - 1);
	if (memchr(name.ptr, '\0', name.len))
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: %s: name at byte %" PRIu64 " contains a NUL byte", p->what,
				  t->info_offset);
	memcpy(t->name, name.ptr, name.len);
	t->name[name.len] = '\0';
	t->name_len = (uint32_t)name.len;
	snprintf(p->what, sizeof(p->what), "tensor %" PRIu64 " '%s'", i, t->name);
	slot = index_slot(f, &f->tensor_index, tensor_name, t->name, t->name_len);
	if (*slot)
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: %s: duplicate tensor name at byte %" PRIu64
				  " (also tensor %u)",
				  p->what, t->info_offset, *slot - 1);
	*slot = (uint32_t)i + 1;
	return 0;
}

static int parse_dims(struct parser *p, struct gguf_tensor *t)
{
	uint64_t at = p->pos;
	int ret;

	ret = read_u32(p, "n_dims", &t->n_dims);
	if (ret)
		return ret;
	if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: %s: n_dims %u at byte %" PRIu64 " is not in 1..%d",
				  p->what, t->n_dims, at, GGUF_MAX_DIMS);
	t->n_elems = 1;
	for (uint32_t j = 0; j < GGUF_MAX_DIMS; j++) {
		t->ne[j] = 1;
		if (j >= t->n_dims)
			continue;
		at = p->pos;
		ret = read_u64(p, "dimension", &t->ne[j]);
		if (ret)
			return ret;
		if (t->ne[j] == 0 || t->ne[j] > INT64_MAX)
			return llmos_fail(-LLMOS_EFORMAT,
					  "gguf: %s: dimension %u (%" PRIu64 ") at byte %" PRIu64
					  " is not in 1..2^63-1",
					  p->what, j, t->ne[j], at);
		if (__builtin_mul_overflow(t->n_elems, t->ne[j], &t->n_elems) ||
		    t->n_elems > INT64_MAX)
			return llmos_fail(
			    -LLMOS_EFORMAT,
			    "gguf: %s: element count overflows at dimension %u (%" PRIu64
			    ") at byte %" PRIu64,
			    p->what, j, t->ne[j], at);
	}
	return 0;
}

static int parse_type(struct parser *p, struct gguf_tensor *t)
{
	uint64_t at = p->pos;
	uint32_t bs, bb;
	int ret;

	ret = read_u32(p, "type", &t->type);
	if (ret)
		return ret;
	if (gguf_ggml_type_layout(t->type, &bs, &bb) < 0)
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: %s: type %u at byte %" PRIu64 " is an unknown type",
				  p->what, t->type, at);
	if (!gguf_ggml_type_supported(t->type))
		return llmos_fail(-LLMOS_EUNSUPPORTED,
				  "gguf: %s: type %s (%u) at byte %" PRIu64
				  " is an unsupported type in llmos",
				  p->what, gguf_ggml_type_name(t->type), t->type, at);
	if (t->ne[0] % bs)
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: %s: row of %" PRIu64
				  " elements is not a multiple of the %s "
				  "block size %u (type at byte %" PRIu64 ")",
				  p->what, t->ne[0], gguf_ggml_type_name(t->type), bs, at);
	if (__builtin_mul_overflow(t->n_elems / bs, (uint64_t)bb, &t->size))
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: %s: byte size of %" PRIu64 " %s elements overflows",
				  p->what, t->n_elems, gguf_ggml_type_name(t->type));
	return 0;
}

static int parse_tensor_info(struct parser *p, uint64_t i)
{
	struct gguf_tensor *t = &p->f->tensors[i];
	uint64_t at;
	int ret;

	t->info_offset = p->pos;
	ret = parse_tensor_name(p, i, t);
	if (!ret)
		ret = parse_dims(p, t);
	if (!ret)
		ret = parse_type(p, t);
	if (ret)
		return ret;
	at = p->pos;
	ret = read_u64(p, "offset", &t->offset);
	if (ret)
		return ret;
	if (t->offset % p->f->alignment)
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: %s: offset %" PRIu64 " at byte %" PRIu64
				  " is misaligned (alignment %u)",
				  p->what, t->offset, at, p->f->alignment);
	return 0;
}

static int parse_tensor_infos(struct parser *p)
{
	struct gguf_file *f = p->f;
	int ret;

	f->tensors = calloc(f->n_tensors ? f->n_tensors : 1, sizeof(*f->tensors));
	if (!f->tensors)
		return llmos_fail(-ENOMEM, "gguf: out of memory for %" PRIu64 " tensors",
				  f->n_tensors);
	ret = index_init(&f->tensor_index, f->n_tensors);
	for (uint64_t i = 0; !ret && i < f->n_tensors; i++)
		ret = parse_tensor_info(p, i);
	return ret;
}

static int place_data_section(struct parser *p)
{
	struct gguf_file *f = p->f;
	uint64_t start = (p->pos + f->alignment - 1) & ~(uint64_t)(f->alignment - 1);

	if (start > f->size) {
		if (f->n_tensors)
			return llmos_fail(-LLMOS_EFORMAT,
					  "gguf: data section start %" PRIu64
					  " (tensor table end %" PRIu64 " padded to %u) beyond end "
					  "of file (%zu)",
					  start, p->pos, f->alignment, f->size);
		start = f->size; /* no tensors: the padding may be left out */
	}
	f->data_offset = start;
	return 0;
}

static int place_tensor(struct gguf_file *f, uint64_t i)
{
	struct gguf_tensor *t = &f->tensors[i];
	uint64_t data_len = f->size - f->data_offset;

	if (t->offset > data_len || t->size > data_len - t->offset)
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: tensor %" PRIu64 " '%s': data [offset %" PRIu64
				  ", size %" PRIu64 "] beyond end of file (%zu) at byte %" PRIu64,
				  i, t->name, t->offset, t->size, f->size, t->info_offset);
	t->data = f->data + f->data_offset + t->offset;
	return 0;
}

struct extent {
	uint64_t offset;
	uint64_t end;
	uint64_t index;
};

static int cmp_extent(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int check_overlaps(struct gguf_file *f)
{
	struct extent *e = malloc((f->n_tensors ? f->n_tensors : 1) * sizeof(*e));
	int ret = 0;

	if (!e)
		return llmos_fail(-ENOMEM, "gguf: out of memory checking tensor overlaps");
	for (uint64_t i = 0; i < f->n_tensors; i++)
		e[i] = (struct extent){f->tensors[i].offset,
				       f->tensors[i].offset + f->tensors[i].size, i};
	qsort(e, f->n_tensors, sizeof(*e), cmp_extent);
	for (uint64_t i = 1; i < f->n_tensors && !ret; i++) {
		const struct gguf_tensor *a = &f->tensors[e[i - 1].index];
		const struct gguf_tensor *b = &f->tensors[e[i].index];

		if (e[i - 1].end > e[i].offset)
			ret = llmos_fail(-LLMOS_EFORMAT,
					 "gguf: tensor %" PRIu64 " '%s': data [offset %" PRIu64
					 ", size %" PRIu64 "] overlaps tensor %" PRIu64
					 " '%s' [offset %" PRIu64 ", size %" PRIu64
					 "] at byte %" PRIu64,
					 e[i].index, b->name, b->offset, b->size, e[i - 1].index,
					 a->name, a->offset, a->size, b->info_offset);
	}
	free(e);
	return ret;
}

static int parse_all(struct parser *p)
{
	struct gguf_file *f = p->f;
	int ret;

	ret = check_header(p);
	if (!ret)
		ret = read_count(p, "tensor count", MIN_TENSOR_SIZE, &f->n_tensors);
	if (!ret)
		ret = read_count(p, "kv count", MIN_KV_SIZE, &f->n_kv);
	if (!ret)
		ret = parse_kvs(p);
	if (!ret)
		ret = read_alignment(f);
	if (!ret)
		ret = parse_tensor_infos(p);
	if (!ret)
		ret = place_data_section(p);
	for (uint64_t i = 0; !ret && i < f->n_tensors; i++)
		ret = place_tensor(f, i);
	if (!ret)
		ret = check_overlaps(f);
	return ret;
}

int gguf_parse(struct gguf_file **out, const void *data, size_t size)
{
	struct parser p = {.pos = 0};
	int ret;

	*out = NULL;
	if (!data && size)
		return llmos_fail(-EINVAL, "gguf_parse: NULL data of %zu bytes", size);
	p.f = calloc(1, sizeof(*p.f));
	if (!p.f)
		return llmos_fail(-ENOMEM, "gguf: out of memory");
	p.f->data = data;
	p.f->size = size;
	ret = parse_all(&p);
	if (ret) {
		gguf_close(p.f);
		return ret;
	}
	*out = p.f;
	return 0;
}

/* Put the path in front of the detail of the failure. */
static int fail_with_path(int err, const char *path)
{
	char detail[512];

	snprintf(detail, sizeof(detail), "%s", llmos_last_error());
	return llmos_fail(err, "%s: %s", path, detail);
}

int gguf_open(struct gguf_file **out, const char *path)
{
	struct gguf_file *f;
	void *map = NULL;
	struct stat st;
	size_t size;
	int fd, ret;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return llmos_fail(-errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		close(fd);
		return llmos_fail(ret, "%s: fstat: %s", path, strerror(-ret));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return llmos_fail(-EINVAL, "%s: not a regular file", path);
	}
	size = (size_t)st.st_size;
	if (size) {
		map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			ret = -errno;
			close(fd);
			return llmos_fail(ret, "%s: mmap: %s", path, strerror(-ret));
		}
	}
	close(fd);
	ret = gguf_parse(&f, map, size);
	if (ret) {
		if (map)
			munmap(map, size);
		return fail_with_path(ret, path);
	}
	f->map = map;
	*out = f;
	return 0;
}

void gguf_close(struct gguf_file *f)
{
	if (!f)
		return;
	for (uint64_t i = 0; f->kv && i < f->n_kv; i++)
		if (f->kv[i].type == GGUF_TYPE_ARRAY)
			free((void *)f->kv[i].v.arr.str_off);
	free(f->kv);
	free(f->tensors);
	free(f->kv_index.slots);
	free(f->tensor_index.slots);
	if (f->map)
		munmap(f->map, f->size);
	free(f);
}

uint32_t gguf_version(const struct gguf_file *f)
{
	return f->version;
}

uint32_t gguf_alignment(const struct gguf_file *f)
{
	return f->alignment;
}

uint64_t gguf_data_offset(const struct gguf_file *f)
{
	return f->data_offset;
}

const void *gguf_data(const struct gguf_file *f)
{
	return f->data;
}

size_t gguf_size(const struct gguf_file *f)
{
	return f->size;
}

uint64_t gguf_kv_count(const struct gguf_file *f)
{
	return f->n_kv;
}

const struct gguf_kv *gguf_kv_at(const struct gguf_file *f, uint64_t i)
{
	return i < f->n_kv ? &f->kv[i] : NULL;
}

const struct gguf_kv *gguf_find_key(const struct gguf_file *f, const char *key)
{
	const uint32_t *slot;

	if (!f->kv_index.slots)
		return NULL;
	slot = index_slot(f, &f->kv_index, kv_name, key, strlen(key));
	return *slot ? &f->kv[*slot - 1] : NULL;
}

uint64_t gguf_tensor_count(const struct gguf_file *f)
{
	return f->n_tensors;
}

const struct gguf_tensor *gguf_tensor_at(const struct gguf_file *f, uint64_t i)
{
	return i < f->n_tensors ? &f->tensors[i] : NULL;
}

const struct gguf_tensor *gguf_find_tensor(const struct gguf_file *f, const char *name)
{
	const uint32_t *slot;

	if (!f->tensor_index.slots)
		return NULL;
	slot = index_slot(f, &f->tensor_index, tensor_name, name, strlen(name));
	return *slot ? &f->tensors[*slot - 1] : NULL;
}
