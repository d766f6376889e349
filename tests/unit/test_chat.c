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

static char *apply(const char *name, size_t n, int add_ass)
{
	static char buf[4096];
	int len = llmos_chat_apply(name, conv, n, add_ass, buf, sizeof(buf));

	assert_true(len > 0 && (size_t)len < sizeof(buf));
	assert_int_equal((size_t)len, strlen(buf));
	return buf;
}

static void templates_format_as_llama_cpp(void **state)
{
	(void)state;
	assert_string_equal(apply("chatml", 4, 1),
			    "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi"
			    "<|im_end|>\n<|im_start|>assistant\n Hello! <|im_end|>\n<|im_start|>"
			    "user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n");
	assert_string_equal(apply("llama3", 3, 1),
			    "<|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
			    "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
			    "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
			    "<|start_header_id|>assistant<|end_header_id|>\n\n");
	assert_string_equal(apply("gemma", 4, 1),
			    "<start_of_turn>user\nYou are terse.\n\nHi<end_of_turn>\n<start_of_turn>"
			    "model\nHello!<end_of_turn>\n<start_of_turn>user\nWhat is 2+2?"
			    "<end_of_turn>\n<start_of_turn>model\n");
	assert_string_equal(apply("phi3", 2, 1), "<|system|>\nYou are terse.<|end|>\n<|user|>\nHi"
						 "<|end|>\n<|assistant|>\n");
	assert_string_equal(apply("zephyr", 2, 0), "<|system|>\nYou are terse.<|endoftext|>\n"
						   "<|user|>\nHi<|endoftext|>\n");
	assert_string_equal(apply("llama2-sys", 4, 1),
			    "[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi [/INST] Hello! </s>"
			    "[INST] What is 2+2? [/INST]");
	assert_string_equal(apply("llama2", 2, 1), "[INST] You are terse.\nHi [/INST]");
	assert_int_equal(llmos_chat_apply("no-such", conv, 1, 1, NULL, 0), -22);
}

static void templates_are_recognised_by_their_text(void **state)
{
	static const char *const names[] = { "chatml", "llama3", "phi3", "gemma", "zephyr",
					     "llama2", "llama2-sys", "llama2-sys-bos",
					     "llama2-sys-strip" };

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
