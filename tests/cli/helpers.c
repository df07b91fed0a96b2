/* contend CLI test helpers; see helpers.h. */
#include "helpers.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "profile.pb-c.h"

extern char **environ;

static const char *
env_required(const char *name)
{
	const char *v = getenv(name);
	cr_assert(v && *v, "%s is not set: run the tests through meson test", name);
	return v;
}

const char *
contend_bin(void)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s/contend", env_required("CONTEND_BUILD_ROOT"));
	return path;
}

void
source_path(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", env_required("CONTEND_SOURCE_ROOT"), rel);
}

void
build_path(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", env_required("CONTEND_BUILD_ROOT"), rel);
}

bool
have_program(const char *name)
{
	const char *path = getenv("PATH");
	if (strchr(name, '/'))
		return access(name, X_OK) == 0;
	if (!path)
		return false;
	char *copy = strdup(path), *save = NULL;
	bool found = false;
	for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char full[4096];
		snprintf(full, sizeof(full), "%s/%s", d, name);
		found = access(full, X_OK) == 0;
	}
	free(copy);
	return found;
}

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
		/* Criterion's runner may block signals; the program must not. */
		sigset_t none_set;
		sigemptyset(&none_set);
		sigprocmask(SIG_SETMASK, &none_set, NULL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
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

static void
append(char **buf, size_t *len, const char *data, size_t n)
{
	char *nb = realloc(*buf, *len + n + 1);
	cr_assert(nb);
	memcpy(nb + *len, data, n);
	*len += n;
	nb[*len] = 0;
	*buf = nb;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
cmd_finish(struct cmd *c, int timeout_s)
{
	double deadline = now_s() + (timeout_s ? timeout_s : 60);
	append(&c->stdout_text, &c->stdout_len, "", 0);
	append(&c->stderr_text, &c->stderr_len, "", 0);
	while (c->out >= 0 || c->err >= 0) {
		struct pollfd p[2] = {{c->out, POLLIN, 0}, {c->err, POLLIN, 0}};
		double left = deadline - now_s();
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
				append(&c->stdout_text, &c->stdout_len, buf, (size_t)n);
			else
				append(&c->stderr_text, &c->stderr_len, buf, (size_t)n);
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

/* ------------------------------------------------------------------ */

void
tmpdir_make(char *buf, size_t len)
{
	const char *t = getenv("TMPDIR");
	snprintf(buf, len, "%s/contend-cli-XXXXXX", t && *t ? t : "/tmp");
	cr_assert(mkdtemp(buf), "mkdtemp: %s", strerror(errno));
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
tmpdir_remove(const char *dir)
{
	if (dir && *dir)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t n = 0;
	char chunk[65536];
	size_t got;
	append(&buf, &n, "", 0);
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		append(&buf, &n, chunk, got);
	fclose(f);
	if (len)
		*len = n;
	return buf;
}

void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert(f, "cannot create %s: %s", path, strerror(errno));
	cr_assert(fwrite(data, 1, len, f) == len);
	cr_assert(fclose(f) == 0);
}

void *
gzip_bytes(const void *data, size_t len, size_t *outlen)
{
	z_stream z = {0};
	cr_assert(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
	size_t cap = deflateBound(&z, len) + 64;
	unsigned char *out = malloc(cap);
	cr_assert(out);
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	cr_assert(deflate(&z, Z_FINISH) == Z_STREAM_END);
	*outlen = z.total_out;
	deflateEnd(&z);
	return out;
}

int
count_lines(const char *s)
{
	int n = 0;
	const char *p = s;
	for (; *p; p++)
		n += *p == '\n';
	if (p > s && p[-1] != '\n')
		n++;
	return n;
}

/* ------------------------------------------------------------------ */
/* Hand-built profiles */

/* The message packed and gzip'd. */
static void *
pack_gz(const Perftools__Profiles__Profile *p, size_t *len)
{
	size_t n = perftools__profiles__profile__get_packed_size(p);
	uint8_t *raw = malloc(n + 1);
	cr_assert(raw);
	perftools__profiles__profile__pack(p, raw);
	void *gz = gzip_bytes(raw, n, len);
	free(raw);
	return gz;
}

void *
make_profile(enum bad_profile kind, size_t *len)
{
	static char *strings[] = {"", "contentions", "count", "delay", "nanoseconds",
				  "worker", "bump", "/src/app.c", "/usr/bin/app", "pthread_mutex_unlock",
				  "thread", "w-1"};
	Perftools__Profiles__Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType st0 = PERFTOOLS__PROFILES__VALUE_TYPE__INIT,
				       st1 = PERFTOOLS__PROFILES__VALUE_TYPE__INIT,
				       pt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	Perftools__Profiles__ValueType *sts[] = {&st0, &st1};
	Perftools__Profiles__Mapping m = PERFTOOLS__PROFILES__MAPPING__INIT;
	Perftools__Profiles__Mapping *ms[] = {&m};
	Perftools__Profiles__Function f[3] = {PERFTOOLS__PROFILES__FUNCTION__INIT,
					      PERFTOOLS__PROFILES__FUNCTION__INIT,
					      PERFTOOLS__PROFILES__FUNCTION__INIT};
	Perftools__Profiles__Function *fs[] = {&f[0], &f[1], &f[2]};
	Perftools__Profiles__Line l[3] = {PERFTOOLS__PROFILES__LINE__INIT, PERFTOOLS__PROFILES__LINE__INIT,
					  PERFTOOLS__PROFILES__LINE__INIT};
	Perftools__Profiles__Line *l1[] = {&l[0]}, *l2[] = {&l[1], &l[2]};
	Perftools__Profiles__Location loc[2] = {PERFTOOLS__PROFILES__LOCATION__INIT,
						PERFTOOLS__PROFILES__LOCATION__INIT};
	Perftools__Profiles__Location *locs[] = {&loc[0], &loc[1]};
	Perftools__Profiles__Sample s[2] = {PERFTOOLS__PROFILES__SAMPLE__INIT,
					    PERFTOOLS__PROFILES__SAMPLE__INIT};
	Perftools__Profiles__Sample *ss[] = {&s[0], &s[1]};
	Perftools__Profiles__Label lab = PERFTOOLS__PROFILES__LABEL__INIT;
	Perftools__Profiles__Label *labs[] = {&lab};
	uint64_t ids0[] = {1, 2}, ids1[] = {2};
	int64_t v0[] = {3, 3000000}, v1[] = {1, 1500000};

	st0.type = 1, st0.unit = 2, st1.type = 3, st1.unit = 4;
	pt.type = 1, pt.unit = 2;
	p.n_sample_type = 2, p.sample_type = sts;
	p.period_type = &pt, p.period = 1;
	p.time_nanos = 1700000000000000000LL;
	p.duration_nanos = 2000000000LL;
	p.n_string_table = sizeof(strings) / sizeof(strings[0]), p.string_table = strings;
	m.id = 1, m.memory_start = 0x400000, m.memory_limit = 0x500000, m.filename = 8;
	m.has_functions = m.has_filenames = m.has_line_numbers = m.has_inline_frames = 1;
	p.n_mapping = 1, p.mapping = ms;
	f[0].id = 1, f[0].name = 9, f[0].system_name = 9;
	f[1].id = 2, f[1].name = 6, f[1].system_name = 6, f[1].filename = 7, f[1].start_line = 4;
	f[2].id = 3, f[2].name = 5, f[2].system_name = 5, f[2].filename = 7, f[2].start_line = 10;
	p.n_function = 3, p.function = fs;
	l[0].function_id = 1;
	l[1].function_id = 2, l[1].line = 6; /* bump inlined into worker */
	l[2].function_id = 3, l[2].line = 12;
	loc[0].id = 1, loc[0].mapping_id = 1, loc[0].address = 0x401000, loc[0].n_line = 1, loc[0].line = l1;
	loc[1].id = 2, loc[1].mapping_id = 1, loc[1].address = 0x402000, loc[1].n_line = 2, loc[1].line = l2;
	p.n_location = 2, p.location = locs;
	lab.key = 10, lab.str = 11;
	s[0].n_location_id = 2, s[0].location_id = ids0, s[0].n_value = 2, s[0].value = v0;
	s[0].n_label = 1, s[0].label = labs;
	s[1].n_location_id = 1, s[1].location_id = ids1, s[1].n_value = 2, s[1].value = v1;
	p.n_sample = 2, p.sample = ss;

	switch (kind) {
	case PROFILE_GOOD:
		break;
	case PROFILE_EMPTY:
		p.n_sample = 0;
		break;
	case PROFILE_DANGLING_LOCATION:
		ids1[0] = 99;
		break;
	case PROFILE_DANGLING_FUNCTION:
		l[2].function_id = 42;
		break;
	case PROFILE_DANGLING_MAPPING:
		loc[1].mapping_id = 7;
		break;
	case PROFILE_BAD_STRING_INDEX:
		f[2].name = 1000;
		break;
	case PROFILE_VALUE_COUNT:
		s[1].n_value = 1;
		break;
	}
	return pack_gz(&p, len);
}

const char *const profile_shape_names[SHAPE_COUNT] = {
	"label-keys", "label-values", "num-labels", "samples", "same-stack", "deep", "recursive",
};

void *
make_shape_profile(enum profile_shape shape, size_t n, size_t *len)
{
	/* Strings 0..5 fixed, then n made ones ("s<i>") at 6 + i. */
	size_t nstr = 6 + n;
	char **strings = calloc(nstr, sizeof(*strings));
	cr_assert(strings);
	const char *fixed[] = {"", "contentions", "count", "delay", "nanoseconds", "key"};
	for (size_t i = 0; i < 6; i++)
		strings[i] = (char *)fixed[i];
	for (size_t i = 0; i < n; i++)
		cr_assert(asprintf(&strings[6 + i], "s%zu", i) > 0);

	Perftools__Profiles__Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType st0 = PERFTOOLS__PROFILES__VALUE_TYPE__INIT,
				       st1 = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	Perftools__Profiles__ValueType *sts[] = {&st0, &st1};
	st0.type = 1, st0.unit = 2, st1.type = 3, st1.unit = 4;
	p.n_sample_type = 2, p.sample_type = sts;
	p.n_string_table = nstr, p.string_table = strings;

	bool many_samples = shape == SHAPE_SAMPLES || shape == SHAPE_SAME_STACK;
	bool deep = shape == SHAPE_DEEP || shape == SHAPE_RECURSIVE;
	size_t nsamples = many_samples ? n : 1;
	size_t nlocs = shape == SHAPE_SAMPLES || deep ? n : 1;
	size_t nfns = shape == SHAPE_SAMPLES || shape == SHAPE_DEEP ? n : 1;
	size_t nlabels = many_samples || deep ? 0 : n;

	Perftools__Profiles__Function *fv = calloc(nfns, sizeof(*fv)), **fs = calloc(nfns, sizeof(*fs));
	Perftools__Profiles__Line *lv = calloc(nlocs, sizeof(*lv)), **ls = calloc(nlocs, sizeof(*ls));
	Perftools__Profiles__Location *locv = calloc(nlocs, sizeof(*locv)),
				      **locs = calloc(nlocs, sizeof(*locs));
	Perftools__Profiles__Sample *sv = calloc(nsamples, sizeof(*sv)), **ss = calloc(nsamples, sizeof(*ss));
	Perftools__Profiles__Label *labv = calloc(nlabels + 1, sizeof(*labv)),
				   **labs = calloc(nlabels + 1, sizeof(*labs));
	uint64_t *ids = calloc(nlocs > nsamples ? nlocs : nsamples, sizeof(*ids));
	int64_t vals[2] = {1, 1000};
	cr_assert(fv && fs && lv && ls && locv && locs && sv && ss && labv && labs && ids);
	for (size_t i = 0; i < nfns; i++) {
		perftools__profiles__function__init(&fv[i]);
		fv[i].id = i + 1, fv[i].name = fv[i].system_name = (int64_t)(6 + i);
		fs[i] = &fv[i];
	}
	for (size_t i = 0; i < nlocs; i++) {
		perftools__profiles__line__init(&lv[i]);
		lv[i].function_id = nfns == 1 ? 1 : i + 1;
		lv[i].line = (int64_t)i + 1;
		ls[i] = &lv[i];
		perftools__profiles__location__init(&locv[i]);
		locv[i].id = i + 1, locv[i].address = 0x1000 + 16 * i;
		locv[i].n_line = 1, locv[i].line = &ls[i];
		locs[i] = &locv[i];
		ids[i] = i + 1;
	}
	for (size_t i = 0; i < nlabels; i++) {
		perftools__profiles__label__init(&labv[i]);
		labv[i].key = shape == SHAPE_LABEL_VALUES ? 5 : (int64_t)(6 + i);
		if (shape == SHAPE_NUM_LABELS)
			labv[i].num = (int64_t)i + 1;
		else
			labv[i].str = (int64_t)(6 + (n - 1 - i));
		labs[i] = &labv[i];
	}
	for (size_t i = 0; i < nsamples; i++) {
		perftools__profiles__sample__init(&sv[i]);
		sv[i].n_value = 2, sv[i].value = vals;
		if (shape == SHAPE_SAMPLES)
			sv[i].n_location_id = 1, sv[i].location_id = &ids[i];
		else
			sv[i].n_location_id = nlocs, sv[i].location_id = ids;
		sv[i].n_label = nlabels, sv[i].label = labs;
		ss[i] = &sv[i];
	}
	p.n_function = nfns, p.function = fs;
	p.n_location = nlocs, p.location = locs;
	p.n_sample = nsamples, p.sample = ss;

	void *gz = pack_gz(&p, len);
	for (size_t i = 0; i < n; i++)
		free(strings[6 + i]);
	free(strings);
	free(fv), free(fs), free(lv), free(ls), free(locv), free(locs), free(sv), free(ss);
	free(labv), free(labs), free(ids);
	return gz;
}
