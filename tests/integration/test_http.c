/* Live profiles: the /debug/pprof endpoint of a running program, read by
 * the real clients (go tool pprof, curl) and attacked by hostile ones
 * (huge, endless, concurrent, malformed requests), and the numbered
 * snapshots written every CONTEND_INTERVAL and on CONTEND_DUMP_SIGNAL.
 *
 * The program under test is tests/progs/live_server: worker threads that
 * contend on one lock in hot_path() until its stdin is closed. It runs in
 * the background with LD_PRELOAD=libcontend.so and CONTEND_HTTP=
 * 127.0.0.1:0; the port comes from the line the shim prints on stderr.
 * Every test ends by closing its stdin and expecting a clean exit 0: the
 * program kept running and was unaffected throughout. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testrun.h"
#include "profile.pb-c.h"


/* ---- the program under test ------------------------------------------- */

struct srv {
	struct run r; /* the running program: its directory, CONTEND_OUT, output */
	int port;
};

/* RLIMIT_NOFILE for the next srv_start, 0 = inherit. */
static int srv_nofile;
/* CONTEND_HTTP for the next srv_start, NULL = 127.0.0.1:0. */
static const char *srv_http_addr;

/* Starts live_server [args] with the shim and env in the background (its
 * stdin a pipe: closing it ends the program); with http, waits for the
 * "serving /debug/pprof/" line and takes the port from it. */
static void
srv_start(struct srv *s, const char *const *args, const char *const *env, bool http)
{
	memset(s, 0, sizeof(*s));
	static char httpenv[128];
	snprintf(httpenv, sizeof(httpenv), "CONTEND_HTTP=%s",
		 srv_http_addr ? srv_http_addr : "127.0.0.1:0");
	const char *const http_env[] = {httpenv, NULL};
	run_start(&s->r, &(struct run_opts){.prog = "live_server", .args = args, .env = env,
					    .env2 = http ? http_env : NULL, .stdin_pipe = true,
					    .nofile = srv_nofile});

	s->port = run_await_serving(&s->r, http);
}

static bool
srv_alive(const struct srv *s)
{
	return s->r.pid > 0 && waitpid(s->r.pid, NULL, WNOHANG) == 0;
}

/* Closes its stdin and expects it to finish cleanly. */
static void
srv_stop(struct srv *s)
{
	run_wait(&s->r, 60);
	cr_assert(WIFEXITED(s->r.status) && WEXITSTATUS(s->r.status) == 0,
		  "live_server: %s %d; stderr:\n%s", WIFEXITED(s->r.status) ? "exit" : "signal",
		  WIFEXITED(s->r.status) ? WEXITSTATUS(s->r.status) : WTERMSIG(s->r.status),
		  s->r.err);
	cr_expect(strstr(s->r.out, "iterations="), "no final line:\n%s", s->r.out);
}

static void
srv_free(struct srv *s)
{
	run_free(&s->r);
}

/* srv_stop, then srv_free: the end of a test that is done with it. */
static void
srv_end(struct srv *s)
{
	srv_stop(s);
	srv_free(s);
}

/* ---- a raw HTTP client --------------------------------------------------- */

struct resp {
	int status;       /* 0: no status line (closed or reset) */
	bool reset;       /* the connection was reset or refused */
	char *raw;        /* everything received, NUL-terminated */
	size_t rawlen;
	char *body;       /* into raw */
	size_t bodylen;
};

/* Reads until EOF, error or the time-out; parses the status line. */
static void
read_response(int fd, struct resp *r, int timeout_ms)
{
	size_t cap = 65536;
	r->raw = malloc(cap + 1);
	r->rawlen = 0;
	double deadline = mono_s() + timeout_ms / 1000.0;
	for (;;) {
		int left = (int)((deadline - mono_s()) * 1000);
		if (left <= 0)
			break;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, left) <= 0)
			break;
		if (r->rawlen == cap) {
			cap *= 2;
			r->raw = realloc(r->raw, cap + 1);
		}
		ssize_t n = recv(fd, r->raw + r->rawlen, cap - r->rawlen, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r->reset = true;
			break;
		}
		if (n == 0)
			break;
		r->rawlen += (size_t)n;
	}
	r->raw[r->rawlen] = 0;
	if (r->rawlen > 12 && !strncmp(r->raw, "HTTP/1.1 ", 9))
		r->status = atoi(r->raw + 9);
	char *sep = strstr(r->raw, "\r\n\r\n");
	r->body = sep ? sep + 4 : r->raw + r->rawlen;
	r->bodylen = r->rawlen - (size_t)(r->body - r->raw);
}

/* Sends req (len bytes) on a new connection and reads the response. */
static void
http_raw(int port, const void *req, size_t len, struct resp *r, int timeout_ms)
{
	memset(r, 0, sizeof(*r));
	int fd = connect_port(port);
	if (fd < 0) {
		r->reset = true;
		r->raw = strdup("");
		r->body = r->raw;
		return;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(fd, (const char *)req + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r->reset = true;
			break;
		}
		off += (size_t)n;
	}
	read_response(fd, r, timeout_ms);
	close(fd);
}

static void
http_get(int port, const char *target, struct resp *r)
{
	char req[4096];
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: ct-test\r\n\r\n",
		 target);
	http_raw(port, req, strlen(req), r, 30000);
}

/* method target with the extra header lines hdrs (each ending in
 * "\r\n"), as a browser or a script would send them. */
static void
http_req(int port, const char *method, const char *target, const char *hdrs, struct resp *r)
{
	char req[4096];
	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\n%s\r\n", method, target, hdrs);
	http_raw(port, req, strlen(req), r, 30000);
}

static void
http_post(int port, const char *target, struct resp *r)
{
	http_req(port, "POST", target, "Host: 127.0.0.1\r\nUser-Agent: ct-test\r\n", r);
}

/* http_get or http_post, then an expected status (the response shown
 * otherwise). */
static void
http_expect(int port, const char *method, const char *target, int status, struct resp *r)
{
	if (!strcmp(method, "GET"))
		http_get(port, target, r);
	else
		http_post(port, target, r);
	cr_expect_eq(r->status, status, "%s %s: %s", method, target, r->raw ? r->raw : "");
}

static void
resp_free(struct resp *r)
{
	free(r->raw);
	memset(r, 0, sizeof(*r));
}

/* The value of header name (case-insensitive) in r, or NULL. */
static const char *
header(const struct resp *r, const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);
	for (const char *line = strstr(r->raw, "\r\n"); line && line < r->body;) {
		line += 2;
		if (!strncasecmp(line, name, n) && line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ')
				v++;
			const char *e = strstr(v, "\r\n");
			size_t vl = e ? (size_t)(e - v) : strlen(v);
			snprintf(buf, len, "%.*s", (int)vl, v);
			return buf;
		}
		line = strstr(line, "\r\n");
	}
	return NULL;
}

static void
expect_header(const struct resp *r, const char *name, const char *want)
{
	char buf[256];
	const char *v = header(r, name, buf, sizeof(buf));
	cr_expect(v && !strcmp(v, want), "header %s: got '%s', want '%s'\n%s", name, v ? v : "(none)",
		  want, r->raw);
}

/* A Go serveError: status, text/plain, X-Go-Pprof: 1, body text + "\n". */
static void
expect_go_error(const struct resp *r, int status, const char *text)
{
	cr_expect_eq(r->status, status, "want %d, got:\n%s", status, r->raw);
	expect_header(r, "Content-Type", "text/plain; charset=utf-8");
	expect_header(r, "X-Go-Pprof", "1");
	char want[512];
	snprintf(want, sizeof(want), "%s\n", text);
	cr_expect(!strcmp(r->body, want), "body '%s', want '%s'", r->body, want);
}

/* A GET (or with post, a POST) of target answered with a Go serveError
 * (expect_go_error). */
static void
expect_error_on(int port, bool post, const char *target, int status, const char *text)
{
	struct resp r;
	if (post)
		http_post(port, target, &r);
	else
		http_get(port, target, &r);
	expect_go_error(&r, status, text);
	resp_free(&r);
}

/* The body of a successful profile response, saved to <tmp>/<file> and
 * decoded. */
static bool
body_profile(const struct srv *s, const struct resp *r, const char *file, struct profile *p)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", s->r.tmp, file);
	FILE *f = fopen(path, "wb");
	cr_assert(f);
	fwrite(r->body, 1, r->bodylen, f);
	fclose(f);
	return profile_load(p, path);
}

static int64_t
total_count(const struct profile *p)
{
	struct stack_match any = {0};
	return profile_sum(p, &any).count;
}

static int64_t
hot_count(const struct profile *p)
{
	struct stack_match m = {.leaf = "pthread_mutex_unlock", .next = "hot_path"};
	return profile_sum(p, &m).count;
}

static const char *const live_args[] = {"4", "200", NULL};

/* Waits (bounded, 60 s) until the live mutex profile has hot_path's
 * contentions: tests that need some history wait for it to exist rather
 * than sleep for a time that is usually enough. */
static void
wait_hot(const struct srv *s)
{
	double deadline = mono_s() + 60;
	for (;;) {
		struct resp r;
		http_get(s->port, "/debug/pprof/mutex?debug=1", &r);
		bool hot = r.status == 200 && strstr(r.body, "\thot_path\t");
		resp_free(&r);
		if (hot)
			return;
		cr_assert(mono_s() < deadline, "no contention in hot_path after 60 s");
		sleep_ms(50);
	}
}

/* ---- real clients ---------------------------------------------------- */

static void
url(char *buf, size_t len, const struct srv *s, const char *path)
{
	snprintf(buf, len, "http://127.0.0.1:%d%s", s->port, path);
}

/* pprof saves what it fetches under $PPROF_TMPDIR (default ~/pprof). */
static void
pprof_tmpdir(const struct srv *s)
{
	char dir[PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "%s/pprof", s->r.tmp);
	setenv("PPROF_TMPDIR", dir, 1);
}

/* The live server (args: live_server's, NULL for live_args) for a test
 * of a real client, skipped when tool is not installed; hot: once
 * hot_path has contentions (wait_hot). */
static void
srv_for(struct srv *s, const char *tool, const char *const *args, bool hot)
{
	if (!have_program(tool))
		cr_skip_test("%s is not installed", tool);
	srv_start(s, args ? args : live_args, NULL, true);
	if (hot)
		wait_hot(s);
	if (!strcmp(tool, "go"))
		pprof_tmpdir(s);
}

/* `<argv...> URL` of path on s (argv's NULL entries left out), with a
 * time-out of timeout_s. */
static void
fetch_cmd(struct run *r, const struct srv *s, const char *const argv[5], const char *path,
	  int timeout_s)
{
	char u[256];
	const char *v[7];
	size_t n = 0;
	url(u, sizeof(u), s, path);
	for (size_t i = 0; i < 5; i++)
		if (argv[i])
			v[n++] = argv[i];
	v[n++] = u;
	v[n] = NULL;
	run_cmd(r, v, timeout_s);
}

/* go tool pprof <flag> [flag2] URL */
static void
pprof_cmd(struct run *r, const struct srv *s, const char *flag, const char *flag2, const char *path)
{
	fetch_cmd(r, s, (const char *const[5]){"go", "tool", "pprof", flag, flag2}, path, 60);
}

/* curl -sS [opt [arg]] URL */
static void
curl_cmd(struct run *r, const struct srv *s, const char *opt, const char *arg,
	 const char *path)
{
	fetch_cmd(r, s, (const char *const[5]){"curl", "-sS", opt, arg, NULL}, path, 30);
}

Test(http, go_tool_pprof_top)
{
	struct srv s;
	srv_for(&s, "go", (const char *const[]){"4", "200", "parked", NULL}, true);
	struct run r;
	pprof_cmd(&r, &s, "-top", NULL, "/debug/pprof/mutex");
	cr_expect_eq(run_exit_code(&r), 0, "go tool pprof failed:\n%s", r.err);
	cr_expect(strstr(r.out, "pthread_mutex_unlock"), "no unlock in:\n%s", r.out);
	cr_expect(strstr(r.out, "hot_path"), "no hot_path in:\n%s", r.out);
	cr_expect(strstr(r.out, "Type: delay"), "%s", r.out);
	run_free(&r);

	/* The legacy text (debug=1) parses too, and pprof resolves its bare
	 * addresses through POST /debug/pprof/symbol. */
	pprof_cmd(&r, &s, "-top", NULL, "/debug/pprof/mutex?debug=1");
	cr_expect_eq(run_exit_code(&r), 0, "go tool pprof (debug=1) failed:\n%s", r.err);
	cr_expect(strstr(r.out, "hot_path"), "no hot_path in:\n%s\n%s", r.out, r.err);
	run_free(&r);

	/* The thread dump as pprof's goroutine profile: the parked thread is
	 * in pthread_mutex_lock for the whole run (the workers only now and
	 * then, by luck of the moment). */
	pprof_cmd(&r, &s, "-traces", NULL, "/debug/pprof/goroutine");
	cr_expect_eq(run_exit_code(&r), 0, "go tool pprof (goroutine) failed:\n%s", r.err);
	const char *lock = strstr(r.out, "pthread_mutex_lock");
	cr_expect(lock && strstr(lock, "parked_waiter"), "no pthread_mutex_lock <- parked_waiter in:\n%s", r.out);
	cr_expect(strstr(r.out, "hot_path"), "%s", r.out);
	run_free(&r);
	srv_end(&s);
}

Test(http, go_tool_pprof_seconds_delta)
{
	struct srv s;
	srv_for(&s, "go", NULL, false);
	struct run r;
	double t0 = mono_s();
	pprof_cmd(&r, &s, "-top", "-seconds=2", "/debug/pprof/mutex");
	double took = mono_s() - t0;
	cr_expect_eq(run_exit_code(&r), 0, "go tool pprof -seconds=2 failed:\n%s", r.err);
	/* pprof prints the profile's duration ("2s", "1.99s", "2.03s"):
	 * the server's two snapshots are about 2 s apart, a little less or
	 * more by when each was taken, more on a loaded machine. */
	const char *dur = strstr(r.out, "Duration: ");
	double secs = dur ? strtod(dur + 10, NULL) : 0;
	cr_expect(dur && secs >= 1.5 && secs < 30, "not a 2 s delta:\n%s", r.out);
	cr_expect(strstr(r.out, "hot_path"), "no hot_path in:\n%s", r.out);
	/* The server holds the request 2 s from its arrival, after t0. */
	cr_expect(took >= 2.0, "the delta came back after %.2f s", took);
	run_free(&r);
	srv_end(&s);
}

Test(http, delta_is_later_minus_earlier)
{
	struct srv s;
	srv_start(&s, live_args, NULL, true);
	wait_hot(&s); /* some history before the window */
	struct resp d, full;
	http_get(s.port, "/debug/pprof/mutex?seconds=1", &d);
	http_get(s.port, "/debug/pprof/mutex", &full);
	cr_assert_eq(d.status, 200, "%s", d.raw);
	expect_header(&d, "Content-Type", "application/octet-stream");
	expect_header(&d, "Content-Disposition", "attachment; filename=\"mutex-delta\"");
	expect_header(&full, "Content-Disposition", "attachment; filename=\"mutex\"");
	struct profile pd, pf;
	cr_assert(body_profile(&s, &d, "delta.pb.gz", &pd));
	cr_assert(body_profile(&s, &full, "full.pb.gz", &pf));
	const Perftools__Profiles__Profile *pb = pd.pb;
	/* 1 s between the snapshots, more on a loaded machine. */
	cr_expect(pb->duration_nanos >= 900000000LL && pb->duration_nanos < 30000000000LL,
		  "delta duration %lld ns", (long long)pb->duration_nanos);
	int64_t dc = hot_count(&pd), fc = hot_count(&pf);
	cr_expect(dc > 0, "empty delta");
	cr_expect(dc < fc, "delta %lld not below the total %lld", (long long)dc, (long long)fc);
	for (size_t i = 0; i < pd.nsamples; i++)
		cr_expect(pd.samples[i].count != 0 || pd.samples[i].delay != 0,
			  "a zero sample was kept");
	profile_free(&pd);
	profile_free(&pf);
	resp_free(&d);
	resp_free(&full);

	/* block works the same way. */
	http_expect(s.port, "GET", "/debug/pprof/block?seconds=1", 200, &d);
	expect_header(&d, "Content-Disposition", "attachment; filename=\"block-delta\"");
	resp_free(&d);

	/* The thread dump too, as Go's goroutine delta: the same threads
	 * waiting the same way cancel out, so what is left is small. */
	http_expect(s.port, "GET", "/debug/pprof/goroutine?seconds=1", 200, &d);
	expect_header(&d, "Content-Disposition", "attachment; filename=\"goroutine-delta\"");
	cr_expect(d.bodylen > 2 && (uint8_t)d.body[0] == 0x1f && (uint8_t)d.body[1] == 0x8b);
	resp_free(&d);
	srv_end(&s);
}

Test(http, index_and_thread_dump_with_curl)
{
	struct srv s;
	srv_for(&s, "curl", NULL, true); /* the workers are running: hot_path is on their stacks */
	struct run r;
	curl_cmd(&r, &s, "-i", NULL, "/debug/pprof/");
	cr_expect_eq(run_exit_code(&r), 0, "curl failed:\n%s", r.err);
	expect_contains(r.out, (const char *const[]){
				"HTTP/1.1 200 OK",
				"Content-Type: text/html; charset=utf-8",
				"<a href='mutex?debug=1'>mutex</a>",
				"<a href='block?debug=1'>block</a>",
				NULL});
	cr_expect(strstr(r.out, "<a href=\"goroutine?debug=2\">full goroutine stack dump</a>"),
		  "%s", r.out);
	cr_expect(strstr(r.out, "mutex fraction 100"), "%s", r.out);
	run_free(&r);

	/* goroutine?debug=2: the threads.txt dump; the workers are there,
	 * blocked on the lock or inside hot_path. */
	curl_cmd(&r, &s, "-i", NULL, "/debug/pprof/goroutine?debug=2");
	cr_expect_eq(run_exit_code(&r), 0, "curl failed:\n%s", r.err);
	expect_contains(r.out, (const char *const[]){
				"HTTP/1.1 200 OK",
				"Content-Type: text/plain; charset=utf-8",
				"hot_path",
				"thread ",
				NULL});
	cr_expect(!strstr(r.out, "\"libcontend\""), "the dumper thread is listed:\n%s", r.out);
	run_free(&r);

	/* threads is the same dump under its own name; debug=0 is a pprof
	 * count profile. */
	struct resp t;
	http_expect(s.port, "GET", "/debug/pprof/threads?debug=2", 200, &t);
	cr_expect(strstr(t.body, "hot_path"), "%s", t.body);
	resp_free(&t);
	http_expect(s.port, "GET", "/debug/pprof/goroutine", 200, &t);
	expect_header(&t, "Content-Disposition", "attachment; filename=\"goroutine\"");
	cr_expect(t.bodylen > 2 && (uint8_t)t.body[0] == 0x1f && (uint8_t)t.body[1] == 0x8b);
	resp_free(&t);
	/* debug=1: Go's count text, which pprof's legacy parser reads. */
	http_expect(s.port, "GET", "/debug/pprof/threadcreate?debug=1", 200, &t);
	cr_expect(!strncmp(t.body, "threadcreate profile: total ", 28), "%s", t.body);
	resp_free(&t);
	http_get(s.port, "/debug/pprof/goroutine?debug=1", &t);
	cr_expect(!strncmp(t.body, "goroutine profile: total ", 25), "%s", t.body);
	cr_expect(strstr(t.body, "\thot_path\t"), "%s", t.body);
	resp_free(&t);
	srv_end(&s);
}

Test(http, symbol_get_and_post_with_curl)
{
	struct srv s;
	srv_for(&s, "curl", NULL, true);
	struct run r;
	curl_cmd(&r, &s, NULL, NULL, "/debug/pprof/symbol");
	cr_expect_eq(run_exit_code(&r), 0, "curl failed:\n%s", r.err);
	cr_expect_str_eq(r.out, "num_symbols: 1\n");
	run_free(&r);

	/* Addresses from the text profile's hot_path record, as pprof posts
	 * them ("0x..+0x.."). */
	struct resp t;
	http_get(s.port, "/debug/pprof/mutex?debug=1", &t);
	cr_assert_eq(t.status, 200);
	const char *at = strstr(t.body, " @ ");
	cr_assert(at, "%s", t.body);
	char body[2048] = "";
	const char *e = strchr(at, '\n');
	snprintf(body, sizeof(body), "%.*s", (int)(e - at - 3), at + 3);
	for (char *p = body; *p; p++)
		if (*p == ' ')
			*p = '+';
	resp_free(&t);
	curl_cmd(&r, &s, "--data-binary", body, "/debug/pprof/symbol");
	cr_expect_eq(run_exit_code(&r), 0, "curl failed:\n%s", r.err);
	cr_expect(!strncmp(r.out, "num_symbols: 1\n0x", 17), "%s", r.out);
	cr_expect(strstr(r.out, " hot_path\n"), "posted %s, got:\n%s", body, r.out);
	cr_expect(strstr(r.out, " worker\n"), "%s", r.out);
	run_free(&r);

	/* GET with the addresses in the query, and junk that is skipped. */
	char q[2300];
	snprintf(q, sizeof(q), "/debug/pprof/symbol?zzz+0+%s", body);
	http_expect(s.port, "GET", q, 200, &t);
	cr_expect(strstr(t.body, " hot_path\n"), "%s", t.body);
	resp_free(&t);
	srv_end(&s);
}

/* ---- formats and parameters ------------------------------------------- */

Test(http, profile_formats)
{
	struct srv s;
	srv_start(&s, live_args, NULL, true);
	wait_hot(&s);
	struct resp r;
	http_get(s.port, "/debug/pprof/mutex?debug=0", &r);
	cr_assert_eq(r.status, 200, "%s", r.raw);
	expect_header(&r, "Content-Type", "application/octet-stream");
	expect_header(&r, "Content-Disposition", "attachment; filename=\"mutex\"");
	expect_header(&r, "X-Content-Type-Options", "nosniff");
	expect_header(&r, "Connection", "close");
	struct profile p;
	cr_assert(body_profile(&s, &r, "m.pb.gz", &p));
	cr_expect_str_eq(p.type[0], "contentions");
	cr_expect_str_eq(p.type[1], "delay");
	cr_expect_eq(p.period, 1);
	cr_expect(hot_count(&p) > 0);
	profile_free(&p);
	resp_free(&r);

	http_get(s.port, "/debug/pprof/mutex?debug=1", &r);
	cr_assert_eq(r.status, 200);
	expect_header(&r, "Content-Type", "text/plain; charset=utf-8");
	cr_expect(!strncmp(r.body, "--- mutex:\ncycles/second=1000000000\nsampling period=1\n", 53),
		  "%s", r.body);
	cr_expect(strstr(r.body, "\thot_path\t"), "%s", r.body);
	resp_free(&r);
	/* Go writes the same text for any debug > 0. */
	http_get(s.port, "/debug/pprof/mutex?debug=2", &r);
	cr_expect(!strncmp(r.body, "--- mutex:\n", 11), "%s", r.body);
	resp_free(&r);
	http_get(s.port, "/debug/pprof/block?debug=1", &r);
	cr_expect(!strncmp(r.body, "--- contention:\ncycles/second=1000000000\n", 41), "%s", r.body);
	cr_expect(!strstr(r.body, "sampling period"), "%s", r.body);
	resp_free(&r);
	/* An unparsable debug is 0, as strconv.Atoi's error is to Go. */
	http_get(s.port, "/debug/pprof/block?debug=x", &r);
	expect_header(&r, "Content-Type", "application/octet-stream");
	resp_free(&r);

	http_expect(s.port, "GET", "/debug/pprof/cmdline", 200, &r);
	char prog[PATH_MAX];
	prog_path(prog, sizeof(prog), "live_server");
	char want[PATH_MAX + 32];
	int wl = snprintf(want, sizeof(want), "%s%c4%c200", prog, 0, 0);
	cr_expect(r.bodylen == (size_t)wl && !memcmp(r.body, want, (size_t)wl),
		  "cmdline is not argv joined by NULs: %.*s", (int)r.bodylen, r.body);
	resp_free(&r);

	/* HTTP/1.0 clients are served too. */
	const char *old = "GET /debug/pprof/mutex?debug=1 HTTP/1.0\r\n\r\n";
	http_raw(s.port, old, strlen(old), &r, 10000);
	cr_expect_eq(r.status, 200, "%s", r.raw);
	resp_free(&r);
	srv_end(&s);
}

Test(http, runtime_sampling_control)
{
	struct srv s;
	srv_start(&s, live_args, NULL, true);
	struct resp r;
	http_expect(s.port, "POST", "/debug/pprof/mutex?fraction=1", 200, &r);
	cr_expect_str_eq(r.body, "libcontend: mutex profile fraction set to 1 (was 100)\n");
	expect_header(&r, "X-Contend-Mutex-Fraction", "1");
	expect_header(&r, "X-Contend-Mutex-Fraction-Was", "100");
	resp_free(&r);
	http_post(s.port, "/debug/pprof/block?rate=1", &r);
	cr_expect_str_eq(r.body, "libcontend: block profile rate set to 1 ns (was 1000000)\n");
	expect_header(&r, "X-Contend-Block-Rate", "1");
	resp_free(&r);

	/* In force: the profile says so, every event now counts once. */
	http_get(s.port, "/debug/pprof/mutex?debug=1", &r);
	cr_expect(strstr(r.body, "# libcontend mutex profile: fraction=1,"), "%s", r.body);
	expect_header(&r, "X-Contend-Mutex-Fraction", "1");
	resp_free(&r);

	/* Combined with a profile request: set, then serve the profile. */
	http_post(s.port, "/debug/pprof/mutex?fraction=0&debug=1", &r);
	cr_expect(!strncmp(r.body, "--- mutex:", 10), "%s", r.body);
	expect_header(&r, "X-Contend-Mutex-Fraction", "0");
	expect_header(&r, "X-Contend-Mutex-Fraction-Was", "1");
	resp_free(&r);

	expect_error_on(s.port, true, "/debug/pprof/mutex?fraction=-1", 400,
			"invalid value for \"fraction\" - must be an integer 0..1000000000 "
			"(1 in N contentions sampled, 0 = off)");
	expect_error_on(s.port, true, "/debug/pprof/block?fraction=5", 400,
			"\"fraction\" applies to the mutex profile only");
	expect_error_on(s.port, true, "/debug/pprof/mutex?rate=5", 400,
			"\"rate\" applies to the block profile only");
	/* A refused value changed nothing. */
	http_get(s.port, "/debug/pprof/mutex?debug=1", &r);
	expect_header(&r, "X-Contend-Mutex-Fraction", "0");
	resp_free(&r);
	srv_end(&s);
}

/* The sampling setting of kind as the server reports it on a read. */
static long long
read_setting(const struct srv *s, const char *profile, const char *hdr)
{
	char t[64], buf[64];
	struct resp r;
	snprintf(t, sizeof(t), "/debug/pprof/%s?debug=1", profile);
	http_get(s->port, t, &r);
	cr_assert_eq(r.status, 200, "%s", r.raw);
	const char *v = header(&r, hdr, buf, sizeof(buf));
	cr_assert(v, "no %s:\n%s", hdr, r.raw);
	long long x = atoll(v);
	resp_free(&r);
	return x;
}

/* A web page in any browser on the machine can reach a loopback port: by
 * its own requests (an <img> GET, a form POST: its Origin names it) or by
 * DNS rebinding (its Host names the attacker's domain). Neither may
 * change the sampling or read a profile; profile readers and a
 * curl -X POST still work. */
Test(http, web_pages_cannot_reach_the_controls)
{
	struct srv s;
	srv_for(&s, "curl", NULL, false);
	struct resp r;
	char hdrs[512], t[256];

	/* The attack as found: a GET with the attacker's Host and Origin. */
	snprintf(hdrs, sizeof(hdrs), "Host: evil.example:%d\r\nOrigin: http://evil.example\r\n",
		 s.port);
	http_req(s.port, "GET", "/debug/pprof/mutex?fraction=1", hdrs, &r);
	cr_expect_eq(r.status, 403, "%s", r.raw);
	cr_expect(strstr(r.body, "Host") && strchr(r.body, '\n') == r.body + r.bodylen - 1,
		  "not a one-line reason: %s", r.body);
	resp_free(&r);
	/* A GET with a change, from anywhere, is refused: 405, Allow: POST. */
	http_expect(s.port, "GET", "/debug/pprof/mutex?fraction=1", 405, &r);
	expect_header(&r, "Allow", "POST");
	cr_expect(strstr(r.body, "POST"), "%s", r.body);
	resp_free(&r);
	http_expect(s.port, "GET", "/debug/pprof/block?rate=1&debug=1", 405, &r);
	resp_free(&r);
	/* A foreign Origin with a good Host: a cross-site form POST. */
	snprintf(hdrs, sizeof(hdrs), "Host: 127.0.0.1:%d\r\nOrigin: http://evil.example\r\n"
				     "Content-Length: 0\r\n", s.port);
	http_req(s.port, "POST", "/debug/pprof/mutex?fraction=1", hdrs, &r);
	cr_expect_eq(r.status, 403, "%s", r.raw);
	resp_free(&r);
	/* Another local web app (another port) is another origin. */
	snprintf(hdrs, sizeof(hdrs), "Host: localhost:%d\r\nOrigin: http://localhost:3000\r\n",
		 s.port);
	http_req(s.port, "POST", "/debug/pprof/block?rate=1", hdrs, &r);
	cr_expect_eq(r.status, 403, "%s", r.raw);
	resp_free(&r);
	/* Rebinding with a POST, and with a plain profile read. */
	snprintf(hdrs, sizeof(hdrs), "Host: evil.example:%d\r\n", s.port);
	http_req(s.port, "POST", "/debug/pprof/mutex?fraction=1", hdrs, &r);
	cr_expect_eq(r.status, 403, "%s", r.raw);
	resp_free(&r);
	http_req(s.port, "GET", "/debug/pprof/goroutine?debug=2", hdrs, &r);
	cr_expect_eq(r.status, 403, "%s", r.raw);
	cr_expect(!strstr(r.raw, "hot_path"), "a rebound page read the thread dump");
	resp_free(&r);
	/* The browser's word for a request from another site's page. */
	http_req(s.port, "POST", "/debug/pprof/mutex?fraction=1",
		 "Host: 127.0.0.1\r\nSec-Fetch-Site: cross-site\r\n", &r);
	cr_expect_eq(r.status, 403, "%s", r.raw);
	resp_free(&r);
	/* Nothing changed. */
	cr_expect_eq(read_setting(&s, "mutex", "X-Contend-Mutex-Fraction"), 100);
	cr_expect_eq(read_setting(&s, "block", "X-Contend-Block-Rate"), 1000000);

	/* Readers as they are: Host with and without the port, localhost, no
	 * Host (HTTP/1.0), and the server's own page as Origin. */
	for (int i = 0; i < 5; i++) {
		if (i == 0)
			snprintf(hdrs, sizeof(hdrs), "Host: 127.0.0.1:%d\r\n", s.port);
		else if (i == 1)
			snprintf(hdrs, sizeof(hdrs), "Host: localhost:%d\r\n", s.port);
		else if (i == 2)
			snprintf(hdrs, sizeof(hdrs), "Host: localhost\r\n");
		else if (i == 3)
			hdrs[0] = 0;
		else
			snprintf(hdrs, sizeof(hdrs), "Host: 127.0.0.1:%d\r\nOrigin: http://127.0.0.1:%d\r\n",
				 s.port, s.port);
		http_req(s.port, "GET", "/debug/pprof/mutex?debug=1", hdrs, &r);
		cr_expect_eq(r.status, 200, "reader %d: %s", i, r.raw);
		cr_expect(!strncmp(r.body, "--- mutex:", 10), "reader %d: %s", i, r.body);
		resp_free(&r);
	}
	/* The documented form: curl -X POST. */
	struct run c;
	snprintf(t, sizeof(t), "http://127.0.0.1:%d/debug/pprof/mutex?fraction=1", s.port);
	run_cmd(&c, (const char *const[]){"curl", "-sS", "-X", "POST", t, NULL}, 30);
	cr_expect_eq(run_exit_code(&c), 0, "curl failed:\n%s", c.err);
	cr_expect_str_eq(c.out, "libcontend: mutex profile fraction set to 1 (was 100)\n");
	run_free(&c);
	snprintf(t, sizeof(t), "http://localhost:%d/debug/pprof/block?rate=1", s.port);
	run_cmd(&c, (const char *const[]){"curl", "-sS", "-X", "POST", t, NULL}, 30);
	cr_expect_eq(run_exit_code(&c), 0, "curl failed:\n%s", c.err);
	cr_expect_str_eq(c.out, "libcontend: block profile rate set to 1 ns (was 1000000)\n");
	run_free(&c);
	cr_expect_eq(read_setting(&s, "mutex", "X-Contend-Mutex-Fraction"), 1);
	cr_expect_eq(read_setting(&s, "block", "X-Contend-Block-Rate"), 1);
	srv_end(&s);
}

/* Bound to 0.0.0.0, the Host may name the address the client connected
 * to (whichever it was), and no other. 127.0.0.2 stands for a second
 * address of the machine: Linux routes all of 127/8 to lo. */
Test(http, wildcard_bind_accepts_the_address_connected_to)
{
	struct srv s;
	srv_http_addr = "0.0.0.0:0";
	srv_start(&s, live_args, NULL, true);
	srv_http_addr = NULL;
	char *said = read_file(s.r.errpath, NULL);
	bool wildcard = said && strstr(said, "on http://0.0.0.0:");
	free(said);
	cr_assert(wildcard, "not bound to 0.0.0.0");
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s.port)};
	a.sin_addr.s_addr = htonl(0x7f000002);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		srv_stop(&s);
		srv_free(&s);
		cr_skip_test("127.0.0.2 is not reachable here");
	}
	char req[256];
	snprintf(req, sizeof(req), "GET /debug/pprof/mutex?debug=1 HTTP/1.1\r\nHost: 127.0.0.2:%d\r\n\r\n",
		 s.port);
	cr_assert(send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req));
	struct resp r;
	memset(&r, 0, sizeof(r));
	read_response(fd, &r, 30000);
	close(fd);
	cr_expect_eq(r.status, 200, "Host naming the address connected to: %s", r.raw);
	resp_free(&r);
	/* Another address of the machine, but not the one connected to. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	snprintf(req, sizeof(req), "GET /debug/pprof/mutex?debug=1 HTTP/1.1\r\nHost: 127.0.0.3:%d\r\n\r\n",
		 s.port);
	cr_assert(send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req));
	memset(&r, 0, sizeof(r));
	read_response(fd, &r, 30000);
	close(fd);
	cr_expect_eq(r.status, 403, "%s", r.raw);
	resp_free(&r);
	/* The loopback names as ever. */
	http_expect(s.port, "GET", "/debug/pprof/mutex?debug=1", 200, &r);
	resp_free(&r);
	srv_end(&s);
}

Test(http, go_errors_and_unknown_paths)
{
	struct srv s;
	srv_start(&s, live_args, NULL, true);
	struct resp r;
	static const char *const bad_seconds[] = {"abc", "0", "-3", "1.5", "99999999999999999999",
						  "%20"};
	for (size_t i = 0; i < sizeof(bad_seconds) / sizeof(bad_seconds[0]); i++) {
		char t[128];
		snprintf(t, sizeof(t), "/debug/pprof/mutex?seconds=%s", bad_seconds[i]);
		expect_error_on(s.port, false, t, 400,
				"invalid value for \"seconds\" - must be a positive integer");
	}
	expect_error_on(s.port, false, "/debug/pprof/block?seconds=1&debug=1", 400,
			"seconds and debug params are incompatible");
	expect_error_on(s.port, false, "/debug/pprof/mutex?seconds=86400", 400,
			"profile duration exceeds server's WriteTimeout");
	expect_error_on(s.port, false, "/debug/pprof/goroutine?seconds=1&debug=2", 400,
			"seconds and debug params are incompatible");

	static const char *const unknown[] = {"/debug/pprof/heap", "/debug/pprof/profile",
					      "/debug/pprof/mutex/x", "/debug/pprof/MUTEX",
					      "/debug/pprof/%00"};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		http_get(s.port, unknown[i], &r);
		if (i == 4)
			cr_expect_eq(r.status, 400, "%s: %s", unknown[i], r.raw);
		else
			expect_go_error(&r, 404, "Unknown profile");
		resp_free(&r);
	}
	http_expect(s.port, "GET", "/", 404, &r);
	cr_expect_str_eq(r.body, "404 page not found\n");
	resp_free(&r);
	http_expect(s.port, "GET", "/debug/pprof", 301, &r);
	expect_header(&r, "Location", "/debug/pprof/");
	resp_free(&r);

	/* Methods, versions and malformed heads. */
	static const struct {
		const char *req;
		int status;
	} heads[] = {
		{"DELETE /debug/pprof/mutex HTTP/1.1\r\n\r\n", 405},
		{"HEAD /debug/pprof/mutex HTTP/1.1\r\n\r\n", 405},
		{"GET /debug/pprof/mutex HTTP/2.0\r\n\r\n", 505},
		{"GET /debug/pprof/mutex\r\n\r\n", 400},
		{"\x16\x03\x01\x02\x01\x01\x01\x01\xfc\x03\x03\r\n\r\n", 400},
		{"GET http://evil/debug/pprof/mutex HTTP/1.1\r\n\r\n", 400},
		{"GET /debug/pprof/mutex HTTP/1.1\r\nno colon here\r\n\r\n", 400},
		{"POST /debug/pprof/symbol HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
		{"POST /debug/pprof/symbol HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413},
		{"POST /debug/pprof/symbol HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", 400},
	};
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		http_raw(s.port, heads[i].req, strlen(heads[i].req), &r, 10000);
		cr_expect_eq(r.status, heads[i].status, "request %zu: %s", i, r.raw);
		resp_free(&r);
	}
	/* Headers beyond 8 KiB. */
	char big[12000];
	int n = snprintf(big, sizeof(big), "GET /debug/pprof/mutex HTTP/1.1\r\nX-Pad: ");
	memset(big + n, 'a', 10000);
	memcpy(big + n + 10000, "\r\n\r\n", 5);
	http_raw(s.port, big, strlen(big), &r, 10000);
	cr_expect_eq(r.status, 431, "%s", r.raw);
	resp_free(&r);

	http_get(s.port, "/debug/pprof/mutex?debug=1", &r);
	cr_expect_eq(r.status, 200, "the server stopped answering");
	resp_free(&r);
	srv_end(&s);
}

Test(http, path_traversal_refused)
{
	struct srv s;
	srv_start(&s, live_args, NULL, true);
	static const char *const paths[] = {
		"/debug/pprof/../../../../etc/passwd",
		"/debug/pprof/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
		"/debug/pprof/..%2f..%2f..%2fetc%2fpasswd",
		"/debug/pprof/./mutex",
		"/debug/pprof/..\\..\\etc\\passwd",
		"/../debug/pprof/mutex",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct resp r;
		http_get(s.port, paths[i], &r);
		cr_expect_eq(r.status, 400, "%s: %s", paths[i], r.raw);
		cr_expect(!strstr(r.raw, "root:"), "%s leaked a file", paths[i]);
		resp_free(&r);
	}
	srv_end(&s);
}

/* ---- hostile clients ---------------------------------------------------- */

Test(http, huge_request_line)
{
	struct srv s;
	srv_start(&s, live_args, NULL, true);
	size_t len = 1 << 20;
	char *req = malloc(len + 64);
	memcpy(req, "GET /", 5);
	memset(req + 5, 'a', len);
	memcpy(req + 5 + len, " HTTP/1.1\r\n\r\n", 14);
	struct resp r;
	http_raw(s.port, req, len + 5 + 13, &r, 15000);
	/* Refused after 8 KiB; the client may see the answer or, if it was
	 * still sending when the server closed, a reset. */
	cr_expect(r.status == 414 || r.reset, "got %d:\n%.300s", r.status, r.raw);
	resp_free(&r);
	/* The same flood as a header. */
	memcpy(req, "GET /debug/pprof/mutex HTTP/1.1\r\nX: ", 36);
	memset(req + 36, 'b', len - 36);
	memcpy(req + len, "\r\n\r\n", 4);
	http_raw(s.port, req, len + 4, &r, 15000);
	cr_expect(r.status == 431 || r.reset, "got %d:\n%.300s", r.status, r.raw);
	resp_free(&r);
	free(req);
	http_get(s.port, "/debug/pprof/mutex?debug=1", &r);
	cr_expect_eq(r.status, 200, "the server stopped answering");
	resp_free(&r);
	cr_expect(srv_alive(&s));
	srv_end(&s);
}

Test(http, request_that_never_finishes)
{
	struct srv s;
	srv_start(&s, live_args, NULL, true);
	/* Loads the server (and its symbolizer), so that what follows is
	 * quick to answer. */
	struct resp r;
	http_expect(s.port, "GET", "/debug/pprof/mutex?debug=1", 200, &r);
	resp_free(&r);
	double t0 = mono_s(); /* before the connection: its 5 s start later */
	int slow = connect_port(s.port);
	cr_assert(slow >= 0);
	const char *part = "GET /debug/pprof/mutex HTTP/1.1\r\nHost: 127.0.0.1\r\n";
	cr_assert(send(slow, part, strlen(part), MSG_NOSIGNAL) > 0);
	/* Others are served meanwhile: answered while the stalled request is
	 * still open (a server that waited on it could answer nobody until
	 * it gave up on it). Order, not a stopwatch; the requests are
	 * trivial, so they fit in the 5 s even on a loaded machine. */
	for (int i = 0; i < 3; i++) {
		http_expect(s.port, "GET", "/debug/pprof/cmdline", 200, &r);
		resp_free(&r);
	}
	struct pollfd pf = {.fd = slow, .events = POLLIN};
	cr_expect_eq(poll(&pf, 1, 0), 0, "the stalled request was closed before the others were "
					 "served (%.2f s)", mono_s() - t0);
	/* The stalled one is closed at the 5 s read time-out, unanswered:
	 * not before (by construction), and not never. */
	memset(&r, 0, sizeof(r));
	read_response(slow, &r, 60000);
	double took = mono_s() - t0;
	cr_expect(r.rawlen == 0 || r.reset, "the stalled request got: %s", r.raw);
	cr_expect(took >= 4.9 && took < 60, "closed after %.2f s", took);
	resp_free(&r);
	close(slow);
	http_expect(s.port, "GET", "/debug/pprof/block?debug=1", 200, &r);
	resp_free(&r);
	srv_end(&s);
}

Test(http, two_hundred_concurrent_connections)
{
	struct srv s;
	srv_start(&s, live_args, NULL, true);
	enum { N = 200 };
	int fd[N];
	const char *req = "GET /debug/pprof/mutex?debug=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	for (int i = 0; i < N; i++) {
		fd[i] = connect_port(s.port);
		cr_assert(fd[i] >= 0, "connection %d refused", i);
	}
	for (int i = 0; i < N; i++)
		(void)send(fd[i], req, strlen(req), MSG_NOSIGNAL);
	int ok = 0, busy = 0, other = 0;
	for (int i = 0; i < N; i++) {
		struct resp r;
		memset(&r, 0, sizeof(r));
		read_response(fd[i], &r, 30000);
		if (r.status == 200 && !strncmp(r.body, "--- mutex:", 10))
			ok++;
		else if (r.status == 503)
			busy++;
		else
			other++;
		resp_free(&r);
		close(fd[i]);
	}
	cr_expect(ok >= 1, "%d served, %d refused, %d other", ok, busy, other);
	cr_expect(ok + busy == N, "%d served, %d refused, %d without an answer", ok, busy, other);
	struct resp r;
	http_get(s.port, "/debug/pprof/mutex?debug=1", &r);
	cr_expect_eq(r.status, 200, "the server stopped answering");
	resp_free(&r);
	srv_end(&s);
}

/* utime + stime of the thread of pid named comm (the shim's own thread
 * is "libcontend"), in seconds: that thread only, since the program's
 * workers use CPU of their own, more of it the longer a loaded machine
 * stretches the measuring window. */
static double
cpu_seconds(pid_t pid, const char *comm)
{
	char path[384];
	int tid = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	cr_assert(d);
	for (struct dirent *e; !tid && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, e->d_name);
		char *name = read_file(path, NULL);
		if (name && !strncmp(name, comm, strlen(comm)) && name[strlen(comm)] == '\n')
			tid = atoi(e->d_name);
		free(name);
	}
	closedir(d);
	cr_assert(tid, "no thread named %s in %d", comm, (int)pid);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, tid);
	char *st = read_file(path, NULL);
	cr_assert(st);
	const char *p = strrchr(st, ')');
	unsigned long ut = 0, stt = 0;
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime */
	sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stt);
	free(st);
	return (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
}

/* Out of descriptors, accept() fails with the connection still pending:
 * the server must pause, not spin, and serve again once clients leave. */
Test(http, out_of_descriptors)
{
	struct srv s;
	srv_nofile = 48;
	srv_start(&s, live_args, NULL, true);
	srv_nofile = 0;
	struct resp r;
	http_get(s.port, "/debug/pprof/mutex?debug=1", &r); /* loads the server */
	cr_expect_eq(r.status, 200, "%s", r.raw);
	resp_free(&r);
	enum { N = 80 };
	int fd[N];
	for (int i = 0; i < N; i++)
		fd[i] = connect_port(s.port);
	sleep_ms(1500); /* refusals linger out; the rest sit in the backlog */
	/* A server spinning on the ready listener would use the CPU it gets:
	 * on a loaded machine less than all of it, but far more than a tenth
	 * of the window (it is runnable all the time). */
	double c0 = cpu_seconds(s.r.pid, "libcontend"), w0 = mono_s();
	sleep_ms(2000);
	double used = cpu_seconds(s.r.pid, "libcontend") - c0, window = mono_s() - w0;
	cr_expect(used < 0.1 * window, "%.2f s of CPU in %.2f s while out of descriptors", used,
		  window);
	for (int i = 0; i < N; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	double deadline = mono_s() + 15;
	int status = 0;
	while (status != 200 && mono_s() < deadline) {
		http_get(s.port, "/debug/pprof/mutex?debug=1", &r);
		status = r.status;
		resp_free(&r);
		if (status != 200)
			sleep_ms(200);
	}
	cr_expect_eq(status, 200, "the server did not recover");
	srv_end(&s);
}

/* ---- numbered snapshots ------------------------------------------------ */

/* Waits (bounded) until sig is no longer pending for process pid (its
 * ShdPnd in /proc/<pid>/status): delivered to a thread of it. */
static bool
wait_not_pending(pid_t pid, int sig, double seconds)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	double deadline = mono_s() + seconds;
	for (;;) {
		char *st = read_file(path, NULL);
		const char *shd = st ? strstr(st, "\nShdPnd:") : NULL;
		unsigned long long mask = shd ? strtoull(shd + 8, NULL, 16) : 0;
		free(st);
		if (!(mask & (1ULL << (sig - 1))))
			return true;
		if (mono_s() > deadline)
			return false;
		sleep_ms(5);
	}
}

static bool
wait_file(const char *path, double seconds)
{
	double deadline = mono_s() + seconds;
	while (mono_s() < deadline) {
		if (path_exists(path))
			return true;
		sleep_ms(20);
	}
	return false;
}

/* Snapshot n is whole: each file is renamed into place when complete,
 * and the thread profile is the last one written. */
static bool
wait_snapshot(const struct srv *s, int n, double seconds)
{
	static const char *const kinds[] = {"mutex", "block", "threads"};
	double deadline = mono_s() + seconds;
	for (int k = 0; k < 3; k++) {
		char path[PATH_MAX + 64];
		snprintf(path, sizeof(path), "%s/%s.%04d.pb.gz", s->r.outdir, kinds[k], n);
		double left = deadline - mono_s();
		if (!wait_file(path, left > 0 ? left : 0.001))
			return false;
	}
	return true;
}

/* Contentions in <out>/<kind>.<NNNN>.pb.gz. */
static int64_t
snapshot_count(const struct srv *s, const char *kind, int n)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s.%04d.pb.gz", s->r.outdir, kind, n);
	struct profile p;
	cr_assert(profile_load(&p, path), "%s", path);
	int64_t c = total_count(&p);
	profile_free(&p);
	return c;
}

/* Snapshots 1, 2, ...: at least min, and as many more as it takes for
 * one to have contentions (a loaded machine may run the workers late:
 * the program records all the while, so one eventually does); 60 s at
 * most. With sig, one signal, one snapshot: sig is sent for each (a
 * signal that finds nothing recorded yet writes nothing, and is sent
 * again). Returns how many there are. */
static int
contended_snapshots(const struct srv *s, int min, int sig)
{
	int n = 0;
	double deadline = mono_s() + 60;
	while (n < min || snapshot_count(s, "mutex", n) == 0) {
		cr_assert(mono_s() < deadline, "%d snapshots in 60 s, none with contentions", n);
		if (sig) {
			cr_assert(kill(s->r.pid, sig) == 0);
			if (wait_snapshot(s, n + 1, 2))
				n++;
		} else {
			cr_assert(wait_snapshot(s, n + 1, deadline - mono_s()), "no snapshot %d", n + 1);
			n++;
		}
	}
	return n;
}

/* <out>/<kind>.<NNNN>.pb.gz for n = 1..count: valid and growing. */
static void
expect_increasing(const struct srv *s, const char *kind, int count)
{
	int64_t prev = -1;
	for (int i = 1; i <= count; i++) {
		char path[PATH_MAX + 64];
		snprintf(path, sizeof(path), "%s/%s.%04d.pb.gz", s->r.outdir, kind, i);
		struct profile p;
		cr_assert(profile_load(&p, path), "%s", path);
		int64_t c = total_count(&p);
		cr_expect(c >= prev, "%s: %lld contentions, fewer than the %lld before", path,
			  (long long)c, (long long)prev);
		if (i == count)
			cr_expect(c > 0, "%s is empty", path);
		prev = c;
		profile_free(&p);
	}
}

Test(live, interval_snapshots)
{
	struct srv s;
	srv_start(&s, live_args, (const char *const[]){"CONTEND_INTERVAL=300ms", NULL}, false);
	char path[PATH_MAX + 64];
	int n = contended_snapshots(&s, 4, 0);
	cr_expect(srv_alive(&s));
	expect_increasing(&s, "mutex", n);
	expect_increasing(&s, "block", n);
	snprintf(path, sizeof(path), "%s/threads.0001.txt", s.r.outdir);
	cr_expect(path_exists(path), "no %s", path);
	srv_stop(&s);
	snprintf(path, sizeof(path), "%s/mutex.pb.gz", s.r.outdir);
	cr_expect(path_exists(path), "no final profile");
	cr_expect(strstr(s.r.err, "live snapshots; copying the tables (no lock the "
					"program's threads take is held meanwhile) took"),
		  "%s", s.r.err);
	srv_free(&s);
}

Test(live, dump_signal_snapshots)
{
	struct srv s;
	srv_start(&s, live_args, (const char *const[]){"CONTEND_DUMP_SIGNAL=SIGUSR2", NULL}, false);
	char path[PATH_MAX + 64];
	int n = contended_snapshots(&s, 3, SIGUSR2);
	cr_expect(srv_alive(&s), "SIGUSR2 killed the program");
	expect_increasing(&s, "mutex", n);
	snprintf(path, sizeof(path), "%s/threads.%04d.pb.gz", s.r.outdir, n);
	cr_expect(path_exists(path), "no %s", path);
	srv_stop(&s);
	/* The program saw SIGUSR2 at its default all along. */
	cr_expect(strstr(s.r.out, "usr2_default=1"), "%s", s.r.out);
	srv_free(&s);
}

Test(live, program_handler_replaces_dump_signal)
{
	struct srv s;
	const char *const args[] = {"4", "200", "usr2", NULL};
	srv_start(&s, args, (const char *const[]){"CONTEND_DUMP_SIGNAL=SIGUSR2", NULL}, false);
	/* Each signal delivered before the next is sent (a standard signal
	 * still pending absorbs another): usr2=3 by construction. */
	for (int i = 0; i < 3; i++) {
		cr_assert(kill(s.r.pid, SIGUSR2) == 0);
		cr_assert(wait_not_pending(s.r.pid, SIGUSR2, 60), "SIGUSR2 #%d never delivered", i + 1);
	}
	sleep_ms(300);
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/mutex.0001.pb.gz", s.r.outdir);
	cr_expect(!path_exists(path), "the program's own handler did not replace ours");
	srv_stop(&s);
	cr_expect(strstr(s.r.out, "usr2=3"), "%s", s.r.out);
	srv_free(&s);
}

Test(live, fork_child_does_not_keep_the_server)
{
	struct srv s;
	const char *const args[] = {"2", "200", "fork", NULL};
	srv_start(&s, args, NULL, true);
	/* The server's socket exists (srv_start saw its port): fork now. */
	cr_assert(write(s.r.stdin_fd, "fork\n", 5) == 5);
	double deadline = mono_s() + 60;
	for (;;) {
		char *out = read_file(s.r.outpath, NULL);
		bool done = out && strstr(out, "child_sockets=");
		free(out);
		if (done || mono_s() > deadline)
			break;
		sleep_ms(20);
	}
	/* The parent still serves. */
	struct resp r;
	http_expect(s.port, "GET", "/debug/pprof/mutex?debug=1", 200, &r);
	resp_free(&r);
	srv_stop(&s);
	cr_expect(strstr(s.r.out, "child_sockets=0"), "%s", s.r.out);
	srv_free(&s);
}

/* A fixed port already served (here by another process; usually by the
 * server whose environment an exec'd child inherited): the child does
 * not serve, and says so only as a notice (CONTEND_QUIET=0 or a
 * terminal), not into a stderr its parent may be reading. */
Test(http, port_in_use_is_a_notice, .timeout = 60)
{
	struct srv s;
	srv_start(&s, live_args, NULL, true);
	static char httpenv[64];
	snprintf(httpenv, sizeof(httpenv), "CONTEND_HTTP=127.0.0.1:%d", s.port);
	for (int quiet = 0; quiet < 2; quiet++) {
		struct run r;
		run_ok(&r, &(struct run_opts){.prog = "idle",
						.env = (const char *[]){httpenv,
									quiet ? "CONTEND_QUIET=auto" : "CONTEND_QUIET=0",
									NULL}});
		cr_expect_str_eq(r.out, "idle: hello\n");
		bool said = strstr(r.err, "cannot serve /debug/pprof/") && strstr(r.err, "in use");
		cr_expect(quiet ? !said : said, "CONTEND_QUIET=%s, stderr:\n%s", quiet ? "auto" : "0",
			  r.err);
		run_free(&r);
	}
	srv_end(&s);
}

/* A program that closes every descriptor above 2 (a JVM's jspawnhelper
 * before it execs the child of Runtime.exec, a daemon at start), one at a
 * time or with close_range: the shim's thread makes new descriptors and
 * goes on, and the dump signal still writes a snapshot (the thread used
 * to end there, and the signal a user sent for a dump then killed the
 * process). What the shim says about it is a notice only: it wrote
 * "cannot serve ... Bad file descriptor" and "the program closed
 * libcontend's descriptors" into the child's stderr, a pipe the Java
 * parent read as the child's output. */
Test(http, descriptor_sweep_is_a_notice_and_live_dumps_go_on, .timeout = 300)
{
	for (int quiet = 0; quiet < 4; quiet++) {
		struct run r;
		bool notices = quiet % 2 == 0;
		run_ok(&r, &(struct run_opts){.prog = "fd_sweeper",
						.args = (const char *[]){quiet < 2 ? "sweep" : "sweep-range",
									  NULL},
						.env = (const char *[]){"CONTEND_HTTP=127.0.0.1:0",
									"CONTEND_DUMP_SIGNAL=SIGUSR2",
									notices ? "CONTEND_QUIET=0" : "CONTEND_QUIET=auto",
									NULL},
						.timeout_s = 120});
		cr_expect_str_eq(r.out, "swept\ndumped\n", "stderr:\n%s", r.err);
		bool said = strstr(r.err, "closed libcontend's descriptors");
		cr_expect(notices ? said : !said, "CONTEND_QUIET=%s, stderr:\n%s",
			  notices ? "0" : "auto", r.err);
		if (!notices)
			cr_expect(!strstr(r.err, "cannot serve"), "CONTEND_QUIET=auto, stderr:\n%s",
				  r.err);
		run_free(&r);
	}
}

/* A daemon that closes 0, 1 and 2 as well and reopens /dev/null expecting
 * them back in order: the shim's thread, woken by the sweep, makes its
 * new descriptors only once they are, so they never take 0, 1 or 2 even
 * for a moment; the dump signal then still writes a snapshot. */
Test(http, daemon_closing_everything_gets_0_1_2_back, .timeout = 150)
{
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "fd_sweeper",
					 .args = (const char *[]){"daemon", NULL},
					 .env = (const char *[]){"CONTEND_HTTP=127.0.0.1:0",
								 "CONTEND_DUMP_SIGNAL=SIGUSR2",
								 "CONTEND_QUIET=0", NULL},
					 .timeout_s = 120});
	cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
		  "status %#x (exit 5: the shim made a descriptor while 0, 1, 2 were closed; "
		  "3: /dev/null did not become 0, 1, 2; 4: no snapshot)",
		  r.status);
	run_free(&r);
}

/* The program dup2's a file onto one end of the shim's wake-up channel:
 * the shim's thread makes a new channel and sleeps again (with the write
 * end gone, its poll found the read end hung up at once, and it spun
 * there for good), and the dump signal still writes a snapshot (a write
 * into a pipe whose read end is gone would have raised SIGPIPE). */
Test(http, wake_channel_end_taken_over, .timeout = 300)
{
	for (int end = 0; end < 2; end++) {
		struct run r;
		run_prog(&r, &(struct run_opts){.prog = "fd_sweeper",
						 .args = (const char *[]){"dup2-wake", end ? "1" : "0",
									   NULL},
						 .env = (const char *[]){"CONTEND_HTTP=127.0.0.1:0",
									 "CONTEND_DUMP_SIGNAL=SIGUSR2",
									 NULL},
						 .timeout_s = 120});
		cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
			  "end %d: status %#x; stderr:\n%s", end, r.status, r.err);
		cr_expect_str_eq(r.out, "slept\ndumped\n", "end %d: stderr:\n%s", end, r.err);
		run_free(&r);
	}
}

/* The program dup2's a listening socket of its own onto the number of the
 * shim's, and a wake-up of the shim's thread finds a connection pending
 * there: the shim must not take the number for its server (it did, and
 * accepted the program's connection). */
Test(http, program_socket_on_the_shims_number_stays_the_programs, .timeout = 150)
{
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "fd_sweeper",
					 .args = (const char *[]){"dup2", NULL},
					 .env = (const char *[]){"CONTEND_HTTP=127.0.0.1:0",
								 "CONTEND_DUMP_SIGNAL=SIGUSR2", NULL},
					 .timeout_s = 120});
	cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %#x; stderr:\n%s",
		  r.status, r.err);
	cr_expect_str_eq(r.out, "accepted\n", "stderr:\n%s", r.err);
	run_free(&r);
}

/* The program's last thread ends by pthread_exit (main first, main last,
 * and in a fork child forked from a worker, as CPython's
 * test_main_thread_after_fork_from_nonmain_thread does): glibc ends the
 * process with status 0 then, but counts every thread, the shim's too;
 * with the shim's thread running the process hung on, deaf to SIGTERM
 * (it blocks every signal). The profiles are still written at that exit. */
Test(live, last_thread_ending_ends_the_process, .timeout = 600)
{
	const char *modes[] = {"main-first", "main-last", "fork"};
	const char *envs[][3] = {{"CONTEND_HTTP=127.0.0.1:0", NULL},
				 {"CONTEND_INTERVAL=1", "CONTEND_DUMP_SIGNAL=SIGUSR2", NULL}};
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		for (size_t e = 0; e < sizeof(envs) / sizeof(envs[0]); e++) {
			struct run r;
			run_prog(&r, &(struct run_opts){.prog = "last_thread_exit",
							 .args = (const char *[]){modes[m], NULL},
							 .env = envs[e], .timeout_s = 60});
			cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
				  "%s with %s: status %#x; stderr:\n%s", modes[m], envs[e][0],
				  r.status, r.err);
			cr_expect_str_eq(r.out, strcmp(modes[m], "fork") ? "end\n" : "child=0\n",
					 "%s with %s", modes[m], envs[e][0]);
			/* (fork: the child's and the parent's share the directory.) */
			char path[PATH_MAX];
			run_path(&r, NULL, "threads.txt", path, sizeof(path));
			cr_expect(!strcmp(modes[m], "fork") || access(path, F_OK) == 0,
				  "%s with %s: no %s", modes[m], envs[e][0], path);
			run_free(&r);
		}
	}
}

/* A program started with stdin, stdout and stderr closed finds them
 * closed, whatever the shim's thread needs (its wake-up pipe, made in the
 * constructor, took 0 and 1: CPython's test_no_stdin then saw a stdin). */
Test(live, closed_standard_streams_stay_closed, .timeout = 300)
{
	const char *envs[][3] = {{"CONTEND_HTTP=127.0.0.1:0", "CONTEND_QUIET=1", NULL},
				 {"CONTEND_DUMP_SIGNAL=SIGUSR2", NULL}};
	for (size_t e = 0; e < sizeof(envs) / sizeof(envs[0]); e++) {
		struct run r;
		run_ok(&r, &(struct run_opts){.prog = "std_closed", .env = envs[e], .timeout_s = 120});
		cr_expect_str_eq(r.out, "child=0\n", "with %s; stderr:\n%s", envs[e][0], r.err);
		run_free(&r);
	}
}
