/* SPDX-License-Identifier: MIT */
/*
 * test_llmosctl.c - llmosctl without the module ($LLMOS_BIN/llmosctl, as
 * `make check` sets it): every command (prio, stats, top included) has
 * --help, bad usage exits 2, a missing module exits 1 saying "insmod
 * llmos.ko", bad names and corrupt files are refused before the module is
 * needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "run_cmd.h"

static char ctl[4096];

/* Run llmosctl with args; capture stdout and stderr together. */
static int run(const char *args, char *out, size_t cap)
{
	char cmd[8192];

	snprintf(cmd, sizeof(cmd), "LLMOS_DEVICE=/nonexistent/llmos %s %s 2>&1", ctl, args);
	return run_cmd(cmd, out, cap);
}

static int setup(void **state)
{
	const char *bin = getenv("LLMOS_BIN");

	(void)state;
	snprintf(ctl, sizeof(ctl), "%s/llmosctl", bin && *bin ? bin : "build/bin");
	return access(ctl, X_OK) ? -1 : 0;
}

static void every_command_has_help(void **state)
{
	static const char *const cmds[] = { "info", "load", "list", "unload", "prio", "stats",
					    "top" };
	char main_help[8192], out[8192], args[64];
	size_t i;

	(void)state;
	assert_int_equal(0, run("--help", main_help, sizeof(main_help)));
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		assert_non_null(strstr(main_help, cmds[i]));
		snprintf(args, sizeof(args), "%s --help", cmds[i]);
		assert_int_equal(0, run(args, out, sizeof(out)));
		assert_non_null(strstr(out, "usage: llmosctl"));
	}
}

static void bad_usage_exits_2(void **state)
{
	static const char *const bad[] = {
		"", "frobnicate", "load", "load onlyname", "load a b c", "load a b --node x",
		"load a b --mode 999", "load a b --bogus", "list --yaml", "unload",
		"unload a b", "unload a --now", "info extra", "prio", "prio 1",
		"prio x normal", "prio 0 normal", "prio 1 urgent", "prio 1 none",
		"prio 1 normal --weight 0", "prio 1 normal --weight 10001", "prio 1 normal 2",
		"stats --yaml", "top -d 0", "top -d x", "top --bogus",
	};
	char out[8192];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(2, run(bad[i], out, sizeof(out)));
}

static void missing_module_says_insmod(void **state)
{
	static const char *const cmds[] = { "info",	   "list",	 "list --json",
					    "unload tiny", "prio 1 normal", "stats",
					    "stats --json", "top --once" };
	char out[8192];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		assert_int_equal(1, run(cmds[i], out, sizeof(out)));
		assert_non_null(strstr(out, "llmos module not loaded"));
		assert_non_null(strstr(out, "insmod llmos.ko"));
	}
}

static void load_checks_name_and_file_first(void **state)
{
	char out[8192];

	(void)state;
	assert_int_equal(1, run("load .bad tests/fixtures/tinystories-ppl.txt", out, sizeof(out)));
	assert_non_null(strstr(out, "bad name '.bad'"));
	assert_int_equal(1, run("load tiny tests/fixtures/tinystories-ppl.txt", out, sizeof(out)));
	assert_non_null(strstr(out, "not a GGUF file"));
	assert_int_equal(1, run("load tiny /nonexistent.gguf", out, sizeof(out)));
	assert_non_null(strstr(out, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_command_has_help),
		cmocka_unit_test(bad_usage_exits_2),
		cmocka_unit_test(missing_module_says_insmod),
		cmocka_unit_test(load_checks_name_and_file_first),
	};

	return cmocka_run_group_tests_name("llmosctl", tests, setup, NULL);
}
