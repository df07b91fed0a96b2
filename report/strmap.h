/* A map from strings to indexes, for interning: the key is copied on
 * insertion and the first value put under a key stays. Used by the views
 * (cli/graph.c, node infos) and the goroutine delta (render_delta.c, the
 * merged tables), so that neither scans a table per lookup.
 *
 * Not thread-safe (one map per caller); allocates; not async-signal-safe.
 * A zeroed struct is an empty map. */
#ifndef CT_REPORT_STRMAP_H
#define CT_REPORT_STRMAP_H

#include <stddef.h>

struct ct_strmap {
	size_t cap, n;
	char **keys;
	size_t *vals;
};

/* *val gets key's value: 1 if it was there, 0 if key was put with newval,
 * -1 on allocation failure (the map unchanged). */
int ct_strmap_get(struct ct_strmap *m, const char *key, size_t newval, size_t *val);
void ct_strmap_free(struct ct_strmap *m);

#endif
