/* Locks as things (issue 14): tests/progs/lock_names under the shim, its
 * locks named and measured by `contend locks`, isolated by
 * `go tool pprof -tagfocus=lock=...`, named the same in two runs, named
 * in the thread dump and served live at /debug/pprof/locks.
 *
 * Bands: lower bounds from construction (each wait lasts at least its
 * hold: the holder starts it once the waiter is blocked), upper bounds
 * loose (a loaded 2-core machine stretches sleeps). */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testrun.h"
#include "pprof_read.h"

#define MS 1000000LL

/* The JSON line of `contend locks --json` whose lock name starts with
 * prefix (exact match when exact), or NULL. */
static const char *
json_line(const char *out, const char *prefix, bool exact, char *buf, size_t len)
{
	char key[256];
	snprintf(key, sizeof(key), "{\"lock\":\"%s%s", prefix, exact ? "\"" : "");
	for (const char *l = out; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		if (!strncmp(l, key, strlen(key))) {
			snprintf(buf, len, "%.*s", (int)n, l);
			return buf;
		}
		l = nl ? nl + 1 : NULL;
	}
	return NULL;
}

/* The number after "key": in a JSON line (the first one), -1 if absent. */
static long long
json_num(const char *line, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), "\"%s\":", key);
	const char *p = line ? strstr(line, k) : NULL;
	return p ? strtoll(p + strlen(k), NULL, 10) : -1;
}

static bool
json_has(const char *line, const char *key, const char *value)
{
	char k[256];
	snprintf(k, sizeof(k), "\"%s\":\"%s", key, value);
	return line && strstr(line, k);
}

static void
run_locks_cli(struct run *c, const char *dir, bool json)
{
	char exe[PATH_MAX];
	snprintf(exe, sizeof(exe), "%s", contend_bin());
	if (json)
		run_cmd(c, (const char *const[]){exe, "locks", "--json", dir, NULL}, 60);
	else
		run_cmd(c, (const char *const[]){exe, "locks", dir, NULL}, 60);
	cr_assert_eq(run_exit_code(c), 0, "contend locks failed:\n%s", c->err);
}

/* The five locks of lock_names, as `contend locks` names them. */
static const struct {
	const char *prefix;
	bool exact;
	const char *kind, *named_by, *what;
	long waits;
} expected[] = {
	{"ledger_lock", true, "mutex", "symbol", "ledger", 10},
	{"table_lock", true, "rwlock", "symbol", "table", 10},
	{"make_account (lock_names.c:", false, "mutex", "init", "account", 10},
	{"wait_cache (lock_names.c:", false, "mutex", "first-wait", "cache", 10},
	{"mix_lock", true, "mutex", "symbol", "mix", 100},
};

Test(locks, names_totals_and_percentiles)
{
	struct run r, c;
	/* Every contended unlock recorded, so the holder sites are there
	 * (1 in 100 by default); waits keep the default block rate. */
	run_ok(&r, &(struct run_opts){.prog = "lock_names",
					.env = (const char *const[]){"CONTEND_MUTEX_FRACTION=1", NULL}});
	run_locks_cli(&c, r.outdir, true);
	char line[8192];
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		const char *l = json_line(c.out, expected[i].prefix, expected[i].exact, line,
					  sizeof(line));
		cr_assert(l, "no lock %s in:\n%s", expected[i].prefix, c.out);
		cr_expect(json_has(l, "kind", expected[i].kind), "kind of %s: %s", expected[i].prefix, l);
		cr_expect(json_has(l, "named_by", expected[i].named_by), "%s", l);
		/* Every wait is >= 1 ms, over the 10 us block rate: recorded
		 * each, weight 1. */
		cr_expect_eq(json_num(l, "contentions"), expected[i].waits, "%s", l);
		cr_expect_eq(json_num(l, "events"), expected[i].waits, "%s", l);
		char key[64];
		snprintf(key, sizeof(key), "%s_wait_ns", expected[i].what);
		double measured = (double)run_value(&r, NULL, key);
		double got = (double)json_num(l, "wait_ns");
		cr_expect(got >= 0.8 * measured && got <= 1.2 * measured,
			  "%s: total wait %.0f ns, the program measured %.0f ns", expected[i].prefix,
			  got, measured);
	}
	/* The mix: 90 waits of >= 1 ms and 10 of >= 50 ms. */
	const char *l = json_line(c.out, "mix_lock", true, line, sizeof(line));
	cr_assert(l);
	long long p50 = json_num(l, "p50_ns"), p99 = json_num(l, "p99_ns"), mx = json_num(l, "max_ns");
	/* A percentile is placed inside its log-scale bucket (19 % wide). */
	cr_expect(p50 >= 8 * MS / 10 && p50 <= 25 * MS, "p50 %lld ns: %s", p50, l);
	cr_expect(p99 >= 40 * MS && p99 <= 1000 * MS, "p99 %lld ns: %s", p99, l);
	cr_expect(mx >= 50 * MS && mx <= 2000 * MS, "max %lld ns: %s", mx, l);
	cr_expect(p50 <= p99 && p99 <= mx, "%s", l);
	/* The waiter's holds began after its waits: measured. */
	cr_expect(json_num(l, "hold_events") == 100, "%s", l);
	cr_expect(strstr(l, "\"waiters\":[{\"site\":\"wait_mix (lock_names.c:"), "%s", l);
	cr_expect(strstr(l, "\"holders\":[{\"site\":\"one_wait (lock_names.c:"), "%s", l);
	/* Sorted by total wait: the mix first. */
	cr_expect(!strncmp(c.out, "{\"lock\":\"mix_lock\"", 18), "%s", c.out);
	run_free(&c);

	/* The table names them all too. */
	run_locks_cli(&c, r.outdir, false);
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		cr_expect(strstr(c.out, expected[i].prefix), "no %s in:\n%s", expected[i].prefix,
			  c.out);
	cr_expect(strstr(c.out, "P50") && strstr(c.out, "P99") && strstr(c.out, "MAX"), "%s",
		  c.out);
	run_free(&c);
	run_free(&r);
}

/* The labels of the samples: every block and mutex sample on these locks
 * has lock and lock_kind. */
Test(locks, every_lock_sample_is_labelled)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "lock_names", .env2 = exact_env});
	const char *kinds[] = {"block", "mutex"};
	for (int k = 0; k < 2; k++) {
		struct profile p;
		cr_assert(run_profile(&r, NULL, kinds[k], &p));
		size_t labelled = 0;
		for (size_t i = 0; i < p.reader->nsamples; i++) {
			const struct ct_psample *s = &p.reader->samples[i];
			bool lock = false, kind = false;
			for (size_t j = 0; j < s->nlabels; j++) {
				lock |= s->labels[j].str && !strcmp(s->labels[j].key, "lock");
				kind |= s->labels[j].str && !strcmp(s->labels[j].key, "lock_kind");
			}
			cr_expect(lock == kind, "lock without lock_kind in %s", kinds[k]);
			labelled += lock;
			/* Every sample whose leaf is a lock call or unlock is on a lock. */
			const char *leaf = p.samples[i].nframes ? p.samples[i].frames[0] : "";
			if (!strncmp(leaf, "pthread_mutex_", 14) || !strncmp(leaf, "pthread_rwlock_", 15))
				cr_expect(lock, "%s sample with leaf %s has no lock label", kinds[k], leaf);
		}
		cr_expect(labelled > 0, "no labelled sample in %s", kinds[k]);
		profile_free(&p);
	}
	run_free(&r);
}

Test(locks, tagfocus_isolates_each_lock)
{
	if (!have_program("go"))
		cr_skip_test("go is not installed");
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "lock_names"});
	char file[PATH_MAX + 32], tmp[PATH_MAX + 16];
	run_path(&r, NULL, "block.pb.gz", file, sizeof(file));
	snprintf(tmp, sizeof(tmp), "%s/pprof", r.tmp);
	setenv("PPROF_TMPDIR", tmp, 1);
	static const struct {
		const char *focus, *fn;
	} locks[] = {
		{"lock=^ledger_lock$", "wait_ledger"},
		{"lock=^table_lock$", "wait_table"},
		{"lock=^make_account ", "wait_account"},
		{"lock=^wait_cache ", "wait_cache"},
		{"lock=^mix_lock$", "wait_mix"},
	};
	for (size_t i = 0; i < sizeof(locks) / sizeof(locks[0]); i++) {
		char focus[128];
		snprintf(focus, sizeof(focus), "-tagfocus=%s", locks[i].focus);
		struct run g;
		run_cmd(&g, (const char *const[]){"go", "tool", "pprof", "-top", focus, file, NULL},
			60);
		cr_expect_eq(run_exit_code(&g), 0, "go tool pprof %s failed:\n%s", focus, g.err);
		for (size_t j = 0; j < sizeof(locks) / sizeof(locks[0]); j++) {
			bool has = strstr(g.out, locks[j].fn) != NULL;
			cr_expect(has == (i == j), "%s: %s %s in:\n%s", focus, locks[j].fn,
				  has ? "present" : "missing", g.out);
		}
		run_free(&g);
	}
	/* And locks.pb.gz is a profile pprof reads: its -tags show the mix's
	 * histogram buckets. */
	run_path(&r, NULL, "locks.pb.gz", file, sizeof(file));
	struct run g;
	run_cmd(&g, (const char *const[]){"go", "tool", "pprof", "-tags", "-tagfocus=lock=^mix_lock$",
					  "-sample_index=contentions", file, NULL}, 60);
	cr_expect_eq(run_exit_code(&g), 0, "go tool pprof -tags failed:\n%s", g.err);
	cr_expect(strstr(g.out, "wait_bucket:") && strstr(g.out, "hold_bucket:"), "%s", g.out);
	run_free(&g);
	run_free(&r);
}

/* The sorted lock names of one run. */
static char *
names_of_run(void)
{
	struct run r, c;
	run_ok(&r, &(struct run_opts){.prog = "lock_names"});
	run_locks_cli(&c, r.outdir, true);
	char *names = calloc(1, strlen(c.out) + 1);
	cr_assert(names);
	/* Already sorted by total wait, which may differ between runs for
	 * the four 10 x 2 ms locks: collect and sort. */
	const char *v[64];
	size_t n = 0;
	for (char *l = c.out; l && *l && n < 64;) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = 0;
		if (!strncmp(l, "{\"lock\":\"", 9)) {
			char *e = strchr(l + 9, '"');
			if (e)
				*e = 0;
			v[n++] = l + 9;
		}
		l = nl ? nl + 1 : NULL;
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
			const char *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		strcat(names, v[i]);
		strcat(names, "\n");
	}
	run_free(&c);
	run_free(&r);
	return names;
}

Test(locks, two_runs_same_names)
{
	char *a = names_of_run(), *b = names_of_run();
	cr_expect_str_eq(a, b, "names differ between two runs");
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		cr_expect(strstr(a, expected[i].prefix), "no %s in:\n%s", expected[i].prefix, a);
	/* No name is an address (which ASLR would change). */
	cr_expect(!strstr(a, "0x"), "%s", a);
	free(a);
	free(b);
}

Test(locks, thread_dump_names_the_lock)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "lock_names", .args = (const char *const[]){"stuck",
											 NULL},
					.env = (const char *const[]){"CONTEND_STUCK=1s", NULL}});
	char file[PATH_MAX + 32];
	run_path(&r, NULL, "threads.txt", file, sizeof(file));
	char *t = read_file(file, NULL);
	cr_assert(t, "no threads.txt");
	char want[128];
	snprintf(want, sizeof(want), "thread %lld \"lock_names\" [pthread_mutex_lock ledger_lock, ",
		 run_value(&r, NULL, "stuck_tid"));
	cr_expect(strstr(t, want), "no '%s' in:\n%s", want, t);
	cr_expect(strstr(t, "held by thread"), "%s", t);
	free(t);
	run_free(&r);
}

Test(locks, bad_input_one_line)
{
	char exe[PATH_MAX];
	snprintf(exe, sizeof(exe), "%s", contend_bin());
	struct run c;
	run_cmd(&c, (const char *const[]){exe, "locks", "/nonexistent/dir", NULL}, 60);
	cr_expect_eq(run_exit_code(&c), 1);
	cr_expect_eq(count_lines(c.err), 1, "%s", c.err);
	cr_expect(strstr(c.err, "/nonexistent/dir"), "%s", c.err);
	run_free(&c);

	/* Profiles that are not locks profiles: the block profile (samples
	 * without role labels) and a mutex profile without samples (1 in
	 * 1000000 contended unlocks recorded). */
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "lock_names",
					.env = (const char *const[]){"CONTEND_MUTEX_FRACTION=1000000",
								     NULL}});
	char file[PATH_MAX + 32];
	const char *const notlocks[] = {"block.pb.gz", "mutex.pb.gz"};
	for (size_t i = 0; i < 2; i++) {
		run_path(&r, NULL, notlocks[i], file, sizeof(file));
		run_cmd(&c, (const char *const[]){exe, "locks", file, NULL}, 60);
		cr_expect_eq(run_exit_code(&c), 1, "%s: %s", notlocks[i], c.out);
		cr_expect_eq(count_lines(c.err), 1, "%s", c.err);
		cr_expect(strstr(c.err, "not a libcontend locks profile"), "%s", c.err);
		run_free(&c);
	}

	/* A directory without locks.pb.gz. */
	run_cmd(&c, (const char *const[]){exe, "locks", r.tmp, NULL}, 60);
	cr_expect_eq(run_exit_code(&c), 1);
	cr_expect_eq(count_lines(c.err), 1, "%s", c.err);
	cr_expect(strstr(c.err, "no locks.pb.gz"), "%s", c.err);
	run_free(&c);

	/* Not a profile at all, and a port nobody serves. */
	run_path(&r, NULL, "threads.txt", file, sizeof(file));
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	cr_assert(write(fd, "hello\n", 6) == 6);
	close(fd);
	run_cmd(&c, (const char *const[]){exe, "locks", file, NULL}, 60);
	cr_expect_eq(run_exit_code(&c), 1);
	cr_expect_eq(count_lines(c.err), 1, "%s", c.err);
	run_free(&c);
	run_cmd(&c, (const char *const[]){exe, "locks", "http://127.0.0.1:1", NULL}, 60);
	cr_expect_eq(run_exit_code(&c), 1);
	cr_expect_eq(count_lines(c.err), 1, "%s", c.err);
	run_free(&c);
	run_free(&r);
}

/* GET path from 127.0.0.1:port: the whole response (headers and body),
 * malloc'd, NUL-terminated. */
static char *
http_get_raw(int port, const char *path)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect: %s", strerror(errno));
	char req[256];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
	cr_assert(write(fd, req, (size_t)n) == n);
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	ssize_t r;
	while (buf && (r = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)r;
		if (len + 1 == cap)
			buf = realloc(buf, cap *= 2);
	}
	close(fd);
	cr_assert(buf);
	buf[len] = 0;
	return buf;
}

/* lock_names serve under the shim with CONTEND_HTTP=127.0.0.1:0: the
 * port from the "serving" line, then `contend locks http://...` and
 * /debug/pprof/locks?debug=2 give the same locks. */
Test(locks, live_endpoint)
{
	struct run r;
	static const char *const http_env[] = {"CONTEND_HTTP=127.0.0.1:0", NULL};
	run_start(&r, &(struct run_opts){.prog = "lock_names",
					 .args = (const char *const[]){"serve", NULL},
					 .env = http_env, .stdin_pipe = true});
	int port = run_await_serving(&r, true);
	char exe[PATH_MAX], url[64];
	snprintf(exe, sizeof(exe), "%s", contend_bin());
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	struct run c;
	run_cmd(&c, (const char *const[]){exe, "locks", "--json", url, NULL}, 60);
	cr_expect_eq(run_exit_code(&c), 0, "contend locks %s failed:\n%s", url, c.err);
	char line[8192];
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		cr_expect(json_line(c.out, expected[i].prefix, expected[i].exact, line, sizeof(line)),
			  "no %s in:\n%s", expected[i].prefix, c.out);
	run_free(&c);
	/* The endpoint's own table (debug=1) and JSON lines (debug=2). */
	char *t = http_get_raw(port, "/debug/pprof/locks?debug=1");
	cr_expect(strstr(t, "200 OK") && strstr(t, "LOCK ") && strstr(t, "mix_lock ") &&
		  strstr(t, "P99"), "%s", t);
	free(t);
	t = http_get_raw(port, "/debug/pprof/locks?debug=2");
	cr_expect(strstr(t, "200 OK") && strstr(t, "\n{\"lock\":\"mix_lock\",\"kind\":\"mutex\""),
		  "%s", t);
	free(t);
	/* A path of another endpoint: the server's own error, one line. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/debug/pprof/locks?seconds=1", port);
	run_cmd(&c, (const char *const[]){exe, "locks", url, NULL}, 60);
	cr_expect_eq(run_exit_code(&c), 1);
	cr_expect_eq(count_lines(c.err), 1, "%s", c.err);
	cr_expect(strstr(c.err, "400"), "%s", c.err);
	run_free(&c);
	run_wait(&r, 60);
	cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %d", r.status);
	run_free(&r);
}

/* C++: locks named by their demangled symbols, a condvar with its
 * mutex, and sites in the program's code, not in the libstdc++ headers
 * that inline the pthread calls (std::shared_mutex's
 * __glibcxx_rwlock_rdlock). */
Test(locks, cxx_names_kinds_and_sites)
{
	struct run r, c;
	run_ok(&r, &(struct run_opts){.prog = "cxx_locks",
					.args = (const char *const[]){"2", "20000", "2", NULL}});
	run_locks_cli(&c, r.outdir, true);
	char line[8192];
	const char *l = json_line(c.out, "contend_test::mtx", true, line, sizeof(line));
	cr_expect(l && json_has(l, "kind", "mutex"), "%s", c.out);
	cr_expect(l && strstr(l, "\"waiters\":[{\"site\":\"contend_test::cxx_mutex_wait("), "%s", c.out);
	l = json_line(c.out, "contend_test::smtx", true, line, sizeof(line));
	cr_expect(l && json_has(l, "kind", "rwlock"), "%s", c.out);
	cr_expect(l && strstr(l, "\"waiters\":[{\"site\":\"contend_test::cxx_shared_wait("), "%s",
		  c.out);
	l = json_line(c.out, "contend_test::cv", true, line, sizeof(line));
	cr_expect(l && json_has(l, "kind", "condvar") && json_has(l, "mutex", "contend_test::cv_mtx"),
		  "%s", c.out);
	cr_expect_null(strstr(c.out, "\"site\":\"__glibcxx"), "%s", c.out);
	cr_expect_null(strstr(c.out, "\"site\":\"std::"), "%s", c.out);
	run_free(&c);
	run_free(&r);
}

/* A C program whose C++ code comes later, with dlopen (a C server's C++
 * module): the report library does not link the C++ runtime, the shim
 * hands it the program's demangler, and looks for it again once the
 * loaded objects change. Here the report library is loaded (for a live
 * snapshot) before the C++ module is: the module's holder still comes out
 * demangled in the final profile. */
Test(locks, cxx_module_loaded_later_is_demangled, .timeout = 120)
{
	char lib[PATH_MAX];
	prog_path(lib, sizeof(lib), "libcxxplugin.so");
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "dlopen_cxx", .args = (const char *[]){lib, NULL},
				      .env = (const char *[]){"CONTEND_DUMP_SIGNAL=SIGUSR2", NULL},
				      .env2 = exact_env});
	struct profile p;
	if (run_profile(&r, NULL, "mutex", &p)) {
		struct psum s =
			profile_sum(&p, &(struct stack_match){.contains = "cxxplug::hold_briefly"});
		cr_expect_gt(s.count, 0, "no demangled cxxplug::hold_briefly() holding the mutex");
		profile_free(&p);
	}
	run_free(&r);
}
