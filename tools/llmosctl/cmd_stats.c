/* SPDX-License-Identifier: MIT */
/*
 * cmd_stats.c - `llmosctl stats [--json]`: the module scheduler's counters,
 * per class and per process, with wait percentiles read from its log2
 * histograms; then the NPU's, when the module has one.  The snapshot and
 * table code is shared with `llmosctl top`.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/llmos.h>

#include "ctl.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: llmosctl stats [--json]\n"
		"\n"
		"Show llmos.ko's compute scheduler: its slots and how many are busy, then per\n"
		"class and per process: steps queued and grants held now, jobs open, and the\n"
		"totals of grants, revocations (grants held past the lease) and cancels, and\n"
		"the wait for a grant: average, p50 and p99.  The module keeps waits as log2\n"
		"histograms of microseconds, so p50 and p99 are the upper bound of the\n"
		"histogram bucket holding them: the true value is at most that, and more than\n"
		"half of it.\n"
		"\n"
		"With an NPU backend (feature npu), its counters follow: jobs submitted,\n"
		"completed, failed, timed out and cancelled, the time it was busy, jobs queued\n"
		"now and at most, and the bytes of all module buffers against their cap.\n"
		"\n"
		"options:\n"
		"  --json      one JSON object: slots, slots_busy, classes and processes (arrays\n"
		"              of objects with class, pid (processes), comm, weight, queued,\n"
		"              held, jobs, grants, revocations, cancels, wait_us_total,\n"
		"              wait_us_avg, wait_us_p50, wait_us_p99 and wait_hist), and with\n"
		"              an NPU \"npu\": name, types, submitted, completed, failed,\n"
		"              timedout, cancelled, busy_ns, queued, running, max_queued,\n"
		"              timeout_ms, buf_bytes, buf_cap_bytes\n"
		"  -h, --help  this help\n"
		"\n"
		"Exit status: 0 shown, 1 failed, 2 bad usage.\n");
}

int stats_fetch(struct llmos *h, struct stats_snapshot *snap)
{
	struct llmos_sched_counters *p = NULL;
	size_t cap = 0;
	int n;

	for (;;) {
		n = llmos_sched_stats(h, &snap->sum, p, cap);
		if (n < 0 || (size_t)n <= cap)
			break;
		free(p);
		cap = (size_t)n + 16;
		p = calloc(cap, sizeof(*p));
		if (!p)
			return -ENOMEM;
	}
	if (n < 0) {
		free(p);
		return n;
	}
	snap->procs = p;
	snap->n_procs = n;
	return 0;
}

void stats_free(struct stats_snapshot *snap)
{
	free(snap->procs);
	snap->procs = NULL;
	snap->n_procs = 0;
}

static uint64_t waits(const struct llmos_sched_counters *c)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < LLMOS_SCHED_WAIT_BUCKETS; i++)
		n += c->wait_hist[i];
	return n;
}

uint64_t stats_avg_wait_us(const struct llmos_sched_counters *c)
{
	uint64_t n = waits(c);

	if (!n)
		n = c->grants;
	return n ? c->wait_us_total / n : 0;
}

/* A duration in microseconds, in 7 characters or fewer: "850us", "12.3ms", "4.0s". */
static const char *fmt_us(char *buf, size_t cap, uint64_t us, int known)
{
	if (!known)
		snprintf(buf, cap, "-");
	else if (us < 1000)
		snprintf(buf, cap, "%lluus", (unsigned long long)us);
	else if (us < 1000000)
		snprintf(buf, cap, "%.1fms", (double)us / 1e3);
	else
		snprintf(buf, cap, "%.1fs", (double)us / 1e6);
	return buf;
}

static void comm_of(int pid, char *buf, size_t cap)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f || !fgets(buf, (int)cap, f))
		snprintf(buf, cap, "?");
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

static void print_row(const char *label, const struct llmos_sched_counters *c, double rate)
{
	char avg[16], p50[16], p99[16], rt[16];
	int known = waits(c) > 0;

	if (rate < 0)
		snprintf(rt, sizeof(rt), "-");
	else
		snprintf(rt, sizeof(rt), "%.0f", rate);
	printf("%-28s %6u %5u %5u %10llu %7s %8llu %7llu %7s %7s %7s\n", label, c->queued,
	       c->held, c->jobs, (unsigned long long)c->grants, rt,
	       (unsigned long long)c->revocations, (unsigned long long)c->cancels,
	       fmt_us(avg, sizeof(avg), stats_avg_wait_us(c), known),
	       fmt_us(p50, sizeof(p50), llmos_sched_wait_percentile(c->wait_hist, 0.5), known),
	       fmt_us(p99, sizeof(p99), llmos_sched_wait_percentile(c->wait_hist, 0.99), known));
}

static void print_header(const char *first)
{
	printf("%-28s %6s %5s %5s %10s %7s %8s %7s %7s %7s %7s\n", first, "QUEUED", "HELD", "JOBS",
	       "GRANTS", "GRANT/S", "REVOKED", "CANCELS", "AVG", "P50<=", "P99<=");
}

/* Grants per second since prev (same class or pid), or -1 when unknown. */
static double rate_of(const struct llmos_sched_counters *c, const struct stats_snapshot *prev,
		      double dt, int class_index)
{
	int i;

	if (!prev || dt <= 0)
		return -1;
	if (class_index >= 0)
		return (double)(c->grants - prev->sum.classes[class_index].grants) / dt;
	for (i = 0; i < prev->n_procs; i++)
		if (prev->procs[i].pid == c->pid)
			return (double)(c->grants - prev->procs[i].grants) / dt;
	return -1;
}

void stats_print_table(const struct stats_snapshot *snap, const struct stats_snapshot *prev,
		       double dt)
{
	char label[64], comm[32];
	int i;

	printf("slots %u, busy %u\n\n", snap->sum.slots, snap->sum.slots_busy);
	print_header("CLASS");
	for (i = 0; i < LLMOS_SCHED_CLASSES; i++)
		print_row(llmos_sched_class_name(i), &snap->sum.classes[i],
			  rate_of(&snap->sum.classes[i], prev, dt, i));
	printf("\n");
	print_header("PID COMMAND CEILING/WEIGHT");
	for (i = 0; i < snap->n_procs; i++) {
		const struct llmos_sched_counters *c = &snap->procs[i];
		const char *cls = llmos_sched_class_name(c->sched_class);

		comm_of(c->pid, comm, sizeof(comm));
		snprintf(label, sizeof(label), "%-7d %-.8s %s/%u", c->pid, comm, cls ? cls : "?",
			 c->weight);
		print_row(label, c, rate_of(c, prev, dt, -1));
	}
	if (!snap->n_procs)
		printf("(no process has used the scheduler)\n");
}

static void print_json_counters(const struct llmos_sched_counters *c, int is_proc)
{
	const char *cls = llmos_sched_class_name(c->sched_class);
	char comm[32];
	int i;

	printf("{");
	if (is_proc) {
		comm_of(c->pid, comm, sizeof(comm));
		printf("\"pid\": %d, \"comm\": ", c->pid);
		ctl_print_json_string(comm);
		printf(", \"weight\": %u, ", c->weight);
	}
	printf("\"class\": \"%s\", \"queued\": %u, \"held\": %u, \"jobs\": %u, \"grants\": %llu, "
	       "\"revocations\": %llu, \"cancels\": %llu, \"wait_us_total\": %llu, "
	       "\"wait_us_avg\": %llu, \"wait_us_p50\": %llu, \"wait_us_p99\": %llu, "
	       "\"wait_hist\": [", cls ? cls : "unknown", c->queued, c->held, c->jobs,
	       (unsigned long long)c->grants, (unsigned long long)c->revocations,
	       (unsigned long long)c->cancels, (unsigned long long)c->wait_us_total,
	       (unsigned long long)stats_avg_wait_us(c),
	       (unsigned long long)llmos_sched_wait_percentile(c->wait_hist, 0.5),
	       (unsigned long long)llmos_sched_wait_percentile(c->wait_hist, 0.99));
	for (i = 0; i < LLMOS_SCHED_WAIT_BUCKETS; i++)
		printf("%s%llu", i ? ", " : "", (unsigned long long)c->wait_hist[i]);
	printf("]}");
}

/* The NPU's counters: 1; 0 when the module has no NPU; or an error code. */
static int npu_fetch(struct llmos *h, struct llmos_npu_stats *st)
{
	struct llmos_module_info info;
	int ret;

	if (llmos_module_info(h, &info) < 0 || !(info.features & LLMOS_F_NPU))
		return 0;
	return (ret = llmos_npu_stats(h, st)) < 0 ? ret : 1;
}

static const char *type_name(unsigned int t)
{
	static char buf[16];

	switch (t) {
	case 0: return "f32";
	case 2: return "q4_0";
	case 8: return "q8_0";
	default: snprintf(buf, sizeof(buf), "type%u", t); return buf;
	}
}

static void print_npu(const struct llmos_npu_stats *st)
{
	unsigned int t;

	printf("\nnpu %s:", st->present ? st->name : "(no backend)");
	for (t = 0; t < 64; t++)
		if (st->types & (1ULL << t))
			printf(" %s", type_name(t));
	printf("\n%-10s %10s %10s %8s %8s %9s %10s %6s %5s %10s\n", "", "SUBMITTED",
	       "COMPLETED", "FAILED", "TIMEDOUT", "CANCELLED", "BUSY", "QUEUED", "MAX", "TIMEOUT");
	printf("%-10s %10llu %10llu %8llu %8llu %9llu %8.1fms %6u %5u %8ums\n", "jobs",
	       (unsigned long long)st->submitted, (unsigned long long)st->completed,
	       (unsigned long long)st->failed, (unsigned long long)st->timedout,
	       (unsigned long long)st->cancelled, (double)st->busy_ns / 1e6,
	       st->queued + st->running, st->max_queued, st->timeout_ms);
	printf("buffers    %.1f MB of %.1f MB\n", ctl_mb(st->buf_bytes), ctl_mb(st->buf_cap_bytes));
}

static void print_npu_json(const struct llmos_npu_stats *st)
{
	unsigned int t, n = 0;

	printf(",\n \"npu\": {\"present\": %d, \"name\": ", st->present);
	ctl_print_json_string(st->name);
	printf(", \"types\": [");
	for (t = 0; t < 64; t++)
		if (st->types & (1ULL << t))
			printf("%s\"%s\"", n++ ? ", " : "", type_name(t));
	printf("], \"submitted\": %llu, \"completed\": %llu, \"failed\": %llu, "
	       "\"timedout\": %llu, \"cancelled\": %llu, \"busy_ns\": %llu, \"queued\": %u, "
	       "\"running\": %u, \"max_queued\": %u, \"timeout_ms\": %u, \"buf_bytes\": %llu, "
	       "\"buf_cap_bytes\": %llu}", (unsigned long long)st->submitted,
	       (unsigned long long)st->completed, (unsigned long long)st->failed,
	       (unsigned long long)st->timedout, (unsigned long long)st->cancelled,
	       (unsigned long long)st->busy_ns, st->queued, st->running, st->max_queued,
	       st->timeout_ms, (unsigned long long)st->buf_bytes,
	       (unsigned long long)st->buf_cap_bytes);
}

static void print_json(const struct stats_snapshot *snap, const struct llmos_npu_stats *npu)
{
	int i;

	printf("{\"slots\": %u, \"slots_busy\": %u,\n \"classes\": [", snap->sum.slots,
	       snap->sum.slots_busy);
	for (i = 0; i < LLMOS_SCHED_CLASSES; i++) {
		printf("%s\n  ", i ? "," : "");
		print_json_counters(&snap->sum.classes[i], 0);
	}
	printf("],\n \"processes\": [");
	for (i = 0; i < snap->n_procs; i++) {
		printf("%s\n  ", i ? "," : "");
		print_json_counters(&snap->procs[i], 1);
	}
	printf("%s]", snap->n_procs ? "\n " : "");
	if (npu)
		print_npu_json(npu);
	printf("}\n");
}

int cmd_stats(int argc, char **argv)
{
	struct stats_snapshot snap = { 0 };
	struct llmos_npu_stats npu;
	struct llmos *h;
	int i, json = 0, ret, has_npu;

	for (i = 1; i < argc; i++) {
		if (ctl_is_help(argv[i])) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else {
			return ctl_usage("stats", "unexpected argument '%s'", argv[i]);
		}
	}
	if (ctl_open("stats", &h))
		return CTL_EXIT_FAIL;
	ret = stats_fetch(h, &snap);
	has_npu = ret < 0 ? 0 : npu_fetch(h, &npu);
	llmos_close(h);
	if (ret < 0 || has_npu < 0) {
		stats_free(&snap);
		return ctl_error("stats", ret < 0 ? ret : has_npu, NULL);
	}
	if (json)
		print_json(&snap, has_npu ? &npu : NULL);
	else
		stats_print_table(&snap, NULL, 0);
	if (!json && has_npu)
		print_npu(&npu);
	stats_free(&snap);
	return 0;
}
