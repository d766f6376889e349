/* SPDX-License-Identifier: MIT */
/*
 * prune_plan.h - `llmos prune`'s plan: which FFN channels and attention
 * head groups each layer keeps (the same number in every layer, so the
 * result is an ordinary dense model), ranked by weight magnitude or by
 * activation statistics, and the rows or columns of each tensor that
 * follow from that.
 */
#ifndef LLMOS_PRUNE_PLAN_H
#define LLMOS_PRUNE_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "gguf.h"

struct llmos_imatrix;

struct prune_shape {
	char arch[64];
	int n_layer, n_head, n_kv, head_dim, ffn;
};

struct prune_plan {
	struct prune_shape s;
	int ffn_keep, kv_keep; /* channels and KV groups every layer keeps */
	int *ffn_idx;          /* (n_layer, ffn_keep) kept channels, ascending */
	int *kv_idx;           /* (n_layer, kv_keep) kept KV groups, ascending */
};

/* The shape from the metadata; an error for what the plan cannot handle. */
int prune_shape_read(struct gguf_file *f, struct prune_shape *s);

/*
 * Rank and choose: drop round(ffn * ffn_frac) channels and round(n_kv *
 * heads_frac) KV groups (with their query heads) per layer, those of least
 * score: weight magnitude (im NULL), or activation (im: the mean square of
 * each input of ffn_down and attn_output, times the squared norm of the
 * weights that carry it).
 */
int prune_plan_make(struct gguf_file *f, const struct prune_shape *s, double ffn_frac,
		    double heads_frac, const struct llmos_imatrix *im, struct prune_plan *p);
void prune_plan_free(struct prune_plan *p);

/*
 * What a tensor of rows rows (entries, for a bias) keeps: its rows
 * (*by_rows) or columns, listed in idx (n of them, ascending; caller
 * frees).  0 with *n == -1: the tensor is kept whole.
 */
int prune_tensor_selection(const struct prune_plan *p, const char *name, uint64_t rows,
			   int **idx, int *n, bool *by_rows);

#endif /* LLMOS_PRUNE_PLAN_H */
