/* SPDX-License-Identifier: MIT */
/*
 * test_store.c - the model store without the kernel module: "llmos:NAME"
 * without the module, names and corrupt files refused before any ioctl,
 * and the whole load/list/open/unload path against a fake module (this
 * program's own ioctl(), answering llmos commands on a sparse temporary
 * file that stands in for /dev/llmos).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/llmos.h>

#include "llmos/llmos.h"

static char model_path[4096], fake_dev[64] = "/tmp/llmos-fake-dev.XXXXXX";

/* ---- a fake llmos.ko: one model slot, handle 1 = created, 2 = opened ---- */

static struct {
	int on;           /* answer llmos commands; else pass everything through */
	int create_errno; /* make MODEL_CREATE fail with this */
	int ioctls;       /* llmos commands seen */
	int creates;
	int exists, sealed, users;
	char name[LLMOS_NAME_LEN];
	uint64_t size;
} fake;

static int fake_create(struct llmos_model_create *c)
{
	fake.creates++;
	if (fake.create_errno)
		return -fake.create_errno;
	if (fake.exists)
		return -EEXIST;
	memcpy(fake.name, c->name, sizeof(fake.name));
	fake.size = c->size;
	fake.exists = 1;
	fake.sealed = 0;
	fake.users = 1;
	c->handle = 1;
	c->mmap_offset = LLMOS_MMAP_OFFSET(1);
	return 0;
}

static int fake_open(struct llmos_model_open *o)
{
	if (!fake.exists || memcmp(o->name, fake.name, sizeof(fake.name)))
		return -ENOENT;
	if (!fake.sealed)
		return -EBUSY;
	fake.users++;
	o->handle = 2;
	o->size = fake.size;
	o->mmap_offset = LLMOS_MMAP_OFFSET(1); /* same bytes as the creator's window */
	return 0;
}

static int fake_close(const struct llmos_model_handle *mh)
{
	fake.users--;
	if (mh->handle == 1 && !fake.sealed)
		fake.exists = 0; /* an unsealed model goes with its creator's handle */
	return 0;
}

static int fake_list(struct llmos_model_list *l)
{
	struct llmos_model_entry *e = (void *)(uintptr_t)l->entries;

	l->count = fake.exists;
	if (fake.exists && l->capacity) {
		memset(e, 0, sizeof(*e));
		memcpy(e->name, fake.name, sizeof(e->name));
		e->size = fake.size;
		e->pinned = (fake.size + 4095) & ~4095ull;
		e->state = fake.sealed ? LLMOS_MODEL_SEALED : LLMOS_MODEL_LOADING;
		e->users = fake.users;
		e->numa_node = LLMOS_NUMA_ANY;
		e->mode = 0644;
	}
	return 0;
}

static int fake_unload(const struct llmos_model_unload *u)
{
	if (!fake.exists || memcmp(u->name, fake.name, sizeof(fake.name)))
		return -ENOENT;
	if (fake.users && !(u->flags & LLMOS_UNLOAD_WHEN_UNUSED))
		return -EBUSY;
	fake.exists = 0;
	return 0;
}

static int fake_ioctl(unsigned long req, void *arg)
{
	struct llmos_info *info = arg;

	fake.ioctls++;
	switch (req) {
	case LLMOS_CMD_GET_INFO:
		info->abi_version = LLMOS_ABI_VERSION;
		info->features = LLMOS_F_ALL;
		strcpy((char *)info->module_version, "fake");
		return 0;
	case LLMOS_CMD_MODEL_CREATE:
		return fake_create(arg);
	case LLMOS_CMD_MODEL_SEAL:
		fake.sealed = 1;
		return 0;
	case LLMOS_CMD_MODEL_OPEN:
		return fake_open(arg);
	case LLMOS_CMD_MODEL_CLOSE:
		return fake_close(arg);
	case LLMOS_CMD_MODEL_LIST:
		return fake_list(arg);
	case LLMOS_CMD_MODEL_UNLOAD:
		return fake_unload(arg);
	default:
		return -EOPNOTSUPP;
	}
}

/* Overrides libc's ioctl() for the library linked into this program. */
int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	int ret;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!fake.on || _IOC_TYPE(req) != LLMOS_IOC_MAGIC)
		return (int)syscall(SYS_ioctl, fd, req, arg);
	ret = fake_ioctl(req, arg);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return 0;
}

static void use_fake_module(void)
{
	memset(&fake, 0, sizeof(fake));
	fake.on = 1;
	setenv("LLMOS_DEVICE", fake_dev, 1);
}

static int setup(void **state)
{
	const char *dir = getenv("LLMOS_TEST_MODELS");
	int fd;

	(void)state;
	snprintf(model_path, sizeof(model_path), "%s/stories260K-f32.gguf",
		 dir && *dir ? dir : "../shared/models");
	/* The fake device: sparse, big enough for the window of handle 1. */
	fd = mkstemp(fake_dev);
	if (fd < 0 || ftruncate(fd, (off_t)LLMOS_MMAP_OFFSET(2)))
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(fake_dev);
	return 0;
}

static int have_model(void)
{
	if (access(model_path, R_OK)) {
		printf("SKIP: %s not found (set LLMOS_TEST_MODELS)\n", model_path);
		return 0;
	}
	return 1;
}

static struct llmos *open_handle(unsigned int flags)
{
	struct llmos *h;

	assert_int_equal(0, llmos_open(&h, flags));
	return h;
}

/* ---- without the module ---------------------------------------------- */

static void stored_model_without_module_is_enomodule(void **state)
{
	struct llmos_model *m = (struct llmos_model *)1;

	(void)state;
	fake.on = 0;
	setenv("LLMOS_DEVICE", "/nonexistent/llmos", 1);
	assert_int_equal(-LLMOS_ENOMODULE, llmos_model_load(&m, "llmos:tiny"));
	assert_null(m);
	assert_non_null(strstr(llmos_last_error(), "llmos:tiny"));
	assert_non_null(strstr(llmos_last_error(), "module not loaded"));
}

/* LLMOS_DEVICE is respected: /dev/null exists but is no llmos device. */
static void stored_model_on_foreign_device_fails(void **state)
{
	struct llmos_model *m;
	int ret;

	(void)state;
	fake.on = 0;
	setenv("LLMOS_DEVICE", "/dev/null", 1);
	ret = llmos_model_load(&m, "llmos:tiny");
	/* qemu-user (LLMOS_TEST_RUNNER) answers an ioctl it cannot translate with ENOSYS */
	if (!(getenv("LLMOS_TEST_RUNNER") && ret == -ENOSYS))
		assert_int_equal(-ENOTTY, ret);
	assert_non_null(strstr(llmos_last_error(), "GET_INFO"));
}

static const char *const bad_names[] = {
	"", ".hidden", "a/b", "a b", "tab\t", "caf\xc3\xa9", "x:y",
	"0123456789012345678901234567890123456789012345678901234567890123", /* 64 */
};

/* On /dev/null any ioctl would fail with ENOTTY: -EINVAL means none was made. */
static void bad_names_refused_before_the_device(void **state)
{
	char path[128];
	struct llmos_model *m;
	size_t i;

	(void)state;
	fake.on = 0;
	setenv("LLMOS_DEVICE", "/dev/null", 1);
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		snprintf(path, sizeof(path), "llmos:%s", bad_names[i]);
		assert_int_equal(-EINVAL, llmos_model_load(&m, path));
		assert_non_null(strstr(llmos_last_error(), "bad name"));
	}
}

static void store_calls_need_the_module(void **state)
{
	struct llmos_store_entry e;
	struct llmos *h;

	(void)state;
	fake.on = 0;
	h = open_handle(LLMOS_OPEN_STANDALONE);
	assert_int_equal(-LLMOS_ENOMODULE, llmos_store_list(h, &e, 1));
	assert_non_null(strstr(llmos_last_error(), "module not loaded"));
	assert_int_equal(-LLMOS_ENOMODULE, llmos_store_unload(h, "tiny", 0));
	if (have_model())
		assert_int_equal(-LLMOS_ENOMODULE,
				 llmos_store_load(h, "tiny", model_path, NULL, NULL, NULL));
	llmos_close(h);
}

static void store_names_checked_first(void **state)
{
	static const char *const good[] = {
		"a", "tiny", "A.b_c-1", "x.",
		"012345678901234567890123456789012345678901234567890123456789012", /* 63 */
	};
	struct llmos *h;
	size_t i;

	(void)state;
	use_fake_module();
	h = open_handle(LLMOS_OPEN_REQUIRE_MODULE);
	fake.ioctls = 0;
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		assert_int_equal(-EINVAL, llmos_store_unload(h, bad_names[i], 0));
		assert_int_equal(-EINVAL,
				 llmos_store_load(h, bad_names[i], model_path, NULL, NULL, NULL));
	}
	assert_int_equal(-EINVAL, llmos_store_unload(h, NULL, 0));
	assert_int_equal(0, fake.ioctls);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(-ENOENT, llmos_store_unload(h, good[i], 0));
	assert_int_equal(-EINVAL, llmos_store_unload(h, "tiny", 1u << 5));
	llmos_close(h);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(len, fwrite(data, 1, len, f));
	fclose(f);
}

static void corrupt_gguf_refused_before_create(void **state)
{
	static const char junk[] = "GGUF\x03\0\0\0this is not a model at all";
	char path[] = "/tmp/llmos-corrupt.XXXXXX";
	struct llmos *h;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	write_file(path, junk, sizeof(junk));
	use_fake_module();
	h = open_handle(LLMOS_OPEN_REQUIRE_MODULE);
	assert_int_equal(-LLMOS_EFORMAT, llmos_store_load(h, "tiny", path, NULL, NULL, NULL));
	assert_non_null(strstr(llmos_last_error(), path));
	assert_int_equal(-ENOENT, llmos_store_load(h, "tiny", "/nonexistent.gguf", NULL, NULL,
						   NULL));
	assert_int_equal(-EINVAL, llmos_store_load(h, "tiny", "llmos:other", NULL, NULL, NULL));
	assert_int_equal(0, fake.creates);
	llmos_close(h);
	unlink(path);
}

static void default_params(void **state)
{
	struct llmos_store_params p;

	(void)state;
	llmos_store_default_params(&p);
	assert_int_equal(0644, p.mode);
	assert_int_equal(LLMOS_STORE_NODE_ANY, p.numa_node);
}

/* ---- against the fake module ----------------------------------------- */

struct progress_log {
	int calls, cancel_at;
	uint64_t last, total;
};

static int log_progress(uint64_t done, uint64_t total, void *arg)
{
	struct progress_log *pl = arg;

	assert_true(done > pl->last && done <= total);
	pl->last = done;
	pl->total = total;
	return ++pl->calls == pl->cancel_at;
}

static void load_copies_seals_and_closes(void **state)
{
	struct progress_log pl = { 0 };
	struct llmos_store_params p;
	struct llmos_store_entry e[2];
	struct llmos *h;

	(void)state;
	if (!have_model())
		skip();
	use_fake_module();
	h = open_handle(LLMOS_OPEN_REQUIRE_MODULE);
	llmos_store_default_params(&p);
	assert_int_equal(0, llmos_store_load(h, "tiny", model_path, &p, log_progress, &pl));
	assert_int_equal(1, fake.creates);
	assert_true(fake.exists && fake.sealed);
	assert_int_equal(0, fake.users); /* the creator's handle is closed */
	assert_true(pl.calls >= 1);
	assert_int_equal(fake.size, pl.total);
	assert_int_equal(pl.total, pl.last);
	assert_int_equal(1, llmos_store_list(h, NULL, 0));
	assert_int_equal(1, llmos_store_list(h, e, 2));
	assert_string_equal("tiny", e[0].name);
	assert_int_equal(fake.size, e[0].size);
	assert_int_equal(LLMOS_STORE_SEALED, e[0].state);
	llmos_close(h);
}

static int unload(const char *name, unsigned int flags)
{
	struct llmos *h = open_handle(LLMOS_OPEN_REQUIRE_MODULE);
	int ret = llmos_store_unload(h, name, flags);

	llmos_close(h);
	return ret;
}

/* The stored model answers exactly as the file does, read in place. */
static void stored_model_runs_like_the_file(void **state)
{
	struct llmos_model *a, *b;
	struct llmos_session *sa, *sb;
	struct llmos_model_desc da, db;
	int32_t ids[16];
	int n;

	(void)state;
	if (!have_model())
		skip();
	load_copies_seals_and_closes(state);
	assert_int_equal(0, llmos_model_load(&a, model_path));
	assert_int_equal(0, llmos_model_load(&b, "llmos:tiny"));
	assert_int_equal(1, fake.users);
	llmos_model_describe(a, &da);
	llmos_model_describe(b, &db);
	assert_memory_equal(&da, &db, sizeof(da));
	n = llmos_model_tokenize(b, "Once upon a time", 16, LLMOS_TOKENIZE_BOS, ids, 16);
	assert_true(n > 1);
	assert_int_equal(0, llmos_session_create(&sa, a, NULL));
	assert_int_equal(0, llmos_session_create(&sb, b, NULL));
	assert_int_equal(0, llmos_session_eval(sa, ids, (uint32_t)n, 0));
	assert_int_equal(0, llmos_session_eval(sb, ids, (uint32_t)n, 0));
	assert_memory_equal(llmos_session_logits(sa, -1), llmos_session_logits(sb, -1),
			    da.n_vocab * sizeof(float));
	assert_int_equal(-EBUSY, unload("tiny", 0));
	llmos_session_free(sa);
	llmos_session_free(sb);
	llmos_model_free(a);
	llmos_model_free(b);
	assert_int_equal(0, fake.users);
	assert_int_equal(0, unload("tiny", 0));
	assert_int_equal(-ENOENT, llmos_model_load(&a, "llmos:tiny"));
	assert_non_null(strstr(llmos_last_error(), "no model named 'tiny'"));
}

static void create_errors_say_what_to_do(void **state)
{
	static const struct {
		int err;
		const char *says;
	} cases[] = {
		{ EEXIST, "model name 'tiny' already used" },
		{ ENOSPC, "over the pinned-memory cap" },
		{ EPERM, "CAP_SYS_ADMIN (run as root)" },
		{ EINVAL, "NUMA node" },
	};
	struct llmos *h;
	size_t i;

	(void)state;
	if (!have_model())
		skip();
	use_fake_module();
	h = open_handle(LLMOS_OPEN_REQUIRE_MODULE);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake.create_errno = cases[i].err;
		assert_int_equal(-cases[i].err,
				 llmos_store_load(h, "tiny", model_path, NULL, NULL, NULL));
		assert_non_null(strstr(llmos_last_error(), cases[i].says));
	}
	assert_false(fake.exists);
	llmos_close(h);
}

static void cancelled_load_leaves_nothing(void **state)
{
	struct progress_log pl = { .cancel_at = 1 };
	struct llmos *h;

	(void)state;
	if (!have_model())
		skip();
	use_fake_module();
	h = open_handle(LLMOS_OPEN_REQUIRE_MODULE);
	assert_int_equal(-ECANCELED, llmos_store_load(h, "tiny", model_path, NULL, log_progress,
						      &pl));
	assert_int_equal(1, fake.creates);
	assert_false(fake.exists);
	assert_int_equal(0, fake.users);
	llmos_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stored_model_without_module_is_enomodule),
		cmocka_unit_test(stored_model_on_foreign_device_fails),
		cmocka_unit_test(bad_names_refused_before_the_device),
		cmocka_unit_test(store_calls_need_the_module),
		cmocka_unit_test(store_names_checked_first),
		cmocka_unit_test(corrupt_gguf_refused_before_create),
		cmocka_unit_test(default_params),
		cmocka_unit_test(load_copies_seals_and_closes),
		cmocka_unit_test(stored_model_runs_like_the_file),
		cmocka_unit_test(create_errors_say_what_to_do),
		cmocka_unit_test(cancelled_load_leaves_nothing),
	};

	return cmocka_run_group_tests_name("store", tests, setup, teardown);
}
