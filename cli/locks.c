/* `contend locks PATH`: the per-lock table (report/locktable.h) of a
 * profile directory (its locks.pb.gz), a locks.pb.gz file, or a live
 * process serving CONTEND_HTTP (http://host:port: /debug/pprof/locks).
 * Bad input: one line on stderr, exit 1. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "../report/names.h"
#include "cli.h"
#include "../report/locktable.h"
#include "../report/pprof_read.h"

/* Largest HTTP response accepted. */
#define LK_HTTP_MAX (64u << 20)
#define LK_HTTP_TIMEOUT_S 30

/* host, port and path of http://host:port[/path] (path defaults to
 * /debug/pprof/locks, port to 80); 0, or -1 with a reason in err. */
static int
lk_url_parse(const char *url, char host[256], char port[16], char path[1024], char *err,
	     size_t errlen)
{
	const char *p = url + strlen("http://"), *slash = strchr(p, '/');
	size_t hl = slash ? (size_t)(slash - p) : strlen(p);
	snprintf(port, 16, "80");
	snprintf(path, 1024, "/debug/pprof/locks");
	if (hl == 0 || hl >= 256) {
		snprintf(err, errlen, "invalid URL '%s' (expected http://host:port)", url);
		return -1;
	}
	memcpy(host, p, hl);
	host[hl] = 0;
	if (slash && slash[1])
		snprintf(path, 1024, "%s", slash);
	char *colon = host[0] == '[' ? strstr(host, "]:") : strrchr(host, ':');
	if (colon) {
		if (host[0] == '[')
			colon++;
		snprintf(port, 16, "%s", colon + 1);
		*colon = 0;
	}
	if (host[0] == '[') { /* [::1] */
		memmove(host, host + 1, strlen(host));
		char *e = strchr(host, ']');
		if (e)
			*e = 0;
	}
	return 0;
}

/* A socket connected to host:port, with LK_HTTP_TIMEOUT_S on its reads
 * and writes; -1 with a reason in err. */
static int
lk_connect(const char *host, const char *port, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	int gai = getaddrinfo(host, port, &hints, &ai);
	if (gai != 0) {
		snprintf(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(gai));
		return -1;
	}
	int fd = -1;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		struct timeval tv = {LK_HTTP_TIMEOUT_S, 0};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		snprintf(err, errlen, "cannot connect to %s:%s: %s", host, port, strerror(errno));
	return fd;
}

/* GET http://host:port[/path] (path defaults to /debug/pprof/locks): the
 * body of a 200 response. 0, or -1 with a reason in err. */
static int
lk_http_get(const char *url, uint8_t **body, size_t *bodylen, char *err, size_t errlen)
{
	char host[256], port[16], path[1024];
	if (lk_url_parse(url, host, port, path, err, errlen) < 0)
		return -1;
	int fd = lk_connect(host, port, err, errlen);
	if (fd < 0)
		return -1;
	char req[1400];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.0\r\nHost: %s:%s\r\nUser-Agent: contend\r\n\r\n", path, host,
			 port);
	if (write(fd, req, (size_t)n) != n) {
		snprintf(err, errlen, "cannot send the request to %s:%s: %s", host, port,
			 strerror(errno));
		close(fd);
		return -1;
	}
	char *resp;
	size_t len;
	/* A failed read ends the response (a reset after it, a timeout):
	 * what came is used, and its error said if nothing came. */
	int rr = ct_cli_read_all(fd, LK_HTTP_MAX, &resp, &len);
	int saved = errno;
	uint8_t *buf = (uint8_t *)resp;
	close(fd);
	if (rr == -EFBIG || rr == -ENOMEM) {
		snprintf(err, errlen, "response from %s:%s too large", host, port);
		return -1;
	}
	uint8_t *hdr_end = memmem(buf, len, "\r\n\r\n", 4);
	int status = 0;
	if (!hdr_end || sscanf((char *)buf, "HTTP/%*s %d", &status) != 1) {
		snprintf(err, errlen, "no HTTP response from %s:%s%s%s", host, port,
			 len ? "" : ": ", len ? "" : strerror(saved));
		free(buf);
		return -1;
	}
	uint8_t *b = hdr_end + 4;
	size_t blen = len - (size_t)(b - buf);
	if (status != 200) {
		/* The server's one-line reason, if it sent one. */
		int l = (int)(blen < 200 ? blen : 200);
		while (l > 0 && (b[l - 1] == '\n' || b[l - 1] == '\r'))
			l--;
		snprintf(err, errlen, "%s:%s answered %d%s%.*s", host, port, status, l ? ": " : "", l,
			 (char *)b);
		free(buf);
		return -1;
	}
	memmove(buf, b, blen);
	*body = buf;
	*bodylen = blen;
	return 0;
}

/* Prints p's lock table on stdout, rendered into memory first: nothing
 * half-printed on failure. 0, or -1 with a reason in err. */
static int
lk_print(const struct ct_profile *p, bool json, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	int r = f ? ct_locktable_print(f, p, json, err, errlen) : -1;
	if (!f)
		snprintf(err, errlen, "out of memory");
	if (f && fclose(f) != 0 && r == 0) {
		r = -1;
		snprintf(err, errlen, "out of memory");
	}
	if (r == 0)
		fwrite(buf, 1, blen, stdout);
	free(buf);
	return r;
}

int
ct_cli_locks_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool json = false;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			ct_main_usage("locks", stdout);
			return 0;
		default:
			return ct_cli_bad_usage("locks", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return ct_cli_bad_usage("locks", "expected one profile directory, locks.pb.gz file "
						 "or http://host:port");
	const char *path = argv[optind];
	char err[512], file[4096];
	uint8_t *data = NULL;
	size_t len = 0;
	struct ct_profile *p = NULL;
	int r;
	if (!strncmp(path, "http://", 7)) {
		r = lk_http_get(path, &data, &len, err, sizeof(err));
	} else {
		struct stat st;
		if (stat(path, &st) != 0) {
			fprintf(stderr, "contend locks: %s: %s\n", path, strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			snprintf(file, sizeof(file), "%s/" CT_NAME_LOCKS CT_EXT_PB, path);
			if (access(file, F_OK) != 0) {
				fprintf(stderr, "contend locks: %s: no " CT_NAME_LOCKS CT_EXT_PB
						" (no lock contention "
						"was recorded, or not a libcontend profile directory)\n",
					path);
				return 1;
			}
			path = file;
		}
		r = ct_profile_read_file(path, &data, &len, err, sizeof(err));
	}
	if (r == 0)
		r = ct_profile_parse(data, len, &p, err, sizeof(err));
	if (r == 0)
		r = lk_print(p, json, err, sizeof(err));
	ct_profile_free(p);
	free(data);
	if (r != 0) {
		fprintf(stderr, "contend locks: %s: %s\n", path, err);
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
