/* Running a tests/progs program under the shim; see testrun.h. */
#include "testrun.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *const exact_env[] = {"CONTEND_MUTEX_FRACTION=1", "CONTEND_BLOCK_RATE=1", NULL};

/* ------------------------------------------------------------------ */

/* Starts path with stdout/stderr captured in files of r->tmp and stdin
 * from /dev/null or, with stdin_pipe, a pipe whose write end is kept in
 * r->stdin_fd. */
static void
run_spawn(struct run *r, const char *path, const char *const *argv, const char *const *envp,
	  const struct run_opts *o)
{
	snprintf(r->outpath, sizeof(r->outpath), "%s/.stdout", r->tmp);
	snprintf(r->errpath, sizeof(r->errpath), "%s/.stderr", r->tmp);
	int p[2] = {-1, -1};
	if (o->stdin_pipe)
		cr_assert(pipe2(p, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int i = o->stdin_pipe ? p[0] : open("/dev/null", O_RDONLY);
		int out = open(r->outpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(r->errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644), broken[2];
		if (o->stderr_broken) {
			if (pipe(broken) < 0)
				_exit(126);
			close(err);
			close(broken[0]);
			err = broken[1];
		}
		if (i < 0 || out < 0 || err < 0 || dup2(i, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(err, 2) < 0 || chdir(r->tmp) < 0)
			_exit(126);
		if (o->nofile) {
			struct rlimit rl = {(rlim_t)o->nofile, (rlim_t)o->nofile};
			if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
				_exit(125);
		}
		if (o->fsize) {
			struct rlimit rl = {(rlim_t)o->fsize, (rlim_t)o->fsize};
			if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
				_exit(125);
		}
		child_default_signals();
		execvpe(path, (char *const *)argv, (char *const *)envp);
		_exit(127);
	}
	r->pid = pid;
	r->path = path;
	if (o->stdin_pipe) {
		close(p[0]);
		r->stdin_fd = p[1];
	}
}

void
run_wait(struct run *r, int timeout_s)
{
	if (r->stdin_fd > 0) {
		close(r->stdin_fd);
		r->stdin_fd = -1;
	}
	double deadline = mono_s() + (timeout_s > 0 ? timeout_s : 60);
	for (;;) {
		pid_t w = waitpid(r->pid, &r->status, WNOHANG);
		if (w == r->pid)
			break;
		cr_assert(w == 0 || errno == EINTR, "waitpid: %s", strerror(errno));
		if (mono_s() > deadline) {
			r->timed_out = true;
			kill(r->pid, SIGKILL);
			waitpid(r->pid, &r->status, 0);
			break;
		}
		usleep(5000);
	}
	r->out = read_file(r->outpath, NULL);
	r->err = read_file(r->errpath, NULL);
	if (!r->out)
		r->out = strdup("");
	if (!r->err)
		r->err = strdup("");
	cr_assert(!r->timed_out, "%s did not finish within %d s; stderr:\n%s", r->path,
		  timeout_s > 0 ? timeout_s : 60, r->err);
	cr_assert(!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 127,
		  "cannot execute %s", r->path);
}

static void
run_init(struct run *r)
{
	memset(r, 0, sizeof(*r));
	r->stdin_fd = -1;
	tmpdir_make(r->tmp, sizeof(r->tmp), "itest");
}

void
run_start(struct run *r, const struct run_opts *o)
{
	run_init(r);
	prog_path(r->prog, sizeof(r->prog), o->prog);
	const char *argv[32] = {r->prog};
	size_t argc = 1;
	for (size_t i = 0; o->args && o->args[i]; i++) {
		cr_assert(argc + 1 < 32, "too many arguments");
		argv[argc++] = o->args[i];
	}

	static char preload[2 * PATH_MAX + 16], out[2 * PATH_MAX];
	const char *lib = env_required(o->lib_env ? o->lib_env : "CONTEND_LIB");
	if (!o->also_preload)
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", lib);
	else
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s %s",
			 o->also_first ? o->also_preload : lib,
			 o->also_first ? lib : o->also_preload);
	if (o->raw_out) {
		snprintf(out, sizeof(out), "CONTEND_OUT=%s", o->out);
	} else {
		snprintf(r->outdir, sizeof(r->outdir), "%s/%s", r->tmp, o->out ? o->out : "out");
		snprintf(out, sizeof(out), "CONTEND_OUT=%s", r->outdir);
	}

	struct envlist env;
	envlist_clean(&env);
	if (!o->no_preload)
		envlist_push(&env, preload);
	envlist_push(&env, out);
	/* The notices a person at a terminal sees (stderr is a pipe here,
	 * where the default says nothing); a test of the default sets
	 * CONTEND_QUIET=auto. */
	envlist_push(&env, "CONTEND_QUIET=0");
	envlist_push_all(&env, o->env);
	envlist_push_all(&env, o->env2);
	run_spawn(r, r->prog, argv, env.v, o);
	envlist_free(&env);
}

int
connect_port(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
served_port(const char *err, pid_t pid)
{
	static const char head[] = "serving /debug/pprof/ on http://";
	char tail[48];
	if (pid > 0)
		snprintf(tail, sizeof(tail), "/ (pid %d)", (int)pid);
	else
		snprintf(tail, sizeof(tail), "/ (pid");
	for (const char *p = err ? strstr(err, head) : NULL; p; p = strstr(p + 1, head)) {
		const char *end = strchr(p, '\n');
		const char *t = strstr(p + sizeof(head) - 1, tail);
		if (!t || (end && t > end))
			continue;
		const char *colon = t;
		while (colon > p && *colon != ':')
			colon--;
		return atoi(colon + 1);
	}
	return 0;
}

int
run_await_serving(struct run *r, bool http)
{
	double deadline = mono_s() + 60;
	for (;;) {
		char *out = read_file(r->outpath, NULL), *err = read_file(r->errpath, NULL);
		bool ready = out && strstr(out, "ready=1");
		int port = served_port(err, 0);
		free(out);
		if (ready && (!http || port > 0)) {
			free(err);
			return port;
		}
		int st;
		if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
			r->pid = 0;
			cr_assert_fail("%s exited early; stderr:\n%s", r->path, err ? err : "");
		}
		if (mono_s() > deadline) {
			kill(r->pid, SIGKILL);
			cr_assert_fail("%s did not start serving; stderr:\n%s", r->path, err ? err : "");
		}
		free(err);
		sleep_ms(20);
	}
}

void
run_prog(struct run *r, const struct run_opts *o)
{
	run_start(r, o);
	run_wait(r, o->timeout_s);
}

void
run_cmd(struct run *r, const char *const *argv, int timeout_s)
{
	run_init(r);
	struct envlist env;
	envlist_clean(&env);
	run_spawn(r, argv[0], argv, env.v, &(struct run_opts){0});
	envlist_free(&env);
	run_wait(r, timeout_s);
}

void
run_free(struct run *r)
{
	if (r->stdin_fd > 0)
		close(r->stdin_fd);
	tmpdir_remove(r->tmp);
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

int
run_exit_code(const struct run *r)
{
	return WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
}

void
run_expect_success(const struct run *r)
{
	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
		  "pid %d: %s %d; stderr:\n%s", (int)r->pid,
		  WIFEXITED(r->status) ? "exit status" : "killed by signal",
		  WIFEXITED(r->status) ? WEXITSTATUS(r->status) : WTERMSIG(r->status), r->err);
}

void
run_ok(struct run *r, const struct run_opts *o)
{
	run_prog(r, o);
	run_expect_success(r);
}

long long
run_value(const struct run *r, const char *after, const char *key)
{
	size_t klen = strlen(key);
	const char *line = r->out;
	bool armed = after == NULL;
	while (line && *line) {
		if (!armed && !strncmp(line, after, strlen(after)))
			armed = true;
		else if (armed && !strncmp(line, key, klen) && line[klen] == '=')
			return strtoll(line + klen + 1, NULL, 10);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	cr_assert_fail("no line %s= in the output of pid %d:\n%s", key, (int)r->pid, r->out);
	return 0;
}

void
run_path(const struct run *r, const char *sub, const char *file, char *buf, size_t len)
{
	if (sub)
		snprintf(buf, len, "%s/%s/%s", r->tmp, sub, file);
	else
		snprintf(buf, len, "%s/%s", r->outdir, file);
}

/* ------------------------------------------------------------------ */

bool
run_profile(const struct run *r, const char *sub, const char *kind, struct profile *p)
{
	char dir[PATH_MAX + 1100];
	if (sub)
		snprintf(dir, sizeof(dir), "%s/%s", r->tmp, sub);
	else
		snprintf(dir, sizeof(dir), "%s", r->outdir);
	return profile_load_in(p, dir, kind);
}


void
measured_run(struct measured *m, const struct run_opts *o, const char *after, const char *what)
{
	memset(m, 0, sizeof(*m));
	run_prog(&m->r, o);
	run_expect_success(&m->r);
	m->expected = (double)run_value(&m->r, after, "expected_ns");
	m->waited = (double)run_value(&m->r, after, "waited_ns");
	cr_assert(run_profile(&m->r, NULL, "mutex", &m->mutex), "%s: no mutex profile", what);
	cr_assert(run_profile(&m->r, NULL, "block", &m->block), "%s: no block profile", what);
}

void
measured_free(struct measured *m)
{
	profile_free(&m->mutex);
	profile_free(&m->block);
	run_free(&m->r);
}
