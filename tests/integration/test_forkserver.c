/* Process-per-connection servers (tests/progs/fork_server, a postmaster
 * in miniature): every child that served a connection writes its own
 * profiles, fully named, and a child whose parent already resolved the
 * same objects does not read them again.
 *
 * Nothing here depends on timing: each child's wait lasts at least the
 * time the client pauses after the kernel shows the child blocked, and
 * the server reaps each child before it forks the next one, so every
 * child but the first is forked after an earlier one wrote its profiles. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testrun.h"

#define FS_CHILDREN 8
#define FS_WAIT_US 3000

struct fs_child {
	int pid;
	char op[16]; /* "epoll_wait" or "read" */
};

/* The children the server reported (child=<pid> op=<op>), in order. */
static int
fs_children(const struct run *r, struct fs_child *v, int max)
{
	int n = 0;
	for (const char *p = r->out; p && *p && n < max; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		struct fs_child c;
		if (sscanf(p, "child=%d op=%15s", &c.pid, c.op) == 2)
			v[n++] = c;
	}
	return n;
}

/* fork_server under the shim and the test library preload, with up to
 * two more settings (NULL for none); it must succeed and report its
 * FS_CHILDREN children, read into kids. */
static void
fs_run_with(struct run *r, const char *preload, const char *setting, const char *setting2,
	    struct fs_child kids[FS_CHILDREN])
{
	static const char *const args[] = {"8", "3000", NULL};
	char lib[PATH_MAX];
	prog_path(lib, sizeof(lib), preload);
	/* Relative: the program and its children run in the run's directory. */
	const char *const env[] = {"CONTEND_QUIET=1", setting, setting2, NULL};
	run_prog(r, &(struct run_opts){.prog = "fork_server", .args = args, .env = env,
				       .out = "c.%p", .also_preload = lib, .timeout_s = 240});
	cr_assert(!r->timed_out, "fork_server did not finish; stderr:\n%s", r->err);
	run_expect_success(r);
	cr_assert_eq(run_value(r, NULL, "children"), FS_CHILDREN);
	cr_assert_eq(run_value(r, NULL, "failed"), 0);
	cr_assert_eq(fs_children(r, kids, FS_CHILDREN), FS_CHILDREN, "stdout:\n%s", r->out);
}

static void
fs_run(struct run *r, const char *preload, const char *setting, struct fs_child kids[FS_CHILDREN])
{
	fs_run_with(r, preload, setting, NULL, kids);
}

/* The child's block profile names its wait's callers. */
static void
fs_expect_wait_named(const struct run *r, const struct fs_child *kid)
{
	char sub[32];
	snprintf(sub, sizeof(sub), "c.%d", kid->pid);
	struct profile p;
	if (!run_profile(r, sub, "block", &p))
		return;
	struct psum s = profile_sum(&p, &(struct stack_match){.leaf = kid->op,
							       .contains = "serve_one"});
	cr_expect_eq(s.samples, 1, "child %d: its wait is not named", kid->pid);
	profile_free(&p);
}

/* Each child's block profile: its wait for the client, at least the
 * pause by construction, under the function that waited and its callers,
 * by name; and a mutex profile beside it. */
Test(forkserver, every_child_writes_named_profiles, .timeout = 300)
{
	struct run r;
	struct fs_child kids[FS_CHILDREN];
	fs_run(&r, "libopenlog.so", "OPENLOG_FILE=", kids);
	for (int i = 0; i < FS_CHILDREN; i++) {
		char sub[32], path[PATH_MAX];
		snprintf(sub, sizeof(sub), "c.%d", kids[i].pid);
		run_path(&r, sub, "mutex.pb.gz", path, sizeof(path));
		cr_expect(path_exists(path), "child %d (%s) wrote no mutex profile", kids[i].pid,
			  kids[i].op);
		struct profile p;
		if (!run_profile(&r, sub, "block", &p))
			continue;
		const char *fn = strcmp(kids[i].op, "read") == 0 ? "wait_request_read"
								  : "wait_request_epoll";
		struct psum s = profile_sum(&p, &(struct stack_match){.leaf = kids[i].op,
								       .next = fn});
		cr_expect_eq(s.samples, 1, "child %d: one %s wait under %s", kids[i].pid,
			     kids[i].op, fn);
		expect_ratio(&p, (double)s.delay, FS_WAIT_US * 1e3, BAND_ASKED_LO, 1e6,
			     "child %d: its %s wait", kids[i].pid, kids[i].op);
		struct psum named = profile_sum(&p, &(struct stack_match){.leaf = kids[i].op,
									   .contains = "serve_one"});
		struct psum main_ = profile_sum(&p, &(struct stack_match){.leaf = kids[i].op,
									   .contains = "main"});
		cr_expect(named.samples == 1 && main_.samples == 1,
			  "child %d: the wait's callers are not all named", kids[i].pid);
		if (named.samples != 1 || s.samples != 1)
			profile_dump(&p, kids[i].op);
		profile_free(&p);
	}
	run_free(&r);
}

/* A child's exit dump takes no chunk of the heap it shares with its
 * parent, nor gives one back: each would be a page of the parent's to
 * copy (core/scratch.h). libheaplog.so notes every heap call made in the
 * server's children and which object made it; the children's own code
 * (printf's buffer, the program's) may call, the shim's may not. The
 * children still write their profiles, named. */
Test(forkserver, child_dumps_leave_the_shared_heap_alone, .timeout = 300)
{
	struct run r;
	struct fs_child kids[FS_CHILDREN];
	fs_run(&r, "libheaplog.so", NULL, kids);
	/* The detector works: the children do call (libc for the dump). */
	cr_expect_gt(run_value(&r, NULL, "heaplog_child_calls"), 0, "stdout:\n%s", r.out);
	cr_expect_eq(run_value(&r, NULL, "heaplog_from_contend"), 0,
		     "the shim's code called the heap in fork children; stdout:\n%s", r.out);
	for (int i = 0; i < FS_CHILDREN; i++)
		fs_expect_wait_named(&r, &kids[i]);
	run_free(&r);
}

/* How many times the C library had the dynamic loader bind sym for it in
 * the LD_DEBUG=bindings log: "binding file <dir>/libc.so.6 [0] to ...:
 * normal symbol `sym' [GLIBC_...]". */
static int
fs_libc_bindings(const char *log, const char *sym)
{
	char tail[128];
	snprintf(tail, sizeof(tail), ": normal symbol `%s'", sym);
	int n = 0;
	for (const char *p = log; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *nl = strchr(p, '\n'), *file = strstr(p, "binding file ");
		const char *to = file ? strstr(file, " to ") : NULL, *s = strstr(p, tail);
		if (!file || !to || !s || (nl && s > nl) || (nl && to > nl))
			continue;
		const char *libc = strstr(file, "/libc.so.6 ");
		n += libc && libc < to;
	}
	return n;
}

/* The functions a child's exit dump makes the C library call through its
 * own lazily bound PLT (open_memstream's calloc) are bound once in the
 * server, before its forks, rather than by the dynamic loader in every
 * child (a lookup through every object of the process: about 0.3 ms of a
 * PostgreSQL backend's CPU on a VM). The first child is forked before the
 * server resolves anything for its children, so it may bind them too. */
Test(forkserver, children_do_not_bind_again_what_the_server_bound, .timeout = 300)
{
	struct run r;
	struct fs_child kids[FS_CHILDREN];
	fs_run_with(&r, "libopenlog.so", "LD_DEBUG=bindings", "LD_DEBUG_OUTPUT=ld", kids);
	char name[64], path[PATH_MAX];
	snprintf(name, sizeof(name), "ld.%d", (int)run_value(&r, NULL, "server"));
	run_path(&r, ".", name, path, sizeof(path));
	char *log = read_file(path, NULL);
	cr_assert(log, "no LD_DEBUG log at %s", path);
	/* The detector works: the server's own first calls are bound. */
	cr_expect_geq(fs_libc_bindings(log, "stdout"), 1, "no binding seen; log:\n%.2000s", log);
	cr_expect_leq(fs_libc_bindings(log, "calloc"), 2,
		      "libc's calloc was bound again in the children (%d times for %d children)",
		      fs_libc_bindings(log, "calloc"), FS_CHILDREN);
	free(log);
	run_free(&r);
}

/* The lines of the open log naming pid and containing what. */
static int
fs_opened(const char *log, int pid, const char *what)
{
	int n = 0;
	for (const char *p = log; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		int who;
		char path[4096];
		if (sscanf(p, "%d %4095s", &who, path) == 2 && who == pid && strstr(path, what))
			n++;
	}
	return n;
}

/* A child whose parent already resolved the same objects does not read
 * them again. The server resolves its own stacks before a fork once it
 * recorded enough to write profiles itself, or once a child wrote (the
 * child tells it in a page they share): by the second connection at the
 * latest, since the first child exits (and writes) before the second is
 * forked. Every later child inherits that: it reads neither the
 * program's file nor libc's, nor any separate debug information, yet
 * names its frames. */
Test(forkserver, children_inherit_resolved_symbols, .timeout = 300)
{
	struct run r;
	struct fs_child kids[FS_CHILDREN];
	fs_run(&r, "libopenlog.so", "OPENLOG_FILE=opens.txt", kids);
	char path[PATH_MAX];
	run_path(&r, ".", "opens.txt", path, sizeof(path));
	char *log = read_file(path, NULL);
	cr_assert(log, "no open log at %s", path);
	/* The detector works: the server read its program (for its children
	 * and its own profiles). */
	cr_expect_geq(fs_opened(log, (int)run_value(&r, NULL, "server"), "/fork_server"), 1,
		      "the server did not read its program; opens:\n%s", log);
	cr_expect_geq(fs_opened(log, (int)run_value(&r, NULL, "server"), "/proc/self/maps"), 1,
		      "the server did not read its mappings; opens:\n%s", log);
	for (int i = 1; i < FS_CHILDREN; i++) {
		cr_expect_eq(fs_opened(log, kids[i].pid, "/fork_server"), 0,
			     "child %d read the program's file again", kids[i].pid);
		cr_expect_eq(fs_opened(log, kids[i].pid, "/libc.so"), 0,
			     "child %d read libc's file again", kids[i].pid);
		cr_expect_eq(fs_opened(log, kids[i].pid, ".debug"), 0,
			     "child %d read debug information again", kids[i].pid);
		/* Nor the mappings: the server read them when it resolved. */
		cr_expect_eq(fs_opened(log, kids[i].pid, "/proc/self/maps"), 0,
			     "child %d read /proc/self/maps again", kids[i].pid);
		fs_expect_wait_named(&r, &kids[i]);
	}
	free(log);
	run_free(&r);
}

/* The symbols the server resolves for its children before a fork do not
 * change how the program's own malloc() behaves afterwards: a 130 KiB
 * request that reaches the end of the heap is still mapped, as glibc's
 * default threshold (128 KiB) has it (fork_server's probe first takes the
 * free chunks big enough, which would serve it whatever the threshold).
 * Freeing a chunk malloc had mapped raises the threshold to that chunk's
 * size for good, and the radix sort's scratch copy of libc's symbol table
 * (about 190-218 KiB with libc6-dbg) did, once per process: a PostgreSQL
 * postmaster and every backend then took their allocations up to 300 KiB
 * from the heap they share. */
Test(forkserver, resolving_leaves_the_programs_malloc_threshold, .timeout = 300)
{
	struct run r;
	struct fs_child kids[FS_CHILDREN];
	fs_run(&r, "libopenlog.so", "OPENLOG_FILE=", kids);
	cr_expect_eq(run_value(&r, NULL, "big_malloc_mapped"), 1,
		     "the server's 130 KiB malloc() came from the end of its heap: the shim raised "
		     "glibc's mmap threshold; stdout:\n%s", r.out);
	run_free(&r);
}

/* How many lines of r's stdout are key=<hex> with that value (or, with
 * value 0, the first such value, in *first). */
static int
fs_hex_lines(const struct run *r, const char *key, unsigned long value, unsigned long *first)
{
	int n = 0;
	size_t klen = strlen(key);
	for (const char *p = r->out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		unsigned long v;
		if (strncmp(p, key, klen) == 0 && p[klen] == '=' && sscanf(p + klen + 1, "%lx", &v) == 1) {
			if (first && n == 0)
				*first = v;
			n += value == 0 || v == value;
		}
	}
	return n;
}

/* Children tell their parent the return addresses they had to resolve
 * themselves (symbols, unwind rules), and its next fork resolves them, so
 * a later child that records the same stack inherits all of it and
 * resolves, and reports, nothing of it: of the four children that wait
 * in epoll_wait at the same place, only the first reports that place
 * (the return address into serve_one, which every one of them records). */
Test(forkserver, later_children_inherit_what_earlier_ones_resolved, .timeout = 300)
{
	static const char *const args[] = {"8", "3000", NULL};
	const char *const env[] = {"CONTEND_QUIET=1", NULL};
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "fork_server", .args = args, .env = env,
				       .out = "c.%p", .lib_env = "CONTEND_SEAMS_LIB",
				       .timeout_s = 240});
	cr_assert(!r.timed_out, "fork_server did not finish; stderr:\n%s", r.err);
	run_expect_success(&r);
	unsigned long site = 0;
	cr_assert_eq(fs_hex_lines(&r, "site", 0, &site), FS_CHILDREN / 2, "stdout:\n%s", r.out);
	cr_assert_gt(fs_hex_lines(&r, "kidpc", 0, NULL), 0,
		     "no kidpc= lines (libcontend-seams.so not preloaded?); stdout:\n%s", r.out);
	cr_expect_eq(fs_hex_lines(&r, "kidpc", site, NULL), 1,
		     "the epoll_wait children's return address into serve_one (%lx) was reported "
		     "by more than one child, or none; stdout:\n%s", site, r.out);
	/* The shim's own frames (the epoll_wait wrapper's, which the server
	 * never walked through), whose rules a child looks up too, are
	 * reported as well; and nothing is reported twice. */
	cr_expect(strstr(r.out, " in_shim=1\n"),
		  "no return address in the shim was reported; stdout:\n%s", r.out);
	for (const char *p = strstr(r.out, "kidpc="); p; p = strstr(p + 1, "kidpc=")) {
		unsigned long v;
		if (sscanf(p, "kidpc=%lx", &v) == 1)
			cr_expect_eq(fs_hex_lines(&r, "kidpc", v, NULL), 1, "%lx reported twice", v);
	}
	run_free(&r);
}
