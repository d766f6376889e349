/* SPDX-License-Identifier: MIT */
/*
 * hash.h - the string hash of libllmos's lookup tables (GGUF names,
 * tokenizer pieces): 64-bit FNV-1a.
 */
#ifndef LLMOS_HASH_H
#define LLMOS_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t llmos_hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
	return h;
}

#endif /* LLMOS_HASH_H */
