/* SPDX-License-Identifier: MIT */
/*
 * fuzz_gguf.c - libFuzzer harness for the GGUF reader: parse the input, then
 * walk everything the parser handed out (keys, strings, arrays, tensors).
 * Not built by default; from the repository root:
 *
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Ilib \
 *         -Ikernels tests/fuzz/fuzz_gguf.c lib/gguf.c lib/gguf_meta.c lib/error.c \
 *         -o build/fuzz_gguf
 *   mkdir -p build/corpus && cp ../shared/models/stories260K-f32.gguf build/corpus/
 *   build/fuzz_gguf -max_len=65536 build/corpus
 *
 * (The reference model is 1.1 MB; a -max_len of 64 KiB covers all of its
 * header and metadata and keeps the fuzzer fast.)
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static void walk_kv(const struct gguf_kv *kv)
{
	const char *s;
	uint64_t len;
	int32_t i32;
	float f32;

	sink += kv->key.ptr[kv->key.len - 1];
	if (kv->type == GGUF_TYPE_STRING && kv->v.str.len)
		sink += (uint8_t)kv->v.str.ptr[kv->v.str.len - 1];
	if (kv->type != GGUF_TYPE_ARRAY)
		return;
	for (uint64_t i = 0; i < kv->v.arr.n; i++) {
		if (!gguf_arr_get_str(kv, i, &s, &len) && len)
			sink += (uint8_t)s[len - 1];
		if (!gguf_arr_get_i32(kv, i, &i32))
			sink += (uint32_t)i32;
		if (!gguf_arr_get_f32(kv, i, &f32))
			sink += f32 == f32;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gguf_file *f;
	uint32_t u32;

	if (gguf_parse(&f, data, size))
		return 0;
	for (uint64_t i = 0; i < gguf_kv_count(f); i++)
		walk_kv(gguf_kv_at(f, i));
	for (uint64_t i = 0; i < gguf_tensor_count(f); i++) {
		const struct gguf_tensor *t = gguf_tensor_at(f, i);

		sink += ((const uint8_t *)t->data)[0] + ((const uint8_t *)t->data)[t->size - 1];
		if (gguf_find_tensor(f, t->name) != t)
			__builtin_trap();
	}
	if (!gguf_get_u32(f, "llama.block_count", &u32))
		sink += u32;
	gguf_close(f);
	return 0;
}
