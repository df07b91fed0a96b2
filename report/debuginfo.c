/* Separate debug info lookup for libdwfl, local files only (see
 * debuginfo.h). Owns no state. Never touches the network. */
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debuginfo.h"

/* Root of the separate-debug-info tree, as gdb and elfutils use it. */
#define CT_DEBUG_ROOT "/usr/lib/debug"

static int
dbg_same_build_id(int fd, const unsigned char *id, int idlen)
{
	const void *got = NULL;
	ssize_t n = -1;
	Elf *elf = NULL;

	if (elf_version(EV_CURRENT) != EV_NONE)
		elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf)
		n = dwelf_elf_gnu_build_id(elf, &got);
	n = n == idlen && memcmp(got, id, (size_t)idlen) == 0;
	elf_end(elf);
	return (int)n;
}

static int
dbg_same_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* Opens a debug-file candidate if it belongs to the module: same build-id
 * when the module has one, else at least not the module's own file. */
static int
dbg_open(const char *path, const unsigned char *id, int idlen, const char *main_file,
	       char **debuginfo_file_name)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ok;

	if (fd < 0)
		return -1;
	if (idlen > 0)
		ok = dbg_same_build_id(fd, id, idlen);
	else
		ok = !main_file || !dbg_same_file(fd, main_file);
	if (!ok) {
		close(fd);
		return -1;
	}
	/* Optional for libdwfl, which frees it: the C library's strdup,
	 * never our malloc, which may be a scratch heap's (core/scratch.h). */
	*debuginfo_file_name = strdup(path);
	return fd;
}

static int
dbg_by_build_id(const unsigned char *id, int idlen, char **debuginfo_file_name)
{
	char path[sizeof(CT_DEBUG_ROOT) + 32 + 2 * 64];
	int n;

	if (idlen < 2 || idlen > 64)
		return -1;
	n = snprintf(path, sizeof(path), CT_DEBUG_ROOT "/.build-id/%02x/", id[0]);
	for (int i = 1; i < idlen; i++)
		n += snprintf(path + n, sizeof(path) - (size_t)n, "%02x", id[i]);
	snprintf(path + n, sizeof(path) - (size_t)n, ".debug");
	return dbg_open(path, id, idlen, NULL, debuginfo_file_name);
}

static int
dbg_by_link(const char *file, const char *link, const unsigned char *id, int idlen,
	    char **debuginfo_file_name)
{
	/* <dir>/<link>, <dir>/.debug/<link>, /usr/lib/debug<dir>/<link> */
	static const char *const where[][2] = {
		{"", "/"}, {"", "/.debug/"}, {CT_DEBUG_ROOT, "/"}};
	const char *slash = strrchr(file, '/');
	char path[PATH_MAX];
	int dirlen, fd = -1;

	if (!slash || slash - file > INT_MAX / 2)
		return -1;
	dirlen = (int)(slash - file);
	for (size_t i = 0; fd < 0 && i < sizeof(where) / sizeof(where[0]); i++) {
		if (snprintf(path, sizeof(path), "%s%.*s%s%s", where[i][0], dirlen, file,
			     where[i][1], link) >= (int)sizeof(path))
			continue;
		fd = dbg_open(path, id, idlen, file, debuginfo_file_name);
	}
	return fd;
}

int
ct_debuginfo_find(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		  const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
		  char **debuginfo_file_name)
{
	const unsigned char *id = NULL;
	GElf_Addr vaddr;
	int idlen = dwfl_module_build_id(mod, &id, &vaddr);
	int fd = -1;

	if (idlen > 0)
		fd = dbg_by_build_id(id, idlen, debuginfo_file_name);
	if (fd < 0 && file_name && debuglink_file)
		fd = dbg_by_link(file_name, debuglink_file, id, idlen, debuginfo_file_name);
	return fd;
}
