/* The shared test helpers; see testlib.h. */
#include "testlib.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

const char *
env_required(const char *name)
{
	const char *v = getenv(name);
	cr_assert(v && *v, "%s is not set: run the tests through meson test", name);
	return v;
}

void
source_path(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", env_required("CONTEND_SOURCE_ROOT"), rel);
}

void
build_path(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", env_required("CONTEND_BUILD_ROOT"), rel);
}

void
prog_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/tests/progs/%s", env_required("CONTEND_BUILD_ROOT"), name);
}

const char *
contend_bin(void)
{
	static char path[PATH_MAX];
	build_path(path, sizeof(path), "contend");
	return path;
}

bool
have_program(const char *name)
{
	if (strchr(name, '/'))
		return access(name, X_OK) == 0;
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name);
		if (access(buf, X_OK) == 0)
			return true;
		path = end ? end + 1 : NULL;
	}
	return false;
}

/* ------------------------------------------------------------------ */

void
buf_append(char **buf, size_t *len, const char *data, size_t n)
{
	char *nb = realloc(*buf, *len + n + 1);
	cr_assert(nb);
	memcpy(nb + *len, data, n);
	*len += n;
	nb[*len] = 0;
	*buf = nb;
}

char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t n = 0;
	char chunk[65536];
	size_t got;
	buf_append(&buf, &n, "", 0);
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&buf, &n, chunk, got);
	fclose(f);
	if (len)
		*len = n;
	return buf;
}

void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert(f, "cannot create %s: %s", path, strerror(errno));
	cr_assert(fwrite(data, 1, len, f) == len);
	cr_assert(fclose(f) == 0);
}

bool
path_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
rm_tree(const char *dir)
{
	if (!getenv("CONTEND_KEEP_TMP"))
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Temporary directories not yet removed by tmpdir_remove: a failed
 * assertion ends the test before it, so they are removed when the test's
 * process exits. */
#define MAX_PENDING 32
static char pending_tmp[MAX_PENDING][PATH_MAX];

static void
remove_pending_tmp(void)
{
	for (size_t i = 0; i < MAX_PENDING; i++)
		if (pending_tmp[i][0])
			rm_tree(pending_tmp[i]);
}

static void
track_tmp(const char *dir, bool add)
{
	static bool registered;
	if (!registered && atexit(remove_pending_tmp) == 0)
		registered = true;
	for (size_t i = 0; i < MAX_PENDING; i++) {
		if (add && !pending_tmp[i][0]) {
			snprintf(pending_tmp[i], sizeof(pending_tmp[i]), "%s", dir);
			return;
		}
		if (!add && !strcmp(pending_tmp[i], dir)) {
			pending_tmp[i][0] = 0;
			return;
		}
	}
}

void
tmpdir_make(char *buf, size_t len, const char *tag)
{
	const char *t = getenv("TMPDIR");
	int n = snprintf(buf, len, "%s/contend-%s-XXXXXX", t && *t ? t : "/tmp", tag);
	cr_assert(n > 0 && (size_t)n < len, "TMPDIR too long for a %zu-byte buffer", len);
	cr_assert(mkdtemp(buf), "mkdtemp %s: %s", buf, strerror(errno));
	track_tmp(buf, true);
}

void
tmpdir_remove(const char *dir)
{
	if (!dir || !*dir)
		return;
	rm_tree(dir);
	track_tmp(dir, false);
}

/* ------------------------------------------------------------------ */

int
count_lines(const char *s)
{
	int n = 0;
	const char *p = s;
	for (; *p; p++)
		n += *p == '\n';
	if (p > s && p[-1] != '\n')
		n++;
	return n;
}

void
expect_contains(const char *text, const char *const *want)
{
	for (size_t i = 0; want[i]; i++)
		cr_expect(strstr(text, want[i]), "no \"%s\" in:\n%s", want[i], text);
}

bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

char *
filter_lines(const char *s, const char *const *skip)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	cr_assert(out);
	while (*s) {
		const char *end = strchr(s, '\n');
		size_t n = end ? (size_t)(end - s + 1) : strlen(s);
		bool drop = false;
		for (size_t i = 0; skip[i] && !drop; i++) {
			const char *hit = strstr(s, skip[i]);
			drop = hit && hit < s + n;
		}
		if (!drop) {
			memcpy(o, s, n);
			o += n;
		}
		s += n;
	}
	*o = 0;
	return out;
}

/* ------------------------------------------------------------------ */

void
child_default_signals(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGXFSZ, SIG_DFL);
	signal(SIGUSR2, SIG_DFL); /* CONTEND_DUMP_SIGNAL's default */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

void
envlist_push(struct envlist *e, const char *kv)
{
	/* A later NAME=value replaces an earlier one: getenv() would find
	 * the first. */
	size_t klen = strcspn(kv, "=");
	for (size_t i = 0; i < e->n; i++)
		if (!strncmp(e->v[i], kv, klen) && e->v[i][klen] == '=') {
			e->v[i] = kv;
			return;
		}
	if (e->n + 1 >= e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 64;
		const char **v = realloc(e->v, cap * sizeof(*v));
		cr_assert(v);
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = kv;
	e->v[e->n] = NULL;
}

void
envlist_push_all(struct envlist *e, const char *const *list)
{
	for (size_t i = 0; list && list[i]; i++)
		envlist_push(e, list[i]);
}

void
envlist_clean(struct envlist *e)
{
	*e = (struct envlist){.v = calloc(64, sizeof(*e->v)), .cap = 64};
	cr_assert(e->v);
	for (char **v = environ; *v; v++)
		if (strncmp(*v, "LD_PRELOAD=", 11) && strncmp(*v, "CONTEND_", 8))
			envlist_push(e, *v);
}

void
envlist_free(struct envlist *e)
{
	free(e->v);
	*e = (struct envlist){0};
}

/* ------------------------------------------------------------------ */

double
mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

static int park_parked, park_resume;

static void
park_handler(int sig)
{
	(void)sig;
	__atomic_store_n(&park_parked, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&park_resume, __ATOMIC_ACQUIRE)) {
		struct timespec ts = {0, 50 * 1000};
		nanosleep(&ts, NULL);
	}
	__atomic_store_n(&park_parked, 0, __ATOMIC_RELEASE);
}

void
park_install(int sig)
{
	struct sigaction sa = {.sa_handler = park_handler};
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(sig, &sa, NULL), 0);
}

void
park_thread(pthread_t th, int sig)
{
	__atomic_store_n(&park_resume, 0, __ATOMIC_RELEASE);
	cr_assert_eq(pthread_kill(th, sig), 0);
	while (!__atomic_load_n(&park_parked, __ATOMIC_ACQUIRE))
		sched_yield();
}

void
unpark_thread(void)
{
	__atomic_store_n(&park_resume, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&park_parked, __ATOMIC_ACQUIRE))
		sched_yield();
}

const char *
page_prot(const void *addr, char *buf)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	buf[0] = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && (uintptr_t)addr >= lo &&
		    (uintptr_t)addr < hi) {
			snprintf(buf, 8, "%s", perms);
			break;
		}
	}
	if (f)
		fclose(f);
	return buf;
}
