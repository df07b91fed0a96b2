/* A growable byte buffer for text output (the renderers, the HTTP
 * pages). Not thread-safe (one buffer per caller); allocates; not
 * async-signal-safe. */
#ifndef CT_REPORT_BUF_H
#define CT_REPORT_BUF_H

#include <stddef.h>
#include <stdint.h>

struct ct_buf {
	char *p;
	size_t len, cap;
	int err; /* sticky: -ENOMEM once an append failed */
};

__attribute__((format(printf, 2, 3))) void ct_buf_printf(struct ct_buf *b, const char *fmt, ...);
void ct_buf_add(struct ct_buf *b, const void *data, size_t len);
/* Takes the buffer: 0 with out and outlen set, or the sticky error. */
int ct_buf_take(struct ct_buf *b, uint8_t **out, size_t *outlen);
void ct_buf_free(struct ct_buf *b);

#endif
