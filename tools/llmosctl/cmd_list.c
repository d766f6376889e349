/* SPDX-License-Identifier: MIT */
/*
 * cmd_list.c - `llmosctl list [--json]`: the models in the module's memory,
 * as a table or as a JSON array.
 */
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: llmosctl list [--json]\n"
		"\n"
		"List the models in llmos.ko's memory: name, size, state (loading or sealed),\n"
		"users (open handles), mappings, NUMA node, owner and mode.\n"
		"\n"
		"options:\n"
		"  --json      a JSON array of objects with the keys name, size, pinned,\n"
		"              state, users, mappings, numa_node (-1: any), owner_uid,\n"
		"              owner_gid and mode (an octal string)\n"
		"  -h, --help  this help\n"
		"\n"
		"Exit status: 0 listed, 1 failed, 2 bad usage.\n");
}

static const char *state_name(uint32_t state)
{
	switch (state) {
	case LLMOS_STORE_LOADING:
		return "loading";
	case LLMOS_STORE_SEALED:
		return "sealed";
	default:
		return "unknown";
	}
}

/* All entries, in a malloc'd array; the list may grow between the calls. */
static int fetch(struct llmos *h, struct llmos_store_entry **out)
{
	struct llmos_store_entry *e = NULL;
	size_t cap = 0;
	int n;

	for (;;) {
		n = llmos_store_list(h, e, cap);
		if (n < 0 || (size_t)n <= cap)
			break;
		free(e);
		cap = (size_t)n + 8;
		e = calloc(cap, sizeof(*e));
		if (!e)
			return -1;
	}
	*out = e;
	return n;
}

static void print_owner(const struct llmos_store_entry *e)
{
	struct passwd *pw = getpwuid(e->owner_uid);
	struct group *gr = getgrgid(e->owner_gid);
	char owner[80];

	if (pw && gr)
		snprintf(owner, sizeof(owner), "%s:%s", pw->pw_name, gr->gr_name);
	else
		snprintf(owner, sizeof(owner), "%u:%u", e->owner_uid, e->owner_gid);
	printf(" %-12s", owner);
}

static void print_table(const struct llmos_store_entry *e, int n)
{
	char node[16];
	int i;

	printf("%-20s %10s %-8s %5s %5s %4s %-12s %s\n", "NAME", "SIZE", "STATE", "USERS",
	       "MAPS", "NODE", "OWNER", "MODE");
	for (i = 0; i < n; i++) {
		if (e[i].numa_node < 0)
			snprintf(node, sizeof(node), "any");
		else
			snprintf(node, sizeof(node), "%d", e[i].numa_node);
		printf("%-20s %7.1f MB %-8s %5u %5u %4s", e[i].name, ctl_mb(e[i].size),
		       state_name(e[i].state), e[i].users, e[i].mappings, node);
		print_owner(&e[i]);
		printf(" %04o\n", e[i].mode);
	}
}

static void print_json(const struct llmos_store_entry *e, int n)
{
	int i;

	printf("[");
	for (i = 0; i < n; i++) {
		printf("%s\n  {\"name\": ", i ? "," : "");
		ctl_print_json_string(e[i].name);
		printf(", \"size\": %llu, \"pinned\": %llu, \"state\": \"%s\", \"users\": %u, "
		       "\"mappings\": %u, \"numa_node\": %d, \"owner_uid\": %u, \"owner_gid\": %u, "
		       "\"mode\": \"%04o\"}",
		       (unsigned long long)e[i].size, (unsigned long long)e[i].pinned,
		       state_name(e[i].state), e[i].users, e[i].mappings, e[i].numa_node,
		       e[i].owner_uid, e[i].owner_gid, e[i].mode);
	}
	printf("%s]\n", n ? "\n" : "");
}

int cmd_list(int argc, char **argv)
{
	struct llmos_store_entry *e = NULL;
	struct llmos *h;
	int i, json = 0, n;

	for (i = 1; i < argc; i++) {
		if (ctl_is_help(argv[i])) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else {
			return ctl_usage("list", "unexpected argument '%s'", argv[i]);
		}
	}
	if (ctl_open("list", &h))
		return CTL_EXIT_FAIL;
	n = fetch(h, &e);
	llmos_close(h);
	if (n < 0)
		return ctl_error("list", n, NULL);
	if (json)
		print_json(e, n);
	else
		print_table(e, n);
	free(e);
	return 0;
}
