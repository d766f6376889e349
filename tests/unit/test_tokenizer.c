/* SPDX-License-Identifier: MIT */
/*
 * test_tokenizer.c - the llama tokenizer and detokenizer, on small made-up
 * vocabularies and on the real one of stories260K (read from the GGUF file
 * by a minimal metadata walker below), against ids from llama.cpp.
 *
 * The model is looked for in $LLMOS_TEST_MODELS, else ../shared/models/
 * (relative to the repository root, where `make check` runs); tests that
 * need it are skipped when it is absent.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "llmos/llmos.h"
#include "tokenizer.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MODEL_FILE "stories260K-f32.gguf"

/* ---- a minimal GGUF v3 metadata walker, for the tokenizer arrays only ---- */

enum gguf_type {
	GGUF_U8,
	GGUF_I8,
	GGUF_U16,
	GGUF_I16,
	GGUF_U32,
	GGUF_I32,
	GGUF_F32,
	GGUF_BOOL,
	GGUF_STRING,
	GGUF_ARRAY,
	GGUF_U64,
	GGUF_I64,
	GGUF_F64,
};

struct cursor {
	const unsigned char *p, *end;
	int bad;
};

struct vocab {
	unsigned char *file;
	int n;
	const char **pieces;
	size_t *lens;
	float *scores;
	int32_t *types;
	uint32_t bos, eos, unk;
};

static const unsigned char *take(struct cursor *c, uint64_t n)
{
	const unsigned char *p = c->p;

	if (c->bad || n > (uint64_t)(c->end - c->p)) {
		c->bad = 1;
		return NULL;
	}
	c->p += n;
	return p;
}

static uint64_t read_uint(struct cursor *c, unsigned int size)
{
	const unsigned char *p = take(c, size);
	uint64_t v = 0;

	for (unsigned int i = 0; p && i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static const char *read_str(struct cursor *c, size_t *len)
{
	*len = (size_t)read_uint(c, 8);
	return (const char *)take(c, *len);
}

static unsigned int scalar_size(uint32_t type)
{
	static const unsigned char sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

	return type < ARRAY_SIZE(sizes) ? sizes[type] : 0;
}

static void skip_value(struct cursor *c, uint32_t type)
{
	size_t len;

	if (type == GGUF_STRING) {
		read_str(c, &len);
	} else if (type == GGUF_ARRAY) {
		uint32_t elem = (uint32_t)read_uint(c, 4);
		uint64_t n = read_uint(c, 8);

		for (uint64_t i = 0; i < n && !c->bad; i++)
			skip_value(c, elem);
	} else if (scalar_size(type)) {
		take(c, scalar_size(type));
	} else {
		c->bad = 1;
	}
}

/* Read the header of an array of elem_type; returns its length. */
static int read_array_header(struct cursor *c, uint32_t type, uint32_t elem_type)
{
	uint64_t n;

	if (type != GGUF_ARRAY || read_uint(c, 4) != elem_type)
		c->bad = 1;
	n = read_uint(c, 8);
	if (c->bad || n == 0 || n > 1000000)
		return c->bad = 1, 0;
	return (int)n;
}

static void *alloc_array(struct vocab *v, int n, size_t elem_size)
{
	if (v->n && v->n != n)
		return NULL;
	v->n = n;
	return calloc((size_t)n, elem_size);
}

static void read_tokens(struct cursor *c, struct vocab *v, uint32_t type)
{
	int n = read_array_header(c, type, GGUF_STRING);

	v->pieces = alloc_array(v, n, sizeof(*v->pieces));
	v->lens = alloc_array(v, n, sizeof(*v->lens));
	for (int i = 0; i < n && v->pieces && v->lens; i++)
		v->pieces[i] = read_str(c, &v->lens[i]);
}

static void read_scores(struct cursor *c, struct vocab *v, uint32_t type)
{
	int n = read_array_header(c, type, GGUF_F32);

	v->scores = alloc_array(v, n, sizeof(*v->scores));
	for (int i = 0; i < n && v->scores; i++) {
		uint32_t bits = (uint32_t)read_uint(c, 4);

		memcpy(&v->scores[i], &bits, sizeof(bits));
	}
}

static void read_types(struct cursor *c, struct vocab *v, uint32_t type)
{
	int n = read_array_header(c, type, GGUF_I32);

	v->types = alloc_array(v, n, sizeof(*v->types));
	for (int i = 0; i < n && v->types; i++)
		v->types[i] = (int32_t)read_uint(c, 4);
}

static int key_is(const char *key, size_t len, const char *name)
{
	return len == strlen(name) && memcmp(key, name, len) == 0;
}

static void read_kv(struct cursor *c, struct vocab *v)
{
	size_t len;
	const char *key = read_str(c, &len);
	uint32_t type = (uint32_t)read_uint(c, 4);

	if (c->bad)
		return;
	if (key_is(key, len, "tokenizer.ggml.tokens"))
		read_tokens(c, v, type);
	else if (key_is(key, len, "tokenizer.ggml.scores"))
		read_scores(c, v, type);
	else if (key_is(key, len, "tokenizer.ggml.token_type"))
		read_types(c, v, type);
	else if (key_is(key, len, "tokenizer.ggml.bos_token_id") && type == GGUF_U32)
		v->bos = (uint32_t)read_uint(c, 4);
	else if (key_is(key, len, "tokenizer.ggml.eos_token_id") && type == GGUF_U32)
		v->eos = (uint32_t)read_uint(c, 4);
	else if (key_is(key, len, "tokenizer.ggml.unknown_token_id") && type == GGUF_U32)
		v->unk = (uint32_t)read_uint(c, 4);
	else
		skip_value(c, type);
}

static int parse_gguf_vocab(struct vocab *v, size_t size)
{
	struct cursor c = {v->file, v->file + size, 0};
	uint64_t n_kv;

	if (size < 24 || memcmp(v->file, "GGUF", 4) != 0)
		return -1;
	take(&c, 4);
	if (read_uint(&c, 4) != 3)
		return -1;
	read_uint(&c, 8); /* tensors */
	n_kv = read_uint(&c, 8);
	for (uint64_t i = 0; i < n_kv && !c.bad; i++)
		read_kv(&c, v);
	return c.bad || !v->pieces || !v->lens || !v->scores || !v->types ? -1 : 0;
}

/* ---- finding and loading the reference files ---- */

static char *model_path(const char *name)
{
	const char *dir = getenv("LLMOS_TEST_MODELS");
	char *path;

	if (!dir || !*dir)
		dir = "../shared/models";
	path = malloc(strlen(dir) + strlen(name) + 2);
	assert_non_null(path);
	sprintf(path, "%s/%s", dir, name);
	return path;
}

/* The whole file, NUL-terminated; NULL if it cannot be read. */
static unsigned char *read_whole_file(const char *name, size_t *size)
{
	char *path = model_path(name);
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long len;

	free(path);
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)len + 1);
		if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[len] = '\0';
			*size = (size_t)len;
		}
	}
	fclose(f);
	return buf;
}

static void free_vocab(struct vocab *v)
{
	free(v->file);
	free(v->pieces);
	free(v->lens);
	free(v->scores);
	free(v->types);
	memset(v, 0, sizeof(*v));
}

struct fixture {
	struct vocab vocab;
	struct llmos_tokenizer *tok; /* NULL when the model is absent */
};

static int load_model_vocab(struct fixture *fx)
{
	size_t size;

	fx->vocab.file = read_whole_file(MODEL_FILE, &size);
	if (!fx->vocab.file) {
		print_message("SKIP: %s not found in $LLMOS_TEST_MODELS or ../shared/models;"
			      " tests on the real vocabulary are skipped\n",
			      MODEL_FILE);
		return 0;
	}
	if (parse_gguf_vocab(&fx->vocab, size) != 0) {
		print_error("%s: cannot read its tokenizer metadata\n", MODEL_FILE);
		return -1;
	}
	return llmos_tokenizer_create(&fx->tok, fx->vocab.n, fx->vocab.pieces, fx->vocab.lens,
				      fx->vocab.scores, fx->vocab.types, (int)fx->vocab.bos,
				      (int)fx->vocab.eos, (int)fx->vocab.unk);
}

static int group_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	*state = fx;
	return load_model_vocab(fx);
}

static int group_teardown(void **state)
{
	struct fixture *fx = *state;

	llmos_tokenizer_free(fx->tok);
	free_vocab(&fx->vocab);
	free(fx);
	return 0;
}

static struct llmos_tokenizer *model_tok(void **state)
{
	struct fixture *fx = *state;

	if (!fx->tok)
		skip();
	return fx->tok;
}

/* ---- helpers ---- */

/* Tokenize into a fresh array; *n gets the count. */
static int32_t *tokenize(const struct llmos_tokenizer *tok, const char *text, size_t len,
			 unsigned int flags, int *n)
{
	size_t cap = LLMOS_TOKENIZE_MAX_IDS(len);
	int32_t *ids = malloc(cap * sizeof(*ids));

	assert_non_null(ids);
	*n = llmos_tokenize(tok, text, len, flags, ids, cap);
	assert_true(*n >= 0);
	assert_true((size_t)*n <= cap);
	return ids;
}

/* Detokenize into a fresh NUL-terminated string; *len gets its length. */
static char *detokenize(const struct llmos_tokenizer *tok, const int32_t *ids, size_t n,
			unsigned int flags, size_t *len)
{
	int need = llmos_detokenize(tok, ids, n, flags, NULL, 0);
	char *text;

	assert_true(need >= 0);
	text = malloc((size_t)need + 1);
	assert_non_null(text);
	assert_int_equal(llmos_detokenize(tok, ids, n, flags, text, (size_t)need + 1), need);
	*len = (size_t)need;
	return text;
}

static void assert_ids(const int32_t *got, int n_got, const int32_t *want, size_t n_want)
{
	for (size_t i = 0; i < n_want && i < (size_t)n_got; i++) {
		if (got[i] != want[i])
			fail_msg("id %zu: got %d, want %d", i, got[i], want[i]);
	}
	if ((size_t)n_got != n_want)
		fail_msg("got %d ids, want %zu", n_got, n_want);
}

/* The vocabulary bytes of the ids, byte tokens as their byte: the escaped text. */
static size_t raw_bytes(const struct llmos_tokenizer *tok, const int32_t *ids, int n, char *out)
{
	size_t pos = 0;

	for (int i = 0; i < n; i++) {
		size_t len;
		const char *p = llmos_tokenizer_piece(tok, ids[i], &len);

		assert_non_null(p);
		if (llmos_tokenizer_token_type(tok, ids[i]) == LLMOS_TOKEN_BYTE) {
			out[pos++] = (char)strtol(p + 3, NULL, 16);
		} else {
			memcpy(out + pos, p, len);
			pos += len;
		}
	}
	return pos;
}

/* ---- creation on made-up vocabularies ---- */

static const char *const tiny_pieces[] = {"<unk>",
					  "<s>",
					  "</s>",
					  "a",
					  "b",
					  "ab",
					  "\xe2\x96\x81",
					  "\xe2\x96\x81\x61", /* "▁a" */
					  "bc",
					  "c"};
static const float tiny_scores[] = {0, 0, 0, -1, -2, -3, -4, -5, -3, -6};
static const int32_t tiny_types[] = {2, 3, 3, 1, 1, 1, 1, 1, 1, 1};

static void test_create_rejects_bad_input(void **state)
{
	const char *pieces[] = {"<unk>", "<s>", "</s>", "a", "a"};
	const char *null_piece[] = {"<unk>", "<s>", NULL};
	const char *bad_byte[] = {"<unk>", "<s>", "</s>", "<0xZZ>"};
	const int32_t byte_types[] = {2, 3, 3, 6};
	const int32_t bad_types[] = {2, 3, 3, 7};
	struct llmos_tokenizer *tok = (void *)1;

	(void)state;
	assert_int_equal(llmos_tokenizer_create(&tok, 0, pieces, NULL, NULL, NULL, 0, 0, 0),
			 -EINVAL);
	assert_null(tok);
	assert_int_equal(llmos_tokenizer_create(&tok, 3, NULL, NULL, NULL, NULL, 1, 2, 0), -EINVAL);
	assert_int_equal(llmos_tokenizer_create(&tok, 3, null_piece, NULL, NULL, NULL, 1, 1, 0),
			 -EINVAL);
	assert_int_equal(llmos_tokenizer_create(&tok, 4, pieces, NULL, NULL, NULL, 1, 4, 0),
			 -EINVAL);
	assert_int_equal(llmos_tokenizer_create(&tok, 4, pieces, NULL, NULL, NULL, -2, 2, 0),
			 -EINVAL); /* -1 means none; below that is bad */
	assert_int_equal(llmos_tokenizer_create(&tok, 5, pieces, NULL, NULL, NULL, 1, 2, 0),
			 -LLMOS_EFORMAT);
	assert_non_null(strstr(llmos_last_error(), "both \"a\""));
	assert_int_equal(llmos_tokenizer_create(&tok, 4, bad_byte, NULL, NULL, byte_types, 1, 2, 0),
			 -LLMOS_EFORMAT);
	assert_null(tok);
	/* an unknown type reads as undefined, as llama.cpp reads it */
	assert_int_equal(llmos_tokenizer_create(&tok, 4, pieces, NULL, NULL, bad_types, 1, 2, 0), 0);
	assert_int_equal(llmos_tokenizer_token_type(tok, 3), LLMOS_TOKEN_UNDEFINED);
	llmos_tokenizer_free(tok);
}

static void test_create_copies_pieces(void **state)
{
	/* not NUL-terminated: the lengths say where each piece ends */
	char buf[] = "<unk><s></s>xyz";
	const char *pieces[] = {buf, buf + 5, buf + 8, buf + 12};
	const size_t lens[] = {5, 3, 4, 2};
	struct llmos_tokenizer *tok;
	size_t len;

	(void)state;
	assert_int_equal(llmos_tokenizer_create(&tok, 4, pieces, lens, NULL, NULL, 1, 2, 0), 0);
	memset(buf, 'q', sizeof(buf) - 1);
	assert_int_equal(llmos_tokenizer_n_vocab(tok), 4);
	assert_memory_equal(llmos_tokenizer_piece(tok, 3, &len), "xy", 2);
	assert_int_equal(len, 2);
	assert_null(llmos_tokenizer_piece(tok, 4, &len));
	assert_int_equal(llmos_tokenizer_find(tok, "</s>", 4), 2);
	assert_int_equal(llmos_tokenizer_find(tok, "xyz", 3), -ENOENT);
	assert_int_equal(llmos_tokenizer_token_type(tok, 0), LLMOS_TOKEN_NORMAL);
	assert_int_equal(llmos_tokenizer_token_type(tok, -1), -EINVAL);
	assert_int_equal(llmos_tokenizer_max_piece_len(tok), 5);
	llmos_tokenizer_free(tok);
}

static void check_tiny(const struct llmos_tokenizer *tok, const char *text, const int32_t *want,
		       size_t n_want)
{
	int n;
	int32_t *ids = tokenize(tok, text, strlen(text), 0, &n);

	assert_ids(ids, n, want, n_want);
	free(ids);
}

/* Highest score first, leftmost on ties; unknown bytes become UNK without byte pieces. */
static void test_merge_order_on_tiny_vocab(void **state)
{
	static const int32_t ab[] = {6, 5};	/* "ab" (-3) beats "▁a" (-5) on its left */
	static const int32_t abc[] = {6, 5, 9}; /* "ab" and "bc" tie at -3: leftmost */
	static const int32_t abab[] = {6, 5, 5};
	static const int32_t bca[] = {6, 8, 3};
	static const int32_t xa[] = {6, 0, 3}; /* no byte pieces: 'x' is UNK */
	struct llmos_tokenizer *tok;

	(void)state;
	assert_int_equal(llmos_tokenizer_create(&tok, ARRAY_SIZE(tiny_pieces), tiny_pieces, NULL,
						tiny_scores, tiny_types, 1, 2, 0),
			 0);
	check_tiny(tok, "ab", ab, ARRAY_SIZE(ab));
	check_tiny(tok, "abc", abc, ARRAY_SIZE(abc));
	check_tiny(tok, "abab", abab, ARRAY_SIZE(abab));
	check_tiny(tok, "bca", bca, ARRAY_SIZE(bca));
	check_tiny(tok, "xa", xa, ARRAY_SIZE(xa));
	llmos_tokenizer_free(tok);
}

/* ---- encoding with the real vocabulary, against llama.cpp ---- */

struct llama_case {
	const char *text;
	size_t len;
	const int32_t *ids;
	size_t n_ids;
};

#define LLAMA_CASE(s, ...)                                                                         \
	{                                                                                          \
		s, sizeof(s) - 1, (const int32_t[]){__VA_ARGS__},                                  \
		    sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t)                       \
	}

/*
 * Produced by llama.cpp's llama-tokenize (commit c392e509) on
 * stories260K-f32.gguf: -f FILE --ids --no-escape --no-parse-special, the
 * file holding exactly the bytes of the text (BOS added).
 */
/* clang-format off */
static const struct llama_case llama_cases[] = {
	LLAMA_CASE("Once upon a time", 1, 403, 407, 261, 378),
	LLAMA_CASE("", 1),
	LLAMA_CASE(" ", 1, 410, 410),
	LLAMA_CASE("   ", 1, 410, 410, 410, 410),
	LLAMA_CASE("Hello world", 1, 346, 306, 414, 263, 304, 341),
	LLAMA_CASE("  leading and trailing  ", 1, 410, 410, 278, 411, 380, 299, 269, 259, 420, 412, 290,
		   299, 410, 410),
	LLAMA_CASE("a\nb\n\nc\n", 1, 261, 13, 430, 13, 13, 429, 13),
	LLAMA_CASE("\ttab\tsep\t", 1, 410, 12, 413, 412, 430, 12, 372, 427, 12),
	LLAMA_CASE("caf\xc3\xa9", 1, 280, 412, 431, 485),
	LLAMA_CASE("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 1, 410, 233, 154, 168, 233, 159, 175, 235,
		   173, 161),
	LLAMA_CASE("\xf0\x9f\xa6\x99 llama", 1, 410, 243, 162, 169, 156, 278, 421, 314, 412),
	LLAMA_CASE("Lily's mom said, \"Let's go!\"", 1, 317, 439, 419, 357, 336, 432, 313, 438, 316,
		   439, 419, 298, 414, 443, 436),
	LLAMA_CASE("\xff\xfe invalid", 1, 410, 258, 257, 229, 153, 132, 271, 435, 412, 421, 292),
	LLAMA_CASE("\xc3", 1, 410, 198),
	LLAMA_CASE("a\x80" "b", 1, 261, 131, 430),
	LLAMA_CASE("\xe2\x96\x81 literal \xe2\x96\x81\xe2\x96\x81", 1, 410, 410, 278, 275, 285, 412,
		   421, 410, 410, 410),
	LLAMA_CASE("<s> not </s> special <unk>", 1, 410, 504, 419, 505, 297, 309, 410, 504, 492, 419,
		   505, 262, 427, 411, 429, 417, 412, 421, 410, 504, 379, 433, 505),
	LLAMA_CASE("The the THE tHe", 1, 291, 265, 274, 440, 459, 259, 440, 411),
	LLAMA_CASE("ittle little littlest", 1, 312, 413, 305, 376, 376, 356),
	LLAMA_CASE("1234567890", 1, 410, 475, 479, 472, 484, 480, 490, 491, 487, 483, 477),
	LLAMA_CASE("\xc2\xa0nbsp\xe2\x80\x9cq\xe2\x80\x9d", 1, 410, 498, 416, 430, 419, 427, 465, 456,
		   466),
	LLAMA_CASE("x\x00y", 1, 410, 444, 3, 422),
	LLAMA_CASE("\xed\xa0\x80 surrogate \xc0\xaf overlong", 1, 410, 240, 163, 131, 262, 425, 420,
		   420, 414, 428, 294, 411, 410, 195, 178, 334, 330, 421, 289, 428),
	LLAMA_CASE("\xf0\x9f\xa6", 1, 410, 243, 162, 169),
	LLAMA_CASE("\r\n\r\n", 1, 410, 16, 13, 16, 13),
	LLAMA_CASE("Once upon a time, there was a little girl named Lily.", 1, 403, 407, 261, 378, 432,
		   383, 286, 261, 376, 298, 315, 421, 395, 317, 426),
};
/* clang-format on */

static void test_once_upon_a_time(void **state)
{
	static const int32_t want[] = {1, 403, 407, 261, 378};
	struct llmos_tokenizer *tok = model_tok(state);
	int32_t *ids;
	int n;

	ids = tokenize(tok, "Once upon a time", 16, LLMOS_TOKENIZE_ADD_BOS, &n);
	assert_ids(ids, n, want, ARRAY_SIZE(want));
	free(ids);
	/* without BOS: the same ids after it */
	ids = tokenize(tok, "Once upon a time", 16, 0, &n);
	assert_ids(ids, n, want + 1, ARRAY_SIZE(want) - 1);
	free(ids);
}

static void test_matches_llama_cpp(void **state)
{
	struct llmos_tokenizer *tok = model_tok(state);

	for (size_t i = 0; i < ARRAY_SIZE(llama_cases); i++) {
		const struct llama_case *c = &llama_cases[i];
		int n;
		int32_t *ids = tokenize(tok, c->text, c->len, LLMOS_TOKENIZE_ADD_BOS, &n);

		if ((size_t)n != c->n_ids || memcmp(ids, c->ids, c->n_ids * sizeof(*ids)) != 0)
			print_error("llama.cpp case %zu (\"%.*s\") differs\n", i, (int)c->len,
				    c->text);
		assert_ids(ids, n, c->ids, c->n_ids);
		free(ids);
	}
}

static void test_empty_text(void **state)
{
	struct llmos_tokenizer *tok = model_tok(state);
	int32_t ids[4] = {-1, -1, -1, -1};

	assert_int_equal(llmos_tokenize(tok, "", 0, LLMOS_TOKENIZE_ADD_BOS, ids, 4), 1);
	assert_int_equal(ids[0], 1);
	assert_int_equal(llmos_tokenize(tok, NULL, 0, 0, ids, 4), 0);
	assert_int_equal(llmos_tokenize(tok, "", 0, LLMOS_TOKENIZE_NO_SPACE_PREFIX, ids, 4), 0);
}

static void test_count_when_array_is_short(void **state)
{
	struct llmos_tokenizer *tok = model_tok(state);
	int32_t ids[3] = {-1, -1, -1};

	assert_int_equal(
	    llmos_tokenize(tok, "Once upon a time", 16, LLMOS_TOKENIZE_ADD_BOS, NULL, 0), 5);
	assert_int_equal(
	    llmos_tokenize(tok, "Once upon a time", 16, LLMOS_TOKENIZE_ADD_BOS, ids, 2), 5);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 403);
	assert_int_equal(ids[2], -1);
}

static void test_no_space_prefix(void **state)
{
	static const int32_t want[] = {1, 441, 416, 331, 407}; /* O n ce ▁upon */
	struct llmos_tokenizer *tok = model_tok(state);
	int32_t *ids;
	int n;

	ids = tokenize(tok, "Once upon", 9, LLMOS_TOKENIZE_ADD_BOS | LLMOS_TOKENIZE_NO_SPACE_PREFIX,
		       &n);
	assert_ids(ids, n, want, ARRAY_SIZE(want));
	free(ids);
}

/* Bytes that are not UTF-8 never crash and come back through byte tokens. */
static void test_malformed_utf8_input(void **state)
{
	static const char *const inputs[] = {
	    "\xff",	 "\xc3",	"\xe2\x96", "\x80\x80\x80", "\xf4\x90\x80\x80",
	    "a\xf0\x9f", "\xc0\xaf\xfe"};
	struct llmos_tokenizer *tok = model_tok(state);

	for (size_t i = 0; i < ARRAY_SIZE(inputs); i++) {
		size_t len = strlen(inputs[i]);
		char raw[64];
		int n;
		int32_t *ids = tokenize(tok, inputs[i], len, 0, &n);

		for (int j = 0; j < n; j++)
			assert_true(ids[j] > 2 && ids[j] < 512);
		/* the pieces spell "▁" and then the input, byte for byte */
		assert_int_equal(raw_bytes(tok, ids, n, raw), len + 3);
		assert_memory_equal(raw, "\xe2\x96\x81", 3);
		assert_memory_equal(raw + 3, inputs[i], len);
		free(ids);
	}
}

/* ---- round trips ---- */

static void check_round_trip(const struct llmos_tokenizer *tok, const char *text, size_t len)
{
	int n;
	size_t out_len;
	int32_t *ids = tokenize(tok, text, len, LLMOS_TOKENIZE_ADD_BOS, &n);
	char *out = detokenize(tok, ids, (size_t)n, 0, &out_len);

	assert_int_equal(out_len, len);
	assert_memory_equal(out, text, len);
	free(out);
	/* without BOS the space the tokenizer added stays */
	out = detokenize(tok, ids + 1, (size_t)n - 1, 0, &out_len);
	if (len > 0) {
		assert_int_equal(out_len, len + 1);
		assert_int_equal(out[0], ' ');
		assert_memory_equal(out + 1, text, len);
	}
	free(out);
	free(ids);
}

static void test_round_trips(void **state)
{
	static const char *const texts[] = {
	    "Once upon a time",
	    "Hello, World! 1234567890",
	    "caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9",
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	    "\xf0\x9f\xa6\x99 llama \xf0\x9f\xa6\x99\xf0\x9f\xa6\x99",
	    "a  b   c    d",
	    "   leading",
	    "trailing   ",
	    " ",
	    "line one\nline two\n\n",
	    "\ttabs\t\tand\t",
	    "\r\n",
	    "",
	};
	struct llmos_tokenizer *tok = model_tok(state);

	for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
		check_round_trip(tok, texts[i], strlen(texts[i]));
}

static void test_round_trip_long_text(void **state)
{
	static const char para[] = "Lily saw a big red ball \xf0\x9f\xa6\x99 in the park.\n";
	struct llmos_tokenizer *tok = model_tok(state);
	size_t reps = 4000, len = reps * (sizeof(para) - 1);
	char *text = malloc(len);

	assert_non_null(text);
	for (size_t i = 0; i < reps; i++)
		memcpy(text + i * (sizeof(para) - 1), para, sizeof(para) - 1);
	check_round_trip(tok, text, len);
	free(text);
}

/* ---- streaming decoding ---- */

static void test_stream_emoji_in_byte_tokens(void **state)
{
	struct llmos_tokenizer *tok = model_tok(state);
	static const int32_t ids[] = {1, 410, 243, 162, 169, 156}; /* BOS ▁ F0 9F A6 99 */
	static const int want_len[] = {0, 0, 0, 0, 0, 4};
	struct llmos_detok d;
	char out[64];

	llmos_detok_init(&d, tok, 0);
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		int n = llmos_detok_push(&d, ids[i], out, sizeof(out));

		assert_int_equal(n, want_len[i]);
	}
	assert_memory_equal(out, "\xf0\x9f\xa6\x99", 4);
	assert_int_equal(llmos_detok_flush(&d, out, sizeof(out)), 0);
}

static int push_all(struct llmos_detok *d, const int32_t *ids, size_t n, char *out, size_t cap)
{
	size_t pos = 0;

	for (size_t i = 0; i < n; i++) {
		int r = llmos_detok_push(d, ids[i], out + pos, cap - pos);

		assert_true(r >= 0);
		pos += (size_t)r;
	}
	pos += (size_t)llmos_detok_flush(d, out + pos, cap - pos);
	return (int)pos;
}

#define FFFD "\xef\xbf\xbd"

static void check_stream(const struct llmos_tokenizer *tok, const int32_t *ids, size_t n,
			 const char *want)
{
	struct llmos_detok d;
	char out[128];
	int len;

	llmos_detok_init(&d, tok, 0);
	len = push_all(&d, ids, n, out, sizeof(out));
	assert_int_equal(len, strlen(want));
	assert_memory_equal(out, want, (size_t)len);
}

static void test_stream_invalid_bytes(void **state)
{
	struct llmos_tokenizer *tok = model_tok(state);
	/* byte token ids are 3 + the byte */
	static const int32_t cut_emoji[] = {243, 162, 412};	 /* F0 9F "a" */
	static const int32_t stray[] = {131, 412};		 /* 80 "a" */
	static const int32_t surrogate[] = {240, 163, 131};	 /* ED A0 80 */
	static const int32_t overlong[] = {195, 178};		 /* C0 AF */
	static const int32_t too_big[] = {247, 147, 131, 131};	 /* F4 90 80 80 */
	static const int32_t truncated[] = {412, 243, 162, 169}; /* "a" F0 9F A6 then end */
	static const int32_t two_byte[] = {198, 172};		 /* C3 A9: é */

	check_stream(tok, cut_emoji, ARRAY_SIZE(cut_emoji), FFFD "a");
	check_stream(tok, stray, ARRAY_SIZE(stray), FFFD "a");
	check_stream(tok, surrogate, ARRAY_SIZE(surrogate), FFFD FFFD FFFD);
	check_stream(tok, overlong, ARRAY_SIZE(overlong), FFFD FFFD);
	check_stream(tok, too_big, ARRAY_SIZE(too_big), FFFD FFFD FFFD FFFD);
	check_stream(tok, truncated, ARRAY_SIZE(truncated), "a" FFFD);
	check_stream(tok, two_byte, ARRAY_SIZE(two_byte), "\xc3\xa9");
}

static void test_stream_control_and_spaces(void **state)
{
	struct llmos_tokenizer *tok = model_tok(state);
	static const int32_t bos_once[] = {1, 403, 407, 2};   /* BOS ▁Once ▁upon EOS */
	static const int32_t once[] = {403, 407};	      /* mid-stream: space kept */
	static const int32_t unk_bos[] = {0, 1, 1, 410, 413}; /* <unk> BOS BOS ▁ t */
	static const int32_t bos_byte[] = {1, 35};	      /* BOS <0x20> */
	struct llmos_detok d;
	char out[64];
	int len;

	check_stream(tok, bos_once, ARRAY_SIZE(bos_once), "Once upon");
	check_stream(tok, once, ARRAY_SIZE(once), " Once upon");
	check_stream(tok, unk_bos, ARRAY_SIZE(unk_bos), "t");
	check_stream(tok, bos_byte, ARRAY_SIZE(bos_byte), " ");
	llmos_detok_init(&d, tok, LLMOS_DETOK_SPECIAL | LLMOS_DETOK_KEEP_SPACE);
	len = push_all(&d, bos_once, ARRAY_SIZE(bos_once), out, sizeof(out));
	assert_int_equal(len, 17);
	assert_memory_equal(out, "<s> Once upon</s>", 17);
}

static void test_stream_short_buffer(void **state)
{
	struct llmos_tokenizer *tok = model_tok(state);
	struct llmos_detok d;
	char out[64];

	llmos_detok_init(&d, tok, 0);
	assert_true(llmos_detok_max_output(&d) >= 3 * llmos_tokenizer_max_piece_len(tok));
	assert_int_equal(llmos_detok_push(&d, 403, out, 3), -ENOBUFS); /* " Once" */
	assert_int_equal(llmos_detok_push(&d, 403, out, 5), 5);
	assert_memory_equal(out, " Once", 5);
	assert_int_equal(llmos_detok_push(&d, 512, out, sizeof(out)), -EINVAL);
	assert_int_equal(llmos_detok_push(&d, -1, out, sizeof(out)), -EINVAL);
	assert_int_equal(llmos_detok_push(&d, 243, out, 0), 0); /* F0: pending */
	assert_int_equal(llmos_detok_flush(&d, out, 2), -ENOBUFS);
	assert_int_equal(llmos_detok_flush(&d, out, 3), 3);
	assert_memory_equal(out, FFFD, 3);
}

/* ---- the reference generation ---- */

/* The integers after "label" at the start of a line of text. */
static int parse_ids_line(const char *text, const char *label, int32_t *ids, int cap)
{
	const char *p = strstr(text, label);
	int n = 0;

	assert_non_null(p);
	p += strlen(label);
	while (*p && *p != '\n' && n < cap) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		ids[n++] = (int32_t)v;
		p = end;
	}
	return n;
}

/* prompt_ids, then next_ids past the ones that repeat the prompt. */
static int reference_ids(int32_t *ids, int cap)
{
	int32_t next[1024];
	size_t size;
	char *text = (char *)read_whole_file("stories260K-greedy.ids", &size);
	int n_prompt, n_next;

	if (!text)
		skip();
	n_prompt = parse_ids_line(text, "prompt_ids:", ids, cap);
	n_next = parse_ids_line(text, "next_ids:", next, (int)ARRAY_SIZE(next));
	free(text);
	assert_int_equal(n_prompt, 5);
	assert_int_equal(n_next, 256);
	assert_memory_equal(next, ids + 1, 4 * sizeof(*ids)); /* the forced prompt tokens */
	assert_true(n_prompt + n_next - 4 <= cap);
	memcpy(ids + n_prompt, next + 4, (size_t)(n_next - 4) * sizeof(*ids));
	return n_prompt + n_next - 4;
}

/*
 * stories260K-greedy.txt is the prompt and the 252 generated tokens
 * printed one by one as llama.cpp prints them (BOS as "<s>", the space
 * after it kept) and a final newline.
 */
static void test_reference_generation_text(void **state)
{
	struct llmos_tokenizer *tok = model_tok(state);
	int32_t ids[512];
	int n = reference_ids(ids, (int)ARRAY_SIZE(ids));
	size_t size, len;
	char *want = (char *)read_whole_file("stories260K-greedy.txt", &size);
	char *got;

	if (!want)
		skip();
	assert_true(size > 5 && memcmp(want, "<s> ", 4) == 0 && want[size - 1] == '\n');
	want[--size] = '\0';
	got = detokenize(tok, ids, (size_t)n, LLMOS_DETOK_SPECIAL | LLMOS_DETOK_KEEP_SPACE, &len);
	assert_string_equal(got, want);
	free(got);
	got = detokenize(tok, ids, (size_t)n, 0, &len);
	assert_string_equal(got, want + 4); /* "Once upon a time, ..." */
	free(got);
	free(want);
}

static const int32_t reference_text_ids[] = {
    1,	 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396,
    267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394, 261,
    370, 432, 352, 266, 268, 388, 426, 338, 391, 266, 267, 337, 335, 312, 432, 398, 312, 286, 267,
    414, 270, 333, 415, 426, 13,  438, 310, 439, 419, 357, 336, 432, 313, 438, 310, 432, 278, 316,
    439, 419, 298, 414, 267, 265, 282, 295, 433, 426, 436, 317, 286, 296, 418, 269, 279, 292, 416,
    439, 413, 409, 416, 327, 263, 415, 294, 267, 400, 426, 338, 336, 432, 313, 442, 391, 267, 337,
    335, 364, 420, 268, 388, 432, 398, 359, 280, 303, 439, 413, 272, 417, 264, 312, 426, 436, 13,
    438, 310, 286, 296, 418, 269, 279, 292, 416, 439, 413, 409, 416, 327, 263, 415, 294, 267, 400,
    426, 338, 336, 432, 313, 442, 439, 423, 262, 304, 420, 422, 432, 317, 426, 359, 279, 292, 416,
    439, 413, 409, 416, 327, 263, 415, 294, 267, 400, 426, 436, 13,  438, 310, 279, 292, 416, 439,
    413, 391, 267, 281, 421, 427, 311, 357, 432, 384, 358, 336, 432, 313, 442, 439, 423, 262, 304,
    420, 422, 432, 357, 426, 359, 279, 292, 416, 439, 413, 409, 416, 327, 263, 415, 294, 267, 400,
    426, 436, 320, 285, 357, 336, 432, 313, 455, 289, 439, 413, 263, 304, 420, 422, 432, 317, 426,
    410, 448, 411, 280, 303, 281, 421, 427, 364, 426,
};

/* The reference text (without "<s> " and the final newline), per llama-tokenize. */
static void test_reference_text_tokens(void **state)
{
	struct llmos_tokenizer *tok = model_tok(state);
	size_t size;
	char *text = (char *)read_whole_file("stories260K-greedy.txt", &size);
	int32_t *ids;
	int n;

	if (!text)
		skip();
	assert_true(size > 5);
	ids = tokenize(tok, text + 4, size - 5, LLMOS_TOKENIZE_ADD_BOS, &n);
	assert_ids(ids, n, reference_text_ids, ARRAY_SIZE(reference_text_ids));
	free(ids);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_rejects_bad_input),
	    cmocka_unit_test(test_create_copies_pieces),
	    cmocka_unit_test(test_merge_order_on_tiny_vocab),
	    cmocka_unit_test(test_once_upon_a_time),
	    cmocka_unit_test(test_matches_llama_cpp),
	    cmocka_unit_test(test_empty_text),
	    cmocka_unit_test(test_count_when_array_is_short),
	    cmocka_unit_test(test_no_space_prefix),
	    cmocka_unit_test(test_malformed_utf8_input),
	    cmocka_unit_test(test_round_trips),
	    cmocka_unit_test(test_round_trip_long_text),
	    cmocka_unit_test(test_stream_emoji_in_byte_tokens),
	    cmocka_unit_test(test_stream_invalid_bytes),
	    cmocka_unit_test(test_stream_control_and_spaces),
	    cmocka_unit_test(test_stream_short_buffer),
	    cmocka_unit_test(test_reference_generation_text),
	    cmocka_unit_test(test_reference_text_tokens),
	};

	return cmocka_run_group_tests_name("tokenizer", tests, group_setup, group_teardown);
}
