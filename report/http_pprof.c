/* The /debug/pprof endpoints (see http.h), after Go's net/http/pprof
 * (pprof-format.md §5): same paths, parameters, statuses, error texts
 * and headers, plus libcontend's runtime control of the sampling
 * (mutex?fraction=N, block?rate=NS). Also the strict request-head parser.
 * Runs on the server's thread only; keeps no state between requests but
 * the cached answer to "is there a thread dump?". */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../core/clock.h"
#include "../core/names.h"
#include "http.h"
#include "render.h"
#include "report.h"
#include "symbolize.h"
#include "threads.h"

/* ---- request head ------------------------------------------------------ */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..n) into out (plus_space: '+' is ' ', as in
 * queries). -1 on a bad escape, a NUL byte or no room. */
static int
pct_decode(const char *s, size_t n, char *out, size_t outlen, bool plus_space)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int hi = hexval((unsigned char)s[i + 1]);
			int lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (c == 0 || o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = 0;
	return 0;
}

static bool
is_token_char(int c)
{
	return c > 32 && c < 127 && !strchr("()<>@,;:\\\"/[]?={}", c);
}

/* A header ct_http_req keeps: once, and whole. */
static int
keep_header(char *dst, size_t cap, bool *seen, const char *v, size_t vlen)
{
	if (*seen || vlen >= cap)
		return -1;
	memcpy(dst, v, vlen);
	dst[vlen] = 0;
	*seen = true;
	return 0;
}

/* ct_http_parse_head's refusals: status and reason. */
#define REFUSE(status, text)          \
	do {                          \
		*why = (text);        \
		return (status);      \
	} while (0)

/* The request line "METHOD SP request-target SP HTTP-version" (ll bytes,
 * no line end): the method into req, the target left at *tgt, *tl. */
static int
parse_request_line(const char *head, size_t ll, struct ct_http_req *req, const char **tgtp,
		   size_t *tlp, const char **why)
{
	const char *sp1 = memchr(head, ' ', ll);
	if (!sp1)
		REFUSE(400, "malformed request line");
	const char *tgt = sp1 + 1;
	const char *sp2 = memchr(tgt, ' ', ll - (size_t)(tgt - head));
	if (!sp2)
		REFUSE(400, "malformed request line");
	size_t ml = (size_t)(sp1 - head), tl = (size_t)(sp2 - tgt);
	const char *ver = sp2 + 1;
	size_t vl = ll - (size_t)(ver - head);
	if (ml == 0 || tl == 0 || memchr(ver, ' ', vl))
		REFUSE(400, "malformed request line");
	for (size_t i = 0; i < ml; i++)
		if (!is_token_char((unsigned char)head[i]))
			REFUSE(400, "malformed request line");
	for (size_t i = 0; i < tl; i++)
		if ((unsigned char)tgt[i] <= 32 || (unsigned char)tgt[i] >= 127)
			REFUSE(400, "malformed request line");
	if (vl != 8 || strncmp(ver, "HTTP/", 5) || !isdigit((unsigned char)ver[5]) ||
	    ver[6] != '.' || !isdigit((unsigned char)ver[7]))
		REFUSE(400, "malformed request line");
	if (ver[5] != '1')
		REFUSE(505, "only HTTP/1.0 and HTTP/1.1 are served");
	if (ml == 3 && !memcmp(head, "GET", 3))
		strcpy(req->method, "GET");
	else if (ml == 4 && !memcmp(head, "POST", 4))
		strcpy(req->method, "POST");
	else
		REFUSE(405, "only GET and POST are served");
	*tgtp = tgt;
	*tlp = tl;
	return 0;
}

/* The request target (tl bytes): its decoded path and its query into req. */
static int
parse_target(const char *tgt, size_t tl, struct ct_http_req *req, const char **why)
{
	/* Origin form only: no proxies, no "*". */
	if (tgt[0] != '/')
		REFUSE(400, "the request target must be a path");
	const char *q = memchr(tgt, '?', tl);
	size_t pl = q ? (size_t)(q - tgt) : tl;
	if (pl >= sizeof(req->path))
		REFUSE(414, "request line too long");
	if (pct_decode(tgt, pl, req->path, sizeof(req->path), false) < 0)
		REFUSE(400, "invalid path");
	if (q) {
		size_t ql = tl - pl - 1;
		if (ql >= sizeof(req->query))
			REFUSE(414, "request line too long");
		memcpy(req->query, q + 1, ql);
		req->query[ql] = 0;
	}
	/* Dot segments (also %2e%2e) are refused rather than resolved: no
	 * endpoint has a reason to see one. */
	for (const char *s = req->path; *s;) {
		const char *seg = s + 1;
		const char *next = strchr(seg, '/');
		size_t sl = next ? (size_t)(next - seg) : strlen(seg);
		if ((sl == 1 && seg[0] == '.') || (sl == 2 && seg[0] == '.' && seg[1] == '.') ||
		    memchr(seg, '\\', sl))
			REFUSE(400, "invalid path: no dot segments");
		if (!next)
			break;
		s = next;
	}
	return 0;
}

/* One header field line (n bytes, no line end): the fields ct_http_req
 * keeps, the body's length (*have_length once one was given) and
 * "Expect: 100-continue". */
static int
parse_field(const char *line, size_t n, struct ct_http_req *req, size_t *content_length,
	    bool *have_length, bool *expect_continue, const char **why)
{
	/* Also refuses obsolete line folding (a leading space). */
	const char *colon = memchr(line, ':', n);
	if (!colon || colon == line)
		REFUSE(400, "malformed header field");
	size_t nl = (size_t)(colon - line);
	for (size_t i = 0; i < nl; i++)
		if (!is_token_char((unsigned char)line[i]))
			REFUSE(400, "malformed header field");
	const char *v = colon + 1, *ve = line + n;
	while (v < ve && (*v == ' ' || *v == '\t'))
		v++;
	while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
		ve--;
	size_t vlen = (size_t)(ve - v);
	if (memchr(v, 0, vlen))
		REFUSE(400, "malformed header field");
	if (nl == 14 && !strncasecmp(line, "Content-Length", 14)) {
		if (vlen > 18)
			REFUSE(413, "request body too large");
		size_t cl = 0;
		for (size_t i = 0; i < vlen; i++) {
			if (!isdigit((unsigned char)v[i]))
				REFUSE(400, "invalid Content-Length");
			cl = cl * 10 + (size_t)(v[i] - '0');
		}
		if (vlen == 0 || (*have_length && cl != *content_length))
			REFUSE(400, "invalid Content-Length");
		if (cl > CT_HTTP_MAX_BODY)
			REFUSE(413, "request body too large");
		*content_length = cl;
		*have_length = true;
	} else if (nl == 17 && !strncasecmp(line, "Transfer-Encoding", 17)) {
		REFUSE(501, "transfer encodings are not supported; send a Content-Length");
	} else if (nl == 6 && !strncasecmp(line, "Expect", 6)) {
		if (vlen == 12 && !strncasecmp(v, "100-continue", 12))
			*expect_continue = true;
	} else if (nl == 4 && !strncasecmp(line, "Host", 4)) {
		if (keep_header(req->host, sizeof(req->host), &req->has_host, v, vlen) < 0)
			REFUSE(400, "invalid Host header (sent twice or too long)");
	} else if (nl == 6 && !strncasecmp(line, "Origin", 6)) {
		if (keep_header(req->origin, sizeof(req->origin), &req->has_origin, v, vlen) < 0)
			REFUSE(400, "invalid Origin header (sent twice or too long)");
	} else if (nl == 14 && !strncasecmp(line, "Sec-Fetch-Site", 14)) {
		if (keep_header(req->fetch_site, sizeof(req->fetch_site), &req->has_fetch_site, v,
				vlen) < 0)
			REFUSE(400, "invalid Sec-Fetch-Site header (sent twice or too long)");
	}
	return 0;
}

int
ct_http_parse_head(const char *head, size_t len, struct ct_http_req *req, size_t *content_length,
		   bool *expect_continue, const char **why)
{
	memset(req, 0, sizeof(*req));
	*content_length = 0;
	*expect_continue = false;
	bool have_length = false;

	const char *end = head + len;
	const char *eol = memchr(head, '\n', len);
	if (!eol)
		REFUSE(400, "malformed request line");
	size_t ll = (size_t)(eol - head);
	if (ll && head[ll - 1] == '\r')
		ll--;
	const char *tgt = NULL;
	size_t tl = 0;
	int status = parse_request_line(head, ll, req, &tgt, &tl, why);
	if (status == 0)
		status = parse_target(tgt, tl, req, why);
	if (status != 0)
		return status;

	/* Header fields. */
	for (const char *line = eol + 1; line < end;) {
		const char *le = memchr(line, '\n', (size_t)(end - line));
		if (!le)
			REFUSE(400, "malformed header field");
		size_t n = (size_t)(le - line);
		if (n && line[n - 1] == '\r')
			n--;
		if (n == 0)
			break; /* the blank line */
		status = parse_field(line, n, req, content_length, &have_length, expect_continue,
				     why);
		if (status != 0)
			return status;
		line = le + 1;
	}
	return 0;
}
#undef REFUSE

bool
ct_http_query(const char *query, const char *key, char *val, size_t vallen)
{
	size_t klen = strlen(key);
	for (const char *p = query; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		size_t kn = eq ? (size_t)(eq - p) : n;
		char k[64];
		if (kn < sizeof(k) && pct_decode(p, kn, k, sizeof(k), true) == 0 && strlen(k) == klen &&
		    !memcmp(k, key, klen)) {
			const char *v = eq ? eq + 1 : p + n;
			size_t vn = eq ? n - kn - 1 : 0;
			/* Undecodable or too long: a value no parser accepts. */
			if (pct_decode(v, vn, val, vallen, true) < 0)
				snprintf(val, vallen, "?");
			return true;
		}
		p = amp ? amp + 1 : NULL;
	}
	return false;
}

/* ---- who may ask -------------------------------------------------------- */

/* "name[:port]" (name an [IPv6] literal or without ':') split in two;
 * *port is -1 when there is none. false when malformed. */
static bool
split_hostport(const char *s, size_t n, char *name, size_t namecap, long *port)
{
	const char *colon;
	size_t nl;
	if (n && s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		if (!rb)
			return false;
		nl = (size_t)(rb - s) + 1;
		if (nl < n && s[nl] != ':')
			return false;
		colon = nl < n ? s + nl : NULL;
	} else {
		colon = memchr(s, ':', n);
		nl = colon ? (size_t)(colon - s) : n;
		if (colon && memchr(colon + 1, ':', n - nl - 1))
			return false;
	}
	if (nl == 0 || nl >= namecap)
		return false;
	memcpy(name, s, nl);
	name[nl] = 0;
	*port = -1;
	if (colon) {
		size_t pl = n - nl - 1;
		long p = 0;
		if (pl == 0 || pl > 5)
			return false;
		for (size_t i = 0; i < pl; i++) {
			if (!isdigit((unsigned char)colon[1 + i]))
				return false;
			p = p * 10 + (colon[1 + i] - '0');
		}
		if (p > 65535)
			return false;
		*port = p;
	}
	return true;
}

/* Whether a Host name designates this server without going through a
 * name an outsider controls: localhost, a loopback literal, or the
 * literal of the address the client connected to. */
static bool
host_is_local(const char *name, const struct ct_http_local *local)
{
	static const uint8_t lo4[4] = {127, 0, 0, 1};
	uint8_t a[16];
	size_t n = strlen(name);
	if (!strcasecmp(name, "localhost"))
		return true;
	if (inet_pton(AF_INET, name, a) == 1)
		return !memcmp(a, lo4, 4) || (local->family == AF_INET && !memcmp(a, local->addr, 4));
	if (n > 2 && name[0] == '[' && name[n - 1] == ']') {
		char lit[INET6_ADDRSTRLEN];
		if (n - 2 >= sizeof(lit))
			return false;
		memcpy(lit, name + 1, n - 2);
		lit[n - 2] = 0;
		if (inet_pton(AF_INET6, lit, a) != 1)
			return false;
		return !memcmp(a, &in6addr_loopback, 16) ||
		       (local->family == AF_INET6 && !memcmp(a, local->addr, 16));
	}
	return false;
}

int
ct_http_check_sender(const struct ct_http_req *req, const struct ct_http_local *local,
		     const char **why)
{
	char hname[256], oname[256];
	long hport = -1, oport = -1;
	if (req->has_host &&
	    (!split_hostport(req->host, strlen(req->host), hname, sizeof(hname), &hport) ||
	     !host_is_local(hname, local))) {
		*why = "refused: the Host header must name this server (localhost, 127.0.0.1, "
		       "[::1] or the address connected to), not a domain that may point here";
		return 403;
	}
	if (!req->has_origin)
		return 0;
	const char *o = req->origin;
	bool same = false;
	if (!strncasecmp(o, "http://", 7) &&
	    split_hostport(o + 7, strlen(o + 7), oname, sizeof(oname), &oport)) {
		if (req->has_host)
			same = !strcasecmp(oname, hname) &&
			       (oport < 0 ? 80 : oport) == (hport < 0 ? 80 : hport);
		else
			same = host_is_local(oname, local);
	}
	if (!same) {
		*why = "refused: cross-origin request (the Origin header names another site than "
		       "this server)";
		return 403;
	}
	return 0;
}

/* ---- responses --------------------------------------------------------- */

static const char text_plain[] = "text/plain; charset=utf-8";

static void
set_body(struct ct_http_resp *resp, const char *text)
{
	size_t n = strlen(text);
	resp->body = malloc(n + 1);
	if (resp->body) {
		memcpy(resp->body, text, n + 1);
		resp->bodylen = n;
	}
}

void
ct_http_error(struct ct_http_resp *resp, int status, const char *msg)
{
	char buf[512];
	free(resp->body);
	resp->body = NULL;
	resp->bodylen = 0;
	resp->status = status;
	resp->ctype = text_plain;
	resp->disposition[0] = 0;
	size_t n = strlen(resp->extra);
	snprintf(resp->extra + n, sizeof(resp->extra) - n, "X-Go-Pprof: 1\r\n");
	snprintf(buf, sizeof(buf), "%s\n", msg);
	set_body(resp, buf);
}

/* A 200 answer whose body is what b holds (b is emptied); a 500 if it
 * could not be had. */
static void
ct_http_reply(struct ct_http_resp *resp, struct ct_buf *b, const char *ctype)
{
	uint8_t *out;
	size_t len;
	if (ct_buf_take(b, &out, &len) < 0) {
		ct_http_error(resp, 500, "out of memory");
		return;
	}
	resp->status = 200;
	resp->ctype = ctype;
	resp->body = out;
	resp->bodylen = len;
}

static void
add_header(struct ct_http_resp *resp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
add_header(struct ct_http_resp *resp, const char *fmt, ...)
{
	size_t n = strlen(resp->extra);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(resp->extra + n, sizeof(resp->extra) - n, fmt, ap);
	va_end(ap);
}

/* Go's strconv.Atoi: optional sign, decimal digits, nothing else. */
static bool
go_atoi(const char *s, long long *out)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (!*p)
		return false;
	for (const char *d = p; *d; d++)
		if (!isdigit((unsigned char)*d))
			return false;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static bool
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	if (!*s || strlen(s) > 20)
		return false;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return false;
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* ---- profiles ---------------------------------------------------------- */

static bool
is_thread_profile(const char *name)
{
	return ct_names_is_threads(name) || !strcmp(name, CT_NAME_THREADCREATE);
}

/* Whether the thread dump renders at all in this build (it answers
 * -ENOENT until it does); asked once, with an empty snapshot. */
static bool
threads_available(void)
{
	static int known = -1;
	if (known < 0) {
		struct ct_snapshot empty;
		memset(&empty, 0, sizeof(empty));
		uint8_t *out = NULL;
		size_t len = 0;
		known = ct_threads_render(&empty, CT_NAME_THREADS, 2, &out, &len) != -ENOENT;
		free(out);
	}
	return known;
}

static bool
known_profile(const char *name)
{
	enum ct_profile_kind kind;
	if (ct_names_kind_of(name, &kind) == 0 || !strcmp(name, CT_NAME_LOCKS))
		return true;
	return is_thread_profile(name) && threads_available();
}

/* debug levels as Go's WriteTo treats them: mutex/block and threadcreate
 * have text at any debug > 0; threads/goroutine have the dump at >= 2. */
static int
effective_debug(const char *name, long long debug)
{
	if (debug <= 0)
		return 0;
	/* locks: 1 the per-lock table, 2 its JSON lines (report/locktable.h) */
	if (ct_names_is_threads(name) || !strcmp(name, CT_NAME_LOCKS))
		return debug >= 2 ? 2 : 1;
	return 1;
}

static void
profile_body(struct ct_http_resp *resp, const char *name, int debug, uint8_t *body, size_t len,
	     bool delta)
{
	resp->status = 200;
	resp->body = body;
	resp->bodylen = len;
	if (debug != 0) {
		resp->ctype = text_plain;
	} else {
		resp->ctype = "application/octet-stream";
		snprintf(resp->disposition, sizeof(resp->disposition), "attachment; filename=\"%s%s\"",
			 name, delta ? "-delta" : "");
	}
}

static void
render_error(struct ct_http_resp *resp, int err)
{
	char msg[128];
	if (err == -ENOENT) {
		ct_http_error(resp, 404, "Unknown profile");
		return;
	}
	snprintf(msg, sizeof(msg), "failed to collect profile: %s", strerror(-err));
	ct_http_error(resp, 500, msg);
}

/* A ?seconds=N request between its two snapshots. mutex and block keep
 * the first snapshot's records (the delta is taken on records); thread
 * profiles keep the first rendered profile (the delta is taken on its
 * samples, as Go merges count profiles). */
struct delta_state {
	char name[16];
	bool threads;
	enum ct_profile_kind kind;
	struct ct_snapshot p0;
	uint8_t *pb0;
	size_t pb0len;
	int64_t wall0;
	char extra[512]; /* headers of the request's sampling change */
};

void
ct_http_state_free(void *state)
{
	struct delta_state *d = state;
	if (!d)
		return;
	ct_snapshot_free(&d->p0);
	free(d->pb0);
	free(d);
}

/* The second half of a thread-profile delta. */
static void
finish_threads(const struct ct_http_host *host, struct delta_state *d,
	       struct ct_http_resp *resp)
{
	struct ct_snapshot p1;
	uint8_t *pb1 = NULL, *out = NULL;
	size_t pb1len = 0, len = 0;
	int err = host->snapshot(&p1, true);
	if (err < 0) {
		ct_http_error(resp, 500, "failed to collect profile");
		return;
	}
	int64_t wall1 = ct_wall_ns();
	err = ct_report_render(&p1, d->name, 0, &pb1, &pb1len);
	ct_snapshot_free(&p1);
	if (err < 0) {
		render_error(resp, err);
		return;
	}
	err = ct_render_delta_pb(d->pb0, d->pb0len, pb1, pb1len, wall1, wall1 - d->wall0, &out,
				 &len);
	free(pb1);
	if (err < 0) {
		ct_http_error(resp, 500, "failed to compute delta");
		return;
	}
	profile_body(resp, d->name, 0, out, len, true);
}

void
ct_http_finish(const struct ct_http_host *host, void *state, struct ct_http_resp *resp)
{
	struct delta_state *d = state;
	struct ct_snapshot p1, delta;
	uint8_t *out = NULL;
	size_t len = 0;
	memset(&delta, 0, sizeof(delta));
	snprintf(resp->extra, sizeof(resp->extra), "%s", d->extra);
	if (d->threads) {
		finish_threads(host, d, resp);
		goto out;
	}
	int err = host->snapshot(&p1, false);
	if (err < 0) {
		ct_http_error(resp, 500, "failed to collect profile");
		goto out;
	}
	err = ct_render_delta(&d->p0, &p1, d->kind, &delta);
	ct_snapshot_free(&p1);
	if (err < 0) {
		ct_http_error(resp, 500, "failed to compute delta");
		goto out;
	}
	err = ct_report_render(&delta, d->name, 0, &out, &len);
	ct_snapshot_free(&delta);
	if (err < 0) {
		render_error(resp, err);
		goto out;
	}
	profile_body(resp, d->name, 0, out, len, true);
out:
	ct_http_state_free(d);
}

/* mutex?fraction=N, block?rate=NS: validated here, applied by the caller
 * once every parameter is known to be good. */
struct control {
	bool set;
	enum ct_profile_kind kind;
	uint64_t value;
};

static int
parse_control(const char *name, const char *query, struct control *ctl, struct ct_http_resp *resp)
{
	char v[64];
	memset(ctl, 0, sizeof(*ctl));
	bool mutex = !strcmp(name, CT_NAME_MUTEX), block = !strcmp(name, CT_NAME_BLOCK);
	if (ct_http_query(query, "fraction", v, sizeof(v))) {
		if (!mutex) {
			ct_http_error(resp, 400, "\"fraction\" applies to the mutex profile only");
			return -1;
		}
		if (!parse_u64(v, 1000000000, &ctl->value)) {
			ct_http_error(resp, 400, "invalid value for \"fraction\" - must be an integer "
						 "0..1000000000 (1 in N contentions sampled, 0 = off)");
			return -1;
		}
		ctl->set = true;
		ctl->kind = CT_PROF_MUTEX;
	}
	if (ct_http_query(query, "rate", v, sizeof(v))) {
		if (!block) {
			ct_http_error(resp, 400, "\"rate\" applies to the block profile only");
			return -1;
		}
		if (!parse_u64(v, 1000000000000ULL, &ctl->value)) {
			ct_http_error(resp, 400, "invalid value for \"rate\" - must be an integer "
						 "0..1000000000000 (ns blocked per sample, 1 = all, 0 = off)");
			return -1;
		}
		ctl->set = true;
		ctl->kind = CT_PROF_BLOCK;
	}
	return 0;
}

/* A sampling change alters the process, so it is not a GET: a page of
 * any site can make a browser GET a loopback URL (an <img>, a link) with
 * no Origin to tell. A POST from a browser carries its Origin, which
 * ct_http_check_sender has checked; Sec-Fetch-Site, where browsers send
 * it, must also say the request came from the server's own pages or from
 * no page at all (the user typed it, or curl). true if refused. */
static bool
refuse_change(const struct ct_http_req *req, enum ct_profile_kind kind, struct ct_http_resp *resp)
{
	if (strcmp(req->method, "POST")) {
		snprintf(resp->extra, sizeof(resp->extra), "Allow: POST\r\n");
		ct_http_error(resp, 405,
			      kind == CT_PROF_MUTEX
				      ? "\"fraction\" changes the sampling: send it with POST "
					"(curl -X POST '.../debug/pprof/mutex?fraction=N'); GET only reads"
				      : "\"rate\" changes the sampling: send it with POST "
					"(curl -X POST '.../debug/pprof/block?rate=NS'); GET only reads");
		return true;
	}
	if (req->has_fetch_site && strcasecmp(req->fetch_site, "same-origin") &&
	    strcasecmp(req->fetch_site, "none")) {
		ct_http_error(resp, 403, "refused: a sampling change sent by another site's page "
					 "(Sec-Fetch-Site)");
		return true;
	}
	return false;
}

/* serveDeltaProfile's checks of ?seconds=v, in its order, with its
 * texts: 0 with *sec set, or -1 with the refusal in resp. */
static int
check_seconds(const char *name, const char *v, long long debug, bool may_defer, long long *sec,
	      struct ct_http_resp *resp)
{
	if (!go_atoi(v, sec) || *sec <= 0) {
		ct_http_error(resp, 400, "invalid value for \"seconds\" - must be a positive integer");
		return -1;
	}
	/* A difference of maxima and percentiles means nothing. */
	if (!strcmp(name, CT_NAME_LOCKS)) {
		ct_http_error(resp, 400, "\"seconds\" is not offered for the locks profile");
		return -1;
	}
	/* Every profile served here supports a delta (Go's list:
	 * block, goroutine, mutex, threadcreate, and threads). */
	if (*sec >= CT_HTTP_MAX_SECONDS) {
		ct_http_error(resp, 400, "profile duration exceeds server's WriteTimeout");
		return -1;
	}
	if (debug != 0) {
		ct_http_error(resp, 400, "seconds and debug params are incompatible");
		return -1;
	}
	if (!may_defer) {
		ct_http_error(resp, 503, "too many ?seconds= profiles in progress");
		return -1;
	}
	return 0;
}

/* Runtime control of a table's sampling, and the current setting in a
 * header. True when that is the whole answer: a change asked without a
 * profile (no debug or seconds parameter). */
static bool
apply_control(const struct ct_http_host *host, enum ct_profile_kind kind, const struct control *ctl,
	      bool profile_asked, struct ct_http_resp *resp)
{
	const char *hdr = kind == CT_PROF_MUTEX ? "X-Contend-Mutex-Fraction" : "X-Contend-Block-Rate";
	if (!ctl->set) {
		add_header(resp, "%s: %" PRIu64 "\r\n", hdr, host->sampling(kind, NULL));
		return false;
	}
	uint64_t was = host->sampling(kind, &ctl->value);
	add_header(resp, "%s: %" PRIu64 "\r\n%s-Was: %" PRIu64 "\r\n", hdr, ctl->value, hdr, was);
	if (profile_asked)
		return false;
	char msg[160];
	snprintf(msg, sizeof(msg), "libcontend: %s set to %" PRIu64 "%s (was %" PRIu64 ")\n",
		 kind == CT_PROF_MUTEX ? "mutex profile fraction" : "block profile rate", ctl->value,
		 kind == CT_PROF_MUTEX ? "" : " ns", was);
	resp->status = 200;
	resp->ctype = text_plain;
	set_body(resp, msg);
	return true;
}

/* A ?seconds= profile: its first half from snap (taken over), the delta
 * after sec seconds. A table's delta keeps that table's records; a thread
 * profile's keeps its rendering. CT_HTTP_DEFER, or 0 with an error in
 * resp. */
static int
defer_delta(struct ct_snapshot *snap, const char *name, bool table, enum ct_profile_kind kind,
	    long long sec, struct ct_http_resp *resp, void **state, int64_t *wait_ns)
{
	if (!table) {
		struct delta_state *d = calloc(1, sizeof(*d));
		if (d) {
			d->threads = true;
			d->wall0 = ct_wall_ns();
		}
		int err = d ? ct_report_render(snap, name, 0, &d->pb0, &d->pb0len) : -ENOMEM;
		ct_snapshot_free(snap);
		if (err < 0) {
			ct_http_state_free(d);
			render_error(resp, err);
			return 0;
		}
		snprintf(d->name, sizeof(d->name), "%s", name);
		*state = d;
		*wait_ns = sec * 1000000000LL;
		return CT_HTTP_DEFER;
	}
	struct delta_state *d = calloc(1, sizeof(*d));
	if (!d) {
		ct_snapshot_free(snap);
		ct_http_error(resp, 500, "failed to collect profile");
		return 0;
	}
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->kind = kind;
	d->p0 = *snap;
	/* Keep only what the delta needs: one table's records. */
	enum ct_profile_kind other = d->kind == CT_PROF_MUTEX ? CT_PROF_BLOCK : CT_PROF_MUTEX;
	free(d->p0.prof[other].records);
	d->p0.prof[other].records = NULL;
	d->p0.prof[other].nrecords = 0;
	free(d->p0.threads);
	d->p0.threads = NULL;
	d->p0.nthreads = 0;
	snprintf(d->extra, sizeof(d->extra), "%s", resp->extra);
	*state = d;
	*wait_ns = sec * 1000000000LL;
	return CT_HTTP_DEFER;
}

static int
serve_profile(const struct ct_http_host *host, const char *name, const struct ct_http_req *req,
	      struct ct_http_resp *resp, bool may_defer, void **state, int64_t *wait_ns)
{
	char v[64];
	long long debug = 0;
	if (!known_profile(name)) {
		ct_http_error(resp, 404, "Unknown profile");
		return 0;
	}
	struct control ctl;
	if (parse_control(name, req->query, &ctl, resp) < 0)
		return 0;
	if (ctl.set && refuse_change(req, ctl.kind, resp))
		return 0;
	bool has_debug = ct_http_query(req->query, "debug", v, sizeof(v));
	if (has_debug && !go_atoi(v, &debug))
		debug = 0;
	long long sec = 0;
	bool has_seconds = ct_http_query(req->query, "seconds", v, sizeof(v)) && v[0];
	enum ct_profile_kind kind = CT_PROF_MUTEX;
	bool is_mutex_block = ct_names_kind_of(name, &kind) == 0;
	if (has_seconds && check_seconds(name, v, debug, may_defer, &sec, resp) < 0)
		return 0;
	if (is_mutex_block && apply_control(host, kind, &ctl, has_debug || has_seconds, resp))
		return 0;

	struct ct_snapshot snap;
	int err = host->snapshot(&snap, is_thread_profile(name));
	if (err < 0) {
		ct_http_error(resp, 500, "failed to collect profile");
		return 0;
	}
	if (has_seconds)
		return defer_delta(&snap, name, is_mutex_block, kind, sec, resp, state, wait_ns);
	int dbg = effective_debug(name, debug);
	uint8_t *out = NULL;
	size_t len = 0;
	err = ct_report_render(&snap, name, dbg, &out, &len);
	ct_snapshot_free(&snap);
	if (err < 0) {
		render_error(resp, err);
		return 0;
	}
	profile_body(resp, name, dbg, out, len, false);
	return 0;
}

/* ---- index, cmdline, symbol -------------------------------------------- */

struct index_entry {
	const char *name, *desc;
	long long count;
};

static void
html_escape(struct ct_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': ct_buf_printf(b, "&lt;"); break;
		case '>': ct_buf_printf(b, "&gt;"); break;
		case '&': ct_buf_printf(b, "&amp;"); break;
		case '\'': ct_buf_printf(b, "&#39;"); break;
		case '"': ct_buf_printf(b, "&#34;"); break;
		default: ct_buf_add(b, s, 1);
		}
	}
}

static void
serve_index(const struct ct_http_host *host, struct ct_http_resp *resp)
{
	struct ct_snapshot snap;
	memset(&snap, 0, sizeof(snap));
	if (host->snapshot(&snap, threads_available()) < 0) {
		ct_http_error(resp, 500, "failed to collect profiles");
		return;
	}
	bool thr = threads_available();
	/* Go's Index: every profile with its count, sorted by name; libcontend
	 * has no CPU profile or trace, so "profile" and "trace" are absent. */
	struct index_entry e[] = {
		{CT_NAME_BLOCK, "Stack traces that led to blocking on synchronization primitives",
		 (long long)snap.prof[CT_PROF_BLOCK].nrecords},
		{"cmdline", "The command line invocation of the current program", 0},
		{CT_NAME_GOROUTINE, "Stack traces of all current threads (the threads profile, under "
			      "the name Go tools ask for)", (long long)snap.nthreads},
		{CT_NAME_LOCKS, "Per lock: contentions, wait distribution (p50, p99, max), hold "
				"times, holder and waiter sites (debug=1 table, debug=2 JSON lines)",
		 (long long)snap.nlockstats},
		{CT_NAME_MUTEX, "Stack traces of holders of contended mutexes",
		 (long long)snap.prof[CT_PROF_MUTEX].nrecords},
		{CT_NAME_THREADCREATE, "Stack traces that led to the creation of new OS threads",
		 (long long)snap.nthreads},
		{CT_NAME_THREADS, "Stack traces of all current threads, with what each one waits for, "
			    "since when and held by whom", (long long)snap.nthreads},
	};
	ct_snapshot_free(&snap);

	struct ct_buf b = {0};
	ct_buf_printf(&b, "<html>\n<head>\n<title>/debug/pprof/</title>\n<style>\n"
			  ".profile-name{\n\tdisplay:inline-block;\n\twidth:6rem;\n}\n</style>\n"
			  "</head>\n<body>\n/debug/pprof/<br>\n<br>\n"
			  "Types of profiles available:\n<table>\n"
			  "<thead><td>Count</td><td>Profile</td></thead>\n");
	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		if (is_thread_profile(e[i].name) && !thr)
			continue;
		ct_buf_printf(&b, "<tr><td>%lld</td><td><a href='%s?debug=1'>", e[i].count, e[i].name);
		html_escape(&b, e[i].name);
		ct_buf_printf(&b, "</a></td></tr>\n");
	}
	ct_buf_printf(&b, "</table>\n");
	if (thr)
		ct_buf_printf(&b, "<a href=\"goroutine?debug=2\">full goroutine stack dump</a>\n");
	ct_buf_printf(&b, "<br>\n<p>\nProfile Descriptions:\n<ul>\n");
	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		if (is_thread_profile(e[i].name) && !thr)
			continue;
		ct_buf_printf(&b, "<li><div class=profile-name>");
		html_escape(&b, e[i].name);
		ct_buf_printf(&b, ": </div> ");
		html_escape(&b, e[i].desc);
		ct_buf_printf(&b, "</li>\n");
	}
	ct_buf_printf(&b, "</ul>\n</p>\n");

	/* libcontend's own part: sampling (and how to change it) and what
	 * live snapshots cost. */
	struct ct_copy_stats st;
	memset(&st, 0, sizeof(st));
	host->copy_stats(&st);
	double n = st.n ? (double)st.n : 1.0;
	ct_buf_printf(&b,
		      "<p>\nlibcontend sampling: mutex fraction %" PRIu64 " "
		      "(POST to mutex?fraction=N changes it), "
		      "block rate %" PRIu64 " ns (POST to block?rate=NS changes it).<br>\n"
		      "Snapshots taken: %" PRIu64 "; copying the tables took %.1f us the last time, "
		      "%.1f us at most, %.1f us on average (CPU %.1f us on average, %.1f us at "
		      "most). A copy takes no lock the program's threads take: it holds none of "
		      "them up. Records copied while their writer was stopped in the middle of an "
		      "event (each may be off by that event): %" PRIu64 ".\n</p>\n",
		      host->sampling(CT_PROF_MUTEX, NULL), host->sampling(CT_PROF_BLOCK, NULL), st.n,
		      (double)st.last_ns / 1e3, (double)st.max_ns / 1e3, (double)st.total_ns / 1e3 / n,
		      (double)st.cpu_total_ns / 1e3 / n, (double)st.cpu_max_ns / 1e3, st.unsettled);
	ct_buf_printf(&b, "</body>\n</html>");
	ct_http_reply(resp, &b, "text/html; charset=utf-8");
}

/* strings.Join(os.Args, "\x00"): /proc/self/cmdline without its last NUL. */
static void
serve_cmdline(struct ct_http_resp *resp)
{
	struct ct_buf b = {0};
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char chunk[4096];
		ssize_t n;
		while (b.len < CT_HTTP_MAX_BODY && (n = read(fd, chunk, sizeof(chunk))) > 0)
			ct_buf_add(&b, chunk, (size_t)n);
		close(fd);
	}
	if (b.len && b.p[b.len - 1] == 0)
		b.len--;
	ct_http_reply(resp, &b, text_plain);
}

/* Go's strconv.ParseUint(word, 0, 64): 0x/0o/0b prefixes, a leading 0
 * for octal, '_' between digits only with a prefix. 0 when invalid. */
static uint64_t
parse_pc(const char *w, size_t n)
{
	char buf[80];
	size_t o = 0;
	int base = 10;
	size_t i = 0;
	if (n >= 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'X'))
		base = 16, i = 2;
	else if (n >= 2 && w[0] == '0' && (w[1] == 'o' || w[1] == 'O'))
		base = 8, i = 2;
	else if (n >= 2 && w[0] == '0' && (w[1] == 'b' || w[1] == 'B'))
		base = 2, i = 2;
	else if (n >= 2 && w[0] == '0')
		base = 8, i = 1;
	for (; i < n; i++) {
		if (w[i] == '_' && base != 10)
			continue;
		if (o + 1 >= sizeof(buf))
			return 0;
		buf[o++] = w[i];
	}
	buf[o] = 0;
	if (o == 0 || buf[0] == '-' || buf[0] == '+')
		return 0;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(buf, &end, base);
	if (errno || *end)
		return 0;
	return v;
}

/* Symbolized in the process like the profiles it writes: from
 * /proc/self/maps, or where a credential change closed that, from the
 * objects the loader lists (ct_symbolize__new_snap). */
static void
serve_symbol(const struct ct_http_host *host, const struct ct_http_req *req,
	     struct ct_http_resp *resp)
{
	const char *in;
	size_t inlen;
	if (!strcmp(req->method, "POST")) {
		in = (const char *)req->body;
		inlen = req->bodylen;
	} else {
		in = req->query;
		inlen = strlen(req->query);
	}
	struct ct_buf b = {0};
	/* pprof only checks that this is not 0. */
	ct_buf_printf(&b, "num_symbols: 1\n");
	struct ct_symbolizer *sym = NULL;
	struct ct_snapshot objs = {0};
	if (inlen && host->objects && host->objects(&objs) < 0)
		ct_snapshot_free(&objs);
	if (inlen && ct_symbolize__new_snap(&objs, &sym) < 0)
		sym = NULL;
	for (size_t i = 0; i < inlen && sym;) {
		const char *plus = memchr(in + i, '+', inlen - i);
		size_t n = plus ? (size_t)(plus - (in + i)) : inlen - i;
		uint64_t pc = parse_pc(in + i, n);
		if (pc) {
			const struct ct_frame *f;
			size_t nf = 0;
			/* The innermost function at pc, as runtime.FuncForPC. */
			if (ct_symbolize_addr(sym, pc, &f, &nf) == 0 && nf > 0)
				ct_buf_printf(&b, "%#" PRIx64 " %s\n", pc, f[0].name);
		}
		i += n + 1;
	}
	ct_symbolize__free(sym);
	ct_snapshot_free(&objs);
	ct_http_reply(resp, &b, text_plain);
}

int
ct_http_handle(const struct ct_http_host *host, const struct ct_http_req *req,
	       struct ct_http_resp *resp, bool may_defer, void **state, int64_t *wait_ns)
{
	static const char prefix[] = "/debug/pprof/";
	const char *path = req->path;
	*state = NULL;
	*wait_ns = 0;
	if (!strcmp(path, "/debug/pprof")) {
		/* ServeMux's redirect to the subtree. */
		resp->status = 301;
		resp->ctype = "text/html; charset=utf-8";
		snprintf(resp->location, sizeof(resp->location), "/debug/pprof/");
		set_body(resp, "<a href=\"/debug/pprof/\">Moved Permanently</a>.\n\n");
		return 0;
	}
	if (strncmp(path, prefix, sizeof(prefix) - 1)) {
		/* http.NotFound */
		resp->status = 404;
		resp->ctype = text_plain;
		set_body(resp, "404 page not found\n");
		return 0;
	}
	const char *name = path + sizeof(prefix) - 1;
	if (!*name) {
		serve_index(host, resp);
		return 0;
	}
	if (!strcmp(name, "cmdline")) {
		serve_cmdline(resp);
		return 0;
	}
	if (!strcmp(name, "symbol")) {
		serve_symbol(host, req, resp);
		return 0;
	}
	return serve_profile(host, name, req, resp, may_defer, state, wait_ns);
}
