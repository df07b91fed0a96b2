/* Live profiles without a live process: the HTTP request parser, the
 * /debug/pprof handlers against a fake shim (ct_http_host), delta
 * profiles on snapshot records and the legacy text formats, which
 * `go tool pprof` itself reads back when Go is installed. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../core/snapshot.h"
#include "../../report/gzout.h"
#include "../../report/http.h"
#include "../../report/render.h"
#include "../../report/report.h"
#include "../../report/symbolize.h"
#include "testlib.h"
#include "testprof.h"

/* ---- a fake shim ------------------------------------------------------ */

static uint64_t fake_rate[CT_PROF_COUNT] = {10, 10000};
static int fake_snapshots;
static double fake_growth; /* added to every count per snapshot */

static __attribute__((noipa)) uintptr_t
site_hot(void)
{
	return (uintptr_t)__builtin_return_address(0);
}

/* Not a tail call: site_hot's return address must be in here. */
static __attribute__((noipa)) uintptr_t
site_caller(void)
{
	volatile uintptr_t pc = site_hot();
	return pc;
}

static void
fill_record(struct ct_record *r, unsigned op, uintptr_t pc0, uintptr_t pc1, double count,
	    double delay)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->depth = 2;
	r->pc[0] = pc0;
	r->pc[1] = pc1;
	r->hash = (uint64_t)pc0 * 31 + pc1 + op;
	r->count = count;
	r->delay_ns = delay;
}

static int
fake_snapshot(struct ct_snapshot *snap, bool threads)
{
	(void)threads;
	memset(snap, 0, sizeof(*snap));
	fake_snapshots++;
	snap->time_nanos = 1700000000000000000LL;
	snap->duration_nanos = (int64_t)fake_snapshots * 1000000000LL;
	snap->pid = getpid();
	uintptr_t hot = site_caller();
	for (int k = 0; k < CT_PROF_COUNT; k++) {
		snap->prof[k].kind = (enum ct_profile_kind)k;
		snap->prof[k].rate = fake_rate[k];
		snap->prof[k].nrecords = 2;
		snap->prof[k].records = calloc(2, sizeof(struct ct_record));
		double g = fake_growth * fake_snapshots;
		fill_record(&snap->prof[k].records[0],
			    k == CT_PROF_MUTEX ? CT_OP_MUTEX_UNLOCK : CT_OP_MUTEX_LOCK, hot, hot + 64,
			    10 + g, 1000000 + g * 1000);
		/* never changes: dropped from deltas */
		fill_record(&snap->prof[k].records[1],
			    k == CT_PROF_MUTEX ? CT_OP_MUTEX_UNLOCK : CT_OP_MUTEX_LOCK, hot + 8,
			    hot + 64, 3, 3000);
	}
	return 0;
}

static uint64_t
fake_sampling(enum ct_profile_kind kind, const uint64_t *set)
{
	uint64_t was = fake_rate[kind];
	if (set)
		fake_rate[kind] = *set;
	return was;
}

static void
fake_copy_stats(struct ct_copy_stats *st)
{
	*st = (struct ct_copy_stats){.n = 2, .last_ns = 1000, .max_ns = 3000, .total_ns = 4000,
					  .cpu_max_ns = 2000, .cpu_total_ns = 3000, .unsettled = 7};
}

static const struct ct_http_host fake_host = {
	.snapshot = fake_snapshot,
	.sampling = fake_sampling,
	.copy_stats = fake_copy_stats,
};

/* Parses raw as a request and runs the handler; CT_HTTP_DEFER requests
 * are finished at once. */
static int
serve(const char *raw, struct ct_http_resp *resp)
{
	struct ct_http_req req;
	size_t clen;
	bool cont;
	const char *why = NULL;
	memset(resp, 0, sizeof(*resp));
	const char *end = strstr(raw, "\r\n\r\n");
	cr_assert(end, "no head end in test request");
	size_t headlen = (size_t)(end + 4 - raw);
	int st = ct_http_parse_head(raw, headlen, &req, &clen, &cont, &why);
	if (st)
		return st;
	req.body = (const uint8_t *)raw + headlen;
	req.bodylen = clen;
	void *state = NULL;
	int64_t wait = 0;
	int r = ct_http_handle(&fake_host, &req, resp, true, &state, &wait);
	if (r == CT_HTTP_DEFER) {
		cr_expect(wait > 0);
		ct_http_finish(&fake_host, state, resp);
	}
	return 0;
}

static void
resp_free(struct ct_http_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static const char *
body(const struct ct_http_resp *r)
{
	static char buf[65536];
	size_t n = r->bodylen < sizeof(buf) - 1 ? r->bodylen : sizeof(buf) - 1;
	memcpy(buf, r->body ? (const char *)r->body : "", n);
	buf[n] = 0;
	return buf;
}

/* serve(raw), whose answer must have status want. */
static void
serve_status(const char *raw, int want)
{
	struct ct_http_resp r;
	serve(raw, &r);
	cr_expect_eq(r.status, want, "%s", body(&r));
	resp_free(&r);
}

/* ---- request parsing ---------------------------------------------------- */

Test(http_parse, good_requests)
{
	struct ct_http_req req;
	size_t clen;
	bool cont;
	const char *why;
	const char *get = "GET /debug/pprof/mutex?debug=1&seconds=2 HTTP/1.1\r\nHost: x\r\n\r\n";
	cr_assert_eq(ct_http_parse_head(get, strlen(get), &req, &clen, &cont, &why), 0);
	cr_expect_str_eq(req.method, "GET");
	cr_expect_str_eq(req.path, "/debug/pprof/mutex");
	cr_expect_str_eq(req.query, "debug=1&seconds=2");
	cr_expect_eq(clen, 0);

	const char *post = "POST /debug/pprof/symbol HTTP/1.0\nContent-Length:  17 \nExpect: "
			   "100-Continue\n\n";
	cr_assert_eq(ct_http_parse_head(post, strlen(post), &req, &clen, &cont, &why), 0);
	cr_expect_str_eq(req.method, "POST");
	cr_expect_eq(clen, 17);
	cr_expect(cont);

	const char *enc = "GET /debug/pprof/%6dutex HTTP/1.1\r\n\r\n";
	cr_assert_eq(ct_http_parse_head(enc, strlen(enc), &req, &clen, &cont, &why), 0);
	cr_expect_str_eq(req.path, "/debug/pprof/mutex");
}

Test(http_parse, refusals)
{
	static const struct {
		const char *head;
		int status;
	} cases[] = {
		{"PUT / HTTP/1.1\r\n\r\n", 405},
		{"GET / HTTP/3.0\r\n\r\n", 505},
		{"GET / HTTX/1.1\r\n\r\n", 400},
		{"GET /\r\n\r\n", 400},
		{"GET  / HTTP/1.1\r\n\r\n", 400},
		{"GET * HTTP/1.1\r\n\r\n", 400},
		{"GET /a/../b HTTP/1.1\r\n\r\n", 400},
		{"GET /a/%2e%2E/b HTTP/1.1\r\n\r\n", 400},
		{"GET /a/. HTTP/1.1\r\n\r\n", 400},
		{"GET /a%00b HTTP/1.1\r\n\r\n", 400},
		{"GET /a%zz HTTP/1.1\r\n\r\n", 400},
		{"GET /a% HTTP/1.1\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\n folded: x\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", 413},
		{"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413},
		{"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ct_http_req req;
		size_t clen;
		bool cont;
		const char *why = NULL;
		int st = ct_http_parse_head(cases[i].head, strlen(cases[i].head), &req, &clen, &cont,
					    &why);
		cr_expect_eq(st, cases[i].status, "%zu: '%s' gave %d", i, cases[i].head, st);
		cr_expect(why && *why, "%zu: no reason", i);
	}
}

Test(http_parse, sender_headers_kept)
{
	struct ct_http_req req;
	size_t clen;
	bool cont;
	const char *why;
	const char *h = "GET / HTTP/1.1\r\nhost:  evil.example:6060 \r\nORIGIN: http://evil.example\r\n"
			"Sec-Fetch-Site: cross-site\r\n\r\n";
	cr_assert_eq(ct_http_parse_head(h, strlen(h), &req, &clen, &cont, &why), 0);
	cr_expect(req.has_host && req.has_origin && req.has_fetch_site);
	cr_expect_str_eq(req.host, "evil.example:6060");
	cr_expect_str_eq(req.origin, "http://evil.example");
	cr_expect_str_eq(req.fetch_site, "cross-site");
	const char *none = "GET / HTTP/1.0\r\n\r\n";
	cr_assert_eq(ct_http_parse_head(none, strlen(none), &req, &clen, &cont, &why), 0);
	cr_expect(!req.has_host && !req.has_origin && !req.has_fetch_site);
	const char *empty = "GET / HTTP/1.1\r\nHost:\r\n\r\n";
	cr_assert_eq(ct_http_parse_head(empty, strlen(empty), &req, &clen, &cont, &why), 0);
	cr_expect(req.has_host && req.host[0] == 0);

	/* Twice, or too long to keep whole: which one would count? */
	char longhost[400];
	snprintf(longhost, sizeof(longhost), "GET / HTTP/1.1\r\nHost: %0300d\r\n\r\n", 1);
	const char *bad[] = {
		"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n",
		"GET / HTTP/1.1\r\nOrigin: http://127.0.0.1\r\nOrigin: http://evil.example\r\n\r\n",
		"GET / HTTP/1.1\r\nSec-Fetch-Site: none\r\nSec-Fetch-Site: cross-site\r\n\r\n",
		longhost,
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		cr_expect_eq(ct_http_parse_head(bad[i], strlen(bad[i]), &req, &clen, &cont, &why), 400,
			     "%zu", i);
		cr_expect(why && *why);
	}
}

/* ct_http_check_sender on one request head, with the connection's local
 * address given as a literal ("" = unknown). */
static int
sender(const char *head, const char *local, const char **why)
{
	struct ct_http_req req;
	size_t clen;
	bool cont;
	cr_assert_eq(ct_http_parse_head(head, strlen(head), &req, &clen, &cont, why), 0, "%s", head);
	struct ct_http_local l;
	memset(&l, 0, sizeof(l));
	if (local[0] == '[') {
		char lit[64];
		snprintf(lit, sizeof(lit), "%.*s", (int)strlen(local) - 2, local + 1);
		cr_assert_eq(inet_pton(AF_INET6, lit, l.addr), 1);
		l.family = AF_INET6;
	} else if (local[0]) {
		cr_assert_eq(inet_pton(AF_INET, local, l.addr), 1);
		l.family = AF_INET;
	}
	*why = NULL;
	return ct_http_check_sender(&req, &l, why);
}

Test(http_parse, sender_check)
{
	static const struct {
		const char *host, *origin, *local; /* NULL: header absent */
		int status;
	} cases[] = {
		/* What profile readers send. */
		{"127.0.0.1:6060", NULL, "127.0.0.1", 0},
		{"localhost:6060", NULL, "127.0.0.1", 0},
		{"LocalHost", NULL, "127.0.0.1", 0},
		{"127.0.0.1", NULL, "127.0.0.1", 0},
		{"[::1]:6060", NULL, "[::1]", 0},
		{"[0:0::1]", NULL, "[::1]", 0},
		{NULL, NULL, "127.0.0.1", 0},
		/* Through a tunnel the port differs: only names are checked. */
		{"localhost:8080", NULL, "127.0.0.1", 0},
		/* The address connected to, as with a 0.0.0.0 or [::] bind. */
		{"192.0.2.7:6060", NULL, "192.0.2.7", 0},
		{"[2001:db8::7]:6060", NULL, "[2001:db8::7]", 0},
		{"192.0.2.8:6060", NULL, "192.0.2.7", 403},
		{"192.0.2.7:6060", NULL, "", 403},
		{"[2001:db8::7]", NULL, "192.0.2.7", 403},
		/* DNS rebinding: the attacker's name, resolving here. */
		{"evil.example:6060", NULL, "127.0.0.1", 403},
		{"evil.example", NULL, "127.0.0.1", 403},
		{"localhost.evil.example", NULL, "127.0.0.1", 403},
		{"127.0.0.1.nip.io:6060", NULL, "127.0.0.1", 403},
		{"127.0.0.2:6060", NULL, "127.0.0.1", 403},
		{"", NULL, "127.0.0.1", 403},
		{"localhost:", NULL, "127.0.0.1", 403},
		{"localhost:99999", NULL, "127.0.0.1", 403},
		{"localhost:60x0", NULL, "127.0.0.1", 403},
		{"[::1", NULL, "[::1]", 403},
		{"::1", NULL, "[::1]", 403},
		/* Origins: only the server's own pages. */
		{"127.0.0.1:6060", "http://127.0.0.1:6060", "127.0.0.1", 0},
		{"localhost:6060", "HTTP://LOCALHOST:6060", "127.0.0.1", 0},
		{"localhost", "http://localhost:80", "127.0.0.1", 0},
		{NULL, "http://localhost:6060", "127.0.0.1", 0},
		{"127.0.0.1:6060", "http://evil.example", "127.0.0.1", 403},
		{"evil.example:6060", "http://evil.example:6060", "127.0.0.1", 403},
		{"127.0.0.1:6060", "http://localhost:6060", "127.0.0.1", 403},
		{"127.0.0.1:6060", "http://127.0.0.1:3000", "127.0.0.1", 403},
		{"127.0.0.1:6060", "https://127.0.0.1:6060", "127.0.0.1", 403},
		{"127.0.0.1:6060", "null", "127.0.0.1", 403},
		{"127.0.0.1:6060", "", "127.0.0.1", 403},
		{"127.0.0.1:6060", "http://127.0.0.1:6060/x", "127.0.0.1", 403},
		{NULL, "http://evil.example", "127.0.0.1", 403},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char head[1024];
		int n = snprintf(head, sizeof(head), "GET /debug/pprof/mutex HTTP/1.1\r\n");
		if (cases[i].host)
			n += snprintf(head + n, sizeof(head) - (size_t)n, "Host: %s\r\n", cases[i].host);
		if (cases[i].origin)
			n += snprintf(head + n, sizeof(head) - (size_t)n, "Origin: %s\r\n",
				      cases[i].origin);
		snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
		const char *why;
		int st = sender(head, cases[i].local, &why);
		cr_expect_eq(st, cases[i].status, "%zu: Host %s, Origin %s, local %s: %d", i,
			     cases[i].host ? cases[i].host : "-",
			     cases[i].origin ? cases[i].origin : "-", cases[i].local, st);
		if (st)
			cr_expect(why && *why && !strchr(why, '\n'), "%zu: no one-line reason", i);
	}
}

Test(http_parse, query_values)
{
	char v[32];
	cr_expect(ct_http_query("a=1&debug=2&debug=3", "debug", v, sizeof(v)));
	cr_expect_str_eq(v, "2");
	cr_expect(ct_http_query("x=%41+b", "x", v, sizeof(v)));
	cr_expect_str_eq(v, "A b");
	cr_expect(ct_http_query("seconds", "seconds", v, sizeof(v)));
	cr_expect_str_eq(v, "");
	cr_expect(!ct_http_query("debugx=1&xdebug=2", "debug", v, sizeof(v)));
	cr_expect(!ct_http_query("", "debug", v, sizeof(v)));
	/* Undecodable: present, with a value no parser takes. */
	cr_expect(ct_http_query("seconds=%zz", "seconds", v, sizeof(v)));
	cr_expect_str_eq(v, "?");
}

/* ---- handlers ------------------------------------------------------------ */

Test(http_handlers, go_statuses_and_texts)
{
	struct ct_http_resp r;
	serve("GET /debug/pprof/mutex?seconds=x HTTP/1.1\r\n\r\n", &r);
	cr_expect_eq(r.status, 400);
	cr_expect_str_eq(body(&r), "invalid value for \"seconds\" - must be a positive integer\n");
	cr_expect(strstr(r.extra, "X-Go-Pprof: 1\r\n"));
	cr_expect_str_eq(r.ctype, "text/plain; charset=utf-8");
	resp_free(&r);
	serve("GET /debug/pprof/nope HTTP/1.1\r\n\r\n", &r);
	cr_expect_eq(r.status, 404);
	cr_expect_str_eq(body(&r), "Unknown profile\n");
	resp_free(&r);
	serve("GET /elsewhere HTTP/1.1\r\n\r\n", &r);
	cr_expect_eq(r.status, 404);
	cr_expect_str_eq(body(&r), "404 page not found\n");
	cr_expect(!strstr(r.extra, "X-Go-Pprof"));
	resp_free(&r);
	serve("GET /debug/pprof HTTP/1.1\r\n\r\n", &r);
	cr_expect_eq(r.status, 301);
	cr_expect_str_eq(r.location, "/debug/pprof/");
	resp_free(&r);
}

Test(http_handlers, index_page)
{
	struct ct_http_resp r;
	serve("GET /debug/pprof/ HTTP/1.1\r\n\r\n", &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.ctype, "text/html; charset=utf-8");
	const char *b = body(&r);
	cr_expect(strstr(b, "<tr><td>2</td><td><a href='mutex?debug=1'>mutex</a></td></tr>"), "%s",
		  b);
	cr_expect(strstr(b, "<tr><td>2</td><td><a href='block?debug=1'>block</a></td></tr>"), "%s",
		  b);
	cr_expect(strstr(b, "<li><div class=profile-name>mutex: </div> Stack traces of holders of "
			    "contended mutexes</li>"), "%s", b);
	/* Sorted by name, as Go sorts them. */
	cr_expect(strstr(b, "'block?") < strstr(b, "'cmdline?") && strstr(b, "'cmdline?") < strstr(b, "'mutex?"));
	cr_expect(strstr(b, "took 1.0 us the last time, 3.0 us at most, 2.0 us on average (CPU 1.5 "
			    "us on average, 2.0 us at most)"), "%s", b);
	/* Records a copy took in the middle of an event (core/table.h). */
	cr_expect(strstr(b, "Records copied while their writer was stopped in the middle of an "
			    "event (each may be off by that event): 7."), "%s", b);
	resp_free(&r);
}

Test(http_handlers, runtime_control)
{
	struct ct_http_resp r;
	fake_rate[CT_PROF_MUTEX] = 10;
	serve("POST /debug/pprof/mutex?fraction=3 HTTP/1.1\r\n\r\n", &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(body(&r), "libcontend: mutex profile fraction set to 3 (was 10)\n");
	cr_expect(strstr(r.extra, "X-Contend-Mutex-Fraction: 3\r\n"), "%s", r.extra);
	cr_expect(strstr(r.extra, "X-Contend-Mutex-Fraction-Was: 10\r\n"), "%s", r.extra);
	cr_expect_eq(fake_rate[CT_PROF_MUTEX], 3);
	resp_free(&r);
	serve("POST /debug/pprof/block?rate=1000000000001 HTTP/1.1\r\n\r\n", &r);
	cr_expect_eq(r.status, 400);
	cr_expect_eq(fake_rate[CT_PROF_BLOCK], 10000);
	resp_free(&r);
	/* Validation comes first: a bad seconds leaves the setting alone. */
	serve("POST /debug/pprof/mutex?fraction=7&seconds=0 HTTP/1.1\r\n\r\n", &r);
	cr_expect_eq(r.status, 400);
	cr_expect_eq(fake_rate[CT_PROF_MUTEX], 3);
	resp_free(&r);
}

/* A change is never a GET: any web page can make a browser send one
 * (an <img> pointing at the loopback port) without an Origin to tell. */
Test(http_handlers, sampling_change_needs_post)
{
	struct ct_http_resp r;
	fake_rate[CT_PROF_MUTEX] = 10;
	fake_rate[CT_PROF_BLOCK] = 10000;
	static const char *const gets[] = {
		"GET /debug/pprof/mutex?fraction=1 HTTP/1.1\r\nHost: 127.0.0.1:6060\r\n\r\n",
		"GET /debug/pprof/mutex?fraction=1&debug=1 HTTP/1.1\r\n\r\n",
		"GET /debug/pprof/mutex?debug=1&fraction=0 HTTP/1.0\r\n\r\n",
		"GET /debug/pprof/mutex?fraction=2&seconds=1 HTTP/1.1\r\n\r\n",
		"GET /debug/pprof/block?rate=1 HTTP/1.1\r\n\r\n",
		"GET /debug/pprof/block?%72ate=1 HTTP/1.1\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(gets) / sizeof(gets[0]); i++) {
		serve(gets[i], &r);
		cr_expect_eq(r.status, 405, "%zu: %d %s", i, r.status, body(&r));
		cr_expect(strstr(r.extra, "Allow: POST\r\n"), "%zu: %s", i, r.extra);
		cr_expect(strstr(body(&r), "send it with POST"), "%zu: %s", i, body(&r));
		cr_expect(strchr(body(&r), '\n') == body(&r) + r.bodylen - 1, "not one line: %s",
			  body(&r));
		resp_free(&r);
	}
	cr_expect_eq(fake_rate[CT_PROF_MUTEX], 10, "a GET changed the mutex fraction");
	cr_expect_eq(fake_rate[CT_PROF_BLOCK], 10000, "a GET changed the block rate");

	/* Reading stays GET, and says what is in force. */
	serve("GET /debug/pprof/mutex?debug=1 HTTP/1.1\r\n\r\n", &r);
	cr_expect_eq(r.status, 200);
	cr_expect(strstr(r.extra, "X-Contend-Mutex-Fraction: 10\r\n"), "%s", r.extra);
	resp_free(&r);

	/* A POST from another site's page (browsers say so) is refused; from
	 * the server's own page or from no page (curl, typed) it is not. */
	serve_status("POST /debug/pprof/mutex?fraction=1 HTTP/1.1\r\nSec-Fetch-Site: cross-site\r\n\r\n",
		     403);
	serve_status("POST /debug/pprof/block?rate=5 HTTP/1.1\r\nSec-Fetch-Site: same-site\r\n\r\n", 403);
	cr_expect_eq(fake_rate[CT_PROF_MUTEX], 10);
	cr_expect_eq(fake_rate[CT_PROF_BLOCK], 10000);
	serve_status("POST /debug/pprof/mutex?fraction=1 HTTP/1.1\r\nSec-Fetch-Site: same-origin\r\n\r\n",
		     200);
	serve_status("POST /debug/pprof/block?rate=5 HTTP/1.1\r\nSec-Fetch-Site: none\r\n\r\n", 200);
	cr_expect_eq(fake_rate[CT_PROF_MUTEX], 1);
	cr_expect_eq(fake_rate[CT_PROF_BLOCK], 5);
	fake_rate[CT_PROF_MUTEX] = 10;
	fake_rate[CT_PROF_BLOCK] = 10000;
}

Test(http_handlers, delta_and_formats)
{
	struct ct_http_resp r;
	fake_growth = 5;
	serve("GET /debug/pprof/mutex?seconds=1 HTTP/1.1\r\n\r\n", &r);
	cr_assert_eq(r.status, 200, "%s", body(&r));
	cr_expect_str_eq(r.disposition, "attachment; filename=\"mutex-delta\"");
	cr_expect_str_eq(r.ctype, "application/octet-stream");
	cr_expect(r.bodylen > 2 && r.body[0] == 0x1f && r.body[1] == 0x8b);
	resp_free(&r);
	serve("GET /debug/pprof/block?debug=1 HTTP/1.1\r\n\r\n", &r);
	cr_expect(!strncmp(body(&r), "--- contention:\ncycles/second=1000000000\n", 41), "%s",
		  body(&r));
	resp_free(&r);
	serve("GET /debug/pprof/mutex?debug=0 HTTP/1.1\r\n\r\n", &r);
	cr_expect_str_eq(r.disposition, "attachment; filename=\"mutex\"");
	resp_free(&r);
}

Test(http_handlers, symbol)
{
	struct ct_http_resp r;
	char raw[512], addr[32];
	uintptr_t pc = site_caller() - 1;
	snprintf(addr, sizeof(addr), "%#lx", (unsigned long)pc);
	snprintf(raw, sizeof(raw), "GET /debug/pprof/symbol?%s+junk+0 HTTP/1.1\r\n\r\n", addr);
	serve(raw, &r);
	char want[128];
	snprintf(want, sizeof(want), "num_symbols: 1\n%s site_caller\n", addr);
	cr_expect_str_eq(body(&r), want);
	resp_free(&r);
	snprintf(raw, sizeof(raw),
		 "POST /debug/pprof/symbol HTTP/1.1\r\nContent-Length: %zu\r\n\r\n%s", strlen(addr),
		 addr);
	serve(raw, &r);
	cr_expect_str_eq(body(&r), want);
	resp_free(&r);
	serve("GET /debug/pprof/symbol HTTP/1.1\r\n\r\n", &r);
	cr_expect_str_eq(body(&r), "num_symbols: 1\n");
	resp_free(&r);
}

/* ---- delta and text -------------------------------------------------------- */

Test(render, delta_keeps_only_what_changed)
{
	struct ct_snapshot a, b, d;
	fake_growth = 4;
	fake_snapshot(&a, false);
	fake_snapshot(&b, false);
	/* A difference may be off wherever either side was. */
	a.prof[CT_PROF_MUTEX].unsettled = 1;
	b.prof[CT_PROF_MUTEX].unsettled = 2;
	cr_assert_eq(ct_render_delta(&a, &b, CT_PROF_MUTEX, &d), 0);
	cr_assert_eq(d.prof[CT_PROF_MUTEX].nrecords, 1, "the unchanged record was kept");
	cr_expect_eq(d.prof[CT_PROF_BLOCK].nrecords, 0);
	const struct ct_record *r = &d.prof[CT_PROF_MUTEX].records[0];
	cr_expect_float_eq(r->count, 4.0, 1e-9);
	cr_expect_float_eq(r->delay_ns, 4000.0, 1e-9);
	cr_expect_eq(d.duration_nanos, 1000000000LL);
	cr_expect_eq(d.time_nanos, b.time_nanos + b.duration_nanos);
	cr_expect_eq(d.prof[CT_PROF_MUTEX].unsettled, 3);
	ct_snapshot_free(&a);
	ct_snapshot_free(&b);
	ct_snapshot_free(&d);

	/* A record only in the later snapshot is kept whole. */
	fake_snapshot(&a, false);
	fake_snapshot(&b, false);
	a.prof[CT_PROF_BLOCK].nrecords = 1;
	a.prof[CT_PROF_BLOCK].records[0] = a.prof[CT_PROF_BLOCK].records[1];
	cr_assert_eq(ct_render_delta(&a, &b, CT_PROF_BLOCK, &d), 0);
	cr_expect_eq(d.prof[CT_PROF_BLOCK].nrecords, 1);
	cr_expect_float_eq(d.prof[CT_PROF_BLOCK].records[0].count, 10 + 4.0 * fake_snapshots, 1e-9);
	ct_snapshot_free(&a);
	ct_snapshot_free(&b);
	ct_snapshot_free(&d);

	/* The same addresses in another loaded-objects generation are
	 * another record, and the delta keeps the later history of unloaded
	 * objects so its older records still resolve against them. */
	fake_snapshot(&a, false);
	fake_snapshot(&b, false);
	b.prof[CT_PROF_BLOCK].records[1].dl_gen = 2;
	b.dl_gen = 3;
	b.ndl_gone = 1;
	b.dl_gone = calloc(1, sizeof(*b.dl_gone));
	cr_assert(b.dl_gone);
	b.dl_gone[0].gen = 2;
	snprintf(b.dl_gone[0].path, sizeof(b.dl_gone[0].path), "/gone/lib.so");
	b.dl_gone_dropped = 5;
	cr_assert_eq(ct_render_delta(&a, &b, CT_PROF_BLOCK, &d), 0);
	bool whole = false;
	for (size_t i = 0; i < d.prof[CT_PROF_BLOCK].nrecords; i++)
		if (d.prof[CT_PROF_BLOCK].records[i].dl_gen == 2)
			whole = d.prof[CT_PROF_BLOCK].records[i].count ==
				b.prof[CT_PROF_BLOCK].records[1].count;
	cr_expect(whole, "a record of another generation was diffed against an older one");
	cr_expect_eq(d.dl_gen, 3);
	cr_assert_eq(d.ndl_gone, 1);
	cr_expect_str_eq(d.dl_gone[0].path, "/gone/lib.so");
	cr_expect_eq(d.dl_gone_dropped, 5);
	ct_snapshot_free(&a);
	ct_snapshot_free(&b);
	ct_snapshot_free(&d);
}

/* `go tool pprof -raw` of data (written to a temporary file): its exit
 * status, its output in out. */
static int
pprof_raw(const void *data, size_t len, char *out, size_t outlen)
{
	char path[] = "/tmp/ct-pprof-raw-XXXXXX", cmd[1024];
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "go tool pprof -raw %s 2>&1", path);
	FILE *p = popen(cmd, "r");
	int rc = -1;
	out[0] = 0;
	if (p) {
		size_t n = fread(out, 1, outlen - 1, p);
		out[n] = 0;
		rc = pclose(p);
	}
	unlink(path);
	return rc;
}

Test(render, legacy_text_is_not_scaled_twice)
{
	struct ct_snapshot s;
	fake_growth = 0;
	fake_snapshot(&s, false);
	s.prof[CT_PROF_MUTEX].rate = 10; /* the values are already scaled by it */
	uint8_t *txt;
	size_t len;
	cr_assert_eq(ct_render_legacy(&s, CT_PROF_MUTEX, NULL, &txt, &len), 0);
	const char *t = (const char *)txt;
	cr_expect(!strncmp(t, "--- mutex:\ncycles/second=1000000000\nsampling period=1\n", 53), "%s",
		  t);
	/* biggest delay first: "<delay> <count> @ <leaf + 1> <pcs>" */
	char first[64];
	snprintf(first, sizeof(first), "\n1000000 10 @ ");
	cr_expect(strstr(t, first), "%s", t);
	cr_expect(strstr(t, first) < strstr(t, "\n3000 3 @ "), "%s", t);
	if (have_program("go")) {
		static char out[65536];
		int rc = pprof_raw(txt, len, out, sizeof(out));
		cr_expect_eq(rc, 0, "%s", out);
		/* pprof -raw: "count delay: ..." per sample, as recorded. */
		cr_expect(strstr(out, "   10    1000000: "), "%s", out);
		cr_expect(strstr(out, "    3       3000: "), "%s", out);
	}
	free(txt);
	ct_snapshot_free(&s);
}

Test(render, count_text_from_a_profile)
{
	struct ct_snapshot s;
	fake_growth = 0;
	fake_snapshot(&s, false);
	uint8_t *gz, *txt;
	size_t gzlen, len;
	cr_assert_eq(ct_report_render(&s, "mutex", 0, &gz, &gzlen), 0);
	cr_assert_eq(ct_render_count_text("goroutine", gz, gzlen, &txt, &len), 0);
	const char *t = (const char *)txt;
	cr_expect(!strncmp(t, "goroutine profile: total 13\n10 @ 0x", 35), "%s", t);
	cr_expect(strstr(t, "\tsite_caller\t"), "%s", t);
	free(gz);
	free(txt);
	ct_snapshot_free(&s);
}

/* Random and mutated heads: any answer, never a crash or an overrun
 * (run under valgrind or ASan to see the latter). */
Test(http_parse, random_heads)
{
	static const char seed[] = "GET /debug/pprof/mutex?debug=1&seconds=5 HTTP/1.1\r\n"
				   "Host: x\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n";
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char buf[sizeof(seed) + 64];
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = sizeof(seed) - 1;
		memcpy(buf, seed, len);
		int flips = 1 + (int)(x % 8);
		for (int k = 0; k < flips; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[x % len] = (char)(x >> 40);
		}
		if (iter % 3 == 0)
			len = (size_t)(x % len) + 1; /* cut anywhere */
		struct ct_http_req req;
		size_t clen;
		bool cont;
		const char *why = NULL;
		char *copy = malloc(len); /* exact size: reads past it are caught */
		memcpy(copy, buf, len);
		int st = ct_http_parse_head(copy, len, &req, &clen, &cont, &why);
		cr_assert(st == 0 || (st >= 400 && st < 600), "status %d", st);
		if (st == 0) {
			cr_assert(clen <= CT_HTTP_MAX_BODY);
			cr_assert(req.path[0] == '/');
		} else {
			cr_assert(why && *why);
		}
		char v[16];
		ct_http_query(req.query, "debug", v, sizeof(v));
		free(copy);
	}
}

/* ---- count-profile deltas (goroutine?seconds=N) ------------------------- */

#include "../../report/pprof_read.h"
#include "profile.pb-c.h"

/* The value of the sample whose label "wait" is want, or 0 if none. */
static int64_t
value_for_wait(const Perftools__Profiles__Profile *p, const char *want, int *found)
{
	*found = 0;
	for (size_t i = 0; i < p->n_sample; i++)
		for (size_t k = 0; k < p->sample[i]->n_label; k++) {
			const Perftools__Profiles__Label *l = p->sample[i]->label[k];
			if (!strcmp(p->string_table[l->key], "wait") &&
			    !strcmp(p->string_table[l->str], want)) {
				(*found)++;
				return p->sample[i]->value[0];
			}
		}
	return 0;
}

static void
thread_waiting(struct ct_thread_snap *t, int tid, unsigned op, uintptr_t pc)
{
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->state = 1; /* running (and waiting) */
	snprintf(t->name, sizeof(t->name), "t%d", tid);
	t->age_ns = -1;
	t->waiting = 1;
	t->op = op;
	t->fd = -1;
	t->wait_ns = 1000000;
	t->depth = 1;
	t->pc[0] = pc;
}

Test(render, goroutine_delta_keeps_gone_threads_negative)
{
	uintptr_t pc = site_caller();
	struct ct_thread_snap t0[2], t1[2];
	thread_waiting(&t0[0], 101, CT_OP_MUTEX_LOCK, pc);
	thread_waiting(&t0[1], 102, CT_OP_COND_WAIT, pc + 4);
	thread_waiting(&t1[0], 101, CT_OP_MUTEX_LOCK, pc);
	thread_waiting(&t1[1], 103, CT_OP_SEM_WAIT, pc + 8);
	struct ct_snapshot s0, s1;
	memset(&s0, 0, sizeof(s0));
	memset(&s1, 0, sizeof(s1));
	s0.pid = s1.pid = getpid();
	s0.threads = t0;
	s0.nthreads = 2;
	s1.threads = t1;
	s1.nthreads = 2;
	uint8_t *g0, *g1, *gd;
	size_t l0, l1, ld;
	int err = ct_report_render(&s0, "goroutine", 0, &g0, &l0);
	if (err == -ENOENT)
		cr_skip_test("no thread dump in this build");
	cr_assert_eq(err, 0);
	cr_assert_eq(ct_report_render(&s1, "goroutine", 0, &g1, &l1), 0);
	cr_assert_eq(ct_render_delta_pb(g0, l0, g1, l1, 1700000002000000000LL, 2000000000LL, &gd,
					&ld), 0);
	Perftools__Profiles__Profile *d = pb_decode_checked(gd, ld, "the delta");
	int found;
	cr_expect_eq(value_for_wait(d, "pthread_cond_wait", &found), -1);
	cr_expect_eq(found, 1, "the thread that stopped waiting is gone from the delta");
	cr_expect_eq(value_for_wait(d, "sem_wait", &found), 1);
	cr_expect_eq(found, 1);
	value_for_wait(d, "pthread_mutex_lock", &found);
	cr_expect_eq(found, 0, "an unchanged sample was kept");
	cr_expect_eq(d->n_sample, 2);
	cr_expect_eq(d->duration_nanos, 2000000000LL);
	cr_expect_eq(d->time_nanos, 1700000002000000000LL);
	/* Every location of the copied sample resolves, with its function. */
	for (size_t i = 0; i < d->n_sample; i++)
		for (size_t k = 0; k < d->sample[i]->n_location_id; k++) {
			bool ok = false;
			for (size_t j = 0; j < d->n_location; j++)
				ok |= d->location[j]->id == d->sample[i]->location_id[k];
			cr_expect(ok, "sample %zu: location %lu missing", i,
				  (unsigned long)d->sample[i]->location_id[k]);
		}
	perftools__profiles__profile__free_unpacked(d, NULL);
	if (have_program("go")) {
		/* pprof reads the merged profile, negative count and all. */
		static char out[65536];
		int rc = pprof_raw(gd, ld, out, sizeof(out));
		cr_expect_eq(rc, 0, "%s", out);
		cr_expect(strstr(out, "         -1: "), "%s", out);
	}
	free(g0);
	free(g1);
	free(gd);
	/* Not profiles: refused, not crashed. */
	uint8_t junk[] = {0x1f, 0x8b, 1, 2, 3};
	cr_expect_neq(ct_render_delta_pb(junk, sizeof(junk), junk, sizeof(junk), 0, 0, &gd, &ld), 0);
}

/* Every thread of the earlier profile ended: each of its samples is
 * copied into the delta with its location and function. Finding those
 * by scanning the tables made this cubic (2,000 threads: 9 s; 4,000:
 * over a minute); by index it is well under a second. */
Test(render, goroutine_delta_of_many_ended_threads_is_fast, .timeout = 120)
{
	size_t l0, l1, ld;
	/* n samples, each its own stack of one location and function
	 * ("s<i>"): g1's one sample is g0's first. */
	uint8_t *g0 = make_shape_profile(SHAPE_SAMPLES, 4000, &l0),
		*g1 = make_shape_profile(SHAPE_SAMPLES, 1, &l1), *gd;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(ct_render_delta_pb(g0, l0, g1, l1, 1, 1, &gd, &ld), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double dt = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "goroutine delta with 3,999 ended threads: %.3f s\n", dt);
	cr_expect_lt(dt, 20.0, "the delta took %.1f s", dt);
	Perftools__Profiles__Profile *d = pb_decode_checked(gd, ld, "the delta");
	/* s0 is in both: 0, dropped; s1..s3999 ended: -1 each, each with its own function. */
	cr_expect_eq(d->n_sample, 3999);
	cr_expect_eq(d->n_function, 4000);
	for (size_t i = 0; i < d->n_sample; i++)
		cr_expect_eq(d->sample[i]->value[0], -1);
	perftools__profiles__profile__free_unpacked(d, NULL);
	free(g0), free(g1), free(gd);
}
