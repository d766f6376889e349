/* SPDX-License-Identifier: MIT */
/*
 * pretok.c - the pre-tokenizers of byte-level BPE vocabularies, as data:
 * one row per tokenizer.ggml.pre family with the regular expressions
 * llama.cpp splits its text with (src/llama-vocab.cpp), run by PCRE2.
 *
 * The text is matched as 32-bit code points (PCRE2's 32-bit library), so
 * a word's length is counted in code points as llama.cpp counts it, with
 * PCRE2_UCP giving \p{L}, \p{N}, \s their Unicode meaning, and $ only the
 * end of the piece (as in ECMAScript, which llama.cpp's std::regex uses).
 * Each pattern cuts each piece the previous patterns left, seeing only that
 * piece; the text between two matches becomes a piece of its own.
 */
#define PCRE2_CODE_UNIT_WIDTH 32
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pretok.h"

/* The GPT-2 split, and the Llama 3 one (case-insensitive contractions). */
#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define RE_CONTRACTIONS_ANY_CASE "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define RE_LLAMA3_NUM(num)                                                                         \
	RE_CONTRACTIONS_ANY_CASE "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|" num                            \
				 "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_CJK "[\\x{4e00}-\\x{9fa5}\\x{800}-\\x{4e00}\\x{ac00}-\\x{d7ff}]+"
#define RE_NO_PUNCT_RUN " ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{ff0c}\\x{3001}\\x{964}\\x{6d4}\\x{60c})]+"

static const struct llmos_pretok pretoks[] = {
	{ .names = { "default" },
	  .patterns = { "[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]" } },
	{ .names = { "llama3", "llama-v3", "llama-bpe", "falcon3" },
	  .patterns = { RE_LLAMA3_NUM("\\p{N}{1,3}") },
	  .ignore_merges = true,
	  .add_bos = true },
	{ .names = { "dbrx", "smaug-bpe" }, .patterns = { RE_LLAMA3_NUM("\\p{N}{1,3}") } },
	{ .names = { "chatglm-bpe" }, .patterns = { RE_LLAMA3_NUM("\\p{N}{1,3}") }, .no_bos = true },
	{ .names = { "qwen2", "deepseek-r1-qwen", "megrez", "stablelm2" },
	  .patterns = { RE_LLAMA3_NUM("\\p{N}") } },
	{ .names = { "deepseek-llm" },
	  .patterns = { "[\r\n]",
			"\\s?[A-Za-z\\x{b5}\\x{c0}-\\x{d6}\\x{d8}-\\x{f6}\\x{f8}-\\x{1ba}"
			"\\x{1bc}-\\x{1bf}\\x{1c4}-\\x{293}\\x{295}-\\x{2af}\\x{370}-\\x{373}"
			"\\x{376}\\x{377}\\x{37b}-\\x{37d}\\x{37f}\\x{386}\\x{388}-\\x{38a}"
			"\\x{38c}\\x{38e}-\\x{3a1}\\x{3a3}-\\x{3f5}\\x{3f7}-\\x{481}\\x{48a}-"
			"\\x{52f}\\x{531}-\\x{556}\\x{10a0}-\\x{10c5}\\x{13a0}-\\x{13f5}"
			"\\x{13f8}-\\x{13fd}\\x{1c90}-\\x{1cba}\\x{1cbd}-\\x{1cbf}\\x{1d00}-"
			"\\x{1d2b}\\x{1d6b}-\\x{1d77}\\x{1d79}-\\x{1d9a}\\x{1e00}-\\x{1f15}"
			"\\x{1f18}-\\x{1f1d}\\x{1f20}-\\x{1f45}\\x{1f48}-\\x{1f4d}\\x{1f50}-"
			"\\x{1f57}\\x{1f59}\\x{1f5b}\\x{1f5d}\\x{1f5f}-\\x{1f7d}\\x{1f80}-"
			"\\x{1fb4}\\x{1fb6}-\\x{1fbc}\\x{1fbe}\\x{1fc2}-\\x{1fc4}\\x{1fc6}-"
			"\\x{1fcc}\\x{1fd0}-\\x{1fd3}\\x{1fd6}-\\x{1fdb}\\x{1fe0}-\\x{1fec}"
			"\\x{1ff2}-\\x{1ff4}\\x{1ff6}-\\x{1ffc}\\x{2102}\\x{2107}\\x{210a}-"
			"\\x{2113}\\x{2115}\\x{2119}-\\x{211d}\\x{2124}\\x{2126}\\x{2128}"
			"\\x{212a}-\\x{212d}\\x{212f}-\\x{2134}\\x{2139}\\x{213c}-\\x{213f}"
			"\\x{2145}-\\x{2149}\\x{214e}\\x{2183}\\x{2184}\\x{2c00}-\\x{2c7b}"
			"\\x{2c7e}-\\x{2ce4}\\x{2ceb}-\\x{2cee}\\x{2cf2}\\x{2cf3}\\x{a640}-"
			"\\x{a66d}\\x{a680}-\\x{a69b}\\x{a722}-\\x{a76f}\\x{a771}-\\x{a787}"
			"\\x{a78b}-\\x{a78e}\\x{ab70}-\\x{abbf}\\x{fb00}-\\x{fb06}\\x{fb13}-"
			"\\x{fb17}\\x{ff21}-\\x{ff3a}\\x{ff41}-\\x{ff5a}\\x{10400}-\\x{1044f}"
			"\\x{104b0}-\\x{104d3}\\x{104d8}-\\x{104fb}\\x{10c80}-\\x{10cb2}"
			"\\x{10cc0}-\\x{10cf2}\\x{118a0}-\\x{118df}\\x{1e900}-\\x{1e943}]+",
			"\\s?[!-/:-~\\x{ff01}-\\x{ff0f}\\x{ff1a}-\\x{ff5e}\\x{2018}-\\x{201f}\\x{3000}-\\x{3002}]+", "\\s+$", RE_CJK, "\\p{N}+" } },
	{ .names = { "deepseek-coder" },
	  .patterns = { "[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", RE_CJK, "\\p{N}" } },
	{ .names = { "deepseek-v3" },
	  .patterns = { "\\p{N}{1,3}", "[\\x{4e00}-\\x{9fa5}\\x{3040}-\\x{309f}\\x{30a0}-\\x{30ff}]+",
			/* llama.cpp's \p{S} lacks '~': hence (?!~) and (?:~|...) */
			"[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|(?:~|[^\r\n\\p{L}\\p{P}"
			"\\p{S}])?[\\p{L}\\p{M}]+| ?(?:(?!~)[\\p{P}\\p{S}])+[\r\n]*|\\s*[\r\n]+|"
			"\\s+(?!\\S)|\\s+" } },
	{ .names = { "falcon" },
	  .patterns = { "[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]" } },
	{ .names = { "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone",
		     "minerva-7b" },
	  .patterns = { "\\p{N}", RE_GPT2 } },
	{ .names = { "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v1-en",
		     "jina-v2-es", "jina-v2-de", "jina-v2-code", "roberta-bpe" },
	  .patterns = { RE_GPT2 } },
	{ .names = { "mpt", "olmo", "jais" }, .patterns = { RE_GPT2 } },
	{ .names = { "poro-chat", "bloom", "gpt3-finnish" }, .patterns = { RE_NO_PUNCT_RUN } },
	{ .names = { "viking" }, .patterns = { RE_NO_PUNCT_RUN, "\\p{N}" } },
	{ .names = { "tekken" },
	  .patterns = { "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|"
			"[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|"
			"\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
	  .ignore_merges = true,
	  .add_bos = true },
	{ .names = { "chameleon" },
	  .patterns = { "<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
			"([\\t\\n]|    |  )", "\\p{N}", "[\\p{P}!-/:-@\\[-`{-~]", RE_GPT2 },
	  .add_bos = true },
};

#define N_PRETOKS (sizeof(pretoks) / sizeof(pretoks[0]))

const struct llmos_pretok *llmos_pretok_find(const char *name, size_t len)
{
	if (!name || !len)
		return &pretoks[0];
	for (size_t i = 0; i < N_PRETOKS; i++)
		for (int j = 0; j < PRETOK_MAX_NAMES && pretoks[i].names[j]; j++)
			if (strlen(pretoks[i].names[j]) == len &&
			    !memcmp(pretoks[i].names[j], name, len))
				return &pretoks[i];
	return NULL;
}

void llmos_pretok_names(char *buf, size_t cap)
{
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_PRETOKS; i++)
		for (int j = 0; j < PRETOK_MAX_NAMES && pretoks[i].names[j] && at < cap; j++)
			at += (size_t)snprintf(buf + at, cap - at, "%s%s", at ? ", " : "",
					       pretoks[i].names[j]);
}

struct pretok_regexes {
	int n;
	pcre2_code *re[PRETOK_MAX_PATTERNS];
};

/* The pattern, UTF-8 in the table, as the code points PCRE2-32 wants. */
static uint32_t *pattern_cpts(const char *s, size_t *n)
{
	size_t len = strlen(s), i = 0;
	uint32_t *out = malloc((len + 1) * sizeof(*out));

	*n = 0;
	while (out && i < len) {
		unsigned char c = (unsigned char)s[i];
		int extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
		uint32_t cp = extra ? c & (0x3f >> extra) : c;

		for (i++; extra-- > 0 && i < len; i++)
			cp = cp << 6 | ((unsigned char)s[i] & 0x3f);
		out[(*n)++] = cp;
	}
	return out;
}

static int compile_one(const char *pattern, pcre2_code **out)
{
	int errcode;
	PCRE2_SIZE erroff;
	size_t n;
	uint32_t *p = pattern_cpts(pattern, &n);

	if (!p)
		return llmos_fail(-ENOMEM, "pre-tokenizer: out of memory");
	*out = pcre2_compile(p, n, PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &errcode,
			     &erroff, NULL);
	free(p);
	if (!*out) {
		PCRE2_UCHAR msg[128];

		char text[128];
		int i;

		pcre2_get_error_message(errcode, msg, 128);
		for (i = 0; i < 127 && msg[i]; i++)
			text[i] = (char)msg[i];
		text[i] = '\0';
		return llmos_fail(-EINVAL, "pre-tokenizer: a pattern does not compile: %s at code "
				  "point %zu (it begins '%.24s')", text, (size_t)erroff, pattern);
	}
	pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE); /* the interpreter runs it otherwise */
	return 0;
}

int pretok_compile(const struct llmos_pretok *p, struct pretok_regexes **out)
{
	struct pretok_regexes *r = calloc(1, sizeof(*r));
	int err = 0;

	if (!r)
		return llmos_fail(-ENOMEM, "pre-tokenizer: out of memory");
	for (; r->n < PRETOK_MAX_PATTERNS && p->patterns[r->n] && !err; r->n++)
		err = compile_one(p->patterns[r->n], &r->re[r->n]);
	if (err) {
		pretok_free(r);
		return err;
	}
	*out = r;
	return 0;
}

void pretok_free(struct pretok_regexes *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->n; i++)
		pcre2_code_free(r->re[i]);
	free(r);
}

struct piece_list {
	size_t *lens;
	size_t n, cap;
};

static int push_piece(struct piece_list *l, size_t len)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		size_t *lens = realloc(l->lens, cap * sizeof(*lens));

		if (!lens)
			return llmos_fail(-ENOMEM, "pre-tokenizer: out of memory");
		l->lens = lens;
		l->cap = cap;
	}
	l->lens[l->n++] = len;
	return 0;
}

struct matcher {
	pcre2_match_data *md;
	pcre2_match_context *mc;
	pcre2_jit_stack *js;
};

/* Cut one piece of len code points at subj by re into out. */
static int cut_piece(const pcre2_code *re, struct matcher *m, const uint32_t *subj, size_t len,
		     struct piece_list *out)
{
	size_t pos = 0, last = 0;
	int err = 0;

	while (pos < len && !err) {
		int rc = pcre2_match(re, subj, len, pos, PCRE2_NO_UTF_CHECK, m->md, m->mc);
		PCRE2_SIZE *ov;

		if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* the interpreter's stack is the heap */
			rc = pcre2_match(re, subj, len, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, m->md,
					 m->mc);
		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0)
			return llmos_fail(-EINVAL, "pre-tokenizer: PCRE2 match error %d", rc);
		ov = pcre2_get_ovector_pointer(m->md);
		if (ov[1] == ov[0]) { /* an empty match cuts nothing */
			pos = ov[0] + 1;
			continue;
		}
		if (ov[0] > last)
			err = push_piece(out, ov[0] - last);
		if (!err)
			err = push_piece(out, ov[1] - ov[0]);
		last = pos = ov[1];
	}
	if (!err && last < len)
		err = push_piece(out, len - last);
	return err;
}

static int cut_all(const pcre2_code *re, struct matcher *m, const uint32_t *cpts,
		   struct piece_list *in, struct piece_list *out)
{
	size_t start = 0;
	int err = 0;

	out->n = 0;
	for (size_t i = 0; i < in->n && !err; i++) {
		err = cut_piece(re, m, cpts + start, in->lens[i], out);
		start += in->lens[i];
	}
	return err;
}

int pretok_split(const struct pretok_regexes *r, const uint32_t *cpts, size_t n, size_t **lens,
		 size_t *n_words)
{
	struct piece_list a = { 0 }, b = { 0 }, t;
	struct matcher m = { 0 };
	int err = push_piece(&a, n);

	m.mc = pcre2_match_context_create(NULL);
	m.js = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
	m.md = pcre2_match_data_create(16, NULL);
	if (!m.mc || !m.js || !m.md)
		err = err ? err : llmos_fail(-ENOMEM, "pre-tokenizer: out of memory");
	else
		pcre2_jit_stack_assign(m.mc, NULL, m.js);
	for (int i = 0; i < r->n && !err; i++) {
		err = cut_all(r->re[i], &m, cpts, &a, &b);
		t = a, a = b, b = t;
	}
	pcre2_match_data_free(m.md);
	pcre2_jit_stack_free(m.js);
	pcre2_match_context_free(m.mc);
	free(b.lens);
	if (err) {
		free(a.lens);
		return err;
	}
	*lens = a.lens;
	*n_words = a.n;
	return 0;
}
