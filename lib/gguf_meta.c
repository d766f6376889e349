/* SPDX-License-Identifier: MIT */
/*
 * gguf_meta.c - GGUF value and ggml tensor type tables, and the typed
 * getters of metadata that convert integers only when the value fits.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "gguf.h"
#include "internal.h"
#include "kernels.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *name;
	size_t size;
} value_types[GGUF_TYPE_COUNT] = {
    [GGUF_TYPE_UINT8] = {"u8", 1},	[GGUF_TYPE_INT8] = {"i8", 1},
    [GGUF_TYPE_UINT16] = {"u16", 2},	[GGUF_TYPE_INT16] = {"i16", 2},
    [GGUF_TYPE_UINT32] = {"u32", 4},	[GGUF_TYPE_INT32] = {"i32", 4},
    [GGUF_TYPE_FLOAT32] = {"f32", 4},	[GGUF_TYPE_BOOL] = {"bool", 1},
    [GGUF_TYPE_STRING] = {"string", 0}, [GGUF_TYPE_ARRAY] = {"array", 0},
    [GGUF_TYPE_UINT64] = {"u64", 8},	[GGUF_TYPE_INT64] = {"i64", 8},
    [GGUF_TYPE_FLOAT64] = {"f64", 8},
};

/*
 * Layouts of every ggml tensor type (as in ggml.c's type_traits); ids that
 * ggml removed (4, 5, 31-33, 36-38) have no name.  llmos computes with few.
 */
static const struct {
	const char *name;
	uint16_t block_size; /* elements per block */
	uint16_t block_bytes;
} ggml_types[] = {
    [0] = {"f32", 1, 4},	 [1] = {"f16", 1, 2},	      [2] = {"q4_0", 32, 18},
    [3] = {"q4_1", 32, 20},	 [6] = {"q5_0", 32, 22},      [7] = {"q5_1", 32, 24},
    [8] = {"q8_0", 32, 34},	 [9] = {"q8_1", 32, 36},      [10] = {"q2_K", 256, 84},
    [11] = {"q3_K", 256, 110},	 [12] = {"q4_K", 256, 144},   [13] = {"q5_K", 256, 176},
    [14] = {"q6_K", 256, 210},	 [15] = {"q8_K", 256, 292},   [16] = {"iq2_xxs", 256, 66},
    [17] = {"iq2_xs", 256, 74},	 [18] = {"iq3_xxs", 256, 98}, [19] = {"iq1_s", 256, 50},
    [20] = {"iq4_nl", 32, 18},	 [21] = {"iq3_s", 256, 110},  [22] = {"iq2_s", 256, 82},
    [23] = {"iq4_xs", 256, 136}, [24] = {"i8", 1, 1},	      [25] = {"i16", 1, 2},
    [26] = {"i32", 1, 4},	 [27] = {"i64", 1, 8},	      [28] = {"f64", 1, 8},
    [29] = {"iq1_m", 256, 56},	 [30] = {"bf16", 1, 2},	      [34] = {"tq1_0", 256, 54},
    [35] = {"tq2_0", 256, 66},	 [39] = {"mxfp4", 32, 17},
};

const char *gguf_type_name(enum gguf_type t)
{
	return (unsigned int)t < GGUF_TYPE_COUNT ? value_types[t].name : "?";
}

size_t gguf_type_size(enum gguf_type t)
{
	return (unsigned int)t < GGUF_TYPE_COUNT ? value_types[t].size : 0;
}

const char *gguf_ggml_type_name(uint32_t type)
{
	return type < ARRAY_SIZE(ggml_types) ? ggml_types[type].name : NULL;
}

int gguf_ggml_type_layout(uint32_t type, uint32_t *block_size, uint32_t *block_bytes)
{
	if (!gguf_ggml_type_name(type))
		return -ENOENT;
	*block_size = ggml_types[type].block_size;
	*block_bytes = ggml_types[type].block_bytes;
	return 0;
}

/* Types llmos can read: those its kernels' traits table converts. */
bool gguf_ggml_type_supported(uint32_t type)
{
	const struct llmos_type_traits *t =
		type < LLMOS_TYPE_COUNT ? llmos_type_traits((enum llmos_type)type) : NULL;

	return t && t->to_float;
}

void gguf_decode_scalar(enum gguf_type t, const void *b, struct gguf_kv *kv)
{
	union {
		uint8_t u8;
		uint16_t u16;
		uint32_t u32;
		float f32;
		uint64_t u64;
	} x = {.u64 = 0};

	memcpy(&x, b, gguf_type_size(t));
	switch (t) {
	case GGUF_TYPE_UINT8:
	case GGUF_TYPE_BOOL:
		kv->v.u64 = x.u8;
		break;
	case GGUF_TYPE_INT8:
		kv->v.i64 = (int8_t)x.u8;
		break;
	case GGUF_TYPE_UINT16:
		kv->v.u64 = x.u16;
		break;
	case GGUF_TYPE_INT16:
		kv->v.i64 = (int16_t)x.u16;
		break;
	case GGUF_TYPE_UINT32:
		kv->v.u64 = x.u32;
		break;
	case GGUF_TYPE_INT32:
		kv->v.i64 = (int32_t)x.u32;
		break;
	case GGUF_TYPE_FLOAT32:
		kv->v.f64 = x.f32;
		break;
	case GGUF_TYPE_UINT64:
		kv->v.u64 = x.u64;
		break;
	case GGUF_TYPE_INT64:
		kv->v.i64 = (int64_t)x.u64;
		break;
	case GGUF_TYPE_FLOAT64:
		memcpy(&kv->v.f64, &x.u64, sizeof(kv->v.f64));
		break;
	default:
		break;
	}
}

static bool is_unsigned(enum gguf_type t)
{
	return t == GGUF_TYPE_UINT8 || t == GGUF_TYPE_UINT16 || t == GGUF_TYPE_UINT32 ||
	       t == GGUF_TYPE_UINT64;
}

static bool is_signed(enum gguf_type t)
{
	return t == GGUF_TYPE_INT8 || t == GGUF_TYPE_INT16 || t == GGUF_TYPE_INT32 ||
	       t == GGUF_TYPE_INT64;
}

static int wrong_type(const struct gguf_kv *kv, const char *want)
{
	return llmos_fail(-LLMOS_EFORMAT, "gguf: key '%.*s' at byte %" PRIu64 " is %s, expected %s",
			  (int)kv->key.len, kv->key.ptr, kv->file_offset, gguf_type_name(kv->type),
			  want);
}

/* An integer scalar within [min, max], as a two's complement u64 in *v. */
static int to_int(const struct gguf_kv *kv, int64_t min, uint64_t max, const char *want,
		  uint64_t *v)
{
	bool fits;

	if (is_unsigned(kv->type))
		fits = kv->v.u64 <= max;
	else if (is_signed(kv->type))
		fits = kv->v.i64 >= min && (kv->v.i64 < 0 || (uint64_t)kv->v.i64 <= max);
	else
		return wrong_type(kv, want);
	if (!fits) {
		if (is_unsigned(kv->type))
			return llmos_fail(-LLMOS_EFORMAT,
					  "gguf: key '%.*s' at byte %" PRIu64 ": value %" PRIu64
					  " does not fit %s",
					  (int)kv->key.len, kv->key.ptr, kv->file_offset, kv->v.u64,
					  want);
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: key '%.*s' at byte %" PRIu64 ": value %" PRId64
				  " does not fit %s",
				  (int)kv->key.len, kv->key.ptr, kv->file_offset, kv->v.i64, want);
	}
	*v = kv->v.u64;
	return 0;
}

static int to_float(const struct gguf_kv *kv, double *v)
{
	if (kv->type != GGUF_TYPE_FLOAT32 && kv->type != GGUF_TYPE_FLOAT64)
		return wrong_type(kv, "f32 or f64");
	*v = kv->v.f64;
	return 0;
}

/* An f64 whose magnitude is beyond float's range does not fit f32. */
static int to_f32(const struct gguf_kv *kv, float *out)
{
	double v = 0;
	int ret = to_float(kv, &v);

	if (ret)
		return ret;
	if (__builtin_isfinite(v) && !__builtin_isfinite((float)v))
		return llmos_fail(-LLMOS_EFORMAT,
				  "gguf: key '%.*s' at byte %" PRIu64 ": value %g does not fit f32",
				  (int)kv->key.len, kv->key.ptr, kv->file_offset, v);
	*out = (float)v;
	return 0;
}

static int lookup(const struct gguf_file *f, const char *key, const struct gguf_kv **kv)
{
	*kv = gguf_find_key(f, key);
	if (!*kv)
		return llmos_fail(-ENOENT, "gguf: key '%s' not found", key);
	return 0;
}

int gguf_get_u32(const struct gguf_file *f, const char *key, uint32_t *out)
{
	const struct gguf_kv *kv;
	uint64_t v = 0;
	int ret = lookup(f, key, &kv);

	if (!ret)
		ret = to_int(kv, 0, UINT32_MAX, "u32", &v);
	if (!ret)
		*out = (uint32_t)v;
	return ret;
}

int gguf_get_i32(const struct gguf_file *f, const char *key, int32_t *out)
{
	const struct gguf_kv *kv;
	uint64_t v = 0;
	int ret = lookup(f, key, &kv);

	if (!ret)
		ret = to_int(kv, INT32_MIN, INT32_MAX, "i32", &v);
	if (!ret)
		*out = (int32_t)(int64_t)v;
	return ret;
}

int gguf_get_u64(const struct gguf_file *f, const char *key, uint64_t *out)
{
	const struct gguf_kv *kv;
	int ret = lookup(f, key, &kv);

	return ret ? ret : to_int(kv, 0, UINT64_MAX, "u64", out);
}

int gguf_get_i64(const struct gguf_file *f, const char *key, int64_t *out)
{
	const struct gguf_kv *kv;
	uint64_t v = 0;
	int ret = lookup(f, key, &kv);

	if (!ret)
		ret = to_int(kv, INT64_MIN, INT64_MAX, "i64", &v);
	if (!ret)
		*out = (int64_t)v;
	return ret;
}

int gguf_get_f64(const struct gguf_file *f, const char *key, double *out)
{
	const struct gguf_kv *kv;
	int ret = lookup(f, key, &kv);

	return ret ? ret : to_float(kv, out);
}

int gguf_get_f32(const struct gguf_file *f, const char *key, float *out)
{
	const struct gguf_kv *kv;
	int ret = lookup(f, key, &kv);

	return ret ? ret : to_f32(kv, out);
}

int gguf_get_bool(const struct gguf_file *f, const char *key, bool *out)
{
	const struct gguf_kv *kv;
	int ret = lookup(f, key, &kv);

	if (ret)
		return ret;
	if (kv->type != GGUF_TYPE_BOOL)
		return wrong_type(kv, "bool");
	*out = kv->v.u64 != 0;
	return 0;
}

int gguf_get_str(const struct gguf_file *f, const char *key, const char **s, uint64_t *len)
{
	const struct gguf_kv *kv;
	int ret = lookup(f, key, &kv);

	if (ret)
		return ret;
	if (kv->type != GGUF_TYPE_STRING)
		return wrong_type(kv, "string");
	*s = kv->v.str.ptr;
	*len = kv->v.str.len;
	return 0;
}

int gguf_get_arr(const struct gguf_file *f, const char *key, enum gguf_type elem,
		 const struct gguf_kv **out)
{
	const struct gguf_kv *kv;
	int ret = lookup(f, key, &kv);

	if (ret)
		return ret;
	if (kv->type != GGUF_TYPE_ARRAY)
		return wrong_type(kv, "array");
	if (elem != GGUF_TYPE_COUNT && kv->v.arr.type != elem)
		return llmos_fail(
		    -LLMOS_EFORMAT,
		    "gguf: key '%s' at byte %" PRIu64 " is an array of %s, expected an array of %s",
		    key, kv->file_offset, gguf_type_name(kv->v.arr.type), gguf_type_name(elem));
	*out = kv;
	return 0;
}

/* Element i of a numeric array, decoded as a scalar pair of the same key. */
static int arr_elem(const struct gguf_kv *kv, uint64_t i, struct gguf_kv *elem)
{
	size_t size;

	if (kv->type != GGUF_TYPE_ARRAY)
		return wrong_type(kv, "array");
	if (i >= kv->v.arr.n)
		return llmos_fail(
		    -ERANGE, "gguf: key '%.*s': index %" PRIu64 " is out of the array of %" PRIu64,
		    (int)kv->key.len, kv->key.ptr, i, kv->v.arr.n);
	*elem = *kv;
	elem->type = kv->v.arr.type;
	size = gguf_type_size(elem->type);
	if (size)
		gguf_decode_scalar(elem->type, (const uint8_t *)kv->v.arr.data + i * size, elem);
	return 0;
}

int gguf_arr_get_u32(const struct gguf_kv *kv, uint64_t i, uint32_t *out)
{
	struct gguf_kv e;
	uint64_t v = 0;
	int ret = arr_elem(kv, i, &e);

	if (!ret)
		ret = to_int(&e, 0, UINT32_MAX, "u32", &v);
	if (!ret)
		*out = (uint32_t)v;
	return ret;
}

int gguf_arr_get_i32(const struct gguf_kv *kv, uint64_t i, int32_t *out)
{
	struct gguf_kv e;
	uint64_t v = 0;
	int ret = arr_elem(kv, i, &e);

	if (!ret)
		ret = to_int(&e, INT32_MIN, INT32_MAX, "i32", &v);
	if (!ret)
		*out = (int32_t)(int64_t)v;
	return ret;
}

int gguf_arr_get_i64(const struct gguf_kv *kv, uint64_t i, int64_t *out)
{
	struct gguf_kv e;
	uint64_t v = 0;
	int ret = arr_elem(kv, i, &e);

	if (!ret)
		ret = to_int(&e, INT64_MIN, INT64_MAX, "i64", &v);
	if (!ret)
		*out = (int64_t)v;
	return ret;
}

int gguf_arr_get_f32(const struct gguf_kv *kv, uint64_t i, float *out)
{
	struct gguf_kv e;
	int ret = arr_elem(kv, i, &e);

	return ret ? ret : to_f32(&e, out);
}

int gguf_arr_get_str(const struct gguf_kv *kv, uint64_t i, const char **s, uint64_t *len)
{
	const uint8_t *at;
	struct gguf_kv e;
	int ret = arr_elem(kv, i, &e);

	if (ret)
		return ret;
	if (e.type != GGUF_TYPE_STRING)
		return wrong_type(&e, "string");
	at = (const uint8_t *)kv->v.arr.data + kv->v.arr.str_off[i];
	memcpy(len, at, sizeof(*len));
	*s = (const char *)at + sizeof(*len);
	return 0;
}
