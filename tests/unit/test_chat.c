/* SPDX-License-Identifier: MIT */
/*
 * test_chat.c - chat templates (recognised by their markers, formatted as
 * llama.cpp formats them) and `llmos chat` end to end: the ids it feeds a
 * synthetic Qwen 2 model with a ChatML template for the second turn are
 * those llama-tokenize gives the turn llama.cpp's template code produces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "run_cmd.h"

#include "chat.h"
#include "llmos/llmos.h"

static const struct llmos_chat_msg conv[] = {
	{ "system", "You are terse." },
	{ "user", "Hi" },
	{ "assistant", " Hello! " },
	{ "user", "What is 2+2?" },
};

/* Undo the fixture's escapes (\\n, \\\\) in place. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s == '\\' && (s[1] == 'n' || s[1] == '\\'))
			*w++ = *++s == 'n' ? '\n' : '\\';
		else
			*w++ = *s;
	}
	*w = '\0';
}

/* Every line of tests/fixtures/chat-templates.txt: llama.cpp's formatting. */
static void templates_format_as_llama_cpp(void **state)
{
	FILE *f = fopen("tests/fixtures/chat-templates.txt", "r");
	static char line[8192], buf[8192];
	int checked = 0;

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char name[64];
		int n, add, off = 0, len;

		/* one space separates the output, which may itself start with one */
		if (line[0] == '#' || sscanf(line, "%63s %d %d%n", name, &n, &add, &off) != 3)
			continue;
		off += line[off] == ' ';
		line[strcspn(line, "\n")] = '\0';
		unescape(line + off);
		len = llmos_chat_apply(name, conv, (size_t)n, add, buf, sizeof(buf));
		if (len != (int)strlen(line + off) || strcmp(buf, line + off))
			fail_msg("%s %d %d:\n  llama.cpp: %s\n  llmos:     %s", name, n, add,
				 line + off, buf);
		checked++;
	}
	fclose(f);
	printf("%d formattings equal llama.cpp's\n", checked);
	assert_true(checked >= 100);
	assert_int_equal(llmos_chat_apply("no-such", conv, 1, 1, NULL, 0), -22);
}

static void templates_are_recognised_by_their_text(void **state)
{
	static const char *const names[] = { "chatml",	       "llama3",	 "phi3",
					     "gemma",	       "zephyr",	 "llama2",
					     "llama2-sys",     "llama2-sys-bos", "llama2-sys-strip",
					     "mistral-v1",     "mistral-v3",	 "mistral-v3-tekken",
					     "mistral-v7" };

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *text = llmos_chat_template_text(names[i]);

		assert_non_null(text);
		assert_string_equal(llmos_chat_template_detect(text), names[i]);
		assert_string_equal(llmos_chat_template_detect(names[i]), names[i]);
	}
	assert_null(llmos_chat_template_detect("{{ messages }}"));
}


static void chat_feeds_the_second_turn_as_llama_cpp(void **state)
{
	/* llama-tokenize of "\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n" */
	static const char want[] = "fed: 198 50257 7220 198 2061 318 220 17 10 17 30 50258 198 "
				   "50257 562 10167 198";
	const char *vocab = getenv("LLMOS_TEST_VOCABS"), *bin = getenv("LLMOS_BIN");
	static char cmd[8192], out[65536];
	char dir[] = "/tmp/llmos-chat-XXXXXX", *second;

	(void)state;
	if (!vocab || !*vocab)
		vocab = "../shared/models/vocab";
	if (!bin || !*bin)
		bin = "build/bin";
	snprintf(cmd, sizeof(cmd), "%s/ggml-vocab-gpt-2.gguf", vocab);
	if (access(cmd, R_OK)) {
		printf("SKIP: %s not found (set LLMOS_TEST_VOCABS)\n", cmd);
		skip();
	}
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
		 "%s/llmos mkmodel --arch qwen2 --vocab-from %s/ggml-vocab-gpt-2.gguf --pre qwen2 "
		 "--chat-template chatml --tied --dim 64 --hidden 128 --layers 2 --heads 4 "
		 "--kv-heads 2 --scale 0.3 --type f32 %s/q.gguf 2>&1 && printf 'Hi\\nWhat is "
		 "2+2?\\n' | %s/llmos chat -m %s/q.gguf --temp 0 -n 16 --show-tokens 2>&1 >/dev/null",
		 bin, vocab, dir, bin, dir);
	assert_int_equal(run_cmd(cmd, out, sizeof(out)), 0);
	second = strstr(out, "fed:");
	assert_non_null(second);
	second = strstr(second + 4, "fed:");
	assert_non_null(second);
	assert_memory_equal(second, want, sizeof(want) - 1);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(templates_format_as_llama_cpp),
		cmocka_unit_test(templates_are_recognised_by_their_text),
		cmocka_unit_test(chat_feeds_the_second_turn_as_llama_cpp),
	};

	return cmocka_run_group_tests_name("chat", tests, NULL, NULL);
}
