/* The names of what libcontend writes and serves, stated once. A profile's
 * name is its file's base (mutex.pb.gz, threads.txt), its /debug/pprof/
 * endpoint and, for the thread dumps, their pprof sample type. Pure
 * constants and string compares: thread-safe, async-signal-safe, no
 * allocation. Included by core/ and report/; cli/, which includes no
 * core/ header, gets it through report/names.h. */
#ifndef CT_NAMES_H
#define CT_NAMES_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "snapshot.h"

#define CT_NAME_MUTEX "mutex"
#define CT_NAME_BLOCK "block"
#define CT_NAME_THREADS "threads"
/* The thread dump under the name Go tools ask for. */
#define CT_NAME_GOROUTINE "goroutine"
#define CT_NAME_THREADCREATE "threadcreate"
/* Per-lock statistics (report/locktable.h). */
#define CT_NAME_LOCKS "locks"
/* The crash dump's copy of /proc/self/maps. */
#define CT_NAME_MAPS "maps"

/* Where `contend threads --pid` (cli/livedump.c) finds a process's
 * output directory and dump signal when its environment and current
 * directory no longer tell (redis-server writes its title over the one
 * and changes the other): in the shim's data, this magic, the address of
 * the pointer to the directory's path and that of the signal's number
 * (core/dump.c), read from the process's memory. */
#define CT_DIR_BEACON_MAGIC "libcontend out dir v2"
struct ct_dir_beacon {
	char magic[24];
	const char *const *dir;
	const uint64_t *dump_signal; /* 0: none */
};

/* A file is <name>[.pid<pid>][<suffix>]<ext> (core/outfile.h). The
 * suffix is a live snapshot's number (.0001) or, for what an image
 * recorded before it exec'd (core/dump.h ct_dump_before_exec), this. */
#define CT_SUFFIX_EXEC ".exec"
#define CT_EXT_PB ".pb.gz"
#define CT_EXT_TXT ".txt"

/* The files one dump writes, as X(base, ext): the profiles (report/report.c)
 * and the thread dump's views (report/threads.c). report/gzout.c looks
 * for each of them before a dump's first file, so that one dump never
 * mixes plain and pid-qualified names: a file added to a dump is added
 * here. The crash dump's maps.txt is not listed: it is written only
 * beside the crash dump's own threads.txt, by the same process, which
 * the check must not take for another process's file. */
#define CT_DUMP_FILES(X)                  \
	X(CT_NAME_MUTEX, CT_EXT_PB)       \
	X(CT_NAME_BLOCK, CT_EXT_PB)       \
	X(CT_NAME_LOCKS, CT_EXT_PB)       \
	X(CT_NAME_THREADS, CT_EXT_TXT)    \
	X(CT_NAME_THREADS, CT_EXT_PB)     \
	X(CT_NAME_THREADCREATE, CT_EXT_PB)

/* The name of a profile table. */
static inline const char *
ct_names_kind(enum ct_profile_kind kind)
{
	return kind == CT_PROF_MUTEX ? CT_NAME_MUTEX : CT_NAME_BLOCK;
}

/* The table a profile name stands for: 0 with *kind set for "mutex" and
 * "block", -ENOENT for any other name. */
static inline int
ct_names_kind_of(const char *name, enum ct_profile_kind *kind)
{
	if (!strcmp(name, CT_NAME_MUTEX))
		*kind = CT_PROF_MUTEX;
	else if (!strcmp(name, CT_NAME_BLOCK))
		*kind = CT_PROF_BLOCK;
	else
		return -ENOENT;
	return 0;
}

/* The thread dump: "threads" or its alias "goroutine". */
static inline bool
ct_names_is_threads(const char *name)
{
	return !strcmp(name, CT_NAME_THREADS) || !strcmp(name, CT_NAME_GOROUTINE);
}

#endif
