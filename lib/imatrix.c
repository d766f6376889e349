/* SPDX-License-Identifier: MIT */
/*
 * imatrix.c - importance matrices: collected from a session's matmuls (the
 * sum of each input column's squares per weight matrix), and read and
 * written in llama.cpp's imatrix.dat layout (little-endian):
 *
 *   i32 n_entries
 *   n_entries x { i32 name_len; name; i32 ncall; i32 n; f32 values[n] }
 *   i32 chunks; i32 dataset_len; dataset          (optional on reading)
 *
 * where values[j] is the mean square of column j times ncall (the number of
 * matmul calls it was gathered from): a reader divides by ncall.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"
#include "imatrix.h"
#include "internal.h"
#include "model.h"
#include "session.h"

#define MAX_NAME 4095
#define MAX_VALUES (1 << 24)

struct imatrix_entry {
	char *name;
	int64_t n;
	int ncall;
	double *sum;     /* of squares, per column */
	uint64_t count;  /* rows summed (tokens); a file's entry: ncall */
	float *mean;     /* sum / count, made when asked */
	const void *data; /* collecting: the weight's data in the session's model */
};

struct llmos_imatrix {
	struct imatrix_entry *e;
	int n, cap;
	int chunks;
};

int llmos_imatrix_new(struct llmos_imatrix **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : llmos_fail(-ENOMEM, "imatrix: out of memory");
}

void llmos_imatrix_free(struct llmos_imatrix *im)
{
	if (!im)
		return;
	for (int i = 0; i < im->n; i++) {
		free(im->e[i].name);
		free(im->e[i].sum);
		free(im->e[i].mean);
	}
	free(im->e);
	free(im);
}

int llmos_imatrix_count(const struct llmos_imatrix *im)
{
	return im->n;
}

int llmos_imatrix_chunks(const struct llmos_imatrix *im)
{
	return im->chunks;
}

void llmos_imatrix_set_chunks(struct llmos_imatrix *im, int chunks)
{
	im->chunks = chunks;
}

static struct imatrix_entry *find_entry(const struct llmos_imatrix *im, const char *name)
{
	for (int i = 0; i < im->n; i++)
		if (!strcmp(im->e[i].name, name))
			return &im->e[i];
	return NULL;
}

/* A new entry of n columns, zeroed. */
static struct imatrix_entry *add_entry(struct llmos_imatrix *im, const char *name, int64_t n)
{
	struct imatrix_entry *e;

	if (im->n == im->cap) {
		int cap = im->cap ? 2 * im->cap : 64;
		void *p = realloc(im->e, (size_t)cap * sizeof(*im->e));

		if (!p)
			return NULL;
		im->e = p;
		im->cap = cap;
	}
	e = &im->e[im->n];
	memset(e, 0, sizeof(*e));
	e->name = strdup(name);
	e->sum = calloc((size_t)n, sizeof(*e->sum));
	e->n = n;
	if (!e->name || !e->sum) {
		free(e->name);
		free(e->sum);
		return NULL;
	}
	im->n++;
	return e;
}

const float *llmos_imatrix_find(const struct llmos_imatrix *im, const char *name, int64_t *n)
{
	struct imatrix_entry *e = find_entry(im, name);

	if (!e || !e->count)
		return NULL;
	if (!e->mean) {
		e->mean = malloc((size_t)e->n * sizeof(*e->mean));
		if (!e->mean)
			return NULL;
		for (int64_t j = 0; j < e->n; j++)
			e->mean[j] = (float)(e->sum[j] / (double)e->count);
	}
	*n = e->n;
	return e->mean;
}

/* ---- the file ------------------------------------------------------------ */

struct reader {
	FILE *f;
	const char *path;
};

static int read_i32(struct reader *r, int32_t *v, const char *what)
{
	if (fread(v, sizeof(*v), 1, r->f) != 1)
		return llmos_fail(-LLMOS_EFORMAT, "imatrix %s: truncated at %s (byte %ld)", r->path,
				  what, ftell(r->f));
	return 0;
}

static int read_entry(struct reader *r, struct llmos_imatrix *im)
{
	char name[MAX_NAME + 1];
	int32_t len, ncall, n;
	struct imatrix_entry *e;
	float v;
	int ret;

	if ((ret = read_i32(r, &len, "a name's length")))
		return ret;
	if (len < 1 || len > MAX_NAME)
		return llmos_fail(-LLMOS_EFORMAT, "imatrix %s: a name of %d bytes", r->path, len);
	if (fread(name, 1, (size_t)len, r->f) != (size_t)len)
		return llmos_fail(-LLMOS_EFORMAT, "imatrix %s: truncated in a name", r->path);
	name[len] = 0;
	if ((ret = read_i32(r, &ncall, name)) || (ret = read_i32(r, &n, name)))
		return ret;
	if (ncall < 1 || n < 1 || n > MAX_VALUES || find_entry(im, name))
		return llmos_fail(-LLMOS_EFORMAT, "imatrix %s: %s: %d calls, %d values%s", r->path,
				  name, ncall, n, find_entry(im, name) ? ", a second time" : "");
	e = add_entry(im, name, n);
	if (!e)
		return llmos_fail(-ENOMEM, "imatrix: out of memory");
	e->ncall = ncall;
	e->count = (uint64_t)ncall;
	for (int32_t j = 0; j < n; j++) {
		if (fread(&v, sizeof(v), 1, r->f) != 1)
			return llmos_fail(-LLMOS_EFORMAT, "imatrix %s: %s: truncated at value %d",
					  r->path, name, j);
		if (!isfinite(v) || v < 0)
			return llmos_fail(-LLMOS_EFORMAT, "imatrix %s: %s: value %d is %g", r->path,
					  name, j, v);
		e->sum[j] = v;
	}
	return 0;
}

int llmos_imatrix_read(struct llmos_imatrix **out, const char *path)
{
	struct reader r = { fopen(path, "rb"), path };
	struct llmos_imatrix *im = NULL;
	int32_t n, chunks;
	int ret;

	*out = NULL;
	if (!r.f)
		return llmos_fail(-errno, "imatrix %s: %s", path, strerror(errno));
	ret = llmos_imatrix_new(&im);
	if (!ret)
		ret = read_i32(&r, &n, "the entry count");
	if (!ret && (n < 1 || n > 1 << 20))
		ret = llmos_fail(-LLMOS_EFORMAT, "imatrix %s: %d entries", path, n);
	for (int32_t i = 0; !ret && i < n; i++)
		ret = read_entry(&r, im);
	if (!ret && fread(&chunks, sizeof(chunks), 1, r.f) == 1)
		im->chunks = chunks;
	fclose(r.f);
	if (ret) {
		llmos_imatrix_free(im);
		return ret;
	}
	*out = im;
	return 0;
}

static int write_all(FILE *f, const void *p, size_t n)
{
	return fwrite(p, 1, n, f) == n ? 0 : -EIO;
}

static int write_entry(FILE *f, const struct imatrix_entry *e)
{
	int32_t len = (int32_t)strlen(e->name), ncall = e->ncall ? e->ncall : 1, n = (int32_t)e->n;
	int ret = write_all(f, &len, 4);

	if (!ret)
		ret = write_all(f, e->name, (size_t)len);
	if (!ret)
		ret = write_all(f, &ncall, 4);
	if (!ret)
		ret = write_all(f, &n, 4);
	for (int64_t j = 0; !ret && j < e->n; j++) {
		float v = (float)(e->sum[j] / (double)e->count * ncall);

		ret = write_all(f, &v, 4);
	}
	return ret;
}

int llmos_imatrix_write(const struct llmos_imatrix *im, const char *path, const char *dataset)
{
	char tmp[4096];
	int32_t n = 0, chunks = im->chunks, dlen = dataset ? (int32_t)strlen(dataset) : 0;
	FILE *f;
	int ret;

	for (int i = 0; i < im->n; i++)
		n += im->e[i].count > 0;
	if (!n)
		return llmos_fail(-EINVAL, "imatrix: nothing was collected");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (!f)
		return llmos_fail(-errno, "imatrix %s: %s", tmp, strerror(errno));
	ret = write_all(f, &n, 4);
	for (int i = 0; !ret && i < im->n; i++)
		if (im->e[i].count)
			ret = write_entry(f, &im->e[i]);
	if (!ret)
		ret = write_all(f, &chunks, 4);
	if (!ret)
		ret = write_all(f, &dlen, 4);
	if (!ret && dlen)
		ret = write_all(f, dataset, (size_t)dlen);
	if (fclose(f) && !ret)
		ret = -EIO;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		return llmos_fail(ret, "imatrix %s: cannot write it: %s", path, strerror(-ret));
	}
	return 0;
}

/* ---- collecting ---------------------------------------------------------- */

static struct imatrix_entry *entry_of(struct llmos_imatrix *im, const void *data)
{
	for (int i = 0; i < im->n; i++)
		if (im->e[i].data == data)
			return &im->e[i];
	return NULL;
}

/* A matmul's input: n rows of w->cols floats. */
static void observe(void *ctx, const struct llmos_weight *w, const float *x, uint32_t n)
{
	struct imatrix_entry *e = entry_of(ctx, w->data);

	if (!e || e->n != w->cols)
		return;
	for (uint32_t t = 0; t < n; t++)
		for (int64_t j = 0; j < e->n; j++) {
			double v = x[(size_t)t * (size_t)e->n + (size_t)j];

			e->sum[j] += v * v;
		}
	e->count += n;
	e->ncall++;
}

/* An entry (or the existing one) for each layer weight of the session's model. */
static int prepare_entries(struct llmos_imatrix *im, const struct llmos_model *m)
{
	for (uint64_t i = 0; i < gguf_tensor_count(m->gguf); i++) {
		const struct gguf_tensor *t = gguf_tensor_at(m->gguf, i);
		struct imatrix_entry *e;

		if (strncmp(t->name, "blk.", 4) || t->n_dims < 2)
			continue;
		e = find_entry(im, t->name);
		if (e && e->n != (int64_t)t->ne[0])
			return llmos_fail(-EINVAL, "imatrix: %s has %lld columns here, %lld in the "
					  "matrix", t->name, (long long)t->ne[0], (long long)e->n);
		if (!e && !(e = add_entry(im, t->name, (int64_t)t->ne[0])))
			return llmos_fail(-ENOMEM, "imatrix: out of memory");
		e->data = t->data;
	}
	return 0;
}

int llmos_imatrix_collect(struct llmos_session *s, struct llmos_imatrix *im)
{
	int ret = im ? prepare_entries(im, s->m) : 0;

	if (ret)
		return ret;
	s->mm_observer = im ? observe : NULL;
	s->mm_observer_ctx = im;
	return 0;
}
