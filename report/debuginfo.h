/* Where report/ finds separate debug info: the file itself is tried by
 * libdwfl first; then this callback looks, like gdb and elfutils, in
 *   /usr/lib/debug/.build-id/xx/yyyy.debug            (by GNU build-id)
 *   <dir>/<debuglink>, <dir>/.debug/<debuglink>,
 *   /usr/lib/debug<dir>/<debuglink>                   (.gnu_debuglink)
 * accepting a candidate only if its build-id matches the module's.
 *
 * It replaces dwfl_standard_find_debuginfo, which asks debuginfod
 * servers (network, possibly minutes) when DEBUGINFOD_URLS is set: not
 * acceptable in an arbitrary process's atexit handler.
 *
 * Thread-safe (no state). Allocates. Not async-signal-safe.
 */
#ifndef CT_DEBUGINFO_H
#define CT_DEBUGINFO_H

#include <elfutils/libdwfl.h>

/* A Dwfl_Callbacks.find_debuginfo: returns an open fd (owned by libdwfl
 * from then on) and may set *debuginfo_file_name (malloc'd), or -1. */
int ct_debuginfo_find(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		      const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
		      char **debuginfo_file_name);

#endif
