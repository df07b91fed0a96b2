/* Creating output files safely: the rules every file libcontend writes
 * follows (profiles, thread dumps, crash dumps), shared by libcontend.so
 * (the crash dump, from a signal handler) and libcontend-report.so.
 *
 * - The output directory is created (with missing parents) mode 0700, and
 *   opened with O_DIRECTORY|O_NOFOLLOW; everything after that is relative
 *   to that descriptor, so renaming or replacing a path component later
 *   cannot redirect a write. It must be owned by the effective uid (or be
 *   the very directory this process created earlier, before it changed
 *   uid) and not writable by group or others unless sticky.
 * - A file is written as an unnamed file of the directory (O_TMPFILE,
 *   mode 0600) and then linked to its name, which fails if anything has
 *   that name (linkat: EEXIST); where the file system (or a missing
 *   /proc) does not allow that, under an unpredictable hidden temporary
 *   name, created with O_CREAT|O_EXCL|O_NOFOLLOW mode 0600, then moved to
 *   its name only if nothing has that name (renameat2 RENAME_NOREPLACE,
 *   or link+unlink where the file system lacks it). Either way a reader
 *   never sees a partial file, and a file, a directory or a symbolic link
 *   already there is never replaced or written through.
 *
 * Every function here is async-signal-safe (system calls only, no
 * allocation, no locks, errno preserved) and thread-safe. No state: what
 * must be remembered lives in the caller's struct ct_output. */
#ifndef CT_OUTFILE_H
#define CT_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What one process remembers about its output between dumps. Owned by
 * core/dump.c (one per process; reset in a fork child); libcontend-report.so
 * gets a pointer. Fields are read and written with relaxed atomics: two
 * dumps of one process may race, and the worst outcome is one more
 * pid-qualified file. */
struct ct_output {
	int naming;       /* CT_OUT_NAMES_* */
	long pid;         /* the process the files are of (the profiled one) */
	int made_dir;     /* 1: dir_dev/dir_ino is a directory this process made */
	dev_t dir_dev;
	ino_t dir_ino;
	char own[64];     /* a file this process placed and may replace (the
			     crash dump's raw threads.txt), or "" */
};

enum {
	CT_OUT_NAMES_UNDECIDED, /* nothing placed yet */
	CT_OUT_NAMES_PLAIN,     /* mutex.pb.gz: this process placed a plain name */
	CT_OUT_NAMES_PID,       /* mutex.pid<pid>.pb.gz: a plain name was taken */
	/* CT_OUT_NAMES_PID + g, 1 <= g < CT_OUT_NAMES_GENS: mutex.pid<pid>-<g+1>
	 * .pb.gz, the pid-qualified names were taken too, by an earlier
	 * process that had the same pid (pids wrap within a minute under a
	 * fork-per-connection server; every container's first process is 1). */
};
#define CT_OUT_NAMES_GENS 100000

/* Whether naming qualifies names with the pid (and maybe a generation). */
static inline bool
ct_outfile_pid_naming(int naming)
{
	return naming >= CT_OUT_NAMES_PID;
}

/* The naming after seen, whose names were found taken: pid-qualified
 * after plain, then the next generation. Moves out->naming there unless a
 * racing dump of this process moved it further (then returns that).
 * -1 past the last generation. Async-signal-safe (atomics only). */
int ct_outfile_next_naming(struct ct_output *out, int seen);

/* Opens dir (an absolute or relative path; trailing slashes allowed) for
 * writing, creating it and its missing parents mode 0700. Returns a
 * directory descriptor (O_CLOEXEC) or a negative errno: -ELOOP when dir
 * is a symbolic link, -ENOTDIR, -EPERM when it is owned by another user
 * or writable by group or others without the sticky bit; *why (may be
 * NULL) then names the reason in words ("is a symbolic link", ...). out
 * (may be NULL) accepts the directory this process made earlier, and
 * records the one made now. */
int ct_outfile_open_dir(const char *dir, struct ct_output *out, const char **why);

/* Before a process gives up root for good (to uid, whose group gid and
 * supplementary groups it has by then): makes dir and its missing
 * parents as ct_outfile_open_dir would, but owned by uid:gid, if uid
 * itself could not make them (the deepest existing directory on the way
 * is not writable for it: a server started as root in "/" that drops to
 * www-data); leaves dir alone if it exists or uid can make it later.
 * Returns 1 if it made dir, 0 if it left it, or a negative errno. */
int ct_outfile_make_dir_for(const char *dir, uid_t uid, gid_t gid, const gid_t *groups,
			    int ngroups);

/* Whether uid (with gid and groups) could write its profiles into dir:
 * dir is its own directory that it may write, or does not exist and the
 * deepest directory on its way that does lets uid make entries (false
 * answers on ACLs or odd file systems only cost a needless notice).
 * Async-signal-safe; keeps errno. */
bool ct_outfile_usable_by(const char *dir, uid_t uid, gid_t gid, const gid_t *groups,
			  int ngroups);

/* ct_outfile_open_dir, also saying (*made_now, may be NULL) whether this
 * call created the directory: then it is empty, and no name in it can be
 * another process's yet. With out, and before this process placed any
 * file (out->naming undecided), it tries mkdir first: a fork child's
 * contend.<pid> does not exist yet. */
int ct_outfile_open_dir_made(const char *dir, struct ct_output *out, const char **why,
			     bool *made_now);

/* Creates a new empty file in dirfd for the final name `name`, under a
 * hidden temporary name ".<name>.tmp.<pid>.<random>" written to tmp
 * (tmplen >= 128 + strlen(name)). Mode 0600 (less the umask). Returns a
 * writable O_CLOEXEC descriptor or a negative errno. */
int ct_outfile_create_tmp(int dirfd, const char *name, char *tmp, size_t tmplen);

/* Moves the finished temporary tmp to name in dirfd. With replace, an
 * existing regular file of that name is replaced (a symbolic link or a
 * directory still is not: -EEXIST); without it, any existing entry gives
 * -EEXIST. The temporary is removed whenever this fails. 0 or -errno. */
int ct_outfile_place(int dirfd, const char *tmp, const char *name, bool replace);

/* A new unnamed file in dirfd (O_TMPFILE), mode 0600 (less the umask):
 * nothing sees it until ct_outfile_link_unnamed. Returns a writable
 * O_CLOEXEC descriptor or a negative errno (-EOPNOTSUPP, -EISDIR or
 * -EINVAL where the file system or kernel has no unnamed files: use
 * ct_outfile_create_tmp). */
int ct_outfile_create_unnamed(int dirfd);

/* A descriptor (O_PATH, O_CLOEXEC) of this process's /proc/self/fd,
 * checked to be procfs: what ct_outfile_link_unnamed links through. A
 * negative errno where there is none (no /proc; -ENOENT for a directory
 * of that name elsewhere than on procfs, as in a chroot jail, which is
 * never followed): then use ct_outfile_create_tmp. */
int ct_outfile_open_fds(void);

/* Gives the unnamed file fd the name `name` in dirfd, whole, through fds
 * (ct_outfile_open_fds): -EEXIST if anything (a link too) has that name,
 * which is never replaced or followed. 0 or -errno. */
int ct_outfile_link_unnamed(int fds, int fd, int dirfd, const char *name);

/* Writes all of buf to fd, retrying after EINTR and short writes.
 * 0 or -errno. */
int ct_outfile_write_all(int fd, const void *buf, size_t len);

/* True if name exists in dirfd (as anything, links included). */
bool ct_outfile_exists(int dirfd, const char *name);

/* "<base><qual><suffix><ext>" where qual is ".pid<pid>" for pid naming
 * and ".pid<pid>-<gen>" past it, e.g. "mutex.pid4242.0001.pb.gz",
 * "threads.pid1-3.txt". Returns the length, or -ENAMETOOLONG.
 * Async-signal-safe. */
int ct_outfile_name(char *buf, size_t len, const char *base, int naming, long pid,
		    const char *suffix, const char *ext);

#endif
