/* `contend run`: starts a program with libcontend preloaded, waits for it
 * like system() does (SIGINT/SIGQUIT ignored meanwhile, SIGTERM/SIGHUP
 * forwarded), prints the summary, and leaves with the program's status:
 * its exit code, or death by the same signal. Never touches the program's
 * stdin, stdout or stderr. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../report/names.h"
#include "cli.h"
#include "summary.h"
#include "../report/locktable.h"
#include "threadview.h"

#ifndef CT_CLI_LIBDIR
#define CT_CLI_LIBDIR "/usr/local/lib"
#endif
#ifndef CT_CLI_LIBDIR_REL
#define CT_CLI_LIBDIR_REL "lib"
#endif

/* The child, for the forwarding handler; 0 when there is none. */
static volatile sig_atomic_t child_pid;

static void
forward_signal(int sig)
{
	int saved = errno;
	pid_t pid = (pid_t)child_pid;
	if (pid > 0)
		kill(pid, sig);
	errno = saved;
}

/* strcpy bounded by len; false if it does not fit. */
static bool
copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);
	if (n >= len)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

static bool
readable(const char *path)
{
	return access(path, R_OK) == 0;
}

/* libcontend.so: $CONTEND_LIB, next to us (build tree), ../<libdir>/ and
 * ../lib/ relative to us, then the configured libdir. */
static int
find_library(char *out, size_t len)
{
	const char *env = getenv("CONTEND_LIB");
	char self[PATH_MAX], cand[2 * PATH_MAX];
	if (env && *env) {
		if (!readable(env))
			return ct_cli_error("CONTEND_LIB='%s': %s (expected the path of libcontend.so)",
					    env, strerror(errno));
		if (!realpath(env, out) && !copy_str(out, len, env))
			return ct_cli_error("CONTEND_LIB is too long");
		return 0;
	}
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = 0;
		const char *rel[] = {"", "/../" CT_CLI_LIBDIR_REL, "/../lib"};
		for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			snprintf(cand, sizeof(cand), "%s%s/libcontend.so", self, rel[i]);
			if (readable(cand) && realpath(cand, out))
				return 0;
		}
	}
	snprintf(cand, sizeof(cand), "%s/libcontend.so", CT_CLI_LIBDIR);
	if (readable(cand) && copy_str(out, len, cand))
		return 0;
	return ct_cli_error("cannot find libcontend.so next to %s or in %s (set CONTEND_LIB to its "
			    "path)", n > 0 ? self : "contend", CT_CLI_LIBDIR);
}

/* host:port with host empty, localhost, an IPv4 or [IPv6] literal (the
 * rule CONTEND_HTTP applies), so a typo fails before the program starts. */
static bool
valid_addr(const char *s)
{
	const char *colon = strrchr(s, ':');
	uint64_t port;
	unsigned char buf[16];
	char host[128];
	if (!colon || ct_cli_parse_count(colon + 1, 65535, &port) < 0)
		return false;
	size_t hl = (size_t)(colon - s);
	if (hl >= sizeof(host))
		return false;
	memcpy(host, s, hl);
	host[hl] = 0;
	if (hl == 0 || !strcmp(host, "localhost") || inet_pton(AF_INET, host, buf) == 1)
		return true;
	if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = 0;
		return inet_pton(AF_INET6, host + 1, buf) == 1;
	}
	return false;
}

/* dir with every % doubled, as CONTEND_OUT templates need; absolute
 * (prefixed with the current directory) so a program that changes
 * directory still writes where the summary looks. */
static void
out_template(const char *dir, const char *suffix, char *buf, size_t len)
{
	char abs[2 * PATH_MAX], cwd[PATH_MAX];
	size_t n = 0;
	if (dir[0] != '/' && getcwd(cwd, sizeof(cwd)))
		snprintf(abs, sizeof(abs), "%s/%s", cwd, dir);
	else
		snprintf(abs, sizeof(abs), "%s", dir);
	for (const char *p = abs; *p && n + 3 < len; p++) {
		if (*p == '%')
			buf[n++] = '%';
		buf[n++] = *p;
	}
	buf[n] = 0;
	snprintf(buf + n, len - n, "%s", suffix);
}

/* Expands a CONTEND_OUT template (%p, %h, %%) for pid. */
static void
expand_template(const char *tmpl, pid_t pid, char *buf, size_t len)
{
	size_t n = 0;
	char host[256];
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = 0;
	for (const char *p = tmpl; *p && n + 1 < len; p++) {
		if (*p == '%' && p[1]) {
			char tmp[300];
			p++;
			if (*p == 'p')
				snprintf(tmp, sizeof(tmp), "%ld", (long)pid);
			else if (*p == 'h')
				snprintf(tmp, sizeof(tmp), "%s", host);
			else if (*p == '%')
				snprintf(tmp, sizeof(tmp), "%%");
			else
				snprintf(tmp, sizeof(tmp), "%%%c", *p);
			for (const char *t = tmp; *t && n + 1 < len; t++)
				buf[n++] = *t;
			continue;
		}
		buf[n++] = *p;
	}
	buf[n] = 0;
}

/* The path to show: relative to the current directory when inside it. */
static const char *
shown(const char *path)
{
	static char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return path;
	size_t n = strlen(cwd);
	if (n > 1 && !strncmp(path, cwd, n) && path[n] == '/')
		return path + n + 1;
	return path;
}

struct run_opts {
	const char *out, *mutex_fraction, *block_rate, *http;
	bool no_io, quiet;
};

/* contend.<pid> names by pid. */
static int
cmp_dir(const void *a, const void *b)
{
	long x = atol(*(char *const *)a + 8), y = atol(*(char *const *)b + 8);
	return x < y ? -1 : x > y;
}

/* Directories named contend.<pid> in the current directory, by pid. */
static char **
default_dirs(size_t *n)
{
	DIR *d = opendir(".");
	struct dirent *e;
	char **v = NULL;
	size_t cap = 0;
	*n = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "contend.", 8) != 0 || !e->d_name[8] ||
		    strspn(e->d_name + 8, "0123456789") != strlen(e->d_name + 8))
			continue;
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nv = realloc(v, ncap * sizeof(*nv));
			if (!nv)
				break;
			v = nv;
			cap = ncap;
		}
		if (!(v[*n] = strdup(e->d_name)))
			break;
		(*n)++;
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_dir);
	return v;
}

static void
free_dirs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The heaviest locks of a locks.pb.gz (report/locktable.h). */
static void
summarize_locks(const char *path)
{
	struct ct_profile *p = NULL;
	char err[512];
	if (ct_profile_load(path, &p, err, sizeof(err)) < 0) {
		fprintf(stderr, "contend: %s: %s\n", shown(path), err);
		return;
	}
	fprintf(stderr, "contend: contended locks, by total wait (%s):\n", shown(path));
	if (ct_locktable_summary(stderr, p, 5, err, sizeof(err)) < 0)
		fprintf(stderr, "contend: %s: %s\n", shown(path), err);
	ct_profile_free(p);
}

/* The profiles of one output directory; false if it holds none. qual is
 * "" or ".pid<pid>", for a process that found the plain names taken by
 * another process's files (see the README's output rules). */
static bool
summarize_dir(const char *dir, const char *qual)
{
	char path[3 * PATH_MAX + 64], mutex[64], block[64];
	const char *d = shown(dir);
	snprintf(mutex, sizeof(mutex), CT_NAME_MUTEX "%s" CT_EXT_PB, qual);
	snprintf(block, sizeof(block), CT_NAME_BLOCK "%s" CT_EXT_PB, qual);
	snprintf(path, sizeof(path), "%s/%s", dir, mutex);
	bool have_mutex = access(path, F_OK) == 0;
	snprintf(path, sizeof(path), "%s/%s", dir, block);
	bool have_block = access(path, F_OK) == 0;
	if (!have_mutex && !have_block)
		return false;
	snprintf(path, sizeof(path), "%s/%s", dir, mutex);
	ct_summary_print(stderr, path, "lock holders that made others wait", 5);
	snprintf(path, sizeof(path), "%s/%s", dir, block);
	ct_summary_print(stderr, path, "where threads waited", 5);
	snprintf(path, sizeof(path), "%s/" CT_NAME_LOCKS "%s" CT_EXT_PB, dir, qual);
	bool have_locks = access(path, F_OK) == 0;
	if (have_locks)
		summarize_locks(path);
	/* This process's own dump: the directory may hold other processes'
	 * (pid-qualified) dumps that are newer. */
	snprintf(path, sizeof(path), "%s/" CT_NAME_THREADS "%s" CT_EXT_PB, dir, qual);
	if (access(path, F_OK) != 0)
		snprintf(path, sizeof(path), "%s/" CT_NAME_THREADS "%s" CT_EXT_TXT, dir, qual);
	if (access(path, F_OK) == 0)
		ct_threadview_summary(stderr, shown(path));
	fprintf(stderr, "contend: profiles in %s/:", d);
	static const char *const files[][2] = {{CT_NAME_MUTEX, CT_EXT_PB},
					       {CT_NAME_BLOCK, CT_EXT_PB},
					       {CT_NAME_LOCKS, CT_EXT_PB},
					       {CT_NAME_THREADS, CT_EXT_PB},
					       {CT_NAME_THREADS, CT_EXT_TXT}};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s%s%s", dir, files[i][0], qual, files[i][1]);
		if (access(path, F_OK) == 0)
			fprintf(stderr, " %s%s%s", files[i][0], qual, files[i][1]);
	}
	const char *f = have_mutex ? mutex : block;
	fprintf(stderr, "\ncontend: more with `contend top %s/%s` or `contend list FUNCTION %s/%s`", d,
		f, d, f);
	if (have_locks)
		fprintf(stderr, ", per lock `contend locks %s`", d);
	fputc('\n', stderr);
	return true;
}

/* True if dir holds plain-named profiles (written before this run: they
 * are never replaced, so the program's own will carry its pid). */
static bool
has_plain_profiles(const char *dir)
{
	char path[3 * PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/" CT_NAME_MUTEX CT_EXT_PB, dir);
	if (access(path, F_OK) == 0)
		return true;
	snprintf(path, sizeof(path), "%s/" CT_NAME_BLOCK CT_EXT_PB, dir);
	return access(path, F_OK) == 0;
}

/* Into qual, what names pid's files in dir if it found the plain names
 * taken: ".pid<pid>", or ".pid<pid>-<gen>" where earlier processes with
 * its pid wrote those (core/outfile.h), the last generation there. */
static void
own_qual(const char *dir, pid_t pid, char *qual, size_t len)
{
	snprintf(qual, len, ".pid%ld", (long)pid);
	for (int gen = 2;; gen++) {
		char q[48], path[PATH_MAX + 96];
		snprintf(q, sizeof(q), ".pid%ld-%d", (long)pid, gen);
		snprintf(path, sizeof(path), "%s/" CT_NAME_THREADS "%s" CT_EXT_TXT, dir, q);
		if (access(path, F_OK) != 0)
			return;
		snprintf(qual, len, "%s", q);
	}
}

static void
summarize(const char *dir, pid_t pid, bool stale, const char *prog, int status, double secs,
	  bool default_dir, char **before, size_t nbefore)
{
	char what[128];
	const char *d = shown(dir);
	if (WIFEXITED(status))
		snprintf(what, sizeof(what), "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(what, sizeof(what), "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(what, sizeof(what), "ended");
	fprintf(stderr, "contend: %s %s after %.2fs\n", prog, what, secs);
	char qual[48];
	own_qual(dir, pid, qual, sizeof(qual));
	bool wrote = summarize_dir(dir, qual) || (!stale && summarize_dir(dir, ""));
	size_t nother = 0;
	char **other = NULL;
	if (default_dir) {
		/* Fork children of the program write their own contend.<pid>. */
		size_t n;
		char **now = default_dirs(&n);
		other = calloc(n + 1, sizeof(*other));
		for (size_t i = 0; other && i < n; i++) {
			bool old = !strcmp(now[i], d);
			for (size_t j = 0; j < nbefore && !old; j++)
				old = !strcmp(now[i], before[j]);
			if (!old)
				other[nother++] = now[i];
		}
		if (!wrote && nother > 0) {
			fprintf(stderr, "contend: %s wrote no profiles itself; its child processes did:\n",
				prog);
			for (size_t i = 0; i < nother && i < 3; i++)
				summarize_dir(other[i], "");
			wrote = true;
		} else if (nother > 0) {
			fprintf(stderr, "contend: other processes of the run wrote:");
			for (size_t i = 0; i < nother; i++)
				fprintf(stderr, " %s/", other[i]);
			fputc('\n', stderr);
		}
		free(other);
		free_dirs(now, n);
	}
	if (!wrote)
		fprintf(stderr, "contend: no profiles in %s/ (nothing was contended, or the program "
				"ended by _exit(), SIGKILL or a crash)\n", d);
}

/* Leaves with the child's status: its exit code, or its death signal
 * raised on ourselves with the default action (no core file of ours). */
static int
exit_like(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (!WIFSIGNALED(status))
		return 1;
	int sig = WTERMSIG(status);
	struct rlimit no_core = {0, 0};
	setrlimit(RLIMIT_CORE, &no_core);
	fflush(stderr);
	signal(sig, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	return 128 + sig; /* a signal that does not kill (cannot happen for a death signal) */
}

static int
parse_run_args(int argc, char **argv, struct run_opts *o, int *first)
{
	enum { OPT_OUT = 256, OPT_MF, OPT_BR, OPT_NOIO, OPT_HTTP, OPT_QUIET, OPT_HELP };
	static const struct option opts[] = {
		{"out", required_argument, NULL, OPT_OUT},
		{"mutex-fraction", required_argument, NULL, OPT_MF},
		{"block-rate", required_argument, NULL, OPT_BR},
		{"no-io", no_argument, NULL, OPT_NOIO},
		{"http", required_argument, NULL, OPT_HTTP},
		{"quiet", no_argument, NULL, OPT_QUIET},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	uint64_t v;
	int c;
	opterr = 0;
	optind = 1;
	/* '+': options end at PROGRAM; what follows is the program's. */
	while ((c = getopt_long(argc, argv, "+:hqo:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
		case OPT_OUT:
			if (!*optarg)
				return ct_cli_bad_usage("run", "--out needs a directory name");
			o->out = optarg;
			break;
		case OPT_MF:
			if (ct_cli_parse_count(optarg, 1000000000, &v) < 0)
				return ct_cli_bad_usage("run", "invalid --mutex-fraction '%s' (expected an "
							       "integer 0..1000000000; 0 = off)", optarg);
			o->mutex_fraction = optarg;
			break;
		case OPT_BR:
			if (ct_cli_parse_count(optarg, 1000000000000ULL, &v) < 0)
				return ct_cli_bad_usage("run", "invalid --block-rate '%s' (expected "
							       "nanoseconds 0..1000000000000; 1 = every "
							       "wait, 0 = off)", optarg);
			o->block_rate = optarg;
			break;
		case OPT_NOIO:
			o->no_io = true;
			break;
		case OPT_HTTP:
			if (!valid_addr(optarg))
				return ct_cli_bad_usage("run", "invalid --http '%s' (expected host:port, "
							       "e.g. 127.0.0.1:6060 or :0)", optarg);
			o->http = optarg;
			break;
		case 'q':
		case OPT_QUIET:
			o->quiet = true;
			break;
		case 'h':
		case OPT_HELP:
			ct_main_usage("run", stdout);
			return 0;
		case ':':
			return ct_cli_bad_usage("run", "option '%s' needs a value", argv[optind - 1]);
		default:
			return ct_cli_bad_usage("run", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return ct_cli_bad_usage("run", "missing PROGRAM");
	*first = optind;
	return -1;
}

/* Sets the environment the program inherits. Returns 0, or an exit status. */
static int
set_env(const struct run_opts *o, const char *lib, char *tmpl, size_t tlen, bool *default_dir)
{
	if (strpbrk(lib, " :"))
		return ct_cli_error("the library path '%s' contains a space or a colon, which LD_PRELOAD "
				    "cannot express (set CONTEND_LIB to a path without them)", lib);
	const char *old = getenv("LD_PRELOAD");
	char *preload = NULL;
	if (asprintf(&preload, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "") < 0)
		return ct_cli_error("out of memory");
	int r = setenv("LD_PRELOAD", preload, 1);
	free(preload);
	*default_dir = false;
	const char *env_out = getenv("CONTEND_OUT");
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), ".");
	if (o->out) {
		out_template(o->out, "", tmpl, tlen);
	} else if (env_out && *env_out && env_out[0] == '/') {
		snprintf(tmpl, tlen, "%s", env_out);
	} else if (env_out && *env_out) {
		/* The user's relative template: anchored here, %-escaping only
		 * the directory we add. */
		out_template(cwd, "/", tmpl, tlen);
		size_t n = strlen(tmpl);
		snprintf(tmpl + n, tlen - n, "%s", env_out);
	} else {
		out_template(cwd, "/contend.%p", tmpl, tlen);
		*default_dir = true;
	}
	r |= setenv("CONTEND_OUT", tmpl, 1);
	if (o->mutex_fraction)
		r |= setenv("CONTEND_MUTEX_FRACTION", o->mutex_fraction, 1);
	if (o->block_rate)
		r |= setenv("CONTEND_BLOCK_RATE", o->block_rate, 1);
	if (o->no_io)
		r |= setenv("CONTEND_IO", "0", 1);
	if (o->http)
		r |= setenv("CONTEND_HTTP", o->http, 1);
	/* The summary says where the profiles went; the shim need not, unless
	 * the user asked for its messages. */
	if (o->quiet || !getenv("CONTEND_QUIET"))
		r |= setenv("CONTEND_QUIET", "1", 1);
	if (r != 0)
		return ct_cli_error("cannot set the environment: %s", strerror(errno));
	return 0;
}

/* contend's signals while the program runs, as system() has them. */
struct run_signals {
	struct sigaction old_int, old_quit, old_term, old_hup;
	sigset_t old_mask;
};

/* Before the fork: SIGINT and SIGQUIT from the terminal go to the whole
 * foreground group, so the program gets them; we must outlive it to
 * report. SIGTERM/SIGHUP (sent to us alone, e.g. by kill) are passed on;
 * they stay blocked until the child's pid is known. */
static void
signals_hold(struct run_signals *s)
{
	struct sigaction ign = {.sa_handler = SIG_IGN};
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &s->old_mask);
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &s->old_int);
	sigaction(SIGQUIT, &ign, &s->old_quit);
}

/* What signals_hold changed, undone: in the child (the program starts
 * with the dispositions and mask we had) or when the fork failed. */
static void
signals_unhold(const struct run_signals *s)
{
	sigaction(SIGINT, &s->old_int, NULL);
	sigaction(SIGQUIT, &s->old_quit, NULL);
	sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
}

static void
term_hup(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

/* The child is pid: SIGTERM and SIGHUP go to it from now on. */
static void
signals_forward(struct run_signals *s, pid_t pid)
{
	struct sigaction fwd = {.sa_handler = forward_signal};
	sigset_t unblock;
	child_pid = pid;
	sigemptyset(&fwd.sa_mask);
	sigaction(SIGTERM, &fwd, &s->old_term);
	sigaction(SIGHUP, &fwd, &s->old_hup);
	term_hup(&unblock);
	sigprocmask(SIG_UNBLOCK, &unblock, NULL);
}

/* The child is gone: signals act on us again (a SIGTERM during the
 * summary ends it). */
static void
signals_restore(const struct run_signals *s)
{
	sigset_t block;
	term_hup(&block);
	sigprocmask(SIG_BLOCK, &block, NULL);
	child_pid = 0;
	sigaction(SIGTERM, &s->old_term, NULL);
	sigaction(SIGHUP, &s->old_hup, NULL);
	signals_unhold(s);
}

/* In the forked child: runs the program, or writes execvp's errno to
 * the pipe and exits as a shell would (127 not found, 126 not runnable). */
static void
exec_child(char **argv, struct run_signals *sigs, int pipefd[2])
{
	signals_unhold(sigs);
	close(pipefd[0]);
	execvp(argv[0], argv);
	int e = errno;
	if (write(pipefd[1], &e, sizeof(e)) < 0) {
		/* nothing more we can do */
	}
	_exit(e == ENOENT ? 127 : 126);
}

/* Removes dir's trailing slashes (not a lone "/"). */
static void
trim_slashes(char *dir)
{
	size_t dl = strlen(dir);
	while (dl > 1 && dir[dl - 1] == '/')
		dir[--dl] = 0;
}

int
ct_run_main(int argc, char **argv)
{
	struct run_opts o = {0};
	char lib[PATH_MAX], tmpl[3 * PATH_MAX], dir[3 * PATH_MAX];
	struct run_signals sigs;
	bool default_dir = false;
	int first = 0, ret, pipefd[2], status = 0;
	struct timespec t0, t1;

	if ((ret = parse_run_args(argc, argv, &o, &first)) >= 0)
		return ret;
	if ((ret = find_library(lib, sizeof(lib))) != 0)
		return ret;
	if ((ret = set_env(&o, lib, tmpl, sizeof(tmpl), &default_dir)) != 0)
		return ret;
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return ct_cli_error("cannot create a pipe: %s", strerror(errno));

	signals_hold(&sigs);
	fflush(NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	size_t nbefore = 0;
	char **before = default_dir && !o.quiet ? default_dirs(&nbefore) : NULL;
	/* A directory that does not depend on the pid may hold an earlier
	 * run's profiles, which are not this run's. */
	char dir0[3 * PATH_MAX], dir1[3 * PATH_MAX];
	expand_template(tmpl, 0, dir0, sizeof(dir0));
	expand_template(tmpl, 1, dir1, sizeof(dir1));
	bool stale = !strcmp(dir0, dir1) && has_plain_profiles(dir0);

	pid_t pid = fork();
	if (pid < 0) {
		ret = ct_cli_error("cannot fork: %s", strerror(errno));
		signals_unhold(&sigs);
		close(pipefd[0]);
		close(pipefd[1]);
		free_dirs(before, nbefore);
		return ret;
	}
	if (pid == 0)
		exec_child(argv + first, &sigs, pipefd);
	signals_forward(&sigs, pid);

	close(pipefd[1]);
	int exec_errno = 0;
	ssize_t got;
	do
		got = read(pipefd[0], &exec_errno, sizeof(exec_errno));
	while (got < 0 && errno == EINTR);
	close(pipefd[0]);

	pid_t w;
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	signals_restore(&sigs);

	if (w < 0) {
		free_dirs(before, nbefore);
		return ct_cli_error("cannot wait for %s: %s", argv[first], strerror(errno));
	}
	if (got == (ssize_t)sizeof(exec_errno)) {
		free_dirs(before, nbefore);
		ct_cli_error("cannot run '%s': %s", argv[first], strerror(exec_errno));
		return exec_errno == ENOENT ? 127 : 126;
	}
	if (!o.quiet) {
		double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		expand_template(tmpl, pid, dir, sizeof(dir));
		trim_slashes(dir);
		summarize(dir, pid, stale, argv[first], status, secs, default_dir, before, nbefore);
	}
	free_dirs(before, nbefore);
	return exit_like(status);
}
