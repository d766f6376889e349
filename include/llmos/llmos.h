/* SPDX-License-Identifier: MIT */
/*
 * llmos.h - the public API of libllmos.
 *
 * Conventions: functions that can fail return 0 (or a count) on success and
 * a negative error code on failure: either -errno (for example -ENOMEM) or
 * one of the LLMOS_E* codes below.  llmos_strerror() names any of them, and
 * llmos_last_error() gives the detail of the calling thread's last failure
 * (which field, which offset, which path).  Nothing here prints or exits.
 */
#ifndef LLMOS_LLMOS_H
#define LLMOS_LLMOS_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LLMOS_VERSION_STRING "0.1.0"

/* llmos-specific error codes, returned negated, beyond the errno range. */
enum llmos_error {
	LLMOS_E_BASE = 4096,
	LLMOS_ENOMODULE = LLMOS_E_BASE, /* the llmos kernel module is not loaded */
	LLMOS_EABI,                     /* the module speaks an incompatible ABI */
	LLMOS_EFORMAT,                  /* the model file is malformed */
	LLMOS_EUNSUPPORTED,             /* valid input that llmos cannot handle */
	LLMOS_ECONTEXT,                 /* the tokens do not fit in the context */
	LLMOS_E_END
};

/* How a handle reaches the hardware. */
enum llmos_mode {
	LLMOS_MODE_STANDALONE = 0, /* no kernel module: weights mapped from files */
	LLMOS_MODE_KERNEL = 1,     /* /dev/llmos is open */
};

/* Flags for llmos_open(). */
#define LLMOS_OPEN_REQUIRE_MODULE (1u << 0) /* fail with -LLMOS_ENOMODULE if absent */
#define LLMOS_OPEN_STANDALONE (1u << 1)     /* do not try the module at all */

/* What the kernel module reports about itself. */
struct llmos_module_info {
	uint32_t abi_version;
	uint64_t features; /* LLMOS_F_* bits of <linux/llmos.h> */
	char version[32];
};

struct llmos;

/*
 * llmos_open() - connect to /dev/llmos, or run standalone when it is absent.
 * The device path can be changed with the LLMOS_DEVICE environment variable.
 * On success *out is a handle to free with llmos_close().
 */
int llmos_open(struct llmos **out, unsigned int flags);
void llmos_close(struct llmos *h);
enum llmos_mode llmos_mode(const struct llmos *h);

/* The module's version and features; -LLMOS_ENOMODULE in standalone mode. */
int llmos_module_info(const struct llmos *h, struct llmos_module_info *info);

/* Names of the module's feature bits, one per call; NULL past the last. */
const char *llmos_feature_name(unsigned int bit);

/* A static description of any error code this library returns. */
const char *llmos_strerror(int err);
/* The calling thread's last failure, in detail ("" if none). */
const char *llmos_last_error(void);

const char *llmos_version(void);

/* ---- models ---------------------------------------------------------- */

struct llmos_model;

/*
 * llmos_model_load() - map a GGUF file read-only and check it completely:
 * metadata, every tensor's type and shape, the tokenizer.  Weights stay in
 * the mapping (zero copy); nothing is read until it is used.  A path of
 * "llmos:NAME" opens the model the module holds under NAME instead (see the
 * model store below); that needs the module (-LLMOS_ENOMODULE otherwise).
 */
int llmos_model_load(struct llmos_model **out, const char *path);
/*
 * llmos_model_load_vocab() - only the tokenizer of a GGUF file, which need
 * have no tensors (llama.cpp's ggml-vocab-*.gguf): tokenizing and decoding
 * work on the result, sessions do not (-EINVAL).
 */
int llmos_model_load_vocab(struct llmos_model **out, const char *path);
void llmos_model_free(struct llmos_model *m);

struct llmos_model_desc {
	char arch[32];        /* general.architecture */
	char name[64];        /* general.name, or "" */
	uint32_t n_vocab;
	uint32_t dim;         /* embedding length */
	uint32_t n_layers;
	uint32_t n_heads;
	uint32_t n_kv_heads;
	uint32_t head_dim;
	uint32_t ffn_dim;
	uint32_t n_ctx_train; /* context length the metadata gives */
	uint64_t n_params;    /* elements in all tensors */
	uint64_t weight_bytes;/* bytes of all tensors */
	int32_t bos, eos;     /* -1 if the model has none */
	int add_bos;          /* tokenizer.ggml.add_bos_token (default 1) */
	char weight_type[16]; /* type of most weight bytes ("q8_0", "f32", ...) */
	int add_eos;          /* tokenizer.ggml.add_eos_token (default 0) */
	int vocab_only;       /* loaded by llmos_model_load_vocab() */
	char tokenizer[16];   /* tokenizer.ggml.model: "llama" (SPM) or "gpt2" (BPE) */
};
void llmos_model_describe(const struct llmos_model *m, struct llmos_model_desc *d);

#define LLMOS_TOKENIZE_BOS (1u << 0)     /* prepend BOS (if the model has one) */
#define LLMOS_TOKENIZE_SPECIAL (1u << 1) /* control tokens' texts ("<|im_start|>") are
					    those tokens, as llama-tokenize's default */
#define LLMOS_TOKENIZE_EOS (1u << 2)     /* append EOS (if the model has one) */
/*
 * Text to token ids, as llama.cpp's llama_tokenize(): user-defined tokens
 * are always split out of the text, control tokens with
 * LLMOS_TOKENIZE_SPECIAL (otherwise their text is ordinary text).  Callers
 * pass LLMOS_TOKENIZE_BOS / _EOS as the model's add_bos / add_eos say.
 * Returns the number of ids, or -ENOSPC if more than max_ids would be
 * needed (llmos_tokenize_bound() ids are always enough).
 */
int llmos_model_tokenize(const struct llmos_model *m, const char *text, size_t len,
			 unsigned int flags, int32_t *ids, size_t max_ids);
size_t llmos_tokenize_bound(size_t text_len);

/*
 * Does token end a generation?  EOS, and end-of-turn tokens ("<|eot_id|>",
 * "<|im_end|>", "<end_of_turn>", "<|end|>", ...) that the metadata names or
 * llama.cpp recognises by their text.
 */
int llmos_token_is_eog(const struct llmos_model *m, int32_t token);

/* ---- chat templates --------------------------------------------------- */

struct llmos_chat_msg {
	const char *role;    /* "system", "user", "assistant" */
	const char *content;
};

/*
 * llmos_chat_template_detect() - the name of the template a Jinja text
 * (a model's tokenizer.chat_template) is, recognised by its markers as
 * llama.cpp does, or a name itself ("chatml"); NULL if unrecognised.
 */
const char *llmos_chat_template_detect(const char *text);
/* The names llmos_chat_apply() knows, comma-separated. */
const char *llmos_chat_template_names(void);
/* The model's template name (from its tokenizer.chat_template), or NULL. */
const char *llmos_model_chat_template(const struct llmos_model *m);
/*
 * llmos_chat_apply() - format n messages with template name, ending with
 * the assistant's turn opened if add_assistant.  NUL-terminates within
 * cap and returns the full length, like snprintf; -EINVAL for an unknown
 * name.
 */
int llmos_chat_apply(const char *name, const struct llmos_chat_msg *msgs, size_t n,
		     int add_assistant, char *buf, size_t cap);

/* Streaming token-to-text: bytes come out as whole UTF-8 characters. */
struct llmos_decoder;
int llmos_decoder_create(struct llmos_decoder **out, const struct llmos_model *m);
void llmos_decoder_free(struct llmos_decoder *d);
/* Append the text of token to out; returns bytes written (cap >= 64 suffices). */
int llmos_decoder_push(struct llmos_decoder *d, int32_t token, char *out, size_t cap);
/* Whatever an incomplete character left pending, as U+FFFD. */
int llmos_decoder_flush(struct llmos_decoder *d, char *out, size_t cap);

/* ---- sessions: a KV cache and the compute that fills it -------------- */

struct llmos_session;

/*
 * The default context is capped (as llama.cpp's tools default to 4096):
 * models now advertise 128k positions, whose KV cache would not fit a small
 * box.  Ask for more with n_ctx.
 */
#define LLMOS_DEFAULT_CTX_MAX 4096

/*
 * Where a session's matrix products run.  With LLMOS_DEVICE_NPU every
 * matmul whose weights are of a type the module's NPU backend runs (Q8_0,
 * Q4_0) is an NPU job; everything else (other weight types, attention,
 * norms, RoPE, sampling) stays on the CPU.  Greedy output is the same on
 * both.  The NPU needs llmos.ko with LLMOS_F_NPU: session creation fails
 * with -LLMOS_ENOMODULE without the module, -LLMOS_EUNSUPPORTED without a
 * backend.  A model file (not "llmos:NAME") is first copied into a module
 * buffer, as the NPU reads only module memory.
 */
#define LLMOS_DEVICE_CPU 0
#define LLMOS_DEVICE_NPU 1

struct llmos_session_params {
	uint32_t n_ctx;     /* positions in the KV cache; 0: the model's n_ctx_train,
			       at most LLMOS_DEFAULT_CTX_MAX */
	uint32_t n_threads; /* 0: one per CPU */
	uint32_t n_batch;   /* prompt tokens per forward step; 0: 64 */
	uint32_t device;    /* LLMOS_DEVICE_CPU (0) or LLMOS_DEVICE_NPU */
};

int llmos_session_create(struct llmos_session **out, const struct llmos_model *m,
			 const struct llmos_session_params *p);
void llmos_session_free(struct llmos_session *s);

#define LLMOS_EVAL_ALL_LOGITS (1u << 0) /* keep logits of every token, not only the last */
/*
 * Another eval follows at once (a generation loop): keep the scheduler's
 * grant after this eval instead of giving it back, so the next one does
 * not queue behind a step of another process.  Give it back with
 * llmos_session_yield() (or an eval without the flag) before pausing; a
 * grant kept too long is revoked by the module and the next eval asks
 * again.  Without the scheduler it does nothing.
 */
#define LLMOS_EVAL_KEEP_GRANT (1u << 1)
/*
 * Run the model over n tokens appended at the current position (a prompt
 * in batches of n_batch, or one decoded token).  -LLMOS_ECONTEXT, with
 * nothing changed, if they do not fit.
 */
int llmos_session_eval(struct llmos_session *s, const int32_t *ids, uint32_t n,
		       unsigned int flags);
/*
 * Logits (n_vocab values) of token i of the last eval; a negative i counts
 * from the end (-1: the last token).  Only the last token has logits unless
 * the eval asked for ALL_LOGITS.  NULL if there are none for i.
 */
const float *llmos_session_logits(const struct llmos_session *s, int32_t i);
uint32_t llmos_session_pos(const struct llmos_session *s);
uint32_t llmos_session_n_ctx(const struct llmos_session *s);
void llmos_session_reset(struct llmos_session *s);

/* Where a session computes and keeps its memory, and what its NPU did. */
struct llmos_session_device_info {
	uint32_t device;         /* LLMOS_DEVICE_* */
	int module_memory;       /* 1: the KV cache and activations are in a module
				    buffer (pinned, charged to the memory cgroup) */
	uint32_t npu_weights;    /* weight matrices whose matmuls run on the NPU */
	uint32_t cpu_weights;    /* weight matrices whose matmuls run on the CPU */
	uint64_t npu_copy_bytes; /* weights copied into a module buffer for the NPU
				    (a model file; 0 for "llmos:NAME") */
	uint64_t npu_jobs;       /* NPU jobs run */
	uint64_t npu_ops;        /* matmuls in them */
	uint64_t npu_ns;         /* time spent waiting for them */
};
void llmos_session_device_info(const struct llmos_session *s,
			       struct llmos_session_device_info *info);

/* ---- scheduling: who computes next, when several processes share ------ */

/*
 * With llmos.ko loaded and advertising its scheduler (LLMOS_F_SCHED), every
 * session asks the module for a compute grant before each forward step (a
 * prefill chunk of n_batch tokens, or one decoded token) and gives it back
 * at the end of each llmos_session_eval(), so the urgent request runs first
 * and an application thinking between tokens holds nothing.  Classes are
 * strictly ordered (REALTIME first); inside a class processes share by
 * weight.  A session starts in class NORMAL with its process's weight.
 * Standalone, or with a module without the scheduler, or with the
 * environment variable LLMOS_NO_SCHED=1 at session creation, sessions run
 * unscheduled and the class is only remembered.
 */
#define LLMOS_CLASS_NONE (-1) /* llmos_session_set_sched(): do not use the scheduler */
#define LLMOS_CLASS_REALTIME 0
#define LLMOS_CLASS_INTERACTIVE 1
#define LLMOS_CLASS_NORMAL 2
#define LLMOS_CLASS_BACKGROUND 3
#define LLMOS_SCHED_CLASSES 4
#define LLMOS_SCHED_WEIGHT_MAX 10000 /* weights are 1..10000; 0: the process's */

/* "realtime", "interactive", "normal", "background"; "none" for NONE; NULL if bad. */
const char *llmos_sched_class_name(int sched_class);
/* The class a name (as above, or its first letter) means, or -EINVAL. */
int llmos_sched_class_parse(const char *name);

/*
 * llmos_session_set_sched() - the class (LLMOS_CLASS_*) and weight (0: the
 * process's) of this session's steps, from its next eval on.  -EINVAL for a
 * bad class or weight; -EPERM when the class is above the process's ceiling
 * (raising it above NORMAL needs CAP_SYS_NICE: llmosctl prio).  NONE stops
 * using the scheduler for this session.  Without the scheduler it only
 * checks and remembers them.
 */
int llmos_session_set_sched(struct llmos_session *s, int sched_class, uint32_t weight);

/* What a session's scheduling has done, for applications and benchmarks. */
struct llmos_sched_info {
	int active;           /* 1: its steps run under the module's scheduler */
	int sched_class;      /* LLMOS_CLASS_* (as set, even when not active) */
	uint32_t weight;      /* as set; 0: the process's */
	uint64_t steps;       /* grants received (one per forward step) */
	uint64_t revocations; /* steps retried because the module revoked an
			       * overlong grant (its lease ran out) */
	uint64_t wait_ns;     /* total time from asking for a grant to having it */
	uint64_t max_wait_ns; /* the longest of those */
	uint64_t releases;    /* grants given back at the end of an eval */
	uint64_t release_ns;  /* total time those took */
	uint64_t preemptions; /* steps that handed the slot over between layers
			       * because a more urgent request was waiting */
};
void llmos_session_sched_info(const struct llmos_session *s, struct llmos_sched_info *info);
/* Give back a grant kept by LLMOS_EVAL_KEEP_GRANT; 0 if none was kept. */
int llmos_session_yield(struct llmos_session *s);

/* Counters of one class, or of one process, as the module keeps them. */
#define LLMOS_SCHED_WAIT_BUCKETS 24 /* bucket i: [2^i, 2^(i+1)) us; 0: [0, 2) us */
struct llmos_sched_counters {
	int32_t pid;          /* process entries: its id; class entries: -1 */
	int sched_class;      /* class entries: the class; processes: their ceiling */
	uint32_t weight;      /* process entries: its weight */
	uint32_t queued;      /* requests waiting now */
	uint32_t held;        /* grants held now */
	uint32_t jobs;        /* jobs open now */
	uint64_t grants, revocations, cancels; /* totals */
	uint64_t wait_us_total;
	uint64_t wait_hist[LLMOS_SCHED_WAIT_BUCKETS];
};

struct llmos_sched_summary {
	uint32_t slots;       /* compute slots the module hands out */
	uint32_t slots_busy;  /* held now */
	struct llmos_sched_counters classes[LLMOS_SCHED_CLASSES];
};

/*
 * llmos_sched_stats() - the module's scheduler counters: the summary, and
 * at most cap process entries (procs may be NULL if cap is 0).  Returns how
 * many processes the module knows, which may be more than cap.  Needs a
 * handle in LLMOS_MODE_KERNEL and LLMOS_F_SCHED (-LLMOS_ENOMODULE,
 * -LLMOS_EUNSUPPORTED otherwise).
 */
int llmos_sched_stats(struct llmos *h, struct llmos_sched_summary *sum,
		      struct llmos_sched_counters *procs, size_t cap);

/*
 * llmos_sched_set_prio() - the highest class (LLMOS_CLASS_*) and the weight
 * (1..LLMOS_SCHED_WEIGHT_MAX) of process pid's jobs (0: the caller).
 * -EPERM: raising above NORMAL, or another user's process, needs
 * CAP_SYS_NICE; -ESRCH: no such process.
 */
int llmos_sched_set_prio(struct llmos *h, int pid, int sched_class, uint32_t weight);

/*
 * The wait (in microseconds) under which a fraction p (0..1) of the waits
 * in a log2 histogram fall, as the upper bound of the bucket holding it
 * (so at most twice the true value); 0 for an empty histogram.
 */
uint64_t llmos_sched_wait_percentile(const uint64_t hist[LLMOS_SCHED_WAIT_BUCKETS], double p);

/* ---- the NPU: the module's accelerator backend ------------------------- */

#define LLMOS_NPU_NAME_MAX 32

/* What the module's NPU_INFO reports: the backend and its counters since load. */
struct llmos_npu_stats {
	int present;            /* 1: a backend is registered */
	char name[LLMOS_NPU_NAME_MAX]; /* the backend's name ("vnpu") */
	uint64_t types;         /* bit (1 << t) per GGUF weight type t it runs */
	uint64_t submitted;     /* jobs accepted */
	uint64_t completed;     /* jobs that finished with 0 */
	uint64_t failed;        /* jobs that finished with another error than: */
	uint64_t timedout;      /* jobs stopped by the timeout */
	uint64_t cancelled;     /* jobs cancelled (file or ring gone, signal) */
	uint64_t busy_ns;       /* time the device spent running jobs */
	uint32_t queued;        /* jobs waiting now */
	uint32_t running;       /* 0 or 1 */
	uint32_t max_queued;    /* the most jobs ever waiting at once */
	uint32_t timeout_ms;    /* the job timeout */
	uint64_t buf_bytes;     /* bytes of all module buffers now */
	uint64_t buf_cap_bytes; /* their cap */
};

/*
 * llmos_npu_stats() - the NPU backend and its counters.  Needs a handle in
 * LLMOS_MODE_KERNEL (-LLMOS_ENOMODULE) whose module advertises LLMOS_F_NPU
 * (-LLMOS_EUNSUPPORTED).
 */
int llmos_npu_stats(struct llmos *h, struct llmos_npu_stats *st);

/* ---- sampling --------------------------------------------------------- */

struct llmos_sampler;

struct llmos_sampler_params {
	float temp;           /* <= 0: greedy (argmax) */
	int32_t top_k;        /* <= 0: off */
	float top_p;          /* >= 1: off */
	float min_p;          /* <= 0: off */
	float repeat_penalty; /* 1: off */
	int32_t repeat_last_n;/* how many recent tokens the penalty looks at */
	uint64_t seed;
};
/* llama.cpp's defaults: temp 0.8, top-k 40, top-p 0.95, min-p 0.05, no penalty. */
void llmos_sampler_default_params(struct llmos_sampler_params *p);
int llmos_sampler_create(struct llmos_sampler **out, const struct llmos_sampler_params *p,
			 uint32_t n_vocab);
void llmos_sampler_free(struct llmos_sampler *s);
/* Choose the next token from logits (n_vocab values) and remember it. */
int32_t llmos_sampler_sample(struct llmos_sampler *s, const float *logits);
/* Remember a token chosen elsewhere (the prompt), for the repetition penalty. */
void llmos_sampler_accept(struct llmos_sampler *s, int32_t token);

/* ---- the model store: models in kernel memory, shared by processes ---- */

/*
 * With the module loaded, a model can live in its pinned memory under a
 * name: loaded once by an administrator, then opened by any permitted
 * process as llmos_model_load(&m, "llmos:NAME"), which maps it read-only
 * and parses it in place (N processes on one model use one copy).
 * All of these need a handle in LLMOS_MODE_KERNEL (else -LLMOS_ENOMODULE).
 * Names are 1 to 63 of A-Z a-z 0-9 . _ - and do not start with '.'.
 */
#define LLMOS_STORE_PREFIX "llmos:" /* llmos_model_load() path prefix */
#define LLMOS_STORE_NAME_MAX 63
#define LLMOS_STORE_NODE_ANY (-1) /* any NUMA node */

struct llmos_store_params {
	uint32_t mode;     /* permission bits (0..0777) for others to open it */
	int32_t numa_node; /* node whose memory holds it, or LLMOS_STORE_NODE_ANY */
};
/* Mode 0644, any node. */
void llmos_store_default_params(struct llmos_store_params *p);

/* Called after each chunk copied; return non-zero to stop (-ECANCELED). */
typedef int (*llmos_progress_fn)(uint64_t done, uint64_t total, void *arg);

/*
 * llmos_store_load() - check the GGUF file at path completely (as
 * llmos_model_load() does), then copy it into module memory named name and
 * seal it.  p may be NULL (the defaults); progress may be NULL.  Nothing
 * is left behind on failure.  Needs CAP_SYS_ADMIN.  Errors: -EINVAL (bad
 * name), -EEXIST (name used), -ENOSPC (over the module's pinned-memory
 * cap), -EPERM, file and format errors as llmos_model_load() gives them.
 */
int llmos_store_load(struct llmos *h, const char *name, const char *path,
		     const struct llmos_store_params *p, llmos_progress_fn progress, void *arg);

/* Model states. */
#define LLMOS_STORE_LOADING 0 /* being written by its creator */
#define LLMOS_STORE_SEALED 1  /* read-only, open for use */

struct llmos_store_entry {
	char name[LLMOS_STORE_NAME_MAX + 1];
	uint64_t size;      /* bytes as loaded */
	uint64_t pinned;    /* bytes of memory it holds */
	uint32_t state;     /* LLMOS_STORE_* */
	uint32_t users;     /* open handles, in all processes */
	uint32_t mappings;  /* memory mappings, in all processes */
	int32_t numa_node;  /* as requested */
	uint32_t owner_uid, owner_gid;
	uint32_t mode;
};
/*
 * The models the module holds: writes at most cap entries (entries may be
 * NULL if cap is 0) and returns how many models there are, which may be
 * more than cap.
 */
int llmos_store_list(struct llmos *h, struct llmos_store_entry *entries, size_t cap);

/* Free the name at once and the memory when its last user goes. */
#define LLMOS_STORE_UNLOAD_WHEN_UNUSED (1u << 0)
/* Remove a model: -EBUSY while in use, unless WHEN_UNUSED.  Needs CAP_SYS_ADMIN. */
int llmos_store_unload(struct llmos *h, const char *name, unsigned int flags);

#ifdef __cplusplus
}
#endif

#endif /* LLMOS_LLMOS_H */
