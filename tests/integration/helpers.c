/* Integration test helpers; see helpers.h. */
#include "helpers.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pprof_read.h"
#include "profile.pb-c.h"

extern char **environ;

const char *const exact_env[] = {"CONTEND_MUTEX_FRACTION=1", "CONTEND_BLOCK_RATE=1", NULL};

const char *
env_required(const char *name)
{
	const char *v = getenv(name);
	cr_assert(v && *v, "%s is not set: run the tests through meson test", name);
	return v;
}

void
prog_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/tests/progs/%s", env_required("CONTEND_BUILD_ROOT"), name);
}

/* ------------------------------------------------------------------ */

char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *nb = realloc(buf, 2 * cap + 1);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf)
		buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

static void
push(const char **v, size_t *n, size_t cap, const char *s)
{
	cr_assert(*n + 1 < cap, "too many environment entries");
	v[(*n)++] = s;
	v[*n] = NULL;
}

static void
push_all(const char **v, size_t *n, size_t cap, const char *const *list)
{
	for (size_t i = 0; list && list[i]; i++)
		push(v, n, cap, list[i]);
}

static double
mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* fork + exec with stdout/stderr captured in files of r->tmp, waited for
 * with a time-out. */
static void
run_exec(struct run *r, const char *path, const char *const *argv, const char *const *envp,
	 int timeout_s)
{
	char outp[PATH_MAX + 16], errp[PATH_MAX + 16];
	snprintf(outp, sizeof(outp), "%s/.stdout", r->tmp);
	snprintf(errp, sizeof(errp), "%s/.stderr", r->tmp);
	fflush(NULL);
	pid_t pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int i = open("/dev/null", O_RDONLY);
		int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (i < 0 || o < 0 || e < 0 || dup2(i, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 ||
		    chdir(r->tmp) < 0)
			_exit(126);
		/* The runner may ignore or block these; the program must
		 * start with the defaults. */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execvpe(path, (char *const *)argv, (char *const *)envp);
		_exit(127);
	}
	r->pid = pid;
	double deadline = mono_s() + (timeout_s > 0 ? timeout_s : 60);
	for (;;) {
		pid_t w = waitpid(pid, &r->status, WNOHANG);
		if (w == pid)
			break;
		cr_assert(w == 0 || errno == EINTR, "waitpid: %s", strerror(errno));
		if (mono_s() > deadline) {
			r->timed_out = true;
			kill(pid, SIGKILL);
			waitpid(pid, &r->status, 0);
			break;
		}
		usleep(5000);
	}
	r->out = read_file(outp, NULL);
	r->err = read_file(errp, NULL);
	if (!r->out)
		r->out = strdup("");
	if (!r->err)
		r->err = strdup("");
	cr_assert(!r->timed_out, "%s did not finish within %d s; stderr:\n%s", path,
		  timeout_s > 0 ? timeout_s : 60, r->err);
	cr_assert(!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 127,
		  "cannot execute %s", path);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Temporary directories not yet removed by run_free: a failed assertion
 * ends the test before it, so they are removed when the test's process
 * exits (unless CONTEND_KEEP_TMP is set, to look at them). */
static char pending_tmp[16][1024];

static void
remove_pending_tmp(void)
{
	for (size_t i = 0; i < 16; i++)
		if (pending_tmp[i][0] && !getenv("CONTEND_KEEP_TMP"))
			nftw(pending_tmp[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
track_tmp(const char *dir, bool add)
{
	static bool registered;
	if (!registered && atexit(remove_pending_tmp) == 0)
		registered = true;
	for (size_t i = 0; i < 16; i++) {
		if (add && !pending_tmp[i][0]) {
			snprintf(pending_tmp[i], sizeof(pending_tmp[i]), "%s", dir);
			return;
		}
		if (!add && !strcmp(pending_tmp[i], dir)) {
			pending_tmp[i][0] = 0;
			return;
		}
	}
}

static void
run_mkdtemp(struct run *r)
{
	memset(r, 0, sizeof(*r));
	const char *tmpdir = getenv("TMPDIR");
	snprintf(r->tmp, sizeof(r->tmp), "%s/ct-itest-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	cr_assert(mkdtemp(r->tmp), "mkdtemp: %s", strerror(errno));
	track_tmp(r->tmp, true);
}

/* The runner's environment without LD_PRELOAD and CONTEND_*; room for
 * `extra` more entries. */
static const char **
clean_environ(size_t *n, size_t *cap)
{
	*n = 0;
	*cap = 64;
	for (char **e = environ; *e; e++)
		(*cap)++;
	const char **envp = calloc(*cap, sizeof(*envp));
	cr_assert(envp);
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11) && strncmp(*e, "CONTEND_", 8))
			push(envp, n, *cap, *e);
	return envp;
}

void
run_prog(struct run *r, const struct run_opts *o)
{
	run_mkdtemp(r);
	char path[PATH_MAX];
	prog_path(path, sizeof(path), o->prog);
	const char *argv[32] = {path};
	size_t argc = 1;
	for (size_t i = 0; o->args && o->args[i]; i++)
		push(argv, &argc, 32, o->args[i]);

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

	size_t nenv, cap;
	const char **envp = clean_environ(&nenv, &cap);
	if (!o->no_preload)
		push(envp, &nenv, cap, preload);
	push(envp, &nenv, cap, out);
	push_all(envp, &nenv, cap, o->env);
	push_all(envp, &nenv, cap, o->env2);

	run_exec(r, path, argv, envp, o->timeout_s);
	free(envp);
}

void
run_cmd(struct run *r, const char *const *argv, int timeout_s)
{
	run_mkdtemp(r);
	size_t nenv, cap;
	const char **envp = clean_environ(&nenv, &cap);
	run_exec(r, argv[0], argv, envp, timeout_s);
	free(envp);
}

bool
have_program(const char *name)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name);
		if (access(buf, X_OK) == 0)
			return true;
		path = end ? end + 1 : NULL;
	}
	return false;
}

void
run_free(struct run *r)
{
	if (r->tmp[0] && !getenv("CONTEND_KEEP_TMP"))
		nftw(r->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (r->tmp[0])
		track_tmp(r->tmp, false);
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

bool
path_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

int
count_lines(const char *s)
{
	int n = 0;
	for (const char *p = s; *p; p++)
		if (*p == '\n' || p[1] == 0)
			n++;
	return n;
}

char *
filter_lines(const char *s, const char *const *skip)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	cr_assert(out);
	while (*s) {
		const char *end = strchr(s, '\n');
		size_t n = end ? (size_t)(end - s + 1) : strlen(s);
		bool drop = false;
		for (size_t i = 0; skip[i] && !drop; i++) {
			const char *hit = strstr(s, skip[i]);
			drop = hit && hit < s + n;
		}
		if (!drop) {
			memcpy(o, s, n);
			o += n;
		}
		s += n;
	}
	*o = 0;
	return out;
}

/* ------------------------------------------------------------------ */

/* The profile's samples as frame names, from the one reader
 * (report/pprof_read.h), which has checked every id and string index. */
static bool
profile_build(struct profile *p)
{
	const struct ct_profile *cp = p->reader;
	p->nsample_types = cp->ntypes;
	for (size_t i = 0; i < 2 && i < cp->ntypes; i++) {
		p->type[i] = cp->types[i];
		p->unit[i] = cp->units[i];
	}
	if (((const Perftools__Profiles__Profile *)cp->pb)->period_type) {
		p->period_type = cp->period_type;
		p->period_unit = cp->period_unit;
	}
	p->period = cp->period;
	p->nsamples = cp->nsamples;
	p->samples = calloc(cp->nsamples + 1, sizeof(*p->samples));
	cr_assert(p->samples);
	for (size_t i = 0; i < cp->nsamples; i++) {
		const struct ct_psample *s = &cp->samples[i];
		struct psample *ps = &p->samples[i];
		ps->count = s->values[0];
		ps->delay = cp->ntypes > 1 ? s->values[1] : 0;
		size_t nframes = 0;
		for (size_t j = 0; j < s->nlocs; j++)
			nframes += s->locs[j]->nlines ? s->locs[j]->nlines : 1;
		ps->frames = calloc(nframes + 1, sizeof(*ps->frames));
		cr_assert(ps->frames);
		for (size_t j = 0; j < s->nlocs; j++) {
			const struct ct_ploc *l = s->locs[j];
			if (l->nlines == 0)
				ps->frames[ps->nframes++] = "?";
			/* lines[0] is the innermost inlined function. */
			for (size_t k = 0; k < l->nlines; k++)
				ps->frames[ps->nframes++] = l->lines[k].fn->name;
		}
	}
	return true;
}

bool
profile_load(struct profile *p, const char *path)
{
	char err[512];
	struct ct_profile *cp;
	memset(p, 0, sizeof(*p));
	size_t len;
	uint8_t *gz = (uint8_t *)read_file(path, &len);
	if (!gz) {
		cr_expect_fail("cannot read %s: %s", path, strerror(errno));
		return false;
	}
	/* The reader also takes a raw protobuf; what we write is gzip'd. */
	if (len < 2 || gz[0] != 0x1f || gz[1] != 0x8b) {
		cr_expect_fail("%s is not gzip'd", path);
		free(gz);
		return false;
	}
	int r = ct_profile_parse(gz, len, &cp, err, sizeof(err));
	free(gz);
	if (r < 0) {
		cr_expect_fail("%s: %s", path, err);
		return false;
	}
	if (cp->nsamples && cp->ntypes < 1) {
		cr_expect_fail("%s: samples without sample types", path);
		ct_profile_free(cp);
		return false;
	}
	p->reader = cp;
	p->pb = cp->pb;
	if (!profile_build(p)) {
		profile_free(p);
		return false;
	}
	return true;
}

bool
run_profile(const struct run *r, const char *sub, const char *kind, struct profile *p)
{
	char path[PATH_MAX], file[64];
	snprintf(file, sizeof(file), "%s.pb.gz", kind);
	run_path(r, sub, file, path, sizeof(path));
	return profile_load(p, path);
}

void
profile_free(struct profile *p)
{
	for (size_t i = 0; p->samples && i < p->nsamples; i++)
		free(p->samples[i].frames);
	free(p->samples);
	ct_profile_free(p->reader); /* and with it p->pb */
	memset(p, 0, sizeof(*p));
}

void
profile_dump(const struct profile *p, const char *title)
{
	fprintf(stderr, "--- %s: %zu samples\n", title, p->nsamples);
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct psample *s = &p->samples[i];
		fprintf(stderr, "  count %lld delay %.3f ms:", (long long)s->count, s->delay / 1e6);
		for (size_t j = 0; j < s->nframes && j < 6; j++)
			fprintf(stderr, " %s%s", j ? "<- " : "", s->frames[j]);
		fprintf(stderr, "\n");
	}
}

bool
frame_matches(const char *name, const char *want)
{
	size_t n = strlen(want);
	return !strncmp(name, want, n) && (name[n] == 0 || name[n] == '(');
}

static bool
stack_has(const struct psample *s, const char *want)
{
	for (size_t i = 0; i < s->nframes; i++)
		if (frame_matches(s->frames[i], want))
			return true;
	return false;
}

struct psum
profile_sum(const struct profile *p, const struct stack_match *m)
{
	struct psum sum = {0};
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct psample *s = &p->samples[i];
		if (m->leaf && !(s->nframes > 0 && frame_matches(s->frames[0], m->leaf)))
			continue;
		if (m->next && !(s->nframes > 1 && frame_matches(s->frames[1], m->next)))
			continue;
		if (m->contains && !stack_has(s, m->contains))
			continue;
		if (m->excludes && stack_has(s, m->excludes))
			continue;
		sum.count += s->count;
		sum.delay += s->delay;
		sum.samples++;
	}
	return sum;
}

bool
profile_has_mapping(const struct profile *p, const char *basename)
{
	const struct ct_profile *cp = p->reader;
	size_t n = strlen(basename);
	for (size_t i = 0; i < cp->nmaps; i++) {
		const char *f = cp->maps[i].file;
		size_t len = strlen(f);
		if (len > n && f[len - n - 1] == '/' && !strcmp(f + len - n, basename))
			return true;
	}
	return false;
}

void
expect_ratio(const struct profile *p, double got, double ref, double lo, double hi,
	     const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	bool ok = got >= lo * ref && got <= hi * ref;
	cr_expect(ok, "%s: %.6g is not within [%.2f, %.2f] x %.6g (ratio %.3f)", what, got, lo, hi,
		  ref, ref != 0 ? got / ref : 0.0);
	if (!ok && p)
		profile_dump(p, what);
}
