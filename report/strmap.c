/* ct_strmap (strmap.h): open addressing on an FNV-1a hash, grown at half
 * full. */
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int
strmap_grow(struct ct_strmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 256;
	char **nk = calloc(ncap, sizeof(*nk));
	size_t *nv = calloc(ncap, sizeof(*nv));
	if (!nk || !nv) {
		free(nk);
		free(nv);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		size_t j = hash_str(m->keys[i]) & (ncap - 1);
		while (nk[j])
			j = (j + 1) & (ncap - 1);
		nk[j] = m->keys[i];
		nv[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = nk;
	m->vals = nv;
	m->cap = ncap;
	return 0;
}

int
ct_strmap_get(struct ct_strmap *m, const char *key, size_t newval, size_t *val)
{
	if ((m->n + 1) * 2 > m->cap && strmap_grow(m) < 0)
		return -1;
	size_t j = hash_str(key) & (m->cap - 1);
	while (m->keys[j]) {
		if (!strcmp(m->keys[j], key)) {
			*val = m->vals[j];
			return 1;
		}
		j = (j + 1) & (m->cap - 1);
	}
	if (!(m->keys[j] = strdup(key)))
		return -1;
	m->vals[j] = newval;
	m->n++;
	*val = newval;
	return 0;
}

void
ct_strmap_free(struct ct_strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
}
