/* Running a command with its stdio on pipes; see testcmd.h. */
#include "testcmd.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */

void
cmd_start(struct cmd *c, const char *const *argv, const struct cmd_opts *o)
{
	static const struct cmd_opts none = {0};
	int in[2], out[2], err[2];
	if (!o)
		o = &none;
	memset(c, 0, sizeof(*c));
	cr_assert(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0 &&
		  pipe2(err, O_CLOEXEC) == 0);
	fflush(NULL);
	pid_t pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (o->own_group)
			setpgid(0, 0);
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		if (o->cwd && chdir(o->cwd) != 0)
			_exit(125);
		unsetenv("LD_PRELOAD");
		for (const char *const *e = o->env; e && *e; e++)
			putenv((char *)*e);
		child_default_signals();
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(126);
	}
	if (o->own_group)
		setpgid(pid, pid); /* both sides, against the race */
	close(in[0]);
	close(out[1]);
	close(err[1]);
	c->pid = pid;
	c->in = in[1];
	c->out = out[0];
	c->err = err[0];
	if (o->input && o->input_len) {
		/* Small inputs only: written before anything is read. */
		ssize_t w = write(c->in, o->input, o->input_len);
		cr_assert(w == (ssize_t)o->input_len, "short write to stdin");
	}
	close(c->in);
	c->in = -1;
}

void
cmd_finish(struct cmd *c, int timeout_s)
{
	double deadline = mono_s() + (timeout_s ? timeout_s : 60);
	buf_append(&c->stdout_text, &c->stdout_len, "", 0);
	buf_append(&c->stderr_text, &c->stderr_len, "", 0);
	while (c->out >= 0 || c->err >= 0) {
		struct pollfd p[2] = {{c->out, POLLIN, 0}, {c->err, POLLIN, 0}};
		double left = deadline - mono_s();
		if (left <= 0) {
			c->timed_out = true;
			kill(-c->pid, SIGKILL);
			kill(c->pid, SIGKILL);
			break;
		}
		int r = poll(p, 2, (int)(left * 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[65536];
			ssize_t n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0) {
				close(p[i].fd);
				if (i == 0)
					c->out = -1;
				else
					c->err = -1;
				continue;
			}
			if (i == 0)
				buf_append(&c->stdout_text, &c->stdout_len, buf, (size_t)n);
			else
				buf_append(&c->stderr_text, &c->stderr_len, buf, (size_t)n);
		}
	}
	if (c->out >= 0)
		close(c->out);
	if (c->err >= 0)
		close(c->err);
	c->out = c->err = -1;
	while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR)
		;
}

void
cmd_run(struct cmd *c, const char *const *argv, const struct cmd_opts *o)
{
	cmd_start(c, argv, o);
	cmd_finish(c, o ? o->timeout_s : 0);
	cr_assert(!c->timed_out, "%s timed out; stderr:\n%s", argv[0], c->stderr_text);
}

void
cmd_free(struct cmd *c)
{
	free(c->stdout_text);
	free(c->stderr_text);
	c->stdout_text = c->stderr_text = NULL;
}

int
cmd_exit_code(const struct cmd *c)
{
	return WIFEXITED(c->status) ? WEXITSTATUS(c->status) : -1;
}

