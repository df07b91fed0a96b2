/* Safe creation of output files; see outfile.h. System calls only (the
 * crash dump runs this from a signal handler): no stdio, no allocation,
 * no locks, and errno is left as it was found. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "outfile.h"
#include "sys.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

/* Directories libcontend creates, and the files in them: profiles hold
 * stacks, paths, command lines and thread names. */
#define CT_OUT_DIR_MODE 0700
#define CT_OUT_FILE_MODE 0600

/* A directory just made, to the user it is made for ((uid_t)-1: the
 * caller's own, nothing to do). */
static int
ct_outfile_give(const char *path, uid_t uid, gid_t gid)
{
	if (uid == (uid_t)-1 || lchown(path, uid, gid) == 0)
		return 0;
	int err = -errno;
	rmdir(path);
	return err;
}

/* mkdir -p with mode 0700 on a writable copy of the path; path is cut
 * and restored in place. 0 when the leaf exists (as anything: the open
 * that follows judges it) and whether this call made it in *made. Each
 * directory made is given to uid:gid unless uid is (uid_t)-1. */
static int
ct_outfile_mkdirs(char *path, size_t n, bool *made, uid_t uid, gid_t gid)
{
	if (mkdir(path, CT_OUT_DIR_MODE) == 0) {
		*made = true;
		return ct_outfile_give(path, uid, gid);
	}
	if (errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -errno;
	size_t cut = n;
	while (cut > 0 && path[cut - 1] != '/')
		cut--;
	if (cut <= 1)
		return -ENOENT;
	while (cut > 2 && path[cut - 2] == '/') /* "a//b" */
		cut--;
	char keep = path[cut - 1];
	path[cut - 1] = '\0';
	bool parent_made = false;
	int err = ct_outfile_mkdirs(path, cut - 1, &parent_made, uid, gid);
	path[cut - 1] = keep;
	if (err)
		return err;
	if (mkdir(path, CT_OUT_DIR_MODE) == 0) {
		*made = true;
		return ct_outfile_give(path, uid, gid);
	}
	return errno == EEXIST ? 0 : -errno;
}

/* Opens path (no trailing slash) as a directory without following a
 * link at its end: the descriptor, or -errno (-ELOOP for a link). */
static int
ct_outfile_open_leaf(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	int err = -errno;
	/* O_NOFOLLOW on a link gives ELOOP, or ENOTDIR together with
	 * O_DIRECTORY: tell the two apart for the message. */
	if ((err == -ENOTDIR || err == -ELOOP) && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		err = -ELOOP;
	return err;
}

/* The long way, with a copy of the path: trailing slashes cut, missing
 * directories made. Out of line so that the common case (the directory
 * exists) keeps its 4 KiB off the stack: the crash dump may run on a
 * small alternate signal stack. */
static __attribute__((noinline)) int
ct_outfile_make_dir(const char *dir, size_t n, bool *made, uid_t uid, gid_t gid)
{
	char path[4096];
	if (n >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, n + 1);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0'; /* "out/" */
	int err = ct_outfile_mkdirs(path, n, made, uid, gid);
	return err ? err : ct_outfile_open_leaf(path);
}

/* Whether uid (with gid and groups) may create entries in a directory
 * of this owner and mode, by the kernel's rule: the owner's bits if it
 * is the owner, else the group's if a group matches, else the others'.
 * ACLs are not read: a wrong "yes" only leaves the directory to be made
 * later, where its failure is said as before. */
static bool
ct_outfile_may_create(const struct stat *st, uid_t uid, gid_t gid, const gid_t *groups, int ngroups)
{
	mode_t need = S_IWOTH | S_IXOTH;
	if (st->st_uid == uid)
		need <<= 6;
	else {
		bool member = st->st_gid == gid;
		for (int i = 0; i < ngroups && !member; i++)
			member = groups[i] == st->st_gid;
		if (member)
			need <<= 3;
	}
	return (st->st_mode & need) == need;
}

/* Stats the deepest directory on dir's way that exists: where a process
 * would make the rest. Returns false if none could be read. */
static bool
ct_outfile_deepest(const char *dir, struct stat *st)
{
	char path[4096];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof(path))
		return false;
	memcpy(path, dir, n + 1);
	do {
		while (n > 0 && path[n - 1] == '/')
			n--;
		while (n > 0 && path[n - 1] != '/')
			n--;
		path[n] = '\0';
	} while (n > 0 && lstat(path, st) != 0);
	return n > 0 || (dir[0] == '/' ? lstat("/", st) : lstat(".", st)) == 0;
}

bool
ct_outfile_usable_by(const char *dir, uid_t uid, gid_t gid, const gid_t *groups, int ngroups)
{
	int saved = errno;
	struct stat st;
	bool ok;
	if (lstat(dir, &st) == 0)
		/* ct_outfile_open_dir refuses another user's directory. */
		ok = S_ISDIR(st.st_mode) && st.st_uid == uid &&
		     ct_outfile_may_create(&st, uid, gid, groups, ngroups);
	else
		ok = !ct_outfile_deepest(dir, &st) ||
		     ct_outfile_may_create(&st, uid, gid, groups, ngroups);
	errno = saved;
	return ok;
}

int
ct_outfile_make_dir_for(const char *dir, uid_t uid, gid_t gid, const gid_t *groups, int ngroups)
{
	int saved = errno;
	struct stat st;
	if (!dir[0] || strlen(dir) >= 4096 || lstat(dir, &st) == 0 || !ct_outfile_deepest(dir, &st)) {
		errno = saved;
		return 0;
	}
	int ret = 0;
	if (!ct_outfile_may_create(&st, uid, gid, groups, ngroups)) {
		bool made = false;
		int fd = ct_outfile_make_dir(dir, strlen(dir), &made, uid, gid);
		if (fd >= 0)
			close(fd);
		ret = fd < 0 ? fd : made;
	}
	errno = saved;
	return ret;
}

int
ct_outfile_open_dir_made(const char *dir, struct ct_output *out, const char **why,
			bool *made_now)
{
	int saved = errno, err = 0, fd = -ENOENT;
	const char *reason = NULL;
	size_t n = strlen(dir);
	struct stat st;
	bool made = false;

	if (n == 0) {
		err = -ENOENT;
		goto out;
	}
	/* A trailing slash would make open() follow a link: such paths take
	 * the long way, which cuts it. A process that has placed no file yet
	 * (a fork child's first dump, into its own contend.<pid>) nearly
	 * always finds no directory: mkdir first spares the open that would
	 * fail. mkdir never follows a link at the leaf (EEXIST), and what
	 * exists is then opened and judged as below. */
	if (dir[n - 1] != '/' && out &&
	    __atomic_load_n(&out->naming, __ATOMIC_ACQUIRE) == CT_OUT_NAMES_UNDECIDED &&
	    mkdir(dir, CT_OUT_DIR_MODE) == 0)
		made = true;
	if (dir[n - 1] != '/')
		fd = ct_outfile_open_leaf(dir);
	if (fd == -ENOENT)
		fd = ct_outfile_make_dir(dir, n, &made, (uid_t)-1, (gid_t)-1);
	if (fd < 0) {
		err = fd;
		fd = -1;
		if (err == -ELOOP)
			reason = "is a symbolic link";
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		err = -errno;
		goto out;
	}
	if (made && out) {
		__atomic_store_n(&out->dir_dev, st.st_dev, __ATOMIC_RELAXED);
		__atomic_store_n(&out->dir_ino, st.st_ino, __ATOMIC_RELAXED);
		__atomic_store_n(&out->made_dir, 1, __ATOMIC_RELEASE);
	}
	/* A process that made its directory and then changed its uid (a
	 * server started as root that drops to www-data) still owns it. */
	bool ours = st.st_uid == geteuid() ||
		    (out && __atomic_load_n(&out->made_dir, __ATOMIC_ACQUIRE) &&
		     st.st_dev == out->dir_dev && st.st_ino == out->dir_ino);
	if (!ours) {
		err = -EPERM;
		reason = "is owned by another user";
	} else if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		/* Others could swap our files there for theirs. */
		err = -EPERM;
		reason = "is writable by group or others (chmod go-w)";
	}
out:
	if (err && fd >= 0) {
		close(fd);
		fd = -1;
	}
	if (why)
		*why = reason;
	if (made_now)
		*made_now = made && !err;
	errno = saved;
	return err ? err : fd;
}

int
ct_outfile_open_dir(const char *dir, struct ct_output *out, const char **why)
{
	return ct_outfile_open_dir_made(dir, out, why, NULL);
}

/* 64 bits nobody can guess in advance; the kernel's when it has them. */
static unsigned long long
ct_outfile_random(void)
{
	unsigned long long r = 0;
	if (syscall(SYS_getrandom, &r, sizeof(r), 1 /* GRND_NONBLOCK */) == (long)sizeof(r))
		return r;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	r = (unsigned long long)ts.tv_nsec ^ ((unsigned long long)ts.tv_sec << 30) ^
	    ((unsigned long long)syscall(SYS_gettid) << 40) ^ (unsigned long long)(uintptr_t)&ts;
	/* splitmix64's finalizer */
	r = (r ^ (r >> 30)) * 0xbf58476d1ce4e5b9ULL;
	r = (r ^ (r >> 27)) * 0x94d049bb133111ebULL;
	return r ^ (r >> 31);
}

/* Appends s to buf at *n; false when it does not fit (with the NUL). */
static bool
ct_outfile_cat(char *buf, size_t len, size_t *n, const char *s)
{
	size_t l = strlen(s);
	if (*n + l >= len)
		return false;
	memcpy(buf + *n, s, l + 1);
	*n += l;
	return true;
}

static bool
ct_outfile_cat_num(char *buf, size_t len, size_t *n, unsigned long long v, int base)
{
	char d[24];
	int i = (int)sizeof(d) - 1;
	d[i] = '\0';
	do
		d[--i] = "0123456789abcdef"[v % (unsigned)base];
	while ((v /= (unsigned)base) != 0);
	return ct_outfile_cat(buf, len, n, d + i);
}

int
ct_outfile_create_tmp(int dirfd, const char *name, char *tmp, size_t tmplen)
{
	int saved = errno, err = -EEXIST;
	for (int tries = 0; tries < 32 && err == -EEXIST; tries++) {
		size_t n = 0;
		tmp[0] = '\0';
		/* ".<name>.tmp.<pid>.<random>": hidden, and created fresh: a
		 * link or file planted at a name we might use is never opened. */
		if (!ct_outfile_cat(tmp, tmplen, &n, ".") || !ct_outfile_cat(tmp, tmplen, &n, name) ||
		    !ct_outfile_cat(tmp, tmplen, &n, ".tmp.") ||
		    !ct_outfile_cat_num(tmp, tmplen, &n, (unsigned long long)getpid(), 10) ||
		    !ct_outfile_cat(tmp, tmplen, &n, ".") ||
		    !ct_outfile_cat_num(tmp, tmplen, &n, ct_outfile_random(), 16)) {
			err = -ENAMETOOLONG;
			break;
		}
		int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				CT_OUT_FILE_MODE);
		if (fd >= 0) {
			errno = saved;
			return fd;
		}
		err = -errno;
	}
	errno = saved;
	return err;
}

int
ct_outfile_place(int dirfd, const char *tmp, const char *name, bool replace)
{
	int saved = errno, err = 0;
	struct stat st;

	if (replace) {
		/* rename() would replace a link, not follow it; still, a link
		 * or directory there is not a file of ours. */
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
			err = -EEXIST;
		else if (renameat(dirfd, tmp, dirfd, name) != 0)
			err = -errno;
		goto out;
	}
	if (syscall(SYS_renameat2, dirfd, tmp, dirfd, name, RENAME_NOREPLACE) == 0)
		goto out;
	err = -errno;
	if (err != -EINVAL && err != -ENOSYS)
		goto out;
	/* No RENAME_NOREPLACE here (some file systems): link() fails with
	 * EEXIST on any existing entry, links included. */
	err = linkat(dirfd, tmp, dirfd, name, 0) == 0 ? 0 : -errno;
	if (err == 0)
		unlinkat(dirfd, tmp, 0);
out:
	if (err)
		unlinkat(dirfd, tmp, 0);
	errno = saved;
	return err;
}

int
ct_outfile_create_unnamed(int dirfd)
{
	int saved = errno;
	int fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, CT_OUT_FILE_MODE);
	int err = fd >= 0 ? fd : -errno;
	errno = saved;
	return err;
}

int
ct_outfile_open_fds(void)
{
	int saved = errno, err;
	struct statfs sf;
	int fds = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fds < 0)
		err = -errno;
	else if (fstatfs(fds, &sf) != 0 || sf.f_type != PROC_SUPER_MAGIC)
		err = -ENOENT; /* a jail's directory of that name, say */
	else
		err = fds;
	if (err < 0 && fds >= 0)
		close(fds);
	errno = saved;
	return err;
}

int
ct_outfile_link_unnamed(int fds, int fd, int dirfd, const char *name)
{
	int saved = errno, err = 0;
	/* "<fd>" in /proc/self/fd: linkat(fd, "", ..., AT_EMPTY_PATH) would
	 * spare the lookup, but needs CAP_DAC_READ_SEARCH on most kernels;
	 * the descriptor's link is open to the process itself whatever its
	 * credentials or dumpability. */
	char num[24];
	size_t n = 0;
	if (!ct_outfile_cat_num(num, sizeof(num), &n, (unsigned long long)fd, 10))
		err = -ENAMETOOLONG;
	else if (linkat(fds, num, dirfd, name, AT_SYMLINK_FOLLOW) != 0)
		err = -errno;
	errno = saved;
	return err;
}

int
ct_outfile_write_all(int fd, const void *buf, size_t len)
{
	int saved = errno;
	const char *p = buf;
	while (len > 0) {
		ssize_t w = ct_sys_write_quiet(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int err = -errno;
			errno = saved;
			return err;
		}
		if (w == 0) { /* cannot happen for a regular file; never loop */
			errno = saved;
			return -EIO;
		}
		p += w;
		len -= (size_t)w;
	}
	errno = saved;
	return 0;
}

bool
ct_outfile_exists(int dirfd, const char *name)
{
	int saved = errno;
	struct stat st;
	bool r = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
	errno = saved;
	return r;
}

int
ct_outfile_next_naming(struct ct_output *out, int seen)
{
	int want = ct_outfile_pid_naming(seen) ? seen + 1 : CT_OUT_NAMES_PID;
	if (want >= CT_OUT_NAMES_PID + CT_OUT_NAMES_GENS)
		return -1;
	int cur = seen;
	/* A failed exchange from below want (plain placed meanwhile) tries
	 * again from there. */
	while (!__atomic_compare_exchange_n(&out->naming, &cur, want, false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE))
		if (cur >= want)
			return cur;
	return want;
}

int
ct_outfile_name(char *buf, size_t len, const char *base, int naming, long pid,
		const char *suffix, const char *ext)
{
	size_t n = 0;
	if (len)
		buf[0] = '\0';
	/* "<base>[.pid<pid>[-<gen>]]<suffix><ext>": mutex.pb.gz,
	 * mutex.pid4242.pb.gz, block.0001.pb.gz, threads.pid4242.0001.txt,
	 * mutex.pid1-2.pb.gz */
	if (!ct_outfile_cat(buf, len, &n, base) ||
	    (ct_outfile_pid_naming(naming) &&
	     (!ct_outfile_cat(buf, len, &n, ".pid") ||
	      !ct_outfile_cat_num(buf, len, &n, (unsigned long long)pid, 10))) ||
	    (naming > CT_OUT_NAMES_PID &&
	     (!ct_outfile_cat(buf, len, &n, "-") ||
	      !ct_outfile_cat_num(buf, len, &n,
				  (unsigned long long)(naming - CT_OUT_NAMES_PID + 1), 10))) ||
	    !ct_outfile_cat(buf, len, &n, suffix ? suffix : "") ||
	    !ct_outfile_cat(buf, len, &n, ext ? ext : ""))
		return -ENAMETOOLONG;
	return (int)n;
}
