/* SPDX-License-Identifier: MIT */
/*
 * cmd_bench_sched.c - `llmos bench-sched`: what the module's scheduler does
 * for an urgent client sharing the machine.  One interactive client's
 * per-token latency (p50/p99) alone, then beside N background clients
 * under the scheduler, then beside them unscheduled; the background
 * clients' throughput in both; and the scheduler's own cost per step on an
 * idle machine.  Every client is a process with one thread.  It measures
 * and prints; it judges nothing.
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/llmos.h>

#include "cli.h"

#define MAX_BACKGROUND 32
#define PROMPT "Once upon a time"

struct bs_opts {
	const char *model;
	long n_tokens, n_background, cost_steps;
	long threads; /* per client */
	uint32_t device; /* LLMOS_DEVICE_*: every client's */
};

/* What a client reports through the shared page. */
struct client_result {
	int ready, failed;
	uint64_t tokens;
	double seconds;
	struct llmos_sched_info sched;
};

/* Shared by the parent and its clients (MAP_SHARED before fork). */
struct shared {
	int go, stop;
	int fg_keep; /* the interactive client keeps its grant between tokens */
	struct client_result res[1 + MAX_BACKGROUND]; /* [0]: the interactive client */
	double lat[];                                  /* its per-token latencies, seconds */
};

/* One client's model, session and sampler. */
struct client {
	struct llmos_model *m;
	struct llmos_session *s;
	struct llmos_sampler *smp;
	int32_t ids[64];
	int n_prompt;
	unsigned int eval_flags; /* LLMOS_EVAL_KEEP_GRANT for the (b2) foreground */
};

static void bs_usage(FILE *out)
{
	fprintf(out,
		"usage: llmos bench-sched -m MODEL [-n TOKENS] [--background N] [-t THREADS]\n"
		"                         [--steps S] [--device cpu|npu]\n"
		"\n"
		"Measure the interactive client's per-token latency (p50, p99, mean) in four\n"
		"conditions: (a) alone; (b) with N background clients, all under llmos.ko's\n"
		"scheduler (the foreground in class interactive, the others in background),\n"
		"the foreground giving its grant back after each token; (b2) the same, the\n"
		"foreground keeping its grant between tokens (LLMOS_EVAL_KEEP_GRANT); (c) with\n"
		"them, unscheduled (LLMOS_CLASS_NONE).  Also the background clients' total\n"
		"tokens/s, and the scheduler's cost per step: the JOB_STEP round trip and\n"
		"the release at the end of an eval, over S steps of one idle client.  Each\n"
		"client is one process with THREADS threads, generating greedily from\n"
		"\"" PROMPT "\".  The interactive class needs CAP_SYS_NICE (root).\n"
		"\n"
		"  -m, --model MODEL     GGUF file or llmos:NAME\n"
		"  -n, --n-tokens N      tokens the interactive client generates (default 256)\n"
		"      --background N    background clients (default 3, at most %d)\n"
		"  -t, --threads N       threads per client (default: one per CPU, as a\n"
		"                        deployment that gives each step every core)\n"
		"      --steps S         steps for the cost measurement (default 2000)\n"
		"      --device DEV      where every client's matmuls run: cpu (default), or\n"
		"                        npu (q8_0/q4_0 ones as jobs of llmos.ko's NPU, which\n"
		"                        orders them by the same classes)\n"
		"  -h, --help            this help\n",
		MAX_BACKGROUND);
}

static int parse_bs(int argc, char **argv, struct bs_opts *o)
{
	static const struct option longopts[] = {
		{ "model", 1, NULL, 'm' }, { "n-tokens", 1, NULL, 'n' },
		{ "background", 1, NULL, 1 }, { "steps", 1, NULL, 2 },
		{ "threads", 1, NULL, 't' }, { "device", 1, NULL, 3 },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int c, bad = 0;

	while (!bad && (c = getopt_long(argc, argv, "m:n:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'n':
			bad = cli_int("bench-sched", "-n", optarg, 1, 1 << 20, &o->n_tokens);
			break;
		case 1:
			bad = cli_int("bench-sched", "--background", optarg, 0, MAX_BACKGROUND,
				      &o->n_background);
			break;
		case 2:
			bad = cli_int("bench-sched", "--steps", optarg, 1, 1 << 24,
				      &o->cost_steps);
			break;
		case 't': bad = cli_int("bench-sched", "-t", optarg, 1, 256, &o->threads); break;
		case 3: bad = cli_device("bench-sched", optarg, &o->device); break;
		case 'h': bs_usage(stdout); return -1;
		default: bs_usage(stderr); return 1;
		}
	}
	if (bad)
		return 1;
	if (!o->model || optind != argc) {
		fprintf(stderr, "llmos bench-sched: -m MODEL is required\n");
		bs_usage(stderr);
		return 1;
	}
	return 0;
}

static void client_free(struct client *c)
{
	llmos_sampler_free(c->smp);
	llmos_session_free(c->s);
	llmos_model_free(c->m);
}

/* Load, make a session of this class, tokenize, warm up. */
static int client_init(struct client *c, const char *model, long threads, uint32_t device,
		       int sched_class)
{
	struct llmos_sampler_params sp;
	struct llmos_model_desc d;
	int ret;

	memset(c, 0, sizeof(*c));
	if (cli_load("bench-sched", model, &c->m))
		return -1;
	llmos_model_describe(c->m, &d);
	llmos_sampler_default_params(&sp);
	sp.temp = 0;
	if (cli_session_on("bench-sched", c->m, d.n_ctx_train < 256 ? d.n_ctx_train : 256,
			   (uint32_t)threads, 0, device, &c->s) ||
	    cli_sched("bench-sched", c->s, sched_class, 0))
		return -1;
	ret = llmos_sampler_create(&c->smp, &sp, d.n_vocab);
	if (!ret)
		ret = c->n_prompt = llmos_model_tokenize(c->m, PROMPT, strlen(PROMPT),
							 d.add_bos ? LLMOS_TOKENIZE_BOS : 0,
							 c->ids, 64);
	if (ret >= 0)
		ret = llmos_session_eval(c->s, c->ids, (uint32_t)c->n_prompt, 0);
	return ret < 0 ? cli_error("bench-sched", "client setup failed", ret), -1 : 0;
}

/* One token: sample from the last logits and evaluate it; restart when full. */
static int client_token(struct client *c)
{
	int32_t id = llmos_sampler_sample(c->smp, llmos_session_logits(c->s, -1));

	if (llmos_session_pos(c->s) + 1 >= llmos_session_n_ctx(c->s)) {
		llmos_session_reset(c->s);
		return llmos_session_eval(c->s, c->ids, (uint32_t)c->n_prompt, c->eval_flags);
	}
	return llmos_session_eval(c->s, &id, 1, c->eval_flags);
}

static void wait_for(volatile int *flag)
{
	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE))
		usleep(500);
}

/* The interactive client: n tokens, each timed. */
static int run_foreground(struct client *c, struct shared *sh, long n)
{
	double t0 = cli_now(), t;
	long i;

	for (i = 0; i < n; i++) {
		t = cli_now();
		if (client_token(c) < 0)
			return -1;
		sh->lat[i] = cli_now() - t;
	}
	sh->res[0].tokens = (uint64_t)n;
	sh->res[0].seconds = cli_now() - t0;
	return 0;
}

/* A background client: tokens until told to stop. */
static int run_background(struct client *c, struct shared *sh, struct client_result *r)
{
	double t0 = cli_now();

	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		if (client_token(c) < 0)
			return -1;
		r->tokens++;
	}
	r->seconds = cli_now() - t0;
	return 0;
}

static void client_main(const struct bs_opts *o, struct shared *sh, int idx, int sched_class)
{
	struct client_result *r = &sh->res[idx];
	struct client c;
	int ret = client_init(&c, o->model, o->threads, o->device, sched_class);

	__atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
	if (!ret) {
		c.eval_flags = idx ? 0 : (unsigned int)sh->fg_keep * LLMOS_EVAL_KEEP_GRANT;
		wait_for(&sh->go);
		ret = idx ? run_background(&c, sh, r) : run_foreground(&c, sh, o->n_tokens);
		if (!ret)
			ret = llmos_session_yield(c.s);
		llmos_session_sched_info(c.s, &r->sched);
	}
	r->failed = ret < 0;
	client_free(&c);
	fflush(NULL);
	_exit(ret < 0);
}

/* Reap the first n clients (whose results then are final); 0 if all exited 0. */
static int reap(const pid_t *pids, int n, struct shared *sh)
{
	int i, status, failed = 0;

	for (i = 0; i < n; i++) {
		if (i == 1) /* the interactive client is done: stop the others */
			__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
		waitpid(pids[i], &status, 0);
		failed |= !WIFEXITED(status) || WEXITSTATUS(status);
	}
	return failed ? -1 : 0;
}

/* Run the interactive client and n_bg background clients; 0 if all worked. */
static int run_condition(const struct bs_opts *o, struct shared *sh, long n_bg, int fg_class,
			 int bg_class, int fg_keep)
{
	pid_t pids[1 + MAX_BACKGROUND];
	int i;

	memset(sh, 0, sizeof(*sh));
	sh->fg_keep = fg_keep;
	fflush(stdout); /* or the clients would print it again */
	for (i = 0; i <= n_bg; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			client_main(o, sh, i, i ? bg_class : fg_class);
		if (pids[i] < 0) {
			perror("llmos bench-sched: fork");
			__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
			__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
			reap(pids, i, sh);
			return -1;
		}
	}
	for (i = 0; i <= n_bg; i++)
		wait_for(&sh->res[i].ready);
	__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
	return reap(pids, (int)n_bg + 1, sh);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The nearest-rank percentile p (0..1) of n sorted values. */
static double percentile(const double *v, long n, double p)
{
	long k = (long)ceil(p * (double)n);

	return v[k < 1 ? 0 : k > n ? n - 1 : k - 1];
}

static void print_condition(const char *name, struct shared *sh, long n, long n_bg)
{
	const struct llmos_sched_info *si = &sh->res[0].sched;
	double bg_tps = 0, sum = 0;
	long i;

	qsort(sh->lat, (size_t)n, sizeof(double), cmp_double);
	for (i = 0; i < n; i++)
		sum += sh->lat[i];
	for (i = 1; i <= n_bg; i++)
		if (sh->res[i].seconds > 0)
			bg_tps += (double)sh->res[i].tokens / sh->res[i].seconds;
	printf("| %-38s | %8.3f | %8.3f | %8.3f |", name, percentile(sh->lat, n, 0.5) * 1e3,
	       percentile(sh->lat, n, 0.99) * 1e3, sum / (double)n * 1e3);
	if (n_bg)
		printf(" %10.1f |", bg_tps);
	else
		printf(" %10s |", "-");
	if (si->active && si->steps)
		printf(" %7.1f / %-8.1f |\n", (double)si->wait_ns / (double)si->steps / 1e3,
		       (double)si->max_wait_ns / 1e3);
	else
		printf(" %18s |\n", "unscheduled");
	fflush(stdout);
}

/* One idle client, S steps: the JOB_STEP round trip and the release per eval. */
static int measure_cost(const struct bs_opts *o)
{
	struct llmos_sched_info si;
	struct client c;
	double t0, tps[2];
	long i;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		int ret = client_init(&c, o->model, o->threads, o->device,
				      pass ? LLMOS_CLASS_NORMAL : LLMOS_CLASS_NONE);

		t0 = cli_now();
		for (i = 0; i < o->cost_steps && !ret; i++)
			ret = client_token(&c);
		tps[pass] = (double)o->cost_steps / (cli_now() - t0);
		if (!ret)
			llmos_session_sched_info(c.s, &si);
		client_free(&c);
		if (ret)
			return -1;
	}
	if (!si.active || !si.steps) {
		printf("scheduler cost: no scheduler (standalone, or a module without it)\n");
		return 0;
	}
	printf("scheduler cost per step (idle, %llu steps, one client): JOB_STEP round trip "
	       "%.2f us mean (max %.1f us), release at eval end %.2f us mean; decode %.1f "
	       "tokens/s unscheduled, %.1f scheduled (%+.2f us per token)\n",
	       (unsigned long long)si.steps, (double)si.wait_ns / (double)si.steps / 1e3,
	       (double)si.max_wait_ns / 1e3,
	       si.releases ? (double)si.release_ns / (double)si.releases / 1e3 : 0.0, tps[0],
	       tps[1], (1.0 / tps[1] - 1.0 / tps[0]) * 1e6);
	return 0;
}

static void print_header(const struct bs_opts *o)
{
	struct llmos_module_info info;
	struct llmos *h;
	int sched = 0;

	if (llmos_open(&h, 0) == 0) {
		sched = llmos_module_info(h, &info) == 0 && (info.features & LLMOS_F_SCHED);
		llmos_close(h);
	}
	printf("bench-sched: %s, 1 interactive client + %ld background, %ld tokens timed, "
	       "%ld thread(s) per client, %ld CPUs, matmuls on the %s, %s\n", o->model,
	       o->n_background, o->n_tokens, o->threads, sysconf(_SC_NPROCESSORS_ONLN),
	       cli_device_name(o->device),
	       sched ? "llmos.ko scheduler present" : "NO scheduler: (b) and (b2) run unscheduled");
	printf("| %-38s | %8s | %8s | %8s | %10s | %18s |\n", "condition", "p50 ms", "p99 ms",
	       "mean ms", "bg tok/s", "fg wait avg/max us");
}

static const struct condition {
	const char *name; /* %ld: the number of background clients */
	int n_bg, fg_class, bg_class, fg_keep;
} conditions[] = {
#define FG LLMOS_CLASS_INTERACTIVE
#define BG LLMOS_CLASS_BACKGROUND
	{ "(a) interactive alone", 0, FG, BG, 0 },
	{ "(b) + %ld background, scheduled", 1, FG, BG, 0 },
	{ "(b2) as (b), fg keeps its grant", 1, FG, BG, 1 },
	{ "(c) + %ld background, unscheduled", 1, LLMOS_CLASS_NONE, LLMOS_CLASS_NONE, 0 },
#undef FG
#undef BG
};

static int run_all(const struct bs_opts *o, struct shared *sh)
{
	char name[64];
	size_t i;
	int ret = 0;

	print_header(o);
	for (i = 0; i < sizeof(conditions) / sizeof(conditions[0]) && !ret; i++) {
		const struct condition *c = &conditions[i];
		long n_bg = c->n_bg ? o->n_background : 0;

		snprintf(name, sizeof(name), c->name, o->n_background);
		ret = run_condition(o, sh, n_bg, c->fg_class, c->bg_class, c->fg_keep);
		if (!ret)
			print_condition(name, sh, o->n_tokens, n_bg);
	}
	if (!ret)
		ret = measure_cost(o);
	if (ret)
		fprintf(stderr, "llmos bench-sched: a client failed (see above)\n");
	return ret ? 1 : 0;
}

int cmd_bench_sched(int argc, char **argv)
{
	struct bs_opts o = { NULL, 256, 3, 2000, 0, LLMOS_DEVICE_CPU };
	struct shared *sh;
	size_t size;
	int ret;

	ret = parse_bs(argc, argv, &o);
	if (ret)
		return ret < 0 ? 0 : 2;
	if (!o.threads)
		o.threads = sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
	size = sizeof(*sh) + (size_t)o.n_tokens * sizeof(double);
	sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		fprintf(stderr, "llmos bench-sched: out of memory\n");
		return 1;
	}
	ret = run_all(&o, sh);
	munmap(sh, size);
	return ret;
}
