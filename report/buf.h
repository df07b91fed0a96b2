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

/* A stdio stream whose output goes into b, through iobuf (iolen bytes)
 * as its buffer: fclose() it, then ct_buf_take. Unlike open_memstream,
 * every byte of it but the FILE itself comes from our allocation calls
 * (the scratch heap in a fork child's exit dump, core/scratch.h):
 * open_memstream's 8 KiB first buffer, a large request, made glibc merge
 * every fast-bin chunk of the heap the child shares with its parent (a
 * PostgreSQL backend: a copy-on-write fault for each page they lie in).
 * NULL with errno when the C library cannot make the stream. */
#include <stdio.h>
FILE *ct_buf_fopen(struct ct_buf *b, char *iobuf, size_t iolen);

#endif
