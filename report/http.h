/* The /debug/pprof HTTP server, like Go's net/http/pprof, inside the
 * profiled process (pprof-format.md §5).
 *
 * A small own HTTP/1.0-1.1 server, not a library: it serves a handful of
 * GET/POST endpoints, one request per connection (Connection: close), and
 * must stay bounded against hostile clients: request line and headers at
 * most CT_HTTP_MAX_HEAD bytes, a body only for POST /symbol and at most
 * CT_HTTP_MAX_BODY, the whole request within CT_HTTP_READ_TIMEOUT_MS, at
 * most CT_HTTP_MAX_CONNS connections (more get 503 and are closed), all
 * sockets non-blocking. Web pages in a browser on the machine are
 * hostile clients too: see ct_http_check_sender, and sampling changes
 * are POST only.
 *
 * It owns no thread: core/dumper.c runs it on the dumper thread (signals
 * blocked, the shim's guard held for good, so nothing it does is
 * profiled) by asking for the descriptors to poll and then handing back
 * what poll() said. Rendering a profile (symbolization, compression)
 * happens on that thread between polls; the program's threads are only
 * held up while a snapshot copies the tables (ct_http_host.snapshot).
 *
 * Reached through the one exported object ct_http_ops (struct ct_http_ops,
 * core/plugin.h), which the shim looks up in libcontend-report.so. Not
 * thread-safe: one owner thread. Not async-signal-safe. Allocates. */
#ifndef CT_REPORT_HTTP_H
#define CT_REPORT_HTTP_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/compiler.h"
#include "../core/plugin.h"
#include "../core/snapshot.h"

/* Limits, each with its reason. */
/* Go's http.Server allows 1 MiB of headers; pprof clients send < 1 KiB. */
#define CT_HTTP_MAX_HEAD 8192
/* POST /debug/pprof/symbol: "0x..+" per address, 20 bytes each; pprof
 * sends one request per mapping. */
#define CT_HTTP_MAX_BODY (1024 * 1024)
/* From accept to the last byte of the request: slow clients lose. */
#define CT_HTTP_READ_TIMEOUT_MS 5000
/* A response the client does not read for this long is abandoned. */
#define CT_HTTP_WRITE_TIMEOUT_MS 10000
/* After the response: read and discard what the client still sends
 * before closing, so the close does not reset the connection under an
 * unread response. */
#define CT_HTTP_LINGER_MS 1000
/* CT_HTTP_MAX_CONNS, CT_HTTP_MAX_CLOSING and CT_HTTP_MAX_POLLFDS: in
 * core/plugin.h, since the host sizes its poll array with them. */
/* ?seconds=N requests waiting at once: each keeps a copy of one table. */
#define CT_HTTP_MAX_DELTAS 4
/* accept() failing for want of descriptors (EMFILE) pauses accepting
 * this long instead of spinning on a listener that stays ready. */
#define CT_HTTP_ACCEPT_PAUSE_MS 100
/* Longest ?seconds=N, as if the server had a 1 h WriteTimeout. */
#define CT_HTTP_MAX_SECONDS 3600

/* The server; struct ct_http_host and struct ct_http_ops are the shim's
 * interface (core/plugin.h). */
CT_EXPORT extern const struct ct_http_ops ct_http_ops;

/* ---- internals shared by http.c and http_pprof.c (and unit tests) ---- */

struct ct_http_req {
	char method[8];       /* "GET" or "POST" */
	char path[1024];      /* percent-decoded */
	char query[2048];     /* raw, without '?' */
	/* Header values as sent, for ct_http_check_sender and the sampling
	 * controls; has_* tells an absent header from an empty one. */
	char host[256];
	char origin[256];
	char fetch_site[32];  /* Sec-Fetch-Site */
	bool has_host, has_origin, has_fetch_site;
	const uint8_t *body;  /* POST body (not NUL-terminated) */
	size_t bodylen;
};

struct ct_http_resp {
	int status;
	const char *ctype;        /* Content-Type, NULL = none */
	char disposition[128];    /* Content-Disposition, "" = none */
	char location[128];       /* Location, "" = none */
	char extra[512];          /* more header lines, each ending in "\r\n" */
	uint8_t *body;            /* malloc'ed, owned by the response */
	size_t bodylen;
};

/* A request that arrived whole: fills resp and returns 0, or (only when
 * may_defer) returns CT_HTTP_DEFER with *wait_ns set: the server holds
 * the request that long (?seconds=N) and then calls ct_http_finish with
 * *state, the handler's own per-request state, which it frees with
 * ct_http_state_free if the client leaves first. */
#define CT_HTTP_DEFER 1
int ct_http_handle(const struct ct_http_host *host, const struct ct_http_req *req,
		   struct ct_http_resp *resp, bool may_defer, void **state, int64_t *wait_ns);
void ct_http_finish(const struct ct_http_host *host, void *state, struct ct_http_resp *resp);
void ct_http_state_free(void *state);

/* Answers status with Go's serveError shape: text/plain, X-Go-Pprof: 1,
 * body msg + "\n". */
void ct_http_error(struct ct_http_resp *resp, int status, const char *msg);

/* The first value of key in a raw query, percent-decoded ('+' = space);
 * false if absent. */
bool ct_http_query(const char *query, const char *key, char *val, size_t vallen);

/* Parses a request head (request line and headers, up to and including
 * the blank line) of len bytes. On success fills req (without the body),
 * *content_length (0 if none) and *expect_continue, and returns 0;
 * otherwise the HTTP status to refuse it with (400, 405, 413, 414, 501,
 * 505) and, in *why, a one-line reason for the client. Host, Origin or
 * Sec-Fetch-Site sent twice, or too long to keep, is a 400. */
int ct_http_parse_head(const char *head, size_t len, struct ct_http_req *req,
		       size_t *content_length, bool *expect_continue, const char **why);

/* The local address a connection arrived on (getsockname of the accepted
 * socket): with a server bound to 0.0.0.0 or [::], the one address of
 * this machine the client named. IPv4-mapped IPv6 counts as IPv4. */
struct ct_http_local {
	int family; /* AF_INET, AF_INET6, or 0: unknown (only the loopback names pass) */
	uint8_t addr[16];
};

/* Who may talk to the server at all. Web pages can reach a loopback port
 * from any browser on the machine: a page of another site by its own
 * requests (its Origin names that site) and, by DNS rebinding, as if it
 * were the server's own origin (its Host then names the attacker's
 * domain). So a request is refused with 403 (and a one-line *why) when
 *  - its Host is not localhost, 127.0.0.1, [::1] or the literal of the
 *    address the connection arrived on (local), with or without a port:
 *    a browser always sends the name it resolved, so no rebound name
 *    passes; the port is not compared (an ssh -L tunnel changes it, and
 *    names are what rebinding forges). No Host at all passes: every
 *    browser sends one, HTTP/1.0 tools may not;
 *  - it has an Origin (browsers send one with every cross-origin request
 *    but simple GETs, and with every POST) that is not http:// plus the
 *    same host and port as Host, i.e. not the server's own pages.
 * Profile readers (go tool pprof, curl, Parca, Pyroscope) send Host
 * 127.0.0.1:PORT or localhost:PORT and no Origin, and pass.
 * Returns 0 or 403. Pure: thread-safe, does not allocate. */
int ct_http_check_sender(const struct ct_http_req *req, const struct ct_http_local *local,
			 const char **why);

#endif
