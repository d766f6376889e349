/* SPDX-License-Identifier: MIT */
/*
 * test_device.c - llmos_open() and error reporting without the module:
 * standalone fallback, REQUIRE_MODULE, a device that is not llmos, flags.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "llmos/llmos.h"

static void absent_device_means_standalone(void **state)
{
	struct llmos_module_info info;
	struct llmos *h;

	(void)state;
	setenv("LLMOS_DEVICE", "/nonexistent/llmos", 1);
	assert_int_equal(0, llmos_open(&h, 0));
	assert_non_null(h);
	assert_int_equal(LLMOS_MODE_STANDALONE, llmos_mode(h));
	assert_int_equal(-LLMOS_ENOMODULE, llmos_module_info(h, &info));
	llmos_close(h);
}

static void require_module_fails_clearly_when_absent(void **state)
{
	struct llmos *h = (struct llmos *)1;

	(void)state;
	setenv("LLMOS_DEVICE", "/nonexistent/llmos", 1);
	assert_int_equal(-LLMOS_ENOMODULE, llmos_open(&h, LLMOS_OPEN_REQUIRE_MODULE));
	assert_null(h);
	assert_non_null(strstr(llmos_last_error(), "/nonexistent/llmos"));
	assert_non_null(strstr(llmos_last_error(), "llmos.ko"));
}

/* A device that exists but does not answer GET_INFO is an error, not standalone. */
static void foreign_device_is_an_error(void **state)
{
	struct llmos *h;
	int ret;

	(void)state;
	setenv("LLMOS_DEVICE", "/dev/null", 1);
	ret = llmos_open(&h, 0);
	/* qemu-user (LLMOS_TEST_RUNNER) answers an ioctl it cannot translate with ENOSYS */
	if (!(getenv("LLMOS_TEST_RUNNER") && ret == -ENOSYS))
		assert_int_equal(-ENOTTY, ret);
	assert_null(h);
	assert_non_null(strstr(llmos_last_error(), "GET_INFO"));
}

static void standalone_flag_skips_the_device(void **state)
{
	struct llmos *h;

	(void)state;
	setenv("LLMOS_DEVICE", "/dev/null", 1);
	assert_int_equal(0, llmos_open(&h, LLMOS_OPEN_STANDALONE));
	assert_int_equal(LLMOS_MODE_STANDALONE, llmos_mode(h));
	llmos_close(h);
}

static void bad_flags_are_einval(void **state)
{
	struct llmos *h;

	(void)state;
	assert_int_equal(-EINVAL, llmos_open(&h, 1u << 7));
	assert_int_equal(-EINVAL,
			 llmos_open(&h, LLMOS_OPEN_STANDALONE | LLMOS_OPEN_REQUIRE_MODULE));
	llmos_close(NULL);
}

static void strerror_names_every_code(void **state)
{
	int code;

	(void)state;
	assert_string_equal("success", llmos_strerror(0));
	assert_string_equal(strerror(ENOMEM), llmos_strerror(-ENOMEM));
	for (code = LLMOS_E_BASE; code < LLMOS_E_END; code++) {
		assert_non_null(llmos_strerror(-code));
		assert_string_not_equal("unknown error", llmos_strerror(-code));
	}
	assert_string_equal("unknown error", llmos_strerror(-LLMOS_E_END));
	assert_string_equal("llmos kernel module not loaded", llmos_strerror(-LLMOS_ENOMODULE));
}

static void feature_names_cover_the_uapi_bits(void **state)
{
	(void)state;
	assert_string_equal("ioctl", llmos_feature_name(0));
	assert_string_equal("uring_cmd", llmos_feature_name(1));
	assert_string_equal("model_memory", llmos_feature_name(2));
	assert_string_equal("sched", llmos_feature_name(3));
	assert_string_equal("sched_preempt", llmos_feature_name(4));
	assert_string_equal("step_release_only", llmos_feature_name(5));
	assert_string_equal("buffers", llmos_feature_name(6));
	assert_string_equal("npu", llmos_feature_name(7));
	assert_null(llmos_feature_name(8));
	assert_null(llmos_feature_name(64));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(absent_device_means_standalone),
		cmocka_unit_test(require_module_fails_clearly_when_absent),
		cmocka_unit_test(foreign_device_is_an_error),
		cmocka_unit_test(standalone_flag_skips_the_device),
		cmocka_unit_test(bad_flags_are_einval),
		cmocka_unit_test(strerror_names_every_code),
		cmocka_unit_test(feature_names_cover_the_uapi_bits),
	};

	return cmocka_run_group_tests_name("device", tests, NULL, NULL);
}
