/* SPDX-License-Identifier: MIT */
/*
 * imatrix.h - importance matrices: for each weight matrix, the mean square
 * of each input column's activation over a calibration text (llmos
 * imatrix), read back by llmos quantize.  The file format is llama.cpp's
 * imatrix.dat, so either tool's files serve the other
 * (Documentation/compression.md gives the layout).
 */
#ifndef LLMOS_IMATRIX_H
#define LLMOS_IMATRIX_H

#include <stdint.h>

struct llmos_imatrix;
struct llmos_session;
struct llmos_weight;

int llmos_imatrix_new(struct llmos_imatrix **out);
void llmos_imatrix_free(struct llmos_imatrix *im);

/* Read a file; every entry checked (lengths, finite non-negative values). */
int llmos_imatrix_read(struct llmos_imatrix **out, const char *path);
/* Write a file (through path.tmp); dataset names the calibration text. */
int llmos_imatrix_write(const struct llmos_imatrix *im, const char *path, const char *dataset);

/* The mean squares of a tensor's columns, *n of them; NULL if it has no entry. */
const float *llmos_imatrix_find(const struct llmos_imatrix *im, const char *name, int64_t *n);
/* Entries, and chunks of calibration text they come from. */
int llmos_imatrix_count(const struct llmos_imatrix *im);
int llmos_imatrix_chunks(const struct llmos_imatrix *im);
void llmos_imatrix_set_chunks(struct llmos_imatrix *im, int chunks);

/*
 * Collect from a session: from now on each matmul of a layer's weights
 * ("blk.N.*") adds its input rows' squares to that tensor's entry.  Until
 * llmos_imatrix_collect(s, NULL).
 */
int llmos_imatrix_collect(struct llmos_session *s, struct llmos_imatrix *im);

#endif /* LLMOS_IMATRIX_H */
