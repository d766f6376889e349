/* SPDX-License-Identifier: MIT */
/*
 * cmd_run.c - `llmos run`: generate text from a prompt, streaming it to
 * stdout (the prompt, then the continuation); timings go to stderr.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

struct run_opts {
	const char *model, *prompt;
	long n_predict, threads, ctx, batch, weight;
	int no_bos, sched_class;
	int no_special, ignore_eos, print_ids;
	uint32_t device;
	struct llmos_sampler_params sp;
};

static void run_usage(FILE *out)
{
	fprintf(out,
		"usage: llmos run -m MODEL.gguf -p PROMPT [options]\n"
		"\n"
		"Generate text after PROMPT and stream it to stdout. Timings go to stderr.\n"
		"\n"
		"  -m, --model FILE        GGUF model file\n"
		"  -p, --prompt TEXT       the prompt (BOS is prepended if the model asks for it)\n"
		"  -n, --n-predict N       tokens to generate (default 128; -1: until EOS or a\n"
		"                          full context)\n"
		"  -c, --ctx N             context length (default: the model's, at most 4096)\n"
		"  -t, --threads N         threads (default: one per CPU)\n"
		"  -b, --batch N           prompt tokens per forward step (default 64)\n"
		"      --temp T            temperature; 0 = greedy (default 0.8)\n"
		"      --top-k K           keep the K most likely tokens; 0 = off (default 40)\n"
		"      --top-p P           nucleus sampling; 1 = off (default 0.95)\n"
		"      --min-p P           drop tokens below P x the top one; 0 = off (default 0.05)\n"
		"      --repeat-penalty R  penalise recent tokens; 1 = off (default 1)\n"
		"      --repeat-last-n N   how many recent tokens (default 64)\n"
		"  -s, --seed S            random seed (default: from the clock, printed)\n"
		"      --no-bos            do not prepend BOS\n"
		"      --no-special        special tokens' texts in the prompt stay text\n"
		"      --ignore-eos        go on past end-of-generation tokens\n"
		"      --ids               print the generated token ids, not their text\n"
		"      --class CLASS       scheduling class with llmos.ko: realtime, interactive,\n"
		"                          normal (default), background, or none (unscheduled);\n"
		"                          above normal needs CAP_SYS_NICE\n"
		"      --weight W          share inside the class, 1..10000 (default: the\n"
		"                          process's, 100)\n"
		CLI_DEVICE_HELP
		"  -h, --help              this help\n");
}

static int parse_sampling(int opt, const char *arg, struct run_opts *o)
{
	long v;

	switch (opt) {
	case 1:
		return cli_float("run", "--temp", arg, &o->sp.temp);
	case 2:
		if (cli_int("run", "--top-k", arg, 0, 1 << 24, &v))
			return -1;
		o->sp.top_k = (int32_t)v;
		return 0;
	case 3:
		return cli_float("run", "--top-p", arg, &o->sp.top_p);
	case 4:
		return cli_float("run", "--min-p", arg, &o->sp.min_p);
	case 5:
		return cli_float("run", "--repeat-penalty", arg, &o->sp.repeat_penalty);
	case 6:
		if (cli_int("run", "--repeat-last-n", arg, 0, 1 << 16, &v))
			return -1;
		o->sp.repeat_last_n = (int32_t)v;
		return 0;
	case 's':
		if (cli_int("run", "--seed", arg, 0, 0x7fffffffL, &v))
			return -1;
		o->sp.seed = (uint64_t)v;
		return 0;
	}
	return -1;
}

/* Returns 0 to go on, 1 on a bad option, -1 after --help. */
static int parse_run(int argc, char **argv, struct run_opts *o)
{
	static const struct option longopts[] = {
		{ "model", 1, NULL, 'm' },	   { "prompt", 1, NULL, 'p' },
		{ "n-predict", 1, NULL, 'n' },	   { "ctx", 1, NULL, 'c' },
		{ "threads", 1, NULL, 't' },	   { "batch", 1, NULL, 'b' },
		{ "temp", 1, NULL, 1 },		   { "top-k", 1, NULL, 2 },
		{ "top-p", 1, NULL, 3 },	   { "min-p", 1, NULL, 4 },
		{ "repeat-penalty", 1, NULL, 5 }, { "repeat-last-n", 1, NULL, 6 },
		{ "seed", 1, NULL, 's' },	   { "no-bos", 0, NULL, 7 },
		{ "class", 1, NULL, 8 },	   { "weight", 1, NULL, 9 },
		{ "no-special", 0, NULL, 10 },	   { "ignore-eos", 0, NULL, 11 },
		{ "ids", 0, NULL, 12 },		   { "device", 1, NULL, 13 },
		{ "help", 0, NULL, 'h' },	   { NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "m:p:n:c:t:b:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'p': o->prompt = optarg; break;
		case 'n': if (cli_int("run", "-n", optarg, -1, 1 << 24, &o->n_predict)) return 1; break;
		case 'c': if (cli_int("run", "-c", optarg, 1, 1 << 20, &o->ctx)) return 1; break;
		case 't': if (cli_int("run", "-t", optarg, 1, 256, &o->threads)) return 1; break;
		case 'b': if (cli_int("run", "-b", optarg, 1, 1 << 16, &o->batch)) return 1; break;
		case 7: o->no_bos = 1; break;
		case 10: o->no_special = 1; break;
		case 11: o->ignore_eos = 1; break;
		case 12: o->print_ids = 1; break;
		case 13: if (cli_device("run", optarg, &o->device)) return 1; break;
		case 8: if (cli_class("run", optarg, &o->sched_class)) return 1; break;
		case 9:
			if (cli_int("run", "--weight", optarg, 1, LLMOS_SCHED_WEIGHT_MAX,
				    &o->weight))
				return 1;
			break;
		case 'h': run_usage(stdout); return -1;
		case '?': run_usage(stderr); return 1;
		default: if (parse_sampling(c, optarg, o)) return 1; break;
		}
	}
	if (!o->model || !o->prompt || optind != argc) {
		fprintf(stderr, "llmos run: %s\n", optind != argc ? "unexpected argument" :
			"-m MODEL and -p PROMPT are required");
		run_usage(stderr);
		return 1;
	}
	return 0;
}

struct generation {
	struct llmos_model *m;
	struct llmos_session *s;
	struct llmos_sampler *smp;
	struct llmos_decoder *dec;
	int32_t *ids;
	int n_prompt, n_gen;
	int print_ids;
	double t_prompt, t_gen;
};

static void emit(struct generation *g, int32_t id)
{
	char buf[256];
	int n;

	if (g->print_ids) {
		printf("%s%d", g->n_gen > 1 ? " " : "", id);
		fflush(stdout);
		return;
	}
	n = llmos_decoder_push(g->dec, id, buf, sizeof(buf));

	if (n > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		fflush(stdout);
	}
}

static int tokenize_prompt(struct generation *g, const struct run_opts *o)
{
	struct llmos_model_desc d;
	size_t len = strlen(o->prompt);
	unsigned int flags = o->no_special ? 0 : LLMOS_TOKENIZE_SPECIAL;

	llmos_model_describe(g->m, &d);
	if (d.add_bos && !o->no_bos)
		flags |= LLMOS_TOKENIZE_BOS;
	if (d.add_eos && !o->no_bos)
		flags |= LLMOS_TOKENIZE_EOS;
	g->ids = malloc(llmos_tokenize_bound(len) * sizeof(*g->ids));
	if (!g->ids) {
		fprintf(stderr, "llmos run: out of memory\n");
		return 1;
	}
	g->n_prompt = llmos_model_tokenize(g->m, o->prompt, len, flags, g->ids,
					   llmos_tokenize_bound(len));
	if (g->n_prompt < 0)
		return cli_error("run", "cannot tokenize the prompt", g->n_prompt);
	if ((uint32_t)g->n_prompt >= llmos_session_n_ctx(g->s)) {
		fprintf(stderr, "llmos run: the prompt is %d tokens but the context holds %u: use a "
				"larger -c or a shorter prompt\n", g->n_prompt,
			llmos_session_n_ctx(g->s));
		return 1;
	}
	return 0;
}

static int generate(struct generation *g, const struct run_opts *o)
{
	struct llmos_model_desc d;
	double t0 = cli_now();
	int32_t id;
	int i, ret;

	llmos_model_describe(g->m, &d);
	/* one eval after another: keep the scheduler's grant until the end */
	ret = llmos_session_eval(g->s, g->ids, (uint32_t)g->n_prompt, LLMOS_EVAL_KEEP_GRANT);
	if (ret < 0)
		return cli_error("run", "prompt evaluation failed", ret);
	g->t_prompt = cli_now() - t0;
	for (i = 0; i < g->n_prompt; i++) {
		llmos_sampler_accept(g->smp, g->ids[i]);
		llmos_decoder_push(g->dec, g->ids[i], (char[256]){ 0 }, 256);
	}
	if (!g->print_ids) {
		fputs(o->prompt, stdout);
		fflush(stdout);
	}
	t0 = cli_now();
	while (o->n_predict < 0 || g->n_gen < o->n_predict) {
		id = llmos_sampler_sample(g->smp, llmos_session_logits(g->s, -1));
		if (!o->ignore_eos && llmos_token_is_eog(g->m, id))
			break;
		g->n_gen++;
		emit(g, id);
		if (o->n_predict >= 0 && g->n_gen >= o->n_predict)
			break;
		if (llmos_session_pos(g->s) >= llmos_session_n_ctx(g->s)) {
			fprintf(stderr, "\nllmos run: the context of %u tokens is full\n",
				llmos_session_n_ctx(g->s));
			break;
		}
		ret = llmos_session_eval(g->s, &id, 1, LLMOS_EVAL_KEEP_GRANT);
		if (ret < 0)
			return cli_error("run", "decoding failed", ret);
	}
	g->t_gen = cli_now() - t0;
	ret = llmos_session_yield(g->s);
	return ret < 0 ? cli_error("run", "cannot release the compute grant", ret) : 0;
}

static void report(const struct generation *g)
{
	char tail[64];
	int n = llmos_decoder_flush(g->dec, tail, sizeof(tail));

	if (n > 0)
		fwrite(tail, 1, (size_t)n, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	fprintf(stderr, "llmos run: prompt %d tokens, %.1f tokens/s; generated %d tokens, "
			"%.1f tokens/s\n", g->n_prompt,
		g->t_prompt > 0 ? g->n_prompt / g->t_prompt : 0.0, g->n_gen,
		g->t_gen > 0 ? g->n_gen / g->t_gen : 0.0);
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = { .n_predict = 128, .sched_class = CLI_CLASS_UNSET };
	struct generation g = { 0 };
	int ret;

	llmos_sampler_default_params(&o.sp);
	o.sp.seed = (uint64_t)time(NULL) & 0x7fffffff;
	ret = parse_run(argc, argv, &o);
	if (ret)
		return ret < 0 ? 0 : 2;
	if (o.sp.temp > 0 && !getenv("LLMOS_QUIET"))
		fprintf(stderr, "llmos run: seed %llu\n", (unsigned long long)o.sp.seed);
	g.print_ids = o.print_ids;
	ret = cli_load("run", o.model, &g.m);
	if (!ret)
		ret = cli_session_on("run", g.m, (uint32_t)o.ctx, (uint32_t)o.threads,
				     (uint32_t)o.batch, o.device, &g.s);
	if (!ret)
		ret = cli_sched("run", g.s, o.sched_class, o.weight);
	if (!ret) {
		struct llmos_model_desc d;

		llmos_model_describe(g.m, &d);
		if ((ret = llmos_sampler_create(&g.smp, &o.sp, d.n_vocab)) ||
		    (ret = llmos_decoder_create(&g.dec, g.m)))
			ret = cli_error("run", "setup failed", ret);
	}
	if (!ret)
		ret = tokenize_prompt(&g, &o);
	if (!ret)
		ret = generate(&g, &o);
	if (!ret) {
		report(&g);
		cli_device_report("run", g.s);
	}
	free(g.ids);
	llmos_decoder_free(g.dec);
	llmos_sampler_free(g.smp);
	llmos_session_free(g.s);
	llmos_model_free(g.m);
	return ret;
}
