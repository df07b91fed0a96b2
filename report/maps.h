/* The executable mappings of the current process, as pprof Mappings.
 *
 * Read at dump time from /proc/self/maps, like Go's parseProcSelfMaps:
 * only mappings with 'x' permission, " (deleted)" trimmed from the path,
 * anonymous inode-0 fragments skipped, and each file's GNU build-id as
 * lowercase hex. The main executable is moved to mapping[0] because pprof
 * names the profile ("File: app") after mapping[0].
 *
 * Allocates; uses stdio and libelf. Not async-signal-safe. A struct
 * ct_maps is immutable once read, so concurrent lookups are safe.
 */
#ifndef CT_MAPS_H
#define CT_MAPS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ct_mapping {
	uint64_t start, limit; /* [start, limit) */
	uint64_t offset;       /* file offset of start */
	char *path;            /* "" when the mapping has no file name */
	char *build_id;        /* lowercase hex, "" when unknown */
};

struct ct_maps {
	struct ct_mapping *v; /* v[0] is the main executable when found */
	size_t n;
	uint32_t *by_addr;    /* indexes into v sorted by start, for lookups */
};

/* Reads /proc/self/maps into *maps (which must be zeroed or freed).
 * Returns 0 or a negative errno; on failure *maps is empty. */
int ct_maps_read(struct ct_maps *maps);

struct ct_snapshot;

/* ct_maps_read, taking the build-id of each object snap->dl_live lists
 * from there rather than from its file, and, when /proc/self/maps is closed to the process (after
 * a uid/gid change or PR_SET_DUMPABLE 0 on some kernels), the objects the
 * snapshot listed with dl_iterate_phdr (snap->dl_live: executable range,
 * path and the build-id from the note in memory). Returns as
 * ct_maps_read. */
int ct_maps_read_snap(struct ct_maps *maps, const struct ct_snapshot *snap);

/* Parses maps-format text from f; exe names the main executable (may be
 * NULL: no reordering). Build-ids are read from the named files, so the
 * text may describe another process. Returns 0 or a negative errno. */
int ct_maps_parse(struct ct_maps *maps, FILE *f, const char *exe);

/* The mapping containing addr, with its index in maps->v in *idx (may be
 * NULL), or NULL if none does. O(log n). */
const struct ct_mapping *ct_maps_find(const struct ct_maps *maps, uint64_t addr, size_t *idx);

/* Lowercase hex GNU build-id of the ELF file at path, in a malloc'd
 * string; "" (still malloc'd) when the file has none or cannot be read.
 * NULL only when out of memory. */
char *ct_maps_build_id(const char *path);

void ct_maps_free(struct ct_maps *maps);

#endif
