/* The HTTP server's sockets and connection states (see http.h); the
 * endpoints are in http_pprof.c. One request per connection, everything
 * non-blocking, every state with a deadline. Never touches a descriptor
 * it does not own: each one's inode is remembered and checked before use,
 * in case the program closed it and the number now names its own file. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

enum conn_state {
	C_FREE = 0,
	C_READ,   /* receiving the request */
	C_WAIT,   /* ?seconds=N: holding the request */
	C_WRITE,  /* sending the response */
	C_LINGER, /* response sent, write side shut: draining until EOF */
};

struct conn {
	int fd;
	enum conn_state st;
	bool counted;  /* one of the CT_HTTP_MAX_CONNS served connections */
	bool deferred; /* one of the CT_HTTP_MAX_DELTAS held requests */
	bool cont_sent;
	dev_t dev;
	ino_t ino;
	struct ct_http_local local; /* the address the client connected to */
	int64_t deadline;
	char *in;      /* request bytes */
	size_t inlen, incap;
	size_t headlen; /* 0 until the head is complete */
	size_t need;    /* head + body length once known */
	void *state;    /* handler state of a held request */
	uint8_t *out;   /* response bytes, or the static 503 */
	size_t outlen, outoff;
	bool out_static;
};

#define CT_HTTP_SLOTS (CT_HTTP_MAX_CONNS + CT_HTTP_MAX_CLOSING)

struct ct_http {
	struct ct_http_host host;
	int lfd;
	dev_t ldev;
	ino_t lino;
	int nactive, ndeferred;
	/* Out of descriptors: the pending connection stays ready, so stop
	 * polling the listener for a while rather than spin on it. */
	int64_t accept_paused_until;
	struct conn c[CT_HTTP_SLOTS];
	/* pollfd index -> slot (-1: the listening socket), as last filled */
	int map[CT_HTTP_MAX_POLLFDS];
	int nmap;
};

static const char resp_503[] =
	"HTTP/1.1 503 Service Unavailable\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"X-Content-Type-Options: nosniff\r\n"
	"Content-Length: 56\r\n"
	"Connection: close\r\n"
	"\r\n"
	"too many connections to the libcontend profile server\n\n";

static int64_t
ms_ns(int64_t ms)
{
	return ms * 1000000;
}

static bool
fd_is(int fd, dev_t dev, ino_t ino)
{
	struct stat st;
	return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

static bool
conn_fd_ok(const struct conn *c)
{
	return fd_is(c->fd, c->dev, c->ino);
}

static void
conn_free(struct ct_http *h, struct conn *c)
{
	/* Close only what is still ours; a number the program reused is
	 * left alone (and our socket leaks, which is the lesser harm). */
	if (c->fd >= 0 && conn_fd_ok(c))
		close(c->fd);
	if (c->counted)
		h->nactive--;
	if (c->deferred)
		h->ndeferred--;
	if (c->state)
		ct_http_state_free(c->state);
	free(c->in);
	if (!c->out_static)
		free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->st = C_FREE;
}

/* Done with the request: from now on the connection only drains. */
static void
conn_release(struct ct_http *h, struct conn *c)
{
	if (c->counted) {
		h->nactive--;
		c->counted = false;
	}
	if (c->deferred) {
		h->ndeferred--;
		c->deferred = false;
	}
	free(c->in);
	c->in = NULL;
	c->inlen = c->incap = 0;
}

static const char *
reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 301: return "Moved Permanently";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Request Entity Too Large";
	case 414: return "Request URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* RFC 7231 IMF-fixdate, in English whatever the program's locale. */
static void
http_date(char *buf, size_t len)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char mons[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
		 mons[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Serializes resp into c->out and frees its body. */
static void
conn_respond(struct ct_http *h, struct conn *c, struct ct_http_resp *resp, int64_t now)
{
	char head[2048], date[64];
	http_date(date, sizeof(date));
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\n"
			 "Date: %s\r\n"
			 "%s%s%s"
			 "Content-Length: %zu\r\n"
			 "Connection: close\r\n"
			 "X-Content-Type-Options: nosniff\r\n"
			 "%s%s%s"
			 "%s%s%s"
			 "%s"
			 "\r\n",
			 resp->status, reason(resp->status), date,
			 resp->ctype ? "Content-Type: " : "", resp->ctype ? resp->ctype : "",
			 resp->ctype ? "\r\n" : "", resp->bodylen,
			 resp->disposition[0] ? "Content-Disposition: " : "", resp->disposition,
			 resp->disposition[0] ? "\r\n" : "",
			 resp->location[0] ? "Location: " : "", resp->location,
			 resp->location[0] ? "\r\n" : "", resp->extra);
	if (n < 0 || (size_t)n >= sizeof(head))
		n = 0;
	uint8_t *out = malloc((size_t)n + resp->bodylen + 1);
	conn_release(h, c);
	if (!out || n == 0) {
		free(out);
		free(resp->body);
		resp->body = NULL;
		/* Nothing to say: close without a word. */
		c->out = NULL;
		c->out_static = false;
		c->outlen = 0;
	} else {
		memcpy(out, head, (size_t)n);
		if (resp->bodylen)
			memcpy(out + n, resp->body, resp->bodylen);
		free(resp->body);
		resp->body = NULL;
		c->out = out;
		c->outlen = (size_t)n + resp->bodylen;
	}
	c->outoff = 0;
	c->st = C_WRITE;
	c->deadline = now + ms_ns(CT_HTTP_WRITE_TIMEOUT_MS);
}

static void
conn_error(struct ct_http *h, struct conn *c, int status, const char *msg, int64_t now)
{
	struct ct_http_resp resp;
	memset(&resp, 0, sizeof(resp));
	ct_http_error(&resp, status, msg);
	if (status == 405)
		snprintf(resp.extra, sizeof(resp.extra), "Allow: GET, POST\r\n");
	conn_respond(h, c, &resp, now);
}

/* The head is complete at the first empty line; its length, or 0. */
static size_t
head_end(const char *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return i + 2;
		if (p[i + 1] == '\r' && i + 2 < len && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static void
conn_dispatch(struct ct_http *h, struct conn *c, struct ct_http_req *req, int64_t now)
{
	struct ct_http_resp resp;
	memset(&resp, 0, sizeof(resp));
	void *state = NULL;
	int64_t wait = 0;
	bool may_defer = h->ndeferred < CT_HTTP_MAX_DELTAS;
	int r = ct_http_handle(&h->host, req, &resp, may_defer, &state, &wait);
	if (r == CT_HTTP_DEFER) {
		free(c->in);
		c->in = NULL;
		c->inlen = c->incap = 0;
		c->state = state;
		c->deferred = true;
		h->ndeferred++;
		c->st = C_WAIT;
		c->deadline = now + wait;
		return;
	}
	conn_respond(h, c, &resp, now);
}

/* The request is whole (head and body): parse and answer it. */
static void
conn_request(struct ct_http *h, struct conn *c, int64_t now)
{
	struct ct_http_req *req = calloc(1, sizeof(*req));
	size_t clen = 0;
	bool cont = false;
	if (!req) {
		conn_error(h, c, 500, "out of memory", now);
		return;
	}
	const char *why = "malformed request";
	int status = ct_http_parse_head(c->in, c->headlen, req, &clen, &cont, &why);
	if (status) {
		conn_error(h, c, status, why, now);
	} else {
		req->body = (const uint8_t *)c->in + c->headlen;
		req->bodylen = clen;
		conn_dispatch(h, c, req, now);
	}
	free(req);
}

static void
conn_send_continue(struct conn *c)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	c->cont_sent = true;
	/* Best effort: a client that does not get it sends the body after
	 * its own short wait anyway (curl: 1 s). */
	if (conn_fd_ok(c))
		(void)send(c->fd, cont, sizeof(cont) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* One recv (send false) or send of up to len bytes at buf on c, again
 * after EINTR: the bytes moved, or -1 when the connection must wait for
 * poll (EAGAIN) or is gone (then freed: the client went away, or a
 * reset, and nobody is left to answer). */
static ssize_t
conn_io(struct ct_http *h, struct conn *c, bool send_, void *buf, size_t len)
{
	ssize_t n;
	do
		n = send_ ? send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT)
			  : recv(c->fd, buf, len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -1;
	if (n <= 0) {
		conn_free(h, c);
		return -1;
	}
	return n;
}

static void
conn_read(struct ct_http *h, struct conn *c, int64_t now)
{
	for (;;) {
		if (c->inlen == c->incap) {
			if (!c->headlen) {
				/* No blank line within the limit. */
				bool line = memchr(c->in, '\n', c->inlen) != NULL;
				conn_error(h, c, line ? 431 : 414,
					   line ? "request header fields too large" : "request line too long",
					   now);
				return;
			}
			break; /* cannot happen: incap == need once the head is known */
		}
		ssize_t n = conn_io(h, c, false, c->in + c->inlen, c->incap - c->inlen);
		if (n < 0)
			return;
		c->inlen += (size_t)n;
		if (!c->headlen) {
			size_t end = head_end(c->in, c->inlen);
			if (!end)
				continue;
			c->headlen = end;
			struct ct_http_req *req = calloc(1, sizeof(*req));
			size_t clen = 0;
			bool cont = false;
			const char *why = "out of memory";
			int status = req ? ct_http_parse_head(c->in, end, req, &clen, &cont, &why) : 500;
			/* Before any body is read: a refused sender gets nothing
			 * more from the server than the refusal. */
			if (!status)
				status = ct_http_check_sender(req, &c->local, &why);
			free(req);
			if (status) {
				conn_error(h, c, status, why, now);
				return;
			}
			c->need = end + clen;
			if (c->need > c->incap) {
				char *p = realloc(c->in, c->need);
				if (!p) {
					conn_error(h, c, 500, "out of memory", now);
					return;
				}
				c->in = p;
				c->incap = c->need;
			}
			if (cont && c->inlen < c->need && !c->cont_sent)
				conn_send_continue(c);
		}
		if (c->inlen >= c->need) {
			conn_request(h, c, now);
			return;
		}
	}
}

static void
conn_write(struct ct_http *h, struct conn *c, int64_t now)
{
	while (c->outoff < c->outlen) {
		ssize_t n = conn_io(h, c, true, c->out + c->outoff, c->outlen - c->outoff);
		if (n < 0)
			return;
		c->outoff += (size_t)n;
		c->deadline = now + ms_ns(CT_HTTP_WRITE_TIMEOUT_MS);
	}
	if (!c->out_static)
		free(c->out);
	c->out = NULL;
	c->out_static = false;
	c->outlen = c->outoff = 0;
	shutdown(c->fd, SHUT_WR);
	c->st = C_LINGER;
	c->deadline = now + ms_ns(CT_HTTP_LINGER_MS);
}

static void
conn_drain(struct ct_http *h, struct conn *c)
{
	char scratch[4096];
	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0)
			break;
	}
	conn_free(h, c);
}

static struct conn *
slot_get(struct ct_http *h)
{
	for (int i = 0; i < CT_HTTP_SLOTS; i++)
		if (h->c[i].st == C_FREE)
			return &h->c[i];
	return NULL;
}

/* Where the client reached us: with a wildcard bind, the one address
 * whose literal a Host header may name. Unknown (family 0) if the socket
 * will not say, which leaves only the loopback names. */
static void
local_of(int fd, struct ct_http_local *l)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	memset(l, 0, sizeof(*l));
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		l->family = AF_INET;
		memcpy(l->addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	} else if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			l->family = AF_INET;
			memcpy(l->addr, a->s6_addr + 12, 4);
		} else {
			l->family = AF_INET6;
			memcpy(l->addr, a->s6_addr, 16);
		}
	}
}

static void
http_accept(struct ct_http *h, int64_t now)
{
	for (int i = 0; i < 256; i++) {
		/* Through the shim when it can: listed for fork children to
		 * close (ct_http_host.accept). */
		int fd = h->host.accept ? h->host.accept(h->lfd)
				       : accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				h->accept_paused_until = now + ms_ns(CT_HTTP_ACCEPT_PAUSE_MS);
			return;
		}
		struct stat st;
		if (fstat(fd, &st) < 0) {
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct conn *c = slot_get(h);
		if (!c) {
			/* Even the refusal pool is full: a last word, then close. */
			(void)send(fd, resp_503, sizeof(resp_503) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			char scratch[1024];
			(void)recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->dev = st.st_dev;
		c->ino = st.st_ino;
		local_of(fd, &c->local);
		if (h->nactive >= CT_HTTP_MAX_CONNS) {
			c->out = (uint8_t *)resp_503;
			c->out_static = true;
			c->outlen = sizeof(resp_503) - 1;
			c->st = C_WRITE;
			c->deadline = now + ms_ns(CT_HTTP_LINGER_MS);
			conn_write(h, c, now);
			continue;
		}
		c->in = malloc(CT_HTTP_MAX_HEAD);
		if (!c->in) {
			close(fd);
			memset(c, 0, sizeof(*c));
			c->fd = -1;
			continue;
		}
		c->incap = CT_HTTP_MAX_HEAD;
		c->counted = true;
		h->nactive++;
		c->st = C_READ;
		c->deadline = now + ms_ns(CT_HTTP_READ_TIMEOUT_MS);
	}
}

/* ---- ops -------------------------------------------------------------- */

static int
http_open(int lfd, dev_t ldev, ino_t lino, const struct ct_http_host *host, struct ct_http **out,
	  char *errbuf, size_t errlen)
{
	*out = NULL;
	/* The number may be the program's by now: it swept its descriptors,
	 * or dup2'd a socket of its own onto ours. Serving it would accept
	 * the program's connections, and closing it would close its file. */
	if (!fd_is(lfd, ldev, lino)) {
		snprintf(errbuf, errlen, "the program closed the listening socket");
		return -EBADF;
	}
	struct ct_http *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(errbuf, errlen, "out of memory");
		return -ENOMEM;
	}
	h->host = *host;
	h->lfd = lfd;
	h->ldev = ldev;
	h->lino = lino;
	for (int i = 0; i < CT_HTTP_SLOTS; i++)
		h->c[i].fd = -1;
	*out = h;
	return 0;
}

static int
http_pollfds(struct ct_http *h, struct pollfd *fds, int max, int64_t now, int64_t *deadline)
{
	int n = 0;
	h->nmap = 0;
	if (h->lfd >= 0 && !fd_is(h->lfd, h->ldev, h->lino))
		h->lfd = -1; /* the program closed it: stop listening */
	if (h->lfd >= 0 && n < max && now < h->accept_paused_until) {
		if (h->accept_paused_until < *deadline)
			*deadline = h->accept_paused_until;
	} else if (h->lfd >= 0 && n < max) {
		fds[n] = (struct pollfd){.fd = h->lfd, .events = POLLIN};
		h->map[n++] = -1;
	}
	for (int i = 0; i < CT_HTTP_SLOTS && n < max; i++) {
		struct conn *c = &h->c[i];
		short ev;
		switch (c->st) {
		case C_FREE:
			continue;
		case C_READ:
		case C_WAIT: /* POLLIN notices a client that gives up */
		case C_LINGER:
			ev = POLLIN;
			break;
		case C_WRITE:
			ev = POLLOUT;
			break;
		default:
			continue;
		}
		if (c->deadline < *deadline)
			*deadline = c->deadline;
		fds[n] = (struct pollfd){.fd = c->fd, .events = ev};
		h->map[n++] = i;
	}
	h->nmap = n;
	return n;
}

static void
conn_timeout(struct ct_http *h, struct conn *c, int64_t now)
{
	switch (c->st) {
	case C_READ:
		/* Slow or stalled client: no answer, as Go's ReadTimeout. */
		conn_free(h, c);
		break;
	case C_WAIT: {
		struct ct_http_resp resp;
		memset(&resp, 0, sizeof(resp));
		void *state = c->state;
		c->state = NULL;
		ct_http_finish(&h->host, state, &resp);
		conn_respond(h, c, &resp, now);
		conn_write(h, c, now);
		break;
	}
	case C_WRITE:
	case C_LINGER:
		conn_free(h, c);
		break;
	default:
		break;
	}
}

static void
http_step(struct ct_http *h, const struct pollfd *fds, int n, int64_t now)
{
	bool accept_ready = false;
	for (int k = 0; k < n && k < h->nmap; k++) {
		int i = h->map[k];
		if (i < 0) {
			accept_ready = fds[k].revents != 0;
			continue;
		}
		struct conn *c = &h->c[i];
		if (c->st == C_FREE || c->fd != fds[k].fd)
			continue;
		if (!conn_fd_ok(c)) {
			conn_free(h, c);
			continue;
		}
		short rev = fds[k].revents;
		if (rev & POLLNVAL) {
			conn_free(h, c);
			continue;
		}
		if (!rev)
			continue;
		switch (c->st) {
		case C_READ:
			conn_read(h, c, now);
			if (c->st == C_WRITE)
				conn_write(h, c, now); /* most answers fit the socket buffer */
			break;
		case C_WAIT: {
			char b;
			ssize_t r = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
				       errno != EINTR))
				conn_free(h, c); /* the client gave up */
			else if (r > 0) {
				char scratch[512];
				(void)recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
			}
			break;
		}
		case C_WRITE:
			conn_write(h, c, now);
			break;
		case C_LINGER:
			conn_drain(h, c);
			break;
		default:
			break;
		}
	}
	/* Time-outs, including those of requests that arrived whole above
	 * and are due now. */
	for (int i = 0; i < CT_HTTP_SLOTS; i++) {
		struct conn *c = &h->c[i];
		if (c->st != C_FREE && c->deadline <= now)
			conn_timeout(h, c, now);
	}
	if (accept_ready && h->lfd >= 0 && fd_is(h->lfd, h->ldev, h->lino))
		http_accept(h, now);
}

static void
http_close(struct ct_http *h)
{
	if (!h)
		return;
	for (int i = 0; i < CT_HTTP_SLOTS; i++)
		if (h->c[i].st != C_FREE)
			conn_free(h, &h->c[i]);
	if (h->lfd >= 0 && fd_is(h->lfd, h->ldev, h->lino))
		close(h->lfd);
	free(h);
}

const struct ct_http_ops ct_http_ops = {
	.open = http_open,
	.pollfds = http_pollfds,
	.step = http_step,
	.close = http_close,
};
