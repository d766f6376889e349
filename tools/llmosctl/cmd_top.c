/* SPDX-License-Identifier: MIT */
/*
 * cmd_top.c - `llmosctl top [-d SECONDS] [--once]`: the scheduler's
 * counters as a live table (the same as `llmosctl stats`, plus grants per
 * second), redrawn until q or Ctrl-C.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

static volatile sig_atomic_t stop;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: llmosctl top [-d SECONDS] [--once]\n"
		"\n"
		"Show llmos.ko's compute scheduler as a table redrawn every second: slots busy,\n"
		"then per class and per process the steps queued, grants held, jobs, grants\n"
		"(total and per second since the last frame), revocations, cancels and the\n"
		"wait for a grant (average, and p50/p99 as upper bounds of the module's log2\n"
		"histogram buckets; see 'llmosctl stats --help').  q or Ctrl-C quits.\n"
		"\n"
		"options:\n"
		"  -d, --delay SECONDS  time between frames (default 1; 0.1 to 3600)\n"
		"  --once               print one frame and exit (no screen clearing)\n"
		"  -h, --help           this help\n"
		"\n"
		"Exit status: 0 quit, 1 failed, 2 bad usage.\n");
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Keys without Enter and without echo, when stdin is a terminal. */
static int raw_keys(struct termios *saved)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, saved))
		return 0;
	t = *saved;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	return !tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

/* Wait up to delay seconds; 1 if q was pressed or a signal came. */
static int wait_for_quit(double delay, int keys)
{
	struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };
	double end = now() + delay;
	char c;

	while (!stop) {
		int ms = (int)((end - now()) * 1000);

		if (ms <= 0)
			return 0;
		if (poll(&pfd, keys ? 1 : 0, ms) > 0 && (pfd.revents & POLLIN)) {
			if (read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q'))
				return 1;
		}
	}
	return 1;
}

/* Fetch and print one frame; it becomes *prev, taken at *t_prev. */
static int frame(struct llmos *h, struct stats_snapshot *prev, double *t_prev, int clear)
{
	struct stats_snapshot snap = { 0 };
	double t = now();
	time_t wall = time(NULL);
	char when[32];
	int ret = stats_fetch(h, &snap);

	if (ret < 0)
		return ret;
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&wall));
	if (clear)
		printf("\033[H\033[2J");
	printf("llmosctl top - %s%s\n", when, clear ? "   (q to quit)" : "");
	stats_print_table(&snap, *t_prev >= 0 ? prev : NULL, t - *t_prev);
	fflush(stdout);
	stats_free(prev);
	*prev = snap;
	*t_prev = t;
	return 0;
}

static int is_delay(const char *arg)
{
	return !strcmp(arg, "-d") || !strcmp(arg, "--delay");
}

static int parse_delay(const char *s, double *delay)
{
	char *end;

	errno = 0;
	*delay = strtod(s, &end);
	return errno || end == s || *end || !(*delay >= 0.1 && *delay <= 3600) ? -1 : 0;
}

static int loop(struct llmos *h, double delay, int once)
{
	struct stats_snapshot prev = { 0 };
	struct termios saved;
	int clear = !once && isatty(STDOUT_FILENO), keys = 0, ret;
	double t_prev = -1; /* no previous frame */

	if (!once) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		keys = raw_keys(&saved);
	}
	do
		ret = frame(h, &prev, &t_prev, clear);
	while (!ret && !once && !wait_for_quit(delay, keys));
	if (keys)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	stats_free(&prev);
	return ret;
}

int cmd_top(int argc, char **argv)
{
	double delay = 1.0;
	struct llmos *h;
	int i, once = 0, ret;

	for (i = 1; i < argc; i++) {
		if (ctl_is_help(argv[i])) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--once")) {
			once = 1;
		} else if (is_delay(argv[i]) && i + 1 < argc) {
			if (parse_delay(argv[++i], &delay))
				return ctl_usage("top", "-d wants 0.1 to 3600 seconds, not '%s'",
						 argv[i]);
		} else {
			return ctl_usage("top", "unexpected argument '%s'", argv[i]);
		}
	}
	if (ctl_open("top", &h))
		return CTL_EXIT_FAIL;
	ret = loop(h, delay, once);
	llmos_close(h);
	return ret < 0 ? ctl_error("top", ret, NULL) : 0;
}
