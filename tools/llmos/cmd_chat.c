/* SPDX-License-Identifier: MIT */
/*
 * cmd_chat.c - `llmos chat`: a multi-turn conversation in the terminal (or
 * one message per line from a pipe), formatted with the model's chat
 * template.
 *
 * Each turn feeds the model only what the template adds for it, as
 * llama.cpp's llama-cli does: the conversation so far formatted without
 * and with the new message, the difference tokenized (with a newline in
 * front when the former ends in one).  The KV cache keeps everything
 * before, so the history is never recomputed.  A reply streams until an
 * end-of-turn token (which is fed too, as llama-cli feeds it), -n tokens,
 * or a full context.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

struct chat_opts {
	const char *model, *system, *tmpl;
	long n_predict, ctx, threads;
	int show_tokens;
	uint32_t device;
	struct llmos_sampler_params sp;
};

struct chat {
	struct llmos_model *m;
	struct llmos_session *s;
	struct llmos_sampler *smp;
	const char *tmpl;
	struct llmos_chat_msg *msgs;
	size_t n_msgs;
	int fed_bos;
};

static void chat_usage(FILE *out)
{
	fprintf(out,
		"usage: llmos chat -m MODEL.gguf [--system TEXT] [--chat-template NAME] [options]\n"
		"\n"
		"Talk with the model: each line of standard input is a message; the reply\n"
		"streams to standard output.  The model's tokenizer.chat_template formats the\n"
		"conversation (%s).\n"
		"\n"
		"  -m, --model FILE        GGUF model file (or llmos:NAME)\n"
		"      --system TEXT       a system message first\n"
		"      --chat-template N   use template N instead of the model's\n"
		"  -n, --n-predict N       at most N tokens a reply (default -1: until the end\n"
		"                          of the turn or a full context)\n"
		"  -c, --ctx N             context length (default: the model's, at most 4096)\n"
		"  -t, --threads N         threads (default: one per CPU)\n"
		"      --temp T            temperature; 0 = greedy (default 0.8)\n"
		"  -s, --seed S            random seed\n"
		"      --show-tokens       print the ids fed each turn to stderr\n"
		CLI_DEVICE_HELP
		"  -h, --help              this help\n",
		llmos_chat_template_names());
}

static int parse_chat(int argc, char **argv, struct chat_opts *o)
{
	static const struct option longopts[] = {
		{ "model", 1, NULL, 'm' },     { "system", 1, NULL, 1 },
		{ "chat-template", 1, NULL, 2 }, { "n-predict", 1, NULL, 'n' },
		{ "ctx", 1, NULL, 'c' },       { "threads", 1, NULL, 't' },
		{ "temp", 1, NULL, 3 },	       { "seed", 1, NULL, 's' },
		{ "show-tokens", 0, NULL, 4 }, { "device", 1, NULL, 5 },
		{ "help", 0, NULL, 'h' },      { NULL, 0, NULL, 0 },
	};
	long seed;
	int c;

	while ((c = getopt_long(argc, argv, "m:n:c:t:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 1: o->system = optarg; break;
		case 2: o->tmpl = optarg; break;
		case 'n': if (cli_int("chat", "-n", optarg, -1, 1 << 24, &o->n_predict)) return 1; break;
		case 'c': if (cli_int("chat", "-c", optarg, 1, 1 << 20, &o->ctx)) return 1; break;
		case 't': if (cli_int("chat", "-t", optarg, 1, 256, &o->threads)) return 1; break;
		case 3: if (cli_float("chat", "--temp", optarg, &o->sp.temp)) return 1; break;
		case 's':
			if (cli_int("chat", "--seed", optarg, 0, 0x7fffffffL, &seed))
				return 1;
			o->sp.seed = (uint64_t)seed;
			break;
		case 4: o->show_tokens = 1; break;
		case 5: if (cli_device("chat", optarg, &o->device)) return 1; break;
		case 'h': chat_usage(stdout); return -1;
		default: chat_usage(stderr); return 1;
		}
	}
	if (!o->model || optind != argc) {
		fprintf(stderr, "llmos chat: %s\n", optind != argc ? "unexpected argument"
								   : "-m MODEL is required");
		chat_usage(stderr);
		return 1;
	}
	return 0;
}

/* The conversation formatted, into a fresh string; NULL (reported) on error. */
static char *format(const struct chat *c, size_t n, int add_assistant)
{
	int len = llmos_chat_apply(c->tmpl, c->msgs, n, add_assistant, NULL, 0);
	char *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;

	if (len < 0 || !buf) {
		cli_error("chat", "cannot format the conversation", len < 0 ? len : -ENOMEM);
		free(buf);
		return NULL;
	}
	llmos_chat_apply(c->tmpl, c->msgs, n, add_assistant, buf, (size_t)len + 1);
	return buf;
}

/* What the last message adds to the conversation, as llama-cli computes it. */
static char *turn_text(const struct chat *c, int add_assistant)
{
	char *past = c->n_msgs > 1 ? format(c, c->n_msgs - 1, 0) : strdup("");
	char *all = past ? format(c, c->n_msgs, add_assistant) : NULL;
	char *out = NULL;
	size_t pl = past ? strlen(past) : 0;
	int nl = add_assistant && pl && past[pl - 1] == '\n';

	if (all && strlen(all) >= pl && (out = malloc(strlen(all) - pl + 2)))
		snprintf(out, strlen(all) - pl + 2, "%s%s", nl ? "\n" : "", all + pl);
	free(past);
	free(all);
	return out;
}

/* Say the context is full; 3 ends the conversation without an error. */
static int context_full(const struct chat *c, int need)
{
	fprintf(stderr, "\nllmos chat: the context of %u tokens is full (%u used, %d more "
			"needed): start a new chat or use a larger -c\n",
		llmos_session_n_ctx(c->s), llmos_session_pos(c->s), need);
	return 3;
}

static int feed(struct chat *c, const char *text, const struct chat_opts *o)
{
	struct llmos_model_desc d;
	size_t len = strlen(text), cap = llmos_tokenize_bound(len);
	int32_t *ids = malloc(cap * sizeof(*ids));
	unsigned int flags = LLMOS_TOKENIZE_SPECIAL;
	int n, ret = 0;

	llmos_model_describe(c->m, &d);
	if (!c->fed_bos && d.add_bos)
		flags |= LLMOS_TOKENIZE_BOS;
	n = ids ? llmos_model_tokenize(c->m, text, len, flags, ids, cap) : -ENOMEM;
	if (n < 0)
		ret = cli_error("chat", "cannot tokenize the message", n);
	else if (llmos_session_pos(c->s) + (uint32_t)n >= llmos_session_n_ctx(c->s))
		ret = context_full(c, n);
	if (!ret && o->show_tokens) {
		fprintf(stderr, "fed:");
		for (int i = 0; i < n; i++)
			fprintf(stderr, " %d", ids[i]);
		fprintf(stderr, "\n");
	}
	if (!ret && n > 0 && (ret = llmos_session_eval(c->s, ids, (uint32_t)n, 0)) < 0)
		ret = cli_error("chat", "evaluation failed", ret);
	for (int i = 0; !ret && i < n; i++)
		llmos_sampler_accept(c->smp, ids[i]);
	c->fed_bos = 1;
	free(ids);
	return ret;
}

/* Append to a growing string. */
static int append(char **s, size_t *len, const char *p, size_t n)
{
	char *t = realloc(*s, *len + n + 1);

	if (!t)
		return -ENOMEM;
	memcpy(t + *len, p, n);
	*len += n;
	t[*len] = '\0';
	*s = t;
	return 0;
}

/* Stream one reply; *reply gets its text. */
static int reply(struct chat *c, const struct chat_opts *o, char **text)
{
	struct llmos_decoder *dec;
	size_t len = 0;
	char buf[256];
	int ret = llmos_decoder_create(&dec, c->m);

	*text = strdup("");
	for (long i = 0; !ret && *text && (o->n_predict < 0 || i < o->n_predict); i++) {
		int32_t id = llmos_sampler_sample(c->smp, llmos_session_logits(c->s, -1));
		int eog = llmos_token_is_eog(c->m, id), n;

		if (llmos_session_pos(c->s) + 1 >= llmos_session_n_ctx(c->s)) {
			ret = context_full(c, 1);
			break;
		}
		llmos_sampler_accept(c->smp, id);
		ret = llmos_session_eval(c->s, &id, 1, 0);
		if (ret < 0 || eog)
			break;
		n = llmos_decoder_push(dec, id, buf, sizeof(buf));
		if (n > 0) {
			fwrite(buf, 1, (size_t)n, stdout);
			fflush(stdout);
			ret = append(text, &len, buf, (size_t)n);
		}
	}
	fputc('\n', stdout);
	fflush(stdout);
	llmos_decoder_free(dec);
	if (ret < 0)
		return cli_error("chat", "generation failed", ret);
	return *text ? ret : cli_error("chat", "out of memory", -ENOMEM);
}

static int add_msg(struct chat *c, const char *role, char *content)
{
	struct llmos_chat_msg *m = realloc(c->msgs, (c->n_msgs + 1) * sizeof(*m));

	if (!m)
		return cli_error("chat", "out of memory", -ENOMEM);
	c->msgs = m;
	m[c->n_msgs++] = (struct llmos_chat_msg){ role, content };
	return 0;
}

static int turn(struct chat *c, char *line, const struct chat_opts *o)
{
	char *text, *answer = NULL;
	int ret = add_msg(c, "user", line);

	if (ret)
		return ret;
	text = turn_text(c, 1);
	ret = text ? feed(c, text, o) : 1;
	free(text);
	if (!ret)
		ret = reply(c, o, &answer);
	if (answer && !add_msg(c, "assistant", answer))
		answer = NULL;
	free(answer);
	return ret;
}

static int converse(struct chat *c, const struct chat_opts *o)
{
	int tty = isatty(STDIN_FILENO), ret = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (o->system) {
		char *text;

		if ((ret = add_msg(c, "system", strdup(o->system))))
			return ret;
		text = turn_text(c, 0);
		ret = text ? feed(c, text, o) : 1;
		free(text);
	}
	while (!ret) {
		if (tty)
			fprintf(stderr, "> ");
		if ((n = getline(&line, &cap, stdin)) < 0)
			break;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		ret = turn(c, strdup(line), o);
	}
	free(line);
	return ret == 3 ? 0 : ret;
}

static int setup(struct chat *c, const struct chat_opts *o)
{
	struct llmos_model_desc d;
	int ret = cli_load("chat", o->model, &c->m);

	if (ret)
		return ret;
	c->tmpl = o->tmpl ? llmos_chat_template_detect(o->tmpl) : llmos_model_chat_template(c->m);
	if (!c->tmpl && o->tmpl) {
		fprintf(stderr, "llmos chat: unknown --chat-template '%s' (known: %s)\n", o->tmpl,
			llmos_chat_template_names());
		return 1;
	}
	if (!c->tmpl) {
		fprintf(stderr, "llmos chat: the model's chat template is missing or not "
				"recognised; name one with --chat-template NAME (known: %s)\n",
			llmos_chat_template_names());
		return 1;
	}
	llmos_model_describe(c->m, &d);
	ret = cli_session_on("chat", c->m, (uint32_t)o->ctx, (uint32_t)o->threads, 0, o->device,
			     &c->s);
	if (!ret && (ret = llmos_sampler_create(&c->smp, &o->sp, d.n_vocab)))
		ret = cli_error("chat", "setup failed", ret);
	return ret;
}

int cmd_chat(int argc, char **argv)
{
	struct chat_opts o = { .n_predict = -1 };
	struct chat c = { 0 };
	int ret;

	llmos_sampler_default_params(&o.sp);
	o.sp.seed = (uint64_t)time(NULL) & 0x7fffffff;
	ret = parse_chat(argc, argv, &o);
	if (ret)
		return ret < 0 ? 0 : 2;
	ret = setup(&c, &o);
	if (!ret)
		ret = converse(&c, &o);
	for (size_t i = 0; i < c.n_msgs; i++)
		free((char *)c.msgs[i].content);
	free(c.msgs);
	llmos_sampler_free(c.smp);
	llmos_session_free(c.s);
	llmos_model_free(c.m);
	return ret;
}
