/* `contend threads --pid PID`: asks a running process for a thread dump
 * and prints it (livedump.h). Everything is learnt from /proc: the
 * process's environment (CONTEND_DUMP_SIGNAL, CONTEND_OUT), its working
 * directory, whether libcontend.so is mapped, whether it catches the
 * signal. The signal is sent only when the process catches it, since its
 * default action would kill it. */
#include "livedump.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../report/names.h"
#include "cli.h"
#include "threadview.h"

#define CT_LIVE_MAX_DIRS 4

/* The whole of /proc/<pid>/<file> (NUL-terminated; *len without it), or
 * NULL with errno. */
static char *
proc_read(pid_t pid, const char *file, size_t *len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *buf;
	size_t n;
	int err = ct_cli_read_all(fd, SIZE_MAX, &buf, &n);
	close(fd);
	if (err) {
		free(buf);
		errno = -err;
		return NULL;
	}
	if (len)
		*len = n;
	return buf;
}

/* The value of name in a NUL-separated environment block, or NULL. */
static const char *
env_get(const char *env, size_t len, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < len; i += strlen(env + i) + 1)
		if (!strncmp(env + i, name, nl) && env[i + nl] == '=')
			return env + i + nl + 1;
	return NULL;
}

/* As the shim parses CONTEND_DUMP_SIGNAL: a name with or without SIG
 * (RTMIN+n and RTMAX-n too), or a number. 0 if it is none of those. */
static int
parse_signal(const char *s)
{
	uint64_t v;
	if (ct_cli_parse_count(s, 64, &v) == 0)
		return (int)v;
	const char *name = !strncasecmp(s, "SIG", 3) ? s + 3 : s;
	for (int i = 1; i < NSIG; i++) {
		const char *a = sigabbrev_np(i);
		if (a && !strcasecmp(a, name))
			return i;
	}
	bool max = !strncasecmp(name, "RTMAX", 5);
	if (!max && strncasecmp(name, "RTMIN", 5))
		return 0;
	v = 0;
	if (name[5] && (name[5] != (max ? '-' : '+') ||
			ct_cli_parse_count(name + 6, (uint64_t)(SIGRTMAX - SIGRTMIN), &v) < 0))
		return 0;
	return max ? SIGRTMAX - (int)v : SIGRTMIN + (int)v;
}

/* CONTEND_OUT expanded as the shim does it (%p, %h, %%). */
static int
expand_out(const char *tmpl, pid_t pid, char *buf, size_t len)
{
	size_t pos = 0;
	for (const char *p = tmpl; *p; p++) {
		char tmp[300];
		const char *add = tmp;
		if (*p != '%') {
			tmp[0] = *p;
			tmp[1] = 0;
		} else if (p[1] == 'p') {
			snprintf(tmp, sizeof(tmp), "%d", (int)pid);
			p++;
		} else if (p[1] == 'h') {
			if (gethostname(tmp, sizeof(tmp) - 1) < 0)
				strcpy(tmp, "localhost");
			tmp[sizeof(tmp) - 1] = 0;
			p++;
		} else if (p[1] == '%') {
			add = "%";
			p++;
		} else {
			return -1;
		}
		size_t n = strlen(add);
		if (pos + n >= len)
			return -1;
		memcpy(buf + pos, add, n);
		pos += n;
	}
	buf[pos] = 0;
	return pos ? 0 : -1;
}

/* Whether sig is in the process's signal mask named field ("SigCgt:",
 * caught, or "SigIgn:", ignored) of /proc/<pid>/status (readable for any
 * process). -1 if that cannot be read. */
static int
sig_in(pid_t pid, const char *field, int sig)
{
	char *st = proc_read(pid, "status", NULL);
	if (!st)
		return -1;
	char want[16];
	snprintf(want, sizeof(want), "\n%s", field);
	const char *c = strstr(st, want);
	int r = -1;
	if (c) {
		unsigned long long mask = strtoull(c + strlen(want), NULL, 16);
		r = (int)(mask >> (sig - 1) & 1);
	}
	free(st);
	return r;
}

/* 'Z' for a zombie, 0 if gone or unreadable. */
static char
proc_state(pid_t pid)
{
	char *st = proc_read(pid, "stat", NULL);
	if (!st)
		return 0;
	const char *p = strrchr(st, ')');
	char c = p && p[1] == ' ' ? p[2] : 0;
	free(st);
	return c;
}

struct seen {
	char **names;
	size_t n, cap;
};

static bool
seen_has(const struct seen *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], name))
			return true;
	return false;
}

static void
seen_add(struct seen *s, const char *name)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 32;
		char **nv = realloc(s->names, ncap * sizeof(*nv));
		if (!nv)
			return;
		s->names = nv;
		s->cap = ncap;
	}
	if ((s->names[s->n] = strdup(name)))
		s->n++;
}

static void
seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->names[i]);
	free(s->names);
}

/* Whether <dir>/<name> is a thread dump of pid: its first line says so
 * ("libcontend thread dump: pid N, ..."); in a directory several
 * processes share, a plain name may be any of theirs. */
static bool
dump_of(const char *dir, const char *name, pid_t pid)
{
	char path[PATH_MAX + NAME_MAX + 2], line[128], want[64];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	snprintf(want, sizeof(want), "libcontend thread dump: pid %d,", (int)pid);
	return ok && !strncmp(line, want, strlen(want));
}

/* A numbered snapshot's text dump: threads[.pid<N>[-<gen>]].<seq>.txt */
static bool
is_snapshot_txt(const char *name, char *stem, size_t len)
{
	size_t n = strlen(name), ext = strlen(CT_EXT_TXT);
	if (n <= ext || strcmp(name + n - ext, CT_EXT_TXT) || ct_threadview_stem(name, stem, len) < 0)
		return false;
	const char *dot = strrchr(stem, '.');
	return dot && dot[1] >= '0' && dot[1] <= '9';
}

static void
scan(const char *dir, struct seen *before, bool record, pid_t pid, char *found_stem,
     size_t len)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char stem[NAME_MAX + 1];
		if (!is_snapshot_txt(e->d_name, stem, sizeof(stem)))
			continue;
		char key[PATH_MAX + NAME_MAX + 2];
		snprintf(key, sizeof(key), "%s/%s", dir, e->d_name);
		if (record) {
			seen_add(before, key);
		} else if (!found_stem[0] && !seen_has(before, key) && dump_of(dir, e->d_name, pid)) {
			if (strlen(stem) < len)
				strcpy(found_stem, stem);
		}
	}
	closedir(d);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

static double
mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The process exists, is ours to signal and has not exited. 0, or the
 * exit status of the error said. */
static int
check_alive(pid_t pid)
{
	if (kill(pid, 0) < 0) {
		if (errno == ESRCH)
			return ct_cli_error("no process with pid %d", (int)pid);
		if (errno == EPERM)
			return ct_cli_error("pid %d: permission denied (it belongs to another user; "
					    "run as that user or root)", (int)pid);
		return ct_cli_error("pid %d: %s", (int)pid, strerror(errno));
	}
	if (proc_state(pid) == 'Z')
		return ct_cli_error("pid %d has exited (a zombie its parent has not reaped)",
				    (int)pid);
	return 0;
}

/* The process's environment block into *env (malloc'd). 0, or the exit
 * status of the error said. */
static int
read_environ(pid_t pid, char **env, size_t *envlen)
{
	*env = proc_read(pid, "environ", envlen);
	if (*env)
		return 0;
	if (errno == ENOENT || errno == ESRCH)
		return ct_cli_error("no process with pid %d", (int)pid);
	if (errno == EACCES || errno == EPERM)
		return ct_cli_error("pid %d: permission denied reading /proc/%d/environ "
				    "(run as the process's user or root)", (int)pid, (int)pid);
	return ct_cli_error("cannot read /proc/%d/environ: %s", (int)pid, strerror(errno));
}

/* Whether the process was exec'd with AT_SECURE set (its auxiliary
 * vector, readable where its environment was). */
static bool
secure_exec(pid_t pid)
{
	size_t len = 0;
	uint64_t *av = (uint64_t *)(void *)proc_read(pid, "auxv", &len);
	bool secure = false;
	for (size_t i = 0; av && i + 1 < len / sizeof(*av) && av[i] != AT_NULL; i += 2)
		if (av[i] == AT_SECURE)
			secure = av[i + 1] != 0;
	free(av);
	return secure;
}

/* Whether libcontend.so is mapped in the process; -1 (errno) if its maps
 * cannot be read. */
static int
mapped(pid_t pid)
{
	char *maps = proc_read(pid, "maps", NULL);
	if (!maps)
		return -1;
	bool preloaded = strstr(maps, "/libcontend.so\n") != NULL;
	free(maps);
	return preloaded;
}

/* The parent of pid (/proc/<pid>/stat), 0 if unknown. */
static pid_t
parent_of(pid_t pid)
{
	char *st = proc_read(pid, "stat", NULL);
	const char *p = st ? strrchr(st, ')') : NULL;
	int ppid = 0;
	if (p && sscanf(p + 1, " %*c %d", &ppid) != 1)
		ppid = 0;
	free(st);
	return (pid_t)ppid;
}

/* A process that writes its title over its environment block (PostgreSQL's
 * backends and background processes, nginx's workers) shows none of it in
 * /proc/<pid>/environ: not even the LD_PRELOAD it was started with, which
 * a block the program left alone still shows (unsetenv does not change
 * it). A fork child starts with its parent's environment, so the nearest
 * ancestor that runs with libcontend.so and shows an environment with
 * LD_PRELOAD says what the process was started with (its signal, its
 * CONTEND_OUT and the directory it started in). Replaces *env with that
 * one, saying so on stderr; leaves it alone otherwise. */
static void
inherited_environ(pid_t pid, char **env, size_t *envlen)
{
	if (env_get(*env, *envlen, "LD_PRELOAD"))
		return;
	pid_t p = pid;
	for (int depth = 0; depth < 16; depth++) {
		p = parent_of(p);
		if (p <= 1 || mapped(p) != 1)
			return;
		size_t n;
		char *e = proc_read(p, "environ", &n);
		if (e && env_get(e, n, "LD_PRELOAD")) {
			fprintf(stderr, "contend: pid %d's environment is written over (its process "
				"title); using its ancestor's, pid %d\n", (int)pid, (int)p);
			free(*env);
			*env = e;
			*envlen = n;
			return;
		}
		free(e);
	}
}

/* libcontend.so is mapped in the process. 0, or the exit status of the
 * error said. */
static int
check_preloaded(pid_t pid)
{
	int preloaded = mapped(pid);
	if (preloaded < 0)
		return ct_cli_error("pid %d: cannot read /proc/%d/maps: %s", (int)pid, (int)pid,
				    strerror(errno));
	if (preloaded)
		return 0;
	if (secure_exec(pid))
		return ct_cli_error("pid %d is not running with libcontend.so: it was started in "
				    "the loader's secure-execution mode (set-user-ID, or real and "
				    "effective ids differing at exec, as squid's master starts its "
				    "kids), which ignores LD_PRELOAD paths",
				    (int)pid);
	return ct_cli_error("pid %d is not running with libcontend.so (start it with "
			    "LD_PRELOAD=.../libcontend.so CONTEND_DUMP_SIGNAL=SIGUSR2)",
			    (int)pid);
}

/* The dump signal (--signal, else the process's CONTEND_DUMP_SIGNAL) into
 * *sig and its name into sigtxt, once it is known the process catches it.
 * 0, or the exit status of the error said. */
static int
dump_signal(pid_t pid, const char *given, int beacon_sig, const char *env, size_t envlen,
	    int *sig, char *sigtxt, size_t len)
{
	const char *signame = given ? given : env_get(env, envlen, "CONTEND_DUMP_SIGNAL");
	char num[16];
	if (!signame && beacon_sig > 0) {
		snprintf(num, sizeof(num), "%d", beacon_sig);
		signame = num;
	}
	if (!signame || !*signame || !strcasecmp(signame, "none") || !strcmp(signame, "0"))
		return ct_cli_error("pid %d has no CONTEND_DUMP_SIGNAL in its environment "
				    "(/proc/%d/environ, which a program that writes its process "
				    "title there hides, as nginx's workers do): give --signal SIG, "
				    "or start it with CONTEND_DUMP_SIGNAL=SIGUSR2",
				    (int)pid, (int)pid);
	if (!(*sig = parse_signal(signame)))
		return ct_cli_error("pid %d: '%s' is not a signal", (int)pid, signame);
	const char *abbrev = sigabbrev_np(*sig);
	snprintf(sigtxt, len, "SIG%s", abbrev ? abbrev : "?");
	if (sig_in(pid, "SigCgt:", *sig) == 0 && sig_in(pid, "SigIgn:", *sig) == 1)
		return ct_cli_error("pid %d ignores %s (the program set SIG_IGN for it, which "
				    "replaces libcontend's handler, as PostgreSQL's backends do for "
				    "SIGUSR2): start it with CONTEND_DUMP_SIGNAL naming a signal it "
				    "leaves alone, such as SIGWINCH", (int)pid, sigtxt);
	if (sig_in(pid, "SigCgt:", *sig) == 0)
		return ct_cli_error("pid %d does not catch %s (libcontend is not set up for it "
				    "there, or the program reset it); not sending it, since its "
				    "default action could end the process", (int)pid, sigtxt);
	return 0;
}

/* Reads len bytes of pid's memory at addr. */
static bool
peek(pid_t pid, uintptr_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)addr, len};
	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

/* What the shim in pid says of itself (core/names.h, ct_dir_beacon),
 * read from its memory: its output directory into out, and its dump
 * signal (0: none) into *sig. False where it cannot be read (another
 * user's process, one that made itself non-dumpable, Yama's
 * ptrace_scope). */
static bool
beacon_read(pid_t pid, char *out, size_t len, int *sig)
{
	char *maps = proc_read(pid, "maps", NULL);
	bool found = false;
	enum { CHUNK = 1 << 16 };
	static char buf[CHUNK + sizeof(struct ct_dir_beacon)];
	for (char *line = maps ? strtok(maps, "\n") : NULL; line && !found;
	     line = strtok(NULL, "\n")) {
		unsigned long lo, hi;
		char perms[8];
		const char *name = strrchr(line, '/');
		if (!name || strcmp(name, "/libcontend.so") ||
		    sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r')
			continue;
		for (uintptr_t at = lo; at < hi && !found; at += CHUNK) {
			size_t n = hi - at < sizeof(buf) ? hi - at : sizeof(buf);
			if (!peek(pid, at, buf, n))
				continue;
			for (size_t off = 0; off + sizeof(struct ct_dir_beacon) <= n && !found;
			     off += sizeof(void *)) {
				struct ct_dir_beacon b;
				memcpy(&b, buf + off, sizeof(b));
				uintptr_t dir;
				uint64_t signo;
				if (memcmp(b.magic, CT_DIR_BEACON_MAGIC, sizeof(CT_DIR_BEACON_MAGIC)) ||
				    !peek(pid, (uintptr_t)b.dir, &dir, sizeof(dir)) ||
				    !peek(pid, (uintptr_t)b.dump_signal, &signo, sizeof(signo)) ||
				    signo > 64)
					continue;
				/* A path, NUL-terminated within len: read it a byte
				 * at a time up to its end (the page after it may not
				 * be mapped). */
				char path[PATH_MAX];
				size_t i = 0;
				while (i + 1 < sizeof(path) && peek(pid, dir + i, path + i, 1) && path[i])
					i++;
				path[i] = 0;
				found = path[0] == '/' && i + 1 < sizeof(path) && i < len;
				if (found) {
					memcpy(out, path, i + 1);
					*sig = (int)signo;
				}
			}
		}
	}
	free(maps);
	return found;
}

/* dir/rel into out (PATH_MAX), without doubling the slash of "/". */
static void
join_dir(char *out, const char *dir, const char *rel)
{
	snprintf(out, PATH_MAX, "%.*s%s%.*s", PATH_MAX / 2, dir, strcmp(dir, "/") ? "/" : "",
		 PATH_MAX / 2 - 2, rel);
}

/* Where its snapshots go: --dir; else the directory the shim in it
 * resolved, read from its memory (beacon, NULL if it could not be);
 * else CONTEND_OUT for its pid, taken
 * from where it started (PWD of its environment) and from where it is
 * now; the dump's own first line says whose it is. Returns how many of
 * dirs it filled (1 or 2); *known is false when the last way was taken
 * with no environment of the process's to read. */
static int
out_dirs(pid_t pid, const char *given, const char *beacon, const char *env, size_t envlen,
	 char dirs[CT_LIVE_MAX_DIRS][PATH_MAX], bool *known)
{
	int ndirs = 0;
	*known = true;
	if (given || beacon) {
		snprintf(dirs[ndirs++], PATH_MAX, "%s", given ? given : beacon);
		return ndirs;
	}
	/* From its environment (or an ancestor's, inherited_environ). */
	*known = env_get(env, envlen, "LD_PRELOAD") != NULL;
	const char *tmpl = env_get(env, envlen, "CONTEND_OUT");
	char rel[PATH_MAX];
	if (!tmpl || !*tmpl || expand_out(tmpl, pid, rel, sizeof(rel)) < 0)
		expand_out("contend.%p", pid, rel, sizeof(rel));
	if (rel[0] == '/') {
		snprintf(dirs[ndirs++], PATH_MAX, "%s", rel);
		return ndirs;
	}
	const char *pwd = env_get(env, envlen, "PWD");
	char cwd[PATH_MAX], link[64];
	snprintf(link, sizeof(link), "/proc/%d/cwd", (int)pid);
	ssize_t n = readlink(link, cwd, sizeof(cwd) - 1);
	if (n > 0) {
		cwd[n] = 0;
		join_dir(dirs[ndirs++], cwd, rel);
	}
	if (pwd && pwd[0] == '/' && (n <= 0 || strcmp(pwd, cwd)))
		join_dir(dirs[ndirs++], pwd, rel);
	if (ndirs == 0)
		snprintf(dirs[ndirs++], PATH_MAX, "%s", rel);
	return ndirs;
}

/* Sends sig. 0, or the exit status of the error said. */
static int
send_signal(pid_t pid, int sig, const char *sigtxt)
{
	if (kill(pid, sig) == 0)
		return 0;
	if (errno == ESRCH)
		return ct_cli_error("no process with pid %d", (int)pid);
	if (errno == EPERM)
		return ct_cli_error("pid %d: permission denied sending %s (run as the process's "
				    "user or root)", (int)pid, sigtxt);
	return ct_cli_error("pid %d: cannot send %s: %s", (int)pid, sigtxt, strerror(errno));
}

/* Waits (o->timeout_s at most) for a text dump of pid in one of dirs that
 * was not there before: its stem into stem, the index of its directory
 * into *found. 0, or the exit status of the error said. */
static int
wait_dump(pid_t pid, const struct ct_livedump_opts *o, char dirs[][PATH_MAX], int ndirs,
	  struct seen *before, const char *sigtxt, char *stem, size_t len, int *found)
{
	double deadline = mono_s() + o->timeout_s;
	for (;;) {
		for (int i = 0; i < ndirs; i++) {
			scan(dirs[i], before, false, pid, stem, len);
			if (stem[0]) {
				*found = i;
				return 0;
			}
		}
		if (kill(pid, 0) < 0 || proc_state(pid) == 'Z')
			return ct_cli_error("pid %d ended before it wrote a thread dump", (int)pid);
		if (mono_s() > deadline)
			return ct_cli_error("timed out after %g s waiting for pid %d to write a thread "
					    "dump in %s%s (a program's own handler for %s replaces "
					    "libcontend's; a single-threaded process dumps when its "
					    "blocking call returns; --dir names another directory)",
					    o->timeout_s, (int)pid, dirs[0],
					    ndirs > 1 ? " or the other candidate" : "", sigtxt);
		sleep_ms(50);
	}
}

/* Prints the dump <dir>/<stem> on stdout, once its profile is there too.
 * 0, or the exit status of the error said. */
static int
print_dump(pid_t pid, const char *dir, const char *stem)
{
	/* The text comes first; the profile of the same snapshot follows at
	 * once (both are placed whole, by rename). */
	char pb[PATH_MAX + NAME_MAX + 8];
	snprintf(pb, sizeof(pb), "%.*s/%s" CT_EXT_PB, PATH_MAX, dir, stem);
	for (double until = mono_s() + 5; access(pb, F_OK) != 0 && mono_s() < until;)
		sleep_ms(20);
	fprintf(stderr, "contend: thread dump of pid %d: %s/%s" CT_EXT_TXT "\n", (int)pid, dir, stem);
	return ct_threadview_show(dir, stem);
}

int
ct_livedump_main(const struct ct_livedump_opts *o)
{
	pid_t pid = o->pid;
	int ret = check_alive(pid);
	if (ret)
		return ret;
	size_t envlen = 0;
	char *env = NULL;
	if ((ret = read_environ(pid, &env, &envlen)))
		return ret;
	struct seen before = {0};
	int sig = 0;
	char sigtxt[32];
	if ((ret = check_preloaded(pid)))
		goto out;
	inherited_environ(pid, &env, &envlen);
	char beacon[PATH_MAX];
	int beacon_sig = 0;
	bool have_beacon = beacon_read(pid, beacon, sizeof(beacon), &beacon_sig);
	if ((ret = dump_signal(pid, o->signal, beacon_sig, env, envlen, &sig, sigtxt,
			       sizeof(sigtxt))))
		goto out;
	char dirs[CT_LIVE_MAX_DIRS][PATH_MAX];
	bool known;
	int ndirs = out_dirs(pid, o->dir, have_beacon ? beacon : NULL, env, envlen, dirs, &known);
	/* Neither its memory (another user's process) nor its environment
	 * or an ancestor's tells its CONTEND_OUT or where it started
	 * (redis-server writes its title over the one and changes
	 * directory): said now, not only after the time-out. */
	if (!known)
		fprintf(stderr, "contend: pid %d's environment is written over (its process "
			"title) and no ancestor's shows it: looking in %s only; if it changed "
			"directory since it started, or CONTEND_OUT names another one, give "
			"--dir\n",
			(int)pid, dirs[0]);
	for (int i = 0; i < ndirs; i++)
		scan(dirs[i], &before, true, pid, NULL, 0);
	char stem[NAME_MAX + 1] = "";
	int found = -1;
	if (!(ret = send_signal(pid, sig, sigtxt)) &&
	    !(ret = wait_dump(pid, o, dirs, ndirs, &before, sigtxt, stem, sizeof(stem), &found)))
		ret = print_dump(pid, dirs[found], stem);
out:
	seen_free(&before);
	free(env);
	return ret;
}
