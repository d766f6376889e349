/* SPDX-License-Identifier: MIT */
/*
 * gguf.h - a zero-copy reader of GGUF v2/v3 model files (gguf.c) and a
 * writer of GGUF v3 files (gguf_write.c, declared in gguf_write.h).
 *
 * The reader validates the whole header (metadata and tensor table) before
 * handing anything out: every failure is -LLMOS_EFORMAT (malformed) or
 * -LLMOS_EUNSUPPORTED (valid GGUF that llmos does not handle), with the
 * field and its file offset in llmos_last_error().  Strings, arrays and
 * tensor data point into the mapped file; nothing is copied except the
 * tensor names (short, NUL-terminated here for convenience).
 *
 * GGUF is little-endian; so are the hosts llmos runs on.  Nested arrays
 * (arrays of arrays) are refused with -LLMOS_EUNSUPPORTED, as ggml does.
 */
#ifndef LLMOS_GGUF_H
#define LLMOS_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GGUF_MAGIC 0x46554747u /* "GGUF" read as a little-endian u32 */
#define GGUF_VERSION 3	       /* the version gguf_write.c writes */
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_KEY_ALIGNMENT "general.alignment"
#define GGUF_MAX_DIMS 4
#define GGUF_MAX_NAME 64   /* tensor names are at most 63 bytes, as in ggml */
#define GGUF_MAX_KEY 65535 /* the GGUF spec's limit on key length */

/* Metadata value types, numbered as in the file. */
enum gguf_type {
	GGUF_TYPE_UINT8 = 0,
	GGUF_TYPE_INT8 = 1,
	GGUF_TYPE_UINT16 = 2,
	GGUF_TYPE_INT16 = 3,
	GGUF_TYPE_UINT32 = 4,
	GGUF_TYPE_INT32 = 5,
	GGUF_TYPE_FLOAT32 = 6,
	GGUF_TYPE_BOOL = 7,
	GGUF_TYPE_STRING = 8,
	GGUF_TYPE_ARRAY = 9,
	GGUF_TYPE_UINT64 = 10,
	GGUF_TYPE_INT64 = 11,
	GGUF_TYPE_FLOAT64 = 12,
	GGUF_TYPE_COUNT
};

/* A string inside the file: not NUL-terminated, print with "%.*s". */
struct gguf_str {
	const char *ptr;
	uint64_t len;
};

/*
 * struct gguf_kv - one metadata pair, decoded; read-only for users.
 * Scalars are widened: unsigned integers and bools in v.u64, signed integers
 * in v.i64, f32 and f64 in v.f64.  Arrays give the raw little-endian
 * elements (possibly unaligned: read them with the gguf_arr_get_*() helpers
 * or memcpy) or, for arrays of strings, indexed access by gguf_arr_get_str().
 */
struct gguf_kv {
	struct gguf_str key;
	enum gguf_type type;
	uint64_t file_offset; /* where the pair starts in the file */
	union {
		uint64_t u64;
		int64_t i64;
		double f64;
		struct gguf_str str;
		struct {
			enum gguf_type type; /* element type, never ARRAY */
			uint64_t n;
			const void *data;	 /* first element (or first string's length) */
			const uint64_t *str_off; /* strings: offset of each from data */
		} arr;
	} v;
};

/* struct gguf_tensor - one entry of the tensor table; read-only for users. */
struct gguf_tensor {
	char name[GGUF_MAX_NAME]; /* NUL-terminated copy */
	uint32_t name_len;
	uint32_t type;		    /* ggml type id (enum llmos_type for the supported ones) */
	uint32_t n_dims;	    /* 1..4 */
	uint64_t ne[GGUF_MAX_DIMS]; /* elements per dimension, ne[0] the row; unused are 1 */
	uint64_t n_elems;
	uint64_t offset; /* from the start of the data section */
	uint64_t size;	 /* bytes */
	const void *data;
	uint64_t info_offset; /* where its entry starts in the file */
};

struct gguf_file;

/*
 * Map path read-only and parse it; *out is freed by gguf_close().  As with
 * any mapping, a file truncated by someone else while mapped raises SIGBUS.
 */
int gguf_open(struct gguf_file **out, const char *path);
/* Parse memory the caller owns and keeps alive until gguf_close(). */
int gguf_parse(struct gguf_file **out, const void *data, size_t size);
void gguf_close(struct gguf_file *f);

uint32_t gguf_version(const struct gguf_file *f);
uint32_t gguf_alignment(const struct gguf_file *f);
uint64_t gguf_data_offset(const struct gguf_file *f); /* start of the data section */
const void *gguf_data(const struct gguf_file *f);     /* the whole file */
size_t gguf_size(const struct gguf_file *f);

/* Metadata: iteration and lookup (NULL if absent). */
uint64_t gguf_kv_count(const struct gguf_file *f);
const struct gguf_kv *gguf_kv_at(const struct gguf_file *f, uint64_t i);
const struct gguf_kv *gguf_find_key(const struct gguf_file *f, const char *key);

/*
 * Typed getters by key: 0 on success, -ENOENT if the key is absent, and
 * -LLMOS_EFORMAT if its type is wrong or its value does not fit.  Integer
 * getters accept any integer type whose value fits; float getters accept
 * f32 and f64; bool only bool; strings only strings.
 */
int gguf_get_u32(const struct gguf_file *f, const char *key, uint32_t *out);
int gguf_get_i32(const struct gguf_file *f, const char *key, int32_t *out);
int gguf_get_u64(const struct gguf_file *f, const char *key, uint64_t *out);
int gguf_get_i64(const struct gguf_file *f, const char *key, int64_t *out);
int gguf_get_f32(const struct gguf_file *f, const char *key, float *out);
int gguf_get_f64(const struct gguf_file *f, const char *key, double *out);
int gguf_get_bool(const struct gguf_file *f, const char *key, bool *out);
int gguf_get_str(const struct gguf_file *f, const char *key, const char **s, uint64_t *len);
/* An array whose elements are of type elem (GGUF_TYPE_COUNT: any type). */
int gguf_get_arr(const struct gguf_file *f, const char *key, enum gguf_type elem,
		 const struct gguf_kv **out);

/* Element i of an array, converted as the getters above convert. */
int gguf_arr_get_u32(const struct gguf_kv *kv, uint64_t i, uint32_t *out);
int gguf_arr_get_i32(const struct gguf_kv *kv, uint64_t i, int32_t *out);
int gguf_arr_get_i64(const struct gguf_kv *kv, uint64_t i, int64_t *out);
int gguf_arr_get_f32(const struct gguf_kv *kv, uint64_t i, float *out);
int gguf_arr_get_str(const struct gguf_kv *kv, uint64_t i, const char **s, uint64_t *len);

/* Tensors: iteration in file order and lookup by name (NULL if absent). */
uint64_t gguf_tensor_count(const struct gguf_file *f);
const struct gguf_tensor *gguf_tensor_at(const struct gguf_file *f, uint64_t i);
const struct gguf_tensor *gguf_find_tensor(const struct gguf_file *f, const char *name);

/* Decode a scalar of type t from (possibly unaligned) file bytes into kv->v. */
void gguf_decode_scalar(enum gguf_type t, const void *b, struct gguf_kv *kv);

/* "u32", "string", ...; "?" for an unknown type. */
const char *gguf_type_name(enum gguf_type t);
/* Size in bytes of a scalar of type t, 0 for strings, arrays and unknown types. */
size_t gguf_type_size(enum gguf_type t);

/*
 * ggml tensor types: name ("q8_0"; NULL if the id is unknown or was removed
 * from ggml), layout (0, or -ENOENT for such ids), and whether llmos
 * computes with it (F32, F16, BF16, Q4_0, Q4_1, Q8_0, Q8_1).
 */
const char *gguf_ggml_type_name(uint32_t type);
int gguf_ggml_type_layout(uint32_t type, uint32_t *block_size, uint32_t *block_bytes);
bool gguf_ggml_type_supported(uint32_t type);

#endif /* LLMOS_GGUF_H */
