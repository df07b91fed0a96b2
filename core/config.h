/* CONTEND_* configuration: one table, parsed once, strictly.
 *
 * ct_config_load() runs in the shim's constructor (or lazily from the first
 * slow path), before any thread of ours exists; afterwards ct_cfg is
 * read-only except for the sampling settings, which later capabilities may
 * change at run time with relaxed atomic stores. A bad value produces one
 * stderr line naming the variable and what is accepted, and the default is
 * kept. Does not allocate. Not async-signal-safe. */
#ifndef CT_CONFIG_H
#define CT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Defaults, each with its reason. */
/* 1 in 100 contended unlocks records its holder stack: a recorded stack
 * costs 2-5 us on a loaded VM (README "Overhead"), so a server doing N
 * contended unlocks a second pays N x (0.1 us for the charge + 5 us / 100)
 * of CPU time: 1.5 % of a CPU at 100,000 a second, where 10 cost 5 %. The
 * scaled totals stay unbiased at any fraction. */
#define CT_DEFAULT_MUTEX_FRACTION 100
/* Waits of 1 ms or more are always recorded; shorter ones with probability
 * wait/1ms (Go's rule), so the totals still add up right. A recorded wait
 * costs its stack (2-5 us on a loaded VM, README "Overhead"), so at rate R
 * the recording costs at most about 5 us / R of the time spent waiting:
 * 0.5 % at 1 ms, where 10 us cost ping-pong programs 20-90 %. */
#define CT_DEFAULT_BLOCK_RATE 1000000
/* Distinct stacks kept per profile; more is folded into one overflow
 * sample. About 1 KiB each, touched only when used. */
#define CT_DEFAULT_TABLE_SIZE 4096
/* Locks that can be contended at the same moment, tracked to charge
 * holders with their waiters' time. */
#define CT_DEFAULT_OBJECTS 4096
/* Go 1.23 keeps 128; 64 is enough for nearly all C servers and halves the
 * unwind cost of deep stacks. */
#define CT_DEFAULT_STACK_DEPTH 64
/* A wait longer than this is reported as stuck in thread dumps. */
#define CT_DEFAULT_STUCK_NS (5ULL * 1000000000ULL)

enum ct_opt_type {
	CT_OPT_UINT,
	CT_OPT_BOOL,
	CT_OPT_AUTOBOOL, /* a BOOL, or "auto" (stored as -1) */
	CT_OPT_STRING,   /* the output directory template */
	CT_OPT_DURATION, /* "1500ms", "60s", "2m", "1h"; a bare number is seconds; stored in ns */
	CT_OPT_SIGNAL,   /* "SIGUSR2", "USR2" or a number; 0 = none */
	CT_OPT_ADDR,     /* "host:port" to listen on; ":port" means 127.0.0.1 */
};

struct ct_opt {
	const char *name;     /* environment variable */
	enum ct_opt_type type;
	size_t off;            /* of the field in struct ct_config */
	uint64_t def, min, max; /* numeric options */
	const char *sdef;     /* string default */
	const char *help;     /* one line, for CONTEND_HELP and docs */
};

struct ct_config {
	uint64_t mutex_fraction; /* 0 = off, N = 1 in N */
	uint64_t block_rate;     /* 0 = off, 1 = all, else ns */
	uint64_t table_size;
	uint64_t objects;
	uint64_t stack_depth;
	int quiet;             /* 1 never, 0 always, -1 auto: see ct_notices_off() */
	bool help;
	bool io;               /* wrap blocking I/O and sleeps */
	uint64_t stuck_ns;     /* a wait longer than this is "stuck" */
	uint64_t interval_ns;  /* periodic snapshots; 0 = off */
	uint64_t dump_signal;  /* signal that writes every profile; 0 = none */
	char http[256];        /* CONTEND_HTTP, validated, "" = off */
	char out[4096];        /* CONTEND_OUT template, unexpanded */
};

extern struct ct_config ct_cfg;

/* The option table, for CONTEND_HELP, docs and tests. */
extern const struct ct_opt ct_opts[];
extern const size_t ct_nopts;

/* Reads the environment through getenv_fn (secure_getenv in the shim, a
 * fake in tests) into ct_cfg. Returns the number of rejected values. */
int ct_config_load(char *(*getenv_fn)(const char *));

/* Strict parsers, exposed for tests. Return 0 or -EINVAL / -ERANGE. */
int ct_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int ct_parse_bool(const char *s, bool *out);
int ct_parse_duration(const char *s, uint64_t *ns);
int ct_parse_signal(const char *s, uint64_t *sig);
/* Checks "host:port" (host: empty, "localhost", an IPv4 or [IPv6] literal;
 * port 0..65535). Does not resolve anything. */
int ct_parse_addr(const char *s);

/* Expands %p (pid), %h (hostname) and %% in tmpl into buf. Returns 0 or
 * -ENAMETOOLONG / -EINVAL (unknown % sequence). Async-signal-safe. */
int ct_config_expand_out(const char *tmpl, int pid, char *buf, size_t len);

/* Prints the table on stderr (CONTEND_HELP=1). */
void ct_config_print_help(void);

/* True when notices (where the profiles went, the exit summary of stuck
 * and leaked threads, other "for your information" lines) must not be
 * printed: CONTEND_QUIET=1, or CONTEND_QUIET=auto (the default) and
 * stderr is not a terminal now. A program whose stderr is captured (a
 * test suite comparing it, a server's log file) then gets nothing of
 * ours mixed in; a person at a terminal still sees where the files went.
 * Errors (a file that could not be written, a bad variable) are printed
 * whatever this says. One ioctl at most; errno preserved;
 * async-signal-safe. */
bool ct_notices_off(void);

#endif
