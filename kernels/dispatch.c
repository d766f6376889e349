/* SPDX-License-Identifier: MIT */
/*
 * dispatch.c - picks the SIMD level by CPUID (and the OS's XSAVE support)
 * on x86, by HWCAP on arm64, and the extensions that swap a few kernels of
 * the best level (AVX512_BF16, i8mm); builds one kernel table per level
 * once, and routes the public kernel entry points through the table in use.
 * LLMOS_SIMD=scalar|avx2|avx512 (arm64: scalar|neon|dotprod) in the
 * environment caps the level chosen at start-up.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>

#include "kernels_impl.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define LLMOS_X86 1
#elif defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#define LLMOS_ARM64 1
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13) /* older headers */
#endif
#endif

/* Extensions that change some kernels of the best level, not the level itself. */
struct cpu_extras {
	bool avx512_bf16; /* x86: VDPBF16PS for the BF16 dot */
	bool i8mm;        /* arm64: SMMLA for the Q8_0 and Q4_0 tiles */
};

static struct llmos_kernel_ops level_ops[LLMOS_SIMD_AVX512 + 1];
static enum llmos_simd_level best_level;
static _Atomic(const struct llmos_kernel_ops *) current_ops;
static _Atomic int current_level;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

#ifdef LLMOS_X86
static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

/* XMM, YMM and (for AVX-512) opmask/ZMM state enabled by the OS. */
static bool os_saves(uint64_t mask)
{
	uint32_t a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
		return false;
	return (xgetbv0() & mask) == mask;
}

static bool cpu_has_avx2(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
	       __builtin_cpu_supports("f16c") && os_saves(0x6);
}

static bool cpu_has_avx512(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
	       __builtin_cpu_supports("avx512vnni") && os_saves(0xe6);
}

/* AVX512_BF16 is CPUID leaf 7 subleaf 1, EAX bit 5. */
static bool cpu_has_avx512_bf16(void)
{
	uint32_t a, b, c, d;

	if (!__get_cpuid_count(7, 1, &a, &b, &c, &d))
		return false;
	return (a >> 5) & 1;
}
#endif

#ifdef LLMOS_ARM64
static bool env_is_one(const char *name)
{
	const char *v = getenv(name);

	return v && !strcmp(v, "1");
}
#endif

static enum llmos_simd_level detect_best(struct cpu_extras *ex)
{
	*ex = (struct cpu_extras){ 0 };
#ifdef LLMOS_X86
	if (!cpu_has_avx2())
		return LLMOS_SIMD_SCALAR;
	if (!cpu_has_avx512())
		return LLMOS_SIMD_AVX2;
	ex->avx512_bf16 = cpu_has_avx512_bf16();
	return LLMOS_SIMD_AVX512;
#elif defined(LLMOS_ARM64)
	unsigned long hwcap = getauxval(AT_HWCAP);

	if (!(hwcap & HWCAP_ASIMD))
		return LLMOS_SIMD_SCALAR;
	if (!(hwcap & HWCAP_ASIMDDP))
		return LLMOS_SIMD_NEON;
	/*
	 * The i8mm tiles only with LLMOS_I8MM=1: their per-block order gives
	 * a prompt other bits than x86 and the NPU (Documentation/arm64.md).
	 */
	ex->i8mm = (getauxval(AT_HWCAP2) & HWCAP2_I8MM) && env_is_one("LLMOS_I8MM");
	return LLMOS_SIMD_DOTPROD;
#else
	return LLMOS_SIMD_SCALAR;
#endif
}

/* Each level's table: the one below it, with that level's kernels filled in. */
static void fill_levels(const struct cpu_extras *ex)
{
	llmos_kernels_fill_scalar(&level_ops[LLMOS_SIMD_SCALAR]);
	for (int l = LLMOS_SIMD_SCALAR + 1; l <= (int)best_level; l++) {
		level_ops[l] = level_ops[l - 1];
#ifdef LLMOS_X86
		if (l == LLMOS_SIMD_AVX2)
			llmos_kernels_fill_avx2(&level_ops[l]);
		else
			llmos_kernels_fill_avx512(&level_ops[l], ex->avx512_bf16);
#elif defined(LLMOS_ARM64)
		if (l == LLMOS_SIMD_NEON)
			llmos_kernels_fill_neon(&level_ops[l]);
		else
			llmos_kernels_fill_dotprod(&level_ops[l], ex->i8mm);
#endif
	}
	(void)ex;
}

static enum llmos_simd_level env_cap(enum llmos_simd_level level)
{
	const char *env = getenv("LLMOS_SIMD");

	if (!env)
		return level;
	for (int l = LLMOS_SIMD_SCALAR; l <= LLMOS_SIMD_AVX512; l++) {
		if (!strcasecmp(env, llmos_simd_name(l)))
			return l < (int)level ? (enum llmos_simd_level)l : level;
	}
	return level;
}

static void init_dispatch(void)
{
	struct cpu_extras ex;

	best_level = detect_best(&ex);
	fill_levels(&ex);
	enum llmos_simd_level level = env_cap(best_level);

	atomic_store(&current_level, level);
	atomic_store(&current_ops, &level_ops[level]);
}

static void ensure_init(void)
{
	pthread_once(&init_once, init_dispatch);
}

const struct llmos_kernel_ops *llmos_kernel_ops(void)
{
	const struct llmos_kernel_ops *ops =
		atomic_load_explicit(&current_ops, memory_order_acquire);

	if (__builtin_expect(ops == NULL, 0)) {
		ensure_init();
		ops = atomic_load(&current_ops);
	}
	return ops;
}

enum llmos_simd_level llmos_simd_best(void)
{
	ensure_init();
	return best_level;
}

enum llmos_simd_level llmos_simd_current(void)
{
	ensure_init();
	return atomic_load(&current_level);
}

int llmos_simd_select(enum llmos_simd_level level)
{
	ensure_init();
	if (level < LLMOS_SIMD_SCALAR || level > best_level)
		return -1;
	atomic_store(&current_level, level);
	atomic_store(&current_ops, &level_ops[level]);
	return 0;
}

const char *llmos_simd_name(enum llmos_simd_level level)
{
#ifdef LLMOS_ARM64
	static const char *const names[] = { "scalar", "neon", "dotprod" };
#else
	static const char *const names[] = { "scalar", "avx2", "avx512" };
#endif

	return level >= LLMOS_SIMD_SCALAR && level <= LLMOS_SIMD_AVX512 ? names[level] : "unknown";
}

const struct llmos_type_traits *llmos_type_traits(enum llmos_type t)
{
	if ((unsigned int)t >= LLMOS_TYPE_COUNT)
		return NULL;
	const struct llmos_type_traits *tt = &llmos_kernel_ops()->traits[t];

	return tt->name ? tt : NULL;
}

size_t llmos_row_size(enum llmos_type t, int64_t n)
{
	const struct llmos_type_traits *tt = llmos_type_traits(t);

	if (!tt || n < 0)
		return 0;
	return (size_t)(n / tt->block_size) * tt->type_size;
}

void llmos_rmsnorm(float *out, const float *x, const float *weight, int n, float eps)
{
	llmos_kernel_ops()->rmsnorm(out, x, weight, n, eps);
}

void llmos_softmax(float *x, int n)
{
	llmos_kernel_ops()->softmax(x, n);
}

void llmos_silu_mul(float *gate, const float *up, int n)
{
	llmos_kernel_ops()->silu_mul(gate, up, n);
}

void llmos_vec_add(float *y, const float *x, int n)
{
	llmos_kernel_ops()->vec_add(y, x, n);
}

void llmos_vec_mad(float *y, const float *x, float a, int n)
{
	llmos_kernel_ops()->vec_mad(y, x, a, n);
}

float llmos_vec_dot_f32(const float *x, const float *y, int n)
{
	return llmos_kernel_ops()->vec_dot_f32(x, y, n);
}

float llmos_dot_f16_batch(int n, const llmos_fp16 *x, const llmos_fp16 *y, bool batch)
{
	const struct llmos_kernel_ops *ops = llmos_kernel_ops();
	float r;

	if (batch && ops->dot_f16_gemm && n % ops->gemm_lanes == 0)
		ops->dot_f16_gemm(n, &r, x, y);
	else
		ops->traits[LLMOS_TYPE_F16].vec_dot(n, &r, x, y);
	return r;
}
