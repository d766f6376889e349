/* SPDX-License-Identifier: MIT */
/*
 * run_cmd.h - for the unit tests that drive the tools: run a shell command
 * and capture what it prints.  Include after <cmocka.h>.
 */
#ifndef LLMOS_TEST_RUN_CMD_H
#define LLMOS_TEST_RUN_CMD_H

#include <stdio.h>
#include <sys/wait.h>

/* Run cmd in a shell; its stdout (add 2>&1 for stderr) into out; its exit status. */
static inline int run_cmd(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0, got;
	int status;

	assert_non_null(p);
	while (n + 1 < cap && (got = fread(out + n, 1, cap - 1 - n, p)) > 0)
		n += got;
	out[n] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#endif /* LLMOS_TEST_RUN_CMD_H */
