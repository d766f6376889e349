/* SPDX-License-Identifier: MIT */
/*
 * cmd_bench.c - `llmos bench`: prompt processing (pp) and generation (tg)
 * speed, as llama-bench measures them: pp = one batch of P prompt tokens
 * into an empty context; tg = N single-token steps from an empty context.
 * Each is repeated and the median printed; it measures, never judges.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

struct bench_opts {
	const char *model;
	long pp, tg, threads, reps, batch, weight;
	int sched_class;
	uint32_t device;
};

static void bench_usage(FILE *out)
{
	fprintf(out, "usage: llmos bench -m MODEL.gguf [-p 128] [-n 128] [-t THREADS] [-r 5]\n"
		     "\n"
		     "Measure prompt processing (ppP) and generation (tgN) in tokens/s; print the\n"
		     "median and the spread of R repetitions after one warm-up run.\n"
		     "\n"
		     "  -m, --model FILE     GGUF model file\n"
		     "  -p, --n-prompt P     prompt tokens (default 128; 0 skips the test)\n"
		     "  -n, --n-gen N        generated tokens (default 128; 0 skips the test)\n"
		     "  -t, --threads N      threads (default: one per CPU)\n"
		     "  -b, --batch N        prompt tokens per forward step (default: P)\n"
		     "  -r, --repetitions R  repetitions (default 5)\n"
		     "      --class CLASS    scheduling class with llmos.ko (realtime,\n"
		     "                       interactive, normal, background, none;\n"
		     "                       default normal)\n"
		     "      --weight W       share inside the class, 1..10000\n"
		     "      --device DEV     where matmuls run: cpu (default), or npu: those\n"
		     "                       with q8_0/q4_0 weights on llmos.ko's NPU\n"
		     "  -h, --help           this help\n");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One timed run: tokens/s, or a negative error code. */
static double run_once(struct llmos_session *s, const int32_t *ids, long n, int one_by_one)
{
	double t0;
	long i;
	int ret = 0;

	llmos_session_reset(s);
	t0 = cli_now();
	if (one_by_one) {
		for (i = 0; i < n && !ret; i++)
			ret = llmos_session_eval(s, &ids[i], 1, 0);
	} else {
		ret = llmos_session_eval(s, ids, (uint32_t)n, 0);
	}
	return ret < 0 ? ret : n / (cli_now() - t0);
}

static int bench_test(struct llmos_session *s, const struct bench_opts *o, const int32_t *ids,
		      long n, int one_by_one, const struct llmos_model_desc *d)
{
	double *tps = calloc(o->reps, sizeof(double)), r;
	long i;

	if (!tps)
		return 1;
	r = run_once(s, ids, n, one_by_one); /* warm-up: page in the weights */
	for (i = 0; i < o->reps && r >= 0; i++)
		r = tps[i] = run_once(s, ids, n, one_by_one);
	if (r < 0) {
		free(tps);
		return cli_error("bench", "evaluation failed", (int)r);
	}
	qsort(tps, o->reps, sizeof(double), cmp_double);
	printf("| %-10s | %8.2f MiB | %7.2f M | %7s | %7ld | %6s%-5ld | %10.2f | %8.2f .. %-8.2f |\n",
	       d->weight_type, d->weight_bytes / 1048576.0, d->n_params / 1e6,
	       cli_device_name(o->device), o->threads,
	       one_by_one ? "tg" : "pp", n, tps[o->reps / 2], tps[0], tps[o->reps - 1]);
	fflush(stdout);
	free(tps);
	return 0;
}

static int parse_bench(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longopts[] = {
		{ "model", 1, NULL, 'm' },   { "n-prompt", 1, NULL, 'p' }, { "n-gen", 1, NULL, 'n' },
		{ "threads", 1, NULL, 't' }, { "batch", 1, NULL, 'b' },
		{ "repetitions", 1, NULL, 'r' }, { "class", 1, NULL, 1 },
		{ "weight", 1, NULL, 2 },    { "device", 1, NULL, 3 },
		{ "help", 0, NULL, 'h' },    { NULL, 0, NULL, 0 },
	};
	int c, bad = 0;

	while (!bad && (c = getopt_long(argc, argv, "m:p:n:t:b:r:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'p': bad = cli_int("bench", "-p", optarg, 0, 1 << 16, &o->pp); break;
		case 'n': bad = cli_int("bench", "-n", optarg, 0, 1 << 16, &o->tg); break;
		case 't': bad = cli_int("bench", "-t", optarg, 1, 256, &o->threads); break;
		case 'b': bad = cli_int("bench", "-b", optarg, 1, 1 << 16, &o->batch); break;
		case 'r': bad = cli_int("bench", "-r", optarg, 1, 1000, &o->reps); break;
		case 1: bad = cli_class("bench", optarg, &o->sched_class); break;
		case 3: bad = cli_device("bench", optarg, &o->device); break;
		case 2:
			bad = cli_int("bench", "--weight", optarg, 1, LLMOS_SCHED_WEIGHT_MAX,
				      &o->weight);
			break;
		case 'h': bench_usage(stdout); return -1;
		default: bench_usage(stderr); return 1;
		}
	}
	if (bad)
		return 1;
	if (!o->model || optind != argc) {
		fprintf(stderr, "llmos bench: -m MODEL is required\n");
		bench_usage(stderr);
		return 1;
	}
	return 0;
}

int cmd_bench(int argc, char **argv)
{
	struct bench_opts o = { NULL, 128, 128, 0, 5, 0, 0, CLI_CLASS_UNSET, LLMOS_DEVICE_CPU };
	struct llmos_session *s = NULL;
	struct llmos_model *m = NULL;
	struct llmos_model_desc d;
	int32_t *ids = NULL;
	long i, n_max;
	int ret;

	ret = parse_bench(argc, argv, &o);
	if (ret)
		return ret < 0 ? 0 : 2;
	if (!o.threads)
		o.threads = sysconf(_SC_NPROCESSORS_ONLN);
	n_max = o.pp > o.tg ? o.pp : o.tg;
	ret = cli_load("bench", o.model, &m);
	if (!ret)
		ret = cli_session_on("bench", m, (uint32_t)(n_max ? n_max : 1), (uint32_t)o.threads,
				     (uint32_t)(o.batch ? o.batch : (o.pp ? o.pp : 1)), o.device,
				     &s);
	if (!ret)
		ret = cli_sched("bench", s, o.sched_class, o.weight);
	if (!ret && !(ids = malloc(sizeof(*ids) * (n_max ? n_max : 1))))
		ret = 1;
	if (!ret) {
		llmos_model_describe(m, &d);
		for (i = 0; i < n_max; i++)
			ids[i] = (int32_t)((i * 7919 + 3) % d.n_vocab);
		printf("| %-10s | %12s | %9s | %7s | %7s | %11s | %10s | %19s |\n", "type", "size",
		       "params", "backend", "threads", "test", "t/s median", "t/s min .. max");
		if (o.pp)
			ret = bench_test(s, &o, ids, o.pp, 0, &d);
		if (!ret && o.tg)
			ret = bench_test(s, &o, ids, o.tg, 1, &d);
		if (!ret)
			cli_device_report("bench", s);
	}
	free(ids);
	llmos_session_free(s);
	llmos_model_free(m);
	return ret;
}
