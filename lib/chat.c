/* SPDX-License-Identifier: MIT */
/*
 * chat.c - chat templates: recognising a model's tokenizer.chat_template
 * (a Jinja text) by the markers it contains, and formatting a conversation
 * as that template does, the way llama.cpp's llm_chat_apply_template()
 * does it (it is not a Jinja interpreter either).
 *
 * One row per template: its name, how to recognise it, the control tokens
 * it uses, a canonical Jinja text (what `llmos mkmodel --chat-template`
 * writes), and the function that formats messages.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chat.h"
#include "internal.h"

struct out {
	char *buf;
	size_t cap, n;
};

static void put(struct out *o, const char *s, size_t len)
{
	if (o->n < o->cap)
		memcpy(o->buf + o->n, s, o->n + len <= o->cap ? len : o->cap - o->n);
	o->n += len;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* s without leading and trailing whitespace, as llama.cpp's trim(). */
static void put_trimmed(struct out *o, const char *s)
{
	size_t len = strlen(s);

	while (len && isspace((unsigned char)*s))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	put(o, s, len);
}

static int is_role(const struct llmos_chat_msg *m, const char *role)
{
	return !strcmp(m->role, role);
}

static void fmt_chatml(struct out *o, const struct llmos_chat_msg *m, size_t n, int add_ass)
{
	for (size_t i = 0; i < n; i++) {
		puts_(o, "<|im_start|>");
		puts_(o, m[i].role);
		puts_(o, "\n");
		puts_(o, m[i].content);
		puts_(o, "<|im_end|>\n");
	}
	if (add_ass)
		puts_(o, "<|im_start|>assistant\n");
}

static void fmt_llama3(struct out *o, const struct llmos_chat_msg *m, size_t n, int add_ass)
{
	for (size_t i = 0; i < n; i++) {
		puts_(o, "<|start_header_id|>");
		puts_(o, m[i].role);
		puts_(o, "<|end_header_id|>\n\n");
		put_trimmed(o, m[i].content);
		puts_(o, "<|eot_id|>");
	}
	if (add_ass)
		puts_(o, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

/* Phi-3 and Zephyr: "<|role|>\n" content end-marker "\n". */
static void fmt_role_bars(struct out *o, const struct llmos_chat_msg *m, size_t n, int add_ass,
			  const char *end)
{
	for (size_t i = 0; i < n; i++) {
		puts_(o, "<|");
		puts_(o, m[i].role);
		puts_(o, "|>\n");
		puts_(o, m[i].content);
		puts_(o, end);
		puts_(o, "\n");
	}
	if (add_ass)
		puts_(o, "<|assistant|>\n");
}

static void fmt_phi3(struct out *o, const struct llmos_chat_msg *m, size_t n, int add_ass)
{
	fmt_role_bars(o, m, n, add_ass, "<|end|>");
}

static void fmt_zephyr(struct out *o, const struct llmos_chat_msg *m, size_t n, int add_ass)
{
	fmt_role_bars(o, m, n, add_ass, "<|endoftext|>");
}

/* Gemma has no system role: the system text opens the next user turn. */
static void fmt_gemma(struct out *o, const struct llmos_chat_msg *m, size_t n, int add_ass)
{
	const char *sys = NULL;

	for (size_t i = 0; i < n; i++) {
		int model = is_role(&m[i], "assistant");

		if (is_role(&m[i], "system")) {
			sys = m[i].content;
			continue;
		}
		puts_(o, "<start_of_turn>");
		puts_(o, model ? "model" : m[i].role);
		puts_(o, "\n");
		if (sys && !model) {
			put_trimmed(o, sys);
			puts_(o, "\n\n");
			sys = NULL;
		}
		put_trimmed(o, m[i].content);
		puts_(o, "<end_of_turn>\n");
	}
	if (add_ass)
		puts_(o, "<start_of_turn>model\n");
}

/* Llama 2 / Mistral [INST]: with or without <<SYS>>, BOS between turns, trimming. */
static void fmt_inst(struct out *o, const struct llmos_chat_msg *m, size_t n, int sys_block,
		     int bos_inside, int strip)
{
	int inside = 1;

	puts_(o, "[INST] ");
	for (size_t i = 0; i < n; i++) {
		if (!inside) {
			inside = 1;
			puts_(o, bos_inside ? "<s>[INST] " : "[INST] ");
		}
		if (is_role(&m[i], "system"))
			puts_(o, sys_block ? "<<SYS>>\n" : "");
		if (strip)
			put_trimmed(o, m[i].content);
		else
			puts_(o, m[i].content);
		if (is_role(&m[i], "system")) {
			puts_(o, sys_block ? "\n<</SYS>>\n\n" : "\n");
		} else if (is_role(&m[i], "user")) {
			puts_(o, " [/INST]");
		} else {
			puts_(o, "</s>");
			inside = 0;
		}
	}
}

static void fmt_llama2(struct out *o, const struct llmos_chat_msg *m, size_t n, int add_ass)
{
	(void)add_ass;
	fmt_inst(o, m, n, 0, 0, 0);
}

static void fmt_llama2_sys(struct out *o, const struct llmos_chat_msg *m, size_t n, int add_ass)
{
	(void)add_ass;
	fmt_inst(o, m, n, 1, 0, 0);
}

static void fmt_llama2_sys_bos(struct out *o, const struct llmos_chat_msg *m, size_t n,
			       int add_ass)
{
	(void)add_ass;
	fmt_inst(o, m, n, 1, 1, 0);
}

static void fmt_llama2_sys_strip(struct out *o, const struct llmos_chat_msg *m, size_t n,
				 int add_ass)
{
	(void)add_ass;
	fmt_inst(o, m, n, 1, 0, 1);
}

/* Mistral v7: system, user and assistant each in their own markers. */
static void fmt_mistral_v7(struct out *o, const struct llmos_chat_msg *m, size_t n, int add_ass)
{
	(void)add_ass;
	for (size_t i = 0; i < n; i++) {
		if (is_role(&m[i], "system")) {
			puts_(o, "[SYSTEM_PROMPT] ");
			puts_(o, m[i].content);
			puts_(o, "[/SYSTEM_PROMPT]");
		} else if (is_role(&m[i], "user")) {
			puts_(o, "[INST] ");
			puts_(o, m[i].content);
			puts_(o, "[/INST]");
		} else {
			puts_(o, " ");
			puts_(o, m[i].content);
			puts_(o, "</s>");
		}
	}
}

/* Mistral v1, v3, v3-tekken: the spaces around [INST] differ, v3 trims replies. */
static void fmt_mistral(struct out *o, const struct llmos_chat_msg *m, size_t n,
			const char *lead, const char *trail, int trim_reply)
{
	int inside = 0;

	for (size_t i = 0; i < n; i++) {
		if (!inside) {
			puts_(o, lead);
			puts_(o, "[INST]");
			puts_(o, trail);
			inside = 1;
		}
		if (is_role(&m[i], "system")) {
			puts_(o, m[i].content);
			puts_(o, "\n\n");
		} else if (is_role(&m[i], "user")) {
			puts_(o, m[i].content);
			puts_(o, lead);
			puts_(o, "[/INST]");
		} else {
			puts_(o, trail);
			if (trim_reply)
				put_trimmed(o, m[i].content);
			else
				puts_(o, m[i].content);
			puts_(o, "</s>");
			inside = 0;
		}
	}
}

static void fmt_mistral_v1(struct out *o, const struct llmos_chat_msg *m, size_t n, int add_ass)
{
	(void)add_ass;
	fmt_mistral(o, m, n, " ", " ", 0);
}

static void fmt_mistral_v3(struct out *o, const struct llmos_chat_msg *m, size_t n, int add_ass)
{
	(void)add_ass;
	fmt_mistral(o, m, n, "", " ", 1);
}

static void fmt_mistral_v3_tekken(struct out *o, const struct llmos_chat_msg *m, size_t n,
				  int add_ass)
{
	(void)add_ass;
	fmt_mistral(o, m, n, "", "", 0);
}

struct chat_template {
	const char *name;
	const char *marks[3]; /* all present: this template (tried in table order) */
	const char *any_of[2]; /* and, if given, one of these */
	const char *tokens[5]; /* control tokens it uses */
	const char *jinja;     /* canonical text */
	void (*format)(struct out *o, const struct llmos_chat_msg *m, size_t n, int add_ass);
};

static const struct chat_template templates[] = {
	{ "chatml", { "<|im_start|>" }, { NULL }, { "<|im_start|>", "<|im_end|>" },
	  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
	  "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt "
	  "%}{{ '<|im_start|>assistant\n' }}{% endif %}",
	  fmt_chatml },
	{ "mistral-v7", { "[INST]", "[SYSTEM_PROMPT]" }, { NULL }, { NULL },
	  "{%- for message in messages %}{%- if message['role'] == 'system' %}{{- "
	  "'[SYSTEM_PROMPT] ' + message['content'] + '[/SYSTEM_PROMPT]' }}{%- elif "
	  "message['role'] == 'user' %}{{- '[INST] ' + message['content'] + '[/INST]' }}{%- else "
	  "%}{{- ' ' + message['content'] + eos_token }}{%- endif %}{%- endfor %}",
	  fmt_mistral_v7 },
	{ "mistral-v1", { "[INST]", " [INST]" }, { "' [INST] ' + system_message", "[AVAILABLE_TOOLS]" },
	  { NULL },
	  "{%- for message in messages %}{%- if message['role'] == 'user' %}{%- if "
	  "system_message is defined %}{{- ' [INST] ' + system_message + '\\n\\n' + "
	  "message['content'] + ' [/INST]' }}{%- else %}{{- ' [INST] ' + message['content'] + "
	  "' [/INST]' }}{%- endif %}{%- else %}{{- ' ' + message['content'] + eos_token }}{%- "
	  "endif %}{%- endfor %}",
	  fmt_mistral_v1 },
	{ "mistral-v3-tekken", { "[INST]", "\"[INST]\"" },
	  { "' [INST] ' + system_message", "[AVAILABLE_TOOLS]" }, { NULL },
	  "{%- for message in messages %}{%- if message['role'] == 'user' %}{{- \"[INST]\" + "
	  "message['content'] + \"[/INST]\" }}{%- elif message['role'] == 'tool' %}"
	  "{{- \"[AVAILABLE_TOOLS]\" }}{%- else %}{{- message['content'] + eos_token }}{%- endif "
	  "%}{%- endfor %}",
	  fmt_mistral_v3_tekken },
	{ "mistral-v3", { "[INST]" }, { "' [INST] ' + system_message", "[AVAILABLE_TOOLS]" },
	  { NULL },
	  "{%- for message in messages %}{%- if message['role'] == 'user' %}{{- '[INST] ' + "
	  "message['content'] + '[/INST]' }}{%- elif message['role'] == 'tool' %}{{- "
	  "'[AVAILABLE_TOOLS]' }}{%- else %}{{- ' ' + message['content'] + eos_token }}{%- endif "
	  "%}{%- endfor %}",
	  fmt_mistral_v3 },
	{ "llama2-sys-strip", { "[INST]", "content.strip()" }, { NULL }, { NULL },
	  "{% for message in messages %}{% set content = message['content'] %}{% if "
	  "message['role'] == 'user' %}{{ '[INST] ' + content.strip() + ' [/INST]' }}{% elif "
	  "message['role'] == 'system' %}{{ '<<SYS>>\\n' + content.strip() + "
	  "'\\n<</SYS>>\\n\\n' }}{% else %}{{ content.strip() + eos_token }}{% endif %}"
	  "{% endfor %}",
	  fmt_llama2_sys_strip },
	{ "llama2-sys-bos", { "[INST]", "bos_token + '[INST]" }, { NULL }, { NULL },
	  "{% for message in messages %}{% if message['role'] == 'user' %}{{ bos_token + "
	  "'[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'system' "
	  "%}{{ '<<SYS>>\\n' + message['content'] + '\\n<</SYS>>\\n\\n' }}{% else %}{{ "
	  "message['content'] + eos_token }}{% endif %}{% endfor %}",
	  fmt_llama2_sys_bos },
	{ "llama2-sys", { "[INST]", "<<SYS>>" }, { NULL }, { NULL },
	  "{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + "
	  "message['content'] + ' [/INST]' }}{% elif message['role'] == 'system' %}{{ "
	  "'<<SYS>>\\n' + message['content'] + '\\n<</SYS>>\\n\\n' }}{% else %}{{ "
	  "message['content'] + eos_token }}{% endif %}{% endfor %}",
	  fmt_llama2_sys },
	{ "llama2", { "[INST]" }, { NULL }, { NULL },
	  "{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + "
	  "message['content'] + ' [/INST]' }}{% else %}{{ message['content'] + eos_token }}"
	  "{% endif %}{% endfor %}",
	  fmt_llama2 },
	{ "phi3", { "<|assistant|>", "<|end|>" }, { NULL },
	  { "<|system|>", "<|user|>", "<|assistant|>", "<|end|>" },
	  "{% for message in messages %}{{'<|' + message['role'] + '|>' + '\n' + "
	  "message['content'] + '<|end|>\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
	  "'<|assistant|>\n' }}{% endif %}",
	  fmt_phi3 },
	{ "zephyr", { "<|user|>" }, { "<|endoftext|>", "eos_token" },
	  { "<|system|>", "<|user|>", "<|assistant|>", "<|endoftext|>" },
	  "{% for message in messages %}{% if message['role'] == 'user' %}{{ '<|user|>\n' + "
	  "message['content'] + '<|endoftext|>\n' }}{% else %}{{ '<|' + message['role'] + "
	  "'|>\n' + message['content'] + '<|endoftext|>\n' }}{% endif %}{% endfor %}{% if "
	  "add_generation_prompt %}{{ '<|' + 'assistant|>\n' }}{% endif %}",
	  fmt_zephyr },
	{ "gemma", { "<start_of_turn>" }, { NULL }, { "<start_of_turn>", "<end_of_turn>" },
	  "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'assistant') "
	  "%}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ "
	  "'<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
	  "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}",
	  fmt_gemma },
	{ "llama3", { "<|start_header_id|>", "<|end_header_id|>" }, { NULL },
	  { "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>" },
	  "{% for message in messages %}{% set content = '<|start_header_id|>' + "
	  "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + "
	  "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}"
	  "{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
	  "'<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
	  fmt_llama3 },
};

#define N_TEMPLATES (sizeof(templates) / sizeof(templates[0]))

static const struct chat_template *by_name(const char *name)
{
	for (size_t i = 0; name && i < N_TEMPLATES; i++)
		if (!strcmp(templates[i].name, name))
			return &templates[i];
	return NULL;
}

static int matches(const struct chat_template *t, const char *text)
{
	for (int j = 0; j < 3 && t->marks[j]; j++)
		if (!strstr(text, t->marks[j]))
			return 0;
	if (!t->any_of[0])
		return 1;
	for (int j = 0; j < 2 && t->any_of[j]; j++)
		if (strstr(text, t->any_of[j]))
			return 1;
	return 0;
}

const char *llmos_chat_template_detect(const char *text)
{
	const struct chat_template *t = by_name(text);

	if (t)
		return t->name;
	for (size_t i = 0; text && i < N_TEMPLATES; i++)
		if (matches(&templates[i], text))
			return templates[i].name;
	return NULL;
}

const char *llmos_chat_template_names(void)
{
	return "chatml, llama3, phi3, gemma, llama2, llama2-sys, llama2-sys-bos, "
	       "llama2-sys-strip, mistral-v1, mistral-v3, mistral-v3-tekken, mistral-v7, zephyr";
}

const char *llmos_chat_template_text(const char *name)
{
	const struct chat_template *t = by_name(name);

	return t ? t->jinja : NULL;
}

const char *const *llmos_chat_template_tokens(const char *name)
{
	const struct chat_template *t = by_name(name);

	return t ? t->tokens : NULL;
}

int llmos_chat_apply(const char *name, const struct llmos_chat_msg *msgs, size_t n,
		     int add_assistant, char *buf, size_t cap)
{
	const struct chat_template *t = by_name(name);
	struct out o = { buf, buf ? cap : 0, 0 };

	if (!t)
		return llmos_fail(-EINVAL, "chat: unknown template '%s' (known: %s)",
				  name ? name : "(none)", llmos_chat_template_names());
	for (size_t i = 0; i < n; i++)
		if (!msgs[i].role || !msgs[i].content)
			return llmos_fail(-EINVAL, "chat: message %zu has no role or content", i);
	t->format(&o, msgs, n, add_assistant);
	if (o.n > 0x7fffffff)
		return llmos_fail(-EOVERFLOW, "chat: the conversation is too long");
	if (o.cap)
		o.buf[o.n < o.cap ? o.n : o.cap - 1] = '\0';
	return (int)o.n;
}
