/* ct_buf (buf.h): a growable text buffer with a sticky error, for the
 * renderers and the HTTP pages. */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
buf_reserve(struct ct_buf *b, size_t more)
{
	if (b->err)
		return b->err;
	if (b->len + more + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		return b->err = -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

void
ct_buf_add(struct ct_buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len))
		return;
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = 0;
}

void
ct_buf_printf(struct ct_buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		ct_buf_add(b, small, (size_t)n);
		return;
	}
	if (buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

int
ct_buf_take(struct ct_buf *b, uint8_t **out, size_t *outlen)
{
	if (!b->err)
		buf_reserve(b, 0);
	if (b->err) {
		int err = b->err;
		ct_buf_free(b);
		return err;
	}
	*out = (uint8_t *)b->p;
	*outlen = b->len;
	memset(b, 0, sizeof(*b));
	return 0;
}

void
ct_buf_free(struct ct_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static ssize_t
buf_cookie_write(void *cookie, const char *data, size_t len)
{
	struct ct_buf *b = cookie;
	ct_buf_add(b, data, len);
	return b->err ? -1 : (ssize_t)len;
}

FILE *
ct_buf_fopen(struct ct_buf *b, char *iobuf, size_t iolen)
{
	FILE *f = fopencookie(b, "w", (cookie_io_functions_t){.write = buf_cookie_write});
	if (f && setvbuf(f, iobuf, _IOFBF, iolen) != 0) {
		fclose(f);
		errno = ENOMEM;
		return NULL;
	}
	return f;
}
