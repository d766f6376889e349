/* SPDX-License-Identifier: MIT */
/*
 * npu.h - a session's client of llmos.ko's NPU (npu.c): which weights it
 * runs, and their matmuls as NPU jobs.
 */
#ifndef LLMOS_NPU_H
#define LLMOS_NPU_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels.h"
#include "llmos/llmos.h"

struct llmos_model;
struct llmos_session;
struct llmos_weight;
struct llmos_npu;

/*
 * 0 if dev (may be NULL) reaches a module with an NPU backend, its weight
 * types (bit 1 << type) in *types; else -LLMOS_ENOMODULE or
 * -LLMOS_EUNSUPPORTED, saying what to load.
 */
int llmos_npu_probe(struct llmos *dev, uint64_t *types);

/*
 * The NPU client of session s, whose dev, model, memory (a module buffer)
 * and scratch are set: a model file's weights of the NPU's types are
 * copied into a module buffer first.
 */
int llmos_npu_create(struct llmos_npu **out, struct llmos_session *s);
void llmos_npu_free(struct llmos_npu *npu, struct llmos *dev);

/* Does the NPU (NULL: none) run matmuls whose weights have this type? */
bool llmos_npu_runs(const struct llmos_npu *npu, enum llmos_type type);

/* One matmul: out[t * w->rows + r] = dot(row r of w, token t). */
struct llmos_npu_matmul {
	float *out;
	const struct llmos_weight *w;
};

/*
 * count matmuls (of weights llmos_npu_runs() accepts) of the same n tokens
 * of x, each w->cols wide: x quantized to Q8_0 as the CPU quantizes it,
 * then as few NPU jobs as fit; returns when their results are in place.
 */
int llmos_npu_run(struct llmos_session *s, const struct llmos_npu_matmul *mm, int count,
		  const float *x, uint32_t n);

/* The weight counts and NPU counters of llmos_session_device_info(); npu may be NULL. */
void llmos_npu_info(const struct llmos_npu *npu, const struct llmos_model *m,
		    struct llmos_session_device_info *info);

#endif /* LLMOS_NPU_H */
