/* The helpers every test suite shares (unit, integration, cli): the
 * environment meson gives the tests, files, temporary directories, text,
 * the clean start of a child process, and Criterion idioms. Profiles are
 * in testprof.h.
 *
 * Test-process only: these fail the current Criterion test on errors
 * (cr_assert) and may allocate; not thread-safe. */
#ifndef CT_TESTLIB_H
#define CT_TESTLIB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* Environment given by tests/meson.build (test_env). */

/* $name, or a Criterion failure if unset. */
const char *env_required(const char *name);
/* $CONTEND_SOURCE_ROOT/rel, $CONTEND_BUILD_ROOT/rel. */
void source_path(char *buf, size_t len, const char *rel);
void build_path(char *buf, size_t len, const char *rel);
/* $CONTEND_BUILD_ROOT/tests/progs/<name> */
void prog_path(char *buf, size_t len, const char *name);
/* $CONTEND_BUILD_ROOT/contend */
const char *contend_bin(void);
/* True if name (a path when it has a '/', else looked up in PATH) is
 * executable. */
bool have_program(const char *name);

/* ------------------------------------------------------------------ */
/* Files and directories. */

/* The whole file, NUL-terminated and malloc'd (length in *len if not
 * NULL), or NULL (errno set) if it cannot be read. */
char *read_file(const char *path, size_t *len);
/* Creates or truncates path with data; fails the test otherwise. */
void write_file(const char *path, const void *data, size_t len);
bool path_exists(const char *path);
/* The permissions /proc/self/maps gives the page at addr ("rw-p", "---p")
 * into buf (8 bytes), "" if it is not mapped; returns buf. */
const char *page_prot(const void *addr, char *buf);

/* A fresh directory "$TMPDIR/contend-<tag>-XXXXXX" (TMPDIR unset or
 * empty: /tmp). It is removed by tmpdir_remove or, if a failed assertion
 * ends the test first, when the test's process exits; with
 * CONTEND_KEEP_TMP set it is kept, to look at. */
void tmpdir_make(char *buf, size_t len, const char *tag);
/* Removes dir and everything below it (unless CONTEND_KEEP_TMP). */
void tmpdir_remove(const char *dir);

/* ------------------------------------------------------------------ */
/* Text. */

/* Number of lines in s (a last line without '\n' counts). */
int count_lines(const char *s);
/* s with the lines containing any of the NULL-terminated `skip`
 * substrings removed (malloc'd). */
char *filter_lines(const char *s, const char *const *skip);
/* A Criterion expectation that text contains each of the NULL-terminated
 * want strings (a failure names the missing one and shows text). */
void expect_contains(const char *text, const char *const *want);

/* Whether s ends with suffix. */
bool ends_with(const char *s, const char *suffix);
/* Appends n bytes of data to the NUL-terminated *buf of length *len. */
void buf_append(char **buf, size_t *len, const char *data, size_t n);

/* ------------------------------------------------------------------ */
/* Child processes. */

/* In a forked child before exec: default dispositions for the signals
 * Criterion's runner may ignore, and an empty signal mask, so that the
 * program starts as it would from a shell. Async-signal-safe. */
void child_default_signals(void);

/* A NULL-terminated list of "K=V" strings (not copied). */
struct envlist {
	const char **v;
	size_t n, cap;
};
/* The runner's environment without LD_PRELOAD and CONTEND_*. */
void envlist_clean(struct envlist *e);
/* Adds NAME=value, replacing an earlier NAME= (later wins). */
void envlist_push(struct envlist *e, const char *kv);
/* Each of a NULL-terminated list (list may be NULL). */
void envlist_push_all(struct envlist *e, const char *const *list);
void envlist_free(struct envlist *e);

/* ------------------------------------------------------------------ */
/* Time (for time-outs and polling, never for assertions). */

double mono_s(void);
void sleep_ms(int ms);

/* ------------------------------------------------------------------ */
/* Stopping a thread anywhere, as a preemption would: it is parked in a
 * signal handler (atomics and nanosleep only) until let go. One parked
 * thread at a time. */

/* Installs the parking handler for sig. */
void park_install(int sig);
/* Sends sig to th; returns once th is parked in the handler. */
void park_thread(pthread_t th, int sig);
/* Lets the parked thread go on; returns once it has left the handler. */
void unpark_thread(void);

/* ------------------------------------------------------------------ */
/* Criterion. */

/* Criterion runs every test in a freshly exec'd process, where pointers
 * in parameters would dangle: a parameterized test gets an index into a
 * static table instead. Use as the body of ParameterizedTestParameters. */
#define INDEX_PARAMS(table)                                                            \
	do {                                                                           \
		static size_t idx_[sizeof(table) / sizeof((table)[0])];                \
		for (size_t i_ = 0; i_ < sizeof(idx_) / sizeof(idx_[0]); i_++)         \
			idx_[i_] = i_;                                                 \
		return cr_make_param_array(size_t, idx_, sizeof(idx_) / sizeof(idx_[0])); \
	} while (0)

/* A test run once for each row of the static array table (INDEX_PARAMS),
 * the body that follows it seeing that row as `const T *row` (T: the
 * table's element type); the arguments after row are the test's options
 * (.timeout = 60, ...):
 *     TABLE_TEST(io, known_waits, wait_cases, c, .timeout = 60)
 *     {
 *             ... c->prog ...
 *     }
 */
#define TABLE_TEST(suite, name, table, row, ...)                                       \
	ParameterizedTestParameters(suite, name)                                       \
	{                                                                              \
		INDEX_PARAMS(table);                                                   \
	}                                                                              \
	static void suite##_##name##_row(const __typeof__((table)[0]) *row);          \
	ParameterizedTest(size_t *i_, suite, name, __VA_ARGS__)                        \
	{                                                                              \
		suite##_##name##_row(&(table)[*i_]);                                   \
	}                                                                              \
	static void suite##_##name##_row(const __typeof__((table)[0]) *row)

#endif
