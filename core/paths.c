/* The room of paths.h. */
#include <stdint.h>
#include <string.h>

#include "compiler.h"
#include "paths.h"

/* The paths kept begin where the rest of their page holds at least
 * CT_PATHS_DENSE bytes (they usually fit there: one page for all); no
 * page alignment, which would start .bss on a page of its own. */
#define CT_PATHS_DENSE 1024
static char ct_paths[CT_PATHS_ROOM + CT_PATHS_DENSE] __attribute__((aligned(64)));
static size_t ct_paths_used CT_INIT_HOT;

char *
ct_paths_next(size_t n)
{
	if (ct_paths_used == 0) {
		size_t left = 4096 - ((uintptr_t)ct_paths & 4095);
		if (left < CT_PATHS_DENSE)
			ct_paths_used = left;
	}
	return n <= sizeof(ct_paths) - ct_paths_used ? ct_paths + ct_paths_used : NULL;
}

char *
ct_paths_take(size_t n)
{
	char *p = ct_paths_next(n);
	if (p)
		ct_paths_used += n;
	return p;
}

const char *
ct_paths_keep(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = ct_paths_take(n);
	if (p)
		memcpy(p, s, n);
	return p;
}
