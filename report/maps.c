/* /proc/self/maps reader (see maps.h). Keeps no global state besides
 * libelf's version handshake. Never reads the build-id of a file that
 * replaced a deleted mapping: that would be the new file's id. */
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/snapshot.h"
#include "maps.h"
#include "vec.h"

#define CT_MAPS_DELETED " (deleted)"

/* Strips the kernel's " (deleted)" marker in place; true if it was there. */
static bool
maps_trim_deleted(char *path)
{
	size_t n = strlen(path), d = strlen(CT_MAPS_DELETED);

	if (n < d || strcmp(path + n - d, CT_MAPS_DELETED) != 0)
		return false;
	path[n - d] = '\0';
	return true;
}

static char *
maps_hex(const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

char *
ct_maps_build_id(const char *path)
{
	const void *id = NULL;
	ssize_t n = -1;
	Elf *elf = NULL;
	char *hex;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && elf_version(EV_CURRENT) != EV_NONE)
		elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf)
		n = dwelf_elf_gnu_build_id(elf, &id);
	/* id points into elf's mapping: copy it out before elf_end. */
	hex = n > 0 ? maps_hex(id, (size_t)n) : strdup("");
	elf_end(elf);
	if (fd >= 0)
		close(fd);
	return hex;
}

/* Reads a number in base 16 or 10 at *p (at least one digit), moving *p
 * past it. */
static bool
maps_num(const char **p, int base, unsigned long long *v)
{
	const char *s = *p;
	unsigned long long x = 0;

	for (;; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else
			break;
		x = x * (unsigned)base + d;
	}
	if (s == *p)
		return false;
	*v = x;
	*p = s;
	return true;
}

/* The kernel's own layout of a maps line ("start-limit perms offset
 * major:minor inode   path"), read without sscanf: about a tenth of
 * the instructions, which a fork child writing at exit pays for every
 * line. False when the line is laid out otherwise (the caller then
 * falls back to sscanf). */
static bool
maps_scan_line(const char *line, unsigned long long *start, unsigned long long *limit,
	       char perms[8], unsigned long long *offset, unsigned long long *inode, int *pos)
{
	const char *p = line;
	unsigned long long dev;
	size_t n = 0;

	if (!maps_num(&p, 16, start) || *p++ != '-' || !maps_num(&p, 16, limit) || *p++ != ' ')
		return false;
	while (*p && *p != ' ' && n < 7)
		perms[n++] = *p++;
	perms[n] = '\0';
	if (n == 0 || *p++ != ' ' || !maps_num(&p, 16, offset) || *p++ != ' ' ||
	    !maps_num(&p, 16, &dev) || *p++ != ':' || !maps_num(&p, 16, &dev) || *p++ != ' ' ||
	    !maps_num(&p, 10, inode))
		return false;
	if (*p != ' ' && *p != '\n' && *p != '\0')
		return false;
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	*pos = (int)(p - line);
	return true;
}

/* Parses one maps line into m (path and build_id left NULL). Returns 1 to
 * keep it, 0 to skip it, -EINVAL if malformed. *path points into line. */
static int
maps_parse_line(char *line, struct ct_mapping *m, char **path, bool *deleted)
{
	unsigned long long start, limit, offset, inode;
	char perms[8];
	int pos = -1;
	size_t len;

	if (!maps_scan_line(line, &start, &limit, perms, &offset, &inode, &pos) &&
	    sscanf(line, "%llx-%llx %7s %llx %*x:%*x %llu %n", &start, &limit, perms,
		   &offset, &inode, &pos) < 5)
		return -EINVAL;
	*path = pos >= 0 ? line + pos : line + strlen(line);
	len = strlen(*path);
	if (len && (*path)[len - 1] == '\n')
		(*path)[len - 1] = '\0';
	*deleted = maps_trim_deleted(*path);
	m->start = start;
	m->limit = limit;
	m->offset = offset;
	if (strlen(perms) < 3 || perms[2] != 'x')
		return 0;
	/* Huge-page text shows its unpopulated tail as an anonymous inode-0
	 * fragment; [vdso] is inode 0 too but has a name, so keep that. */
	if (inode == 0 && **path == '\0')
		return 0;
	return 1;
}

/* The objects the snapshot listed (dl_iterate_phdr, build-ids from their
 * notes in memory), or NULL: what ct_maps_read_snap knows without
 * opening a file. */
struct maps_known {
	const struct ct_dl_gone *v;
	size_t n;
};

/* A mapping of the same file earlier in v already knows the build-id, or
 * the loaded object of that path whose executable range holds the
 * mapping does (no file is opened: a fork child writing at exit would
 * otherwise open and map every object of the process again); else the
 * file's own note. */
static char *
maps_build_id_for(const struct ct_maps *maps, const struct ct_mapping *m, bool deleted,
		  bool self, const struct maps_known *known)
{
	char buf[64];

	for (size_t i = 0; i < maps->n; i++)
		if (strcmp(maps->v[i].path, m->path) == 0)
			return strdup(maps->v[i].build_id);
	if (m->path[0] == '\0' || m->path[0] == '[')
		return strdup("");
	for (size_t i = 0; known && !deleted && i < known->n; i++) {
		const struct ct_dl_gone *g = &known->v[i];

		/* By address and file offset, not by name: the loader names
		 * a file as it was asked for (/lib/x86_64-linux-gnu/
		 * libstdc++.so.6), the kernel by its real path
		 * (/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30). */
		if (g->build_id[0] && m->start >= g->start && m->start < g->limit &&
		    m->offset - g->offset == m->start - g->start)
			return strdup(g->build_id);
	}
	if (!deleted)
		return ct_maps_build_id(m->path);
	if (!self)
		return strdup("");
	/* The deleted file is still reachable through map_files (needs
	 * CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE; otherwise no id). */
	snprintf(buf, sizeof(buf), "/proc/self/map_files/%llx-%llx",
		 (unsigned long long)m->start, (unsigned long long)m->limit);
	return ct_maps_build_id(buf);
}

static int
maps_add(struct ct_maps *maps, size_t *cap, struct ct_mapping *m, const char *path,
	 bool deleted, bool self, const struct maps_known *known)
{
	int err = ct_vec_reserve(&maps->v, cap, maps->n + 1, sizeof(*maps->v));

	if (err)
		return err;
	m->path = strdup(path);
	if (!m->path)
		return -ENOMEM;
	m->build_id = maps_build_id_for(maps, m, deleted, self, known);
	if (!m->build_id) {
		free(m->path);
		return -ENOMEM;
	}
	maps->v[maps->n++] = *m;
	return 0;
}

/* Moves the first mapping of exe to v[0], keeping the others in order. */
static void
maps_exe_first(struct ct_maps *maps, const char *exe)
{
	struct ct_mapping m;

	for (size_t i = 0; exe && i < maps->n; i++) {
		if (strcmp(maps->v[i].path, exe) != 0)
			continue;
		m = maps->v[i];
		memmove(&maps->v[1], &maps->v[0], i * sizeof(m));
		maps->v[0] = m;
		return;
	}
}

static int
maps_cmp_start(const void *a, const void *b, void *arg)
{
	const struct ct_mapping *v = arg;
	uint64_t x = v[*(const uint32_t *)a].start, y = v[*(const uint32_t *)b].start;

	return x < y ? -1 : x > y;
}

static int
maps_index(struct ct_maps *maps)
{
	maps->by_addr = malloc((maps->n ? maps->n : 1) * sizeof(*maps->by_addr));
	if (!maps->by_addr)
		return -ENOMEM;
	for (size_t i = 0; i < maps->n; i++)
		maps->by_addr[i] = (uint32_t)i;
	qsort_r(maps->by_addr, maps->n, sizeof(*maps->by_addr), maps_cmp_start, maps->v);
	return 0;
}

static int
maps_parse(struct ct_maps *maps, FILE *f, const char *exe, bool self,
	   const struct maps_known *known)
{
	char *line = NULL, *path;
	size_t linecap = 0, cap = 0;
	struct ct_mapping m;
	bool deleted;
	int err = 0, keep;

	memset(maps, 0, sizeof(*maps));
	while (getline(&line, &linecap, f) >= 0) {
		keep = maps_parse_line(line, &m, &path, &deleted);
		if (keep < 0) {
			err = keep;
			goto out;
		}
		if (keep == 0)
			continue;
		err = maps_add(maps, &cap, &m, path, deleted, self, known);
		if (err)
			goto out;
	}
	if (ferror(f)) {
		err = -EIO;
		goto out;
	}
	maps_exe_first(maps, exe);
	err = maps_index(maps);
out:
	free(line);
	if (err)
		ct_maps_free(maps);
	return err;
}

int
ct_maps_parse(struct ct_maps *maps, FILE *f, const char *exe)
{
	return maps_parse(maps, f, exe, false, NULL);
}

/* Enough for the maps of most processes in one or two reads. */
#define CT_MAPS_READ_BUF (64 * 1024)

static int
maps_read_self(struct ct_maps *maps, const struct maps_known *known)
{
	char exe[PATH_MAX];
	ssize_t n;
	FILE *f;
	int err;

	memset(maps, 0, sizeof(*maps));
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n >= 0) {
		exe[n] = '\0';
		maps_trim_deleted(exe);
	}
	/* open(), not fopen(): through the PLT, where a test sees it. */
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	/* stdio would read it 1 KiB at a time (the st_blksize of /proc), a
	 * system call per 10 lines: a server with libraries has hundreds. */
	char *buf = malloc(CT_MAPS_READ_BUF);
	if (buf)
		setvbuf(f, buf, _IOFBF, CT_MAPS_READ_BUF);
	err = maps_parse(maps, f, n >= 0 ? exe : NULL, true, known);
	fclose(f);
	free(buf);
	return err;
}

int
ct_maps_read(struct ct_maps *maps)
{
	return maps_read_self(maps, NULL);
}

int
ct_maps_read_snap(struct ct_maps *maps, const struct ct_snapshot *snap)
{
	struct maps_known known = {snap ? snap->dl_live : NULL, snap ? snap->ndl_live : 0};
	size_t cap = 0;
	int err = maps_read_self(maps, &known);

	if (err == 0 || err == -ENOMEM || !snap || !snap->ndl_live)
		return err;
	for (size_t i = 0; i < snap->ndl_live && !err; i++) {
		const struct ct_dl_gone *g = &snap->dl_live[i];
		struct ct_mapping m = {.start = g->start, .limit = g->limit, .offset = g->offset};

		err = ct_vec_reserve(&maps->v, &cap, maps->n + 1, sizeof(*maps->v));
		if (err)
			break;
		m.path = strdup(g->path);
		m.build_id = strdup(g->build_id);
		if (!m.path || !m.build_id) {
			free(m.path);
			free(m.build_id);
			err = -ENOMEM;
			break;
		}
		maps->v[maps->n++] = m;
	}
	/* dl_live lists the main program first already. */
	if (!err)
		err = maps_index(maps);
	if (err)
		ct_maps_free(maps);
	return err;
}

const struct ct_mapping *
ct_maps_find(const struct ct_maps *maps, uint64_t addr, size_t *idx)
{
	size_t lo = 0, hi = maps->n;

	/* Find the last mapping starting at or below addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (maps->v[maps->by_addr[mid]].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	lo = maps->by_addr[lo - 1];
	if (addr >= maps->v[lo].limit)
		return NULL;
	if (idx)
		*idx = lo;
	return &maps->v[lo];
}

void
ct_maps_free(struct ct_maps *maps)
{
	for (size_t i = 0; i < maps->n; i++) {
		free(maps->v[i].path);
		free(maps->v[i].build_id);
	}
	free(maps->v);
	free(maps->by_addr);
	memset(maps, 0, sizeof(*maps));
}
