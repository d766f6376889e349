/* SPDX-License-Identifier: MIT */
/*
 * gguf_write.h - build a GGUF v3 file: metadata pairs in the order added,
 * then tensors, written atomically (to path.tmp, then renamed).
 *
 * Tensor data is not copied: give a pointer that stays valid until
 * gguf_writer_write(), or a fill callback that produces the bytes in chunks
 * of whole rows, so that big synthetic or quantized models need not sit in
 * memory twice.  The writer refuses what the reader would refuse (duplicate
 * keys or names, bad shapes, unknown types) when it is added.
 */
#ifndef LLMOS_GGUF_WRITE_H
#define LLMOS_GGUF_WRITE_H

#include "gguf.h"

struct gguf_writer;

/*
 * Produce len bytes of a tensor's data, starting at byte pos of it, into
 * buf; pos and len are whole rows (ne[0] elements).  Return 0 or a negative
 * error code, which gguf_writer_write() then returns.
 */
typedef int (*gguf_fill_fn)(void *ctx, void *buf, uint64_t pos, size_t len);

int gguf_writer_new(struct gguf_writer **out);
void gguf_writer_free(struct gguf_writer *w);

/* A power of two; anything but 32 is recorded as general.alignment (u32). */
int gguf_writer_set_alignment(struct gguf_writer *w, uint32_t alignment);

int gguf_writer_add_u8(struct gguf_writer *w, const char *key, uint8_t v);
int gguf_writer_add_i8(struct gguf_writer *w, const char *key, int8_t v);
int gguf_writer_add_u16(struct gguf_writer *w, const char *key, uint16_t v);
int gguf_writer_add_i16(struct gguf_writer *w, const char *key, int16_t v);
int gguf_writer_add_u32(struct gguf_writer *w, const char *key, uint32_t v);
int gguf_writer_add_i32(struct gguf_writer *w, const char *key, int32_t v);
int gguf_writer_add_u64(struct gguf_writer *w, const char *key, uint64_t v);
int gguf_writer_add_i64(struct gguf_writer *w, const char *key, int64_t v);
int gguf_writer_add_f32(struct gguf_writer *w, const char *key, float v);
int gguf_writer_add_f64(struct gguf_writer *w, const char *key, double v);
int gguf_writer_add_bool(struct gguf_writer *w, const char *key, bool v);
int gguf_writer_add_str(struct gguf_writer *w, const char *key, const char *s);
int gguf_writer_add_strn(struct gguf_writer *w, const char *key, const char *s, uint64_t len);
/* n numeric elements of type elem, laid out as in memory (little-endian). */
int gguf_writer_add_arr(struct gguf_writer *w, const char *key, enum gguf_type elem,
			const void *data, uint64_t n);
int gguf_writer_add_arr_str(struct gguf_writer *w, const char *key, const char *const *strs,
			    uint64_t n);

/* A copy of a pair another file holds (gguf.h's reader), under the same key. */
int gguf_writer_copy_kv(struct gguf_writer *w, const struct gguf_kv *kv);

/* A tensor of ggml type `type` and shape ne[0..n_dims-1]; data is not copied. */
int gguf_writer_add_tensor(struct gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
			   const uint64_t *ne, const void *data);
int gguf_writer_add_tensor_fill(struct gguf_writer *w, const char *name, uint32_t type,
				uint32_t n_dims, const uint64_t *ne, gguf_fill_fn fill, void *ctx);

#define GGUF_WRITE_FSYNC (1u << 0) /* fsync the file and its directory */

/* Write everything to path (through path.tmp; nothing is left on failure). */
int gguf_writer_write(struct gguf_writer *w, const char *path, unsigned int flags);

#endif /* LLMOS_GGUF_WRITE_H */
