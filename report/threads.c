/* Thread dumps; see threads.h. Turns the thread part of a snapshot into
 * the three views: threads.txt (one block per thread, Go's debug=2 style,
 * after a summary with what a person looks for first: deadlocks, threads
 * blocked behind a held lock, stuck ones, the other waits, idle groups,
 * leaks; the blocks in the same order), threads.pb.gz (a count profile
 * whose samples group threads by stack and labels) and threadcreate.pb.gz
 * (where threads were created). Which waits are idle or stuck, and how
 * long a re-armed wait is, core decided (core/threads.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/names.h"
#include "../core/threads.h"
#include "gzout.h"
#include "maps.h"
#include "pprof.h"
#include "symbolize.h"
#include "threads.h"

#include "buf.h"
#include "locknames.h"
#include "cmp.h"

/* Threads of a deadlock must all have been waiting at least this long:
 * a cycle read from records that were changing is then impossible in
 * practice, and a real deadlock only gets older. */
#define CT_DEADLOCK_MIN_WAIT_NS (10 * 1000 * 1000)

struct td {
	const struct ct_snapshot *snap;
	struct ct_symbolizer *sym;
	FILE *f;
	struct ct_locknames *ln; /* NULL: locks shown by address */
};

/* The name of the lock at obj (report/locknames.h), or its address. */
static const char *
td_lock_name(struct td *d, uintptr_t obj, char *buf, size_t len)
{
	if (d->ln)
		return ct_locknames_get(d->ln, obj, NULL);
	snprintf(buf, len, "%#" PRIxPTR, obj);
	return buf;
}

static bool
td_is_lock(unsigned op)
{
	return op <= CT_OP_SPIN_LOCK && op != CT_OP_MUTEX_UNLOCK && op != CT_OP_RWLOCK_UNLOCK &&
	       op != CT_OP_SPIN_UNLOCK;
}

static const char *
td_state(const struct ct_thread_snap *t)
{
	if (t->state == 2) /* CT_THREAD_EXITED */
		return "exited, not joined";
	return t->waiting ? "waiting" : t->crashed ? "crashed" : "running";
}

/* "pipe", "socket", "file" ... from /proc/self/fd, for I/O waits. */
static void
td_fd_kind(int fd, char *buf, size_t len)
{
	char path[64], target[256];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0) {
		snprintf(buf, len, "closed");
		return;
	}
	target[n] = 0;
	if (!strncmp(target, "pipe:", 5))
		snprintf(buf, len, "pipe");
	else if (!strncmp(target, "socket:", 7))
		snprintf(buf, len, "socket");
	else if (!strncmp(target, "anon_inode:", 11)) {
		/* "anon_inode:[eventfd]" -> "eventfd" */
		const char *k = target + 11 + (target[11] == '[');
		snprintf(buf, len, "%.*s", (int)strcspn(k, "]"), k);
	}
	else if (!strncmp(target, "/dev/pts/", 9) || !strncmp(target, "/dev/tty", 8))
		snprintf(buf, len, "tty");
	else
		snprintf(buf, len, "file");
}

/* Go prints whole minutes; shorter waits matter here too. */
static void
td_duration(int64_t ns, char *buf, size_t len)
{
	if (ns >= 120LL * 1000000000)
		snprintf(buf, len, "%" PRId64 " minutes", (int64_t)(ns / 60000000000LL));
	else if (ns >= 60LL * 1000000000)
		snprintf(buf, len, "1 minute");
	else if (ns >= 1000000000)
		snprintf(buf, len, "%.1fs", (double)ns / 1e9);
	else
		snprintf(buf, len, "%.0fms", (double)ns / 1e6);
}

/* "worker_loop (server.c:42)" for one return address. */
static void
td_where(struct td *d, uintptr_t pc, char *buf, size_t len)
{
	const struct ct_frame *fr;
	size_t n = 0;
	if (d->sym && pc)
		ct_symbolize_addr(d->sym, pc - 1, &fr, &n);
	if (n == 0) {
		snprintf(buf, len, "%#" PRIxPTR, pc);
		return;
	}
	const struct ct_frame *f = &fr[0];
	const char *file = f->file ? strrchr(f->file, '/') : NULL;
	file = file ? file + 1 : f->file;
	if (file)
		snprintf(buf, len, "%s (%s:%" PRId64 ")", f->name, file, f->line);
	else
		snprintf(buf, len, "%s", f->name);
}

/* One frame per line as Go prints them: "func(...)\n\tfile:line". */
static void
td_print_stack(struct td *d, const uintptr_t *pc, int depth)
{
	for (int i = 0; i < depth; i++) {
		const struct ct_frame *fr;
		size_t n = 0;
		if (d->sym && pc[i])
			ct_symbolize_addr(d->sym, pc[i] - 1, &fr, &n);
		if (n == 0) {
			fprintf(d->f, "%#" PRIxPTR "\n\t?\n", pc[i]);
			continue;
		}
		for (size_t k = 0; k < n; k++)
			fprintf(d->f, "%s(...)\n\t%s:%" PRId64 "\n", fr[k].name,
				fr[k].file ? fr[k].file : "?", fr[k].line);
	}
}

static const struct ct_thread_snap *
td_by_tid(const struct ct_snapshot *s, int tid)
{
	for (size_t i = 0; tid && i < s->nthreads; i++)
		if (s->threads[i].tid == tid && s->threads[i].state == 1)
			return &s->threads[i];
	return NULL;
}

/* The thread t waits for, when t waits on a lock whose holder is known
 * and is itself a live registered thread. */
static const struct ct_thread_snap *
td_waits_for(const struct ct_snapshot *s, const struct ct_thread_snap *t)
{
	if (!t->waiting || !td_is_lock(t->op) || t->wait_ns < CT_DEADLOCK_MIN_WAIT_NS)
		return NULL;
	return td_by_tid(s, t->owner_tid);
}

/* ", held by thread 12 "name"" (the name when it could be read). */
static void
td_holder(const struct ct_thread_snap *t, FILE *f)
{
	fprintf(f, ", held by thread %d", t->owner_tid);
	if (t->owner_name[0])
		fprintf(f, " \"%.16s\"", t->owner_name);
}

static void
td_header(struct td *d, const struct ct_thread_snap *t, FILE *f, const char *end)
{
	char dur[32], kind[32];
	fprintf(f, "thread %d \"%s\" [", t->tid, t->name);
	if (t->state == 2) {
		fprintf(f, "exited, not joined");
	} else if (t->crashed) {
		const char *abbrev = sigabbrev_np(t->crashed);
		fprintf(f, "crashed: SIG%s", abbrev ? abbrev : "?");
	} else if (!t->waiting) {
		fprintf(f, "running");
	} else {
		td_duration(t->wait_ns, dur, sizeof(dur));
		fprintf(f, "%s", ct_op_name(t->op));
		if (t->fd >= 0) {
			td_fd_kind(t->fd, kind, sizeof(kind));
			fprintf(f, " fd %d (%s)", t->fd, kind);
		} else if (t->obj) {
			char a[32];
			fprintf(f, " %s", td_lock_name(d, t->obj, a, sizeof(a)));
		}
		fprintf(f, ", %s", dur);
		if (t->rearms)
			fprintf(f, ", re-armed %" PRIu32 " time%s", t->rearms, t->rearms > 1 ? "s" : "");
		if (t->owner_tid)
			td_holder(t, f);
		if (t->stuck)
			fprintf(f, ", stuck");
		if (t->idle)
			fprintf(f, ", idle");
	}
	fprintf(f, "]%s", end);
}

/* Every cycle of the wait-for graph once, printed to each of fs. Each
 * thread waits for at most one other, so walking from every thread finds
 * every cycle; a cycle is reported from its lowest tid. */
static int
td_deadlocks(struct td *d, FILE **fs, int nfs)
{
	const struct ct_snapshot *s = d->snap;
	int found = 0;
	for (size_t i = 0; i < s->nthreads; i++) {
		const struct ct_thread_snap *start = &s->threads[i], *t = start;
		size_t steps = 0;
		bool cycle = false, lowest = true;
		while ((t = td_waits_for(s, t)) && steps++ <= s->nthreads) {
			if (t == start) {
				cycle = true;
				break;
			}
		}
		if (!cycle)
			continue;
		t = start;
		do {
			if (t->tid < start->tid)
				lowest = false;
			t = td_waits_for(s, t);
		} while (t != start);
		if (!lowest)
			continue;
		found++;
		for (int k = 0; k < nfs; k++) {
			fprintf(fs[k], "deadlock:");
			t = start;
			do {
				const struct ct_thread_snap *h = td_waits_for(s, t);
				char where[256], a[32];
				td_where(d, t->pc[0], where, sizeof(where));
				fprintf(fs[k], "%s thread %d \"%s\" waits in %s for %s"
					" held by thread %d at %s", t == start ? "" : ";", t->tid,
					t->name, ct_op_name(t->op), td_lock_name(d, t->obj, a, sizeof(a)),
					h->tid, where);
				t = h;
			} while (t != start);
			fprintf(fs[k], "\n");
		}
	}
	return found;
}

/* Where a thread's wait comes in the dump: -1 the thread that crashed,
 * 0 blocked behind a lock whose holder is known, 1 other waits, 2
 * running, 3 idle, 4 exited. */
static int
td_rank(const struct ct_thread_snap *t)
{
	if (t->crashed)
		return -1;
	if (t->state == 2)
		return 4;
	if (!t->waiting)
		return 2;
	if (t->idle)
		return 3;
	return t->owner_tid && td_is_lock(t->op) ? 0 : 1;
}

/* The dump's order: by rank, then the longest wait first. */
static int
td_cmp_order(const void *a, const void *b)
{
	const struct ct_thread_snap *x = *(const struct ct_thread_snap *const *)a;
	const struct ct_thread_snap *y = *(const struct ct_thread_snap *const *)b;
	int rx = td_rank(x), ry = td_rank(y);
	if (rx != ry)
		return rx - ry;
	if (x->wait_ns != y->wait_ns)
		return x->wait_ns > y->wait_ns ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* The threads in the dump's order (td_cmp_order); NULL without memory. */
static const struct ct_thread_snap **
td_ordered(const struct ct_snapshot *s)
{
	const struct ct_thread_snap **v = calloc(s->nthreads ? s->nthreads : 1, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < s->nthreads; i++)
		v[i] = &s->threads[i];
	qsort(v, s->nthreads, sizeof(*v), td_cmp_order);
	return v;
}

/* Summary lines of one kind, at most this many (then one line saying how
 * many more): a server with thousands of waiting threads keeps a summary
 * a person can read. */
#define TD_SUMMARY_MAX 20

/* Listed on a "blocked:" line of its own: waiting at least
 * CT_DEADLOCK_MIN_WAIT_NS for a lock whose holder is known (shorter waits
 * are contention, in the "waiting:" groups). */
static bool
td_listed_blocked(const struct ct_thread_snap *t)
{
	return td_rank(t) == 0 && t->wait_ns >= CT_DEADLOCK_MIN_WAIT_NS;
}

/* "blocked:" lines, the longest wait first, each with what its holder
 * does. */
static void
td_blocked(struct td *d, const struct ct_thread_snap **v, FILE **fs, int nfs)
{
	size_t shown = 0, i = 0;
	while (i < d->snap->nthreads && td_rank(v[i]) < 0)
		i++;
	for (; i < d->snap->nthreads && td_rank(v[i]) == 0; i++) {
		const struct ct_thread_snap *t = v[i], *h = td_by_tid(d->snap, t->owner_tid);
		if (!td_listed_blocked(t) || shown++ >= TD_SUMMARY_MAX)
			continue;
		char where[256], hwhere[256] = "", dur[32] = "";
		td_where(d, t->pc[0], where, sizeof(where));
		if (h && h->waiting) {
			td_where(d, h->pc[0], hwhere, sizeof(hwhere));
			td_duration(h->wait_ns, dur, sizeof(dur));
		}
		for (int k = 0; k < nfs; k++) {
			fprintf(fs[k], "blocked: ");
			td_header(d, t, fs[k], "");
			fprintf(fs[k], " at %s", where);
			if (h && h->waiting)
				fprintf(fs[k], "; the holder waits in %s at %s, %s", ct_op_name(h->op),
					hwhere, dur);
			else if (h)
				fprintf(fs[k], "; the holder is running");
			fprintf(fs[k], "\n");
		}
	}
	for (int k = 0; shown > TD_SUMMARY_MAX && k < nfs; k++)
		fprintf(fs[k], "blocked: %zu more threads behind held locks\n", shown - TD_SUMMARY_MAX);
}

/* The summary line kinds below the "blocked:" ones, in their order. */
enum td_kind { TD_LISTED, TD_STUCK, TD_WAITING, TD_IDLE, TD_LEAK, TD_NONE };

static enum td_kind
td_kind(const struct ct_thread_snap *t)
{
	if (t->state == 2)
		return TD_LEAK;
	if (!t->waiting)
		return TD_NONE;
	if (td_listed_blocked(t))
		return TD_LISTED;
	if (t->idle)
		return TD_IDLE;
	return t->stuck ? TD_STUCK : TD_WAITING;
}

/* The mutex of a condition wait, 0 for other waits. */
static uintptr_t
td_pool_mutex(const struct ct_thread_snap *t)
{
	switch (t->op) {
	CT_OP_CASES_COND:
		return t->aux;
	default:
		return 0;
	}
}

/* Equal for threads of one summary line: idle ones by what they wait on
 * (op, site, object or, for condition waits, mutex, fd: the
 * classification's groups), other waits by
 * their whole stack, finished ones by where they were created. */
static int
td_cmp_group(const void *a, const void *b)
{
	const struct ct_thread_snap *x = *(const struct ct_thread_snap *const *)a;
	const struct ct_thread_snap *y = *(const struct ct_thread_snap *const *)b;
	enum td_kind kx = td_kind(x), ky = td_kind(y);
	if (kx != ky)
		return (int)kx - (int)ky;
	if (kx == TD_LEAK)
		return x->create_depth == y->create_depth
			       ? memcmp(x->create_pc, y->create_pc,
					(size_t)x->create_depth * sizeof(x->create_pc[0]))
			       : x->create_depth - y->create_depth;
	if (x->op != y->op)
		return (int)x->op - (int)y->op;
	if (kx == TD_IDLE) {
		if (x->pc[0] != y->pc[0])
			return x->pc[0] < y->pc[0] ? -1 : 1;
		/* A pool's condvars of its own under the pool's one mutex. */
		if (td_pool_mutex(x) != td_pool_mutex(y))
			return td_pool_mutex(x) < td_pool_mutex(y) ? -1 : 1;
		if (td_pool_mutex(x))
			return 0;
		if (x->obj != y->obj)
			return x->obj < y->obj ? -1 : 1;
		return x->fd - y->fd;
	}
	if (x->depth != y->depth)
		return x->depth - y->depth;
	return memcmp(x->pc, y->pc, (size_t)x->depth * sizeof(x->pc[0]));
}

struct td_group {
	const struct ct_thread_snap *longest;
	size_t n;
	enum td_kind kind;
	int objects; /* 1, or 2 when its threads wait on different objects */
};

CT_CMP(td_cmp_group_out, struct td_group)
{
	if (x->kind != y->kind)
		return (int)x->kind - (int)y->kind;
	if (x->longest->wait_ns != y->longest->wait_ns)
		return x->longest->wait_ns > y->longest->wait_ns ? -1 : 1;
	return x->n > y->n ? -1 : x->n < y->n;
}

static const char *const td_kind_word[] = {"", "stuck", "waiting", "idle", "leak"};

/* One summary line: a thread of its own when it is alone and stuck, else
 * "N threads in <op> at <where>, longest <d>" (idle ones with the object
 * or fd they wait on). */
static void
td_group_line(struct td *d, const struct td_group *g, FILE *f)
{
	const struct ct_thread_snap *t = g->longest;
	char where[256], dur[32], kind[32];
	const char *s = g->n > 1 ? "s" : "";
	if (g->kind == TD_LEAK) {
		td_where(d, t->create_depth ? t->create_pc[0] : 0, where, sizeof(where));
		/* One such thread is a program that joins later (Apache's
		 * start thread, joined at shutdown) or not at all before it
		 * exits: no leak. A leak repeats at its creation site. */
		if (g->n == 1)
			fprintf(f, "unjoined: 1 thread finished, not joined, created at %s\n", where);
		else
			fprintf(f, "leak: %zu threads finished but never joined, created at %s\n",
				g->n, where);
		return;
	}
	td_where(d, t->pc[0], where, sizeof(where));
	if (g->kind == TD_STUCK && g->n == 1) {
		fprintf(f, "stuck: ");
		td_header(d, t, f, "");
		fprintf(f, " at %s\n", where);
		return;
	}
	td_duration(t->wait_ns, dur, sizeof(dur));
	fprintf(f, "%s: %zu thread%s in %s", td_kind_word[g->kind], g->n, s, ct_op_name(t->op));
	if (g->kind == TD_IDLE && t->fd >= 0) {
		td_fd_kind(t->fd, kind, sizeof(kind));
		fprintf(f, " fd %d (%s)", t->fd, kind);
	} else if (g->kind == TD_IDLE && g->objects > 1) {
		char a[32];
		fprintf(f, " condvars of their own under %s",
			td_lock_name(d, td_pool_mutex(t), a, sizeof(a)));
	} else if (g->kind == TD_IDLE && t->obj) {
		char a[32];
		fprintf(f, " %s", td_lock_name(d, t->obj, a, sizeof(a)));
	}
	fprintf(f, " at %s, %s %s\n", where, g->n > 1 ? "longest" : "for", dur);
}

/* The lines below the "blocked:" ones: stuck threads (alone, or grouped
 * by stack), other waits grouped by stack ("waiting:"), idle groups and
 * never-joined threads ("leak:"), each kind the longest wait first and
 * at most TD_SUMMARY_MAX lines. */
static void
td_groups(struct td *d, FILE **fs, int nfs)
{
	const struct ct_snapshot *s = d->snap;
	const struct ct_thread_snap **v = calloc(s->nthreads ? s->nthreads : 1, sizeof(*v));
	struct td_group *g = calloc(s->nthreads ? s->nthreads : 1, sizeof(*g));
	size_t n = 0, ng = 0;
	if (!v || !g)
		goto out;
	for (size_t i = 0; i < s->nthreads; i++)
		if (td_kind(&s->threads[i]) != TD_LISTED && td_kind(&s->threads[i]) != TD_NONE)
			v[n++] = &s->threads[i];
	qsort(v, n, sizeof(*v), td_cmp_group);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		const struct ct_thread_snap *longest = v[i];
		int objects = 1;
		for (; j < n && td_cmp_group(&v[i], &v[j]) == 0; j++) {
			if (v[j]->wait_ns > longest->wait_ns)
				longest = v[j];
			if (v[j]->obj != v[i]->obj)
				objects = 2;
		}
		g[ng++] = (struct td_group){longest, j - i, td_kind(v[i]), objects};
		i = j;
	}
	qsort(g, ng, sizeof(*g), td_cmp_group_out);
	size_t shown = 0;
	for (size_t i = 0; i < ng; i++) {
		if (i && g[i].kind != g[i - 1].kind)
			shown = 0;
		if (shown++ < TD_SUMMARY_MAX) {
			for (int k = 0; k < nfs; k++)
				td_group_line(d, &g[i], fs[k]);
			continue;
		}
		/* The rest of this kind in one line. */
		size_t more = 0;
		enum td_kind kd = g[i].kind;
		for (; i < ng && g[i].kind == kd; i++)
			more += g[i].n;
		i--;
		for (int k = 0; k < nfs; k++)
			fprintf(fs[k], "%s: %zu more thread%s\n", td_kind_word[kd], more,
				more > 1 ? "s" : "");
	}
out:
	free(v);
	free(g);
}

/* The text's stream and its buffers (buf.h: not open_memstream). */
static FILE *
td_text_open(struct ct_buf *b, char **io)
{
	*b = (struct ct_buf){0};
	*io = malloc(BUFSIZ);
	FILE *f = *io ? ct_buf_fopen(b, *io, BUFSIZ) : NULL;
	if (!f)
		free(*io);
	return f;
}

/* Closes f and hands its text over in out (NUL-terminated) and outlen. */
static int
td_text_close(FILE *f, struct ct_buf *b, char *io, char **out, size_t *outlen)
{
	int r = fclose(f);
	free(io);
	if (r != 0) {
		ct_buf_free(b);
		return -ENOMEM;
	}
	if (!b->p)
		ct_buf_add(b, "", 0);
	return ct_buf_take(b, (uint8_t **)out, outlen);
}

static int
td_text(struct td *d, FILE *summary, char **out, size_t *outlen)
{
	const struct ct_snapshot *s = d->snap;
	struct ct_buf b;
	char *io;
	*out = NULL;
	*outlen = 0;
	d->f = td_text_open(&b, &io);
	if (!d->f)
		return -ENOMEM;
	FILE *fs[2] = {d->f, summary};
	int nfs = summary ? 2 : 1;
	fprintf(d->f, "libcontend thread dump: pid %d, %zu threads\n", (int)s->pid, s->nthreads);
	if (s->threads_untracked)
		for (int k = 0; k < nfs; k++)
			fprintf(fs[k], "registry full: %" PRIu64 " thread%s not tracked (more threads "
				"alive at once than the registry's %d slots); missing from this "
				"dump, their waits are in the profiles\n", s->threads_untracked,
				s->threads_untracked > 1 ? "s were" : " was", CT_THREADS_MAX);
	/* Said once, here and (through summary) on stderr: what the dump
	 * lacks because /proc/self/task is closed to the process. */
	if (s->task_denied & 1)
		for (int k = 0; k < nfs; k++)
			fprintf(fs[k], "no access to /proc/self/task/*/syscall (the process changed "
				"its uid/gid or is not dumpable): blocked threads' stacks are "
				"unwound from the call that waits\n");
	if (s->task_denied & 2)
		for (int k = 0; k < nfs; k++)
			fprintf(fs[k], "no access to /proc/self/task/*/comm: thread names are "
				"those known when the threads started\n");
	/* What a person looks for first: deadlocks, threads blocked behind
	 * a held lock, the longest waits; then the groups, idle ones last. */
	const struct ct_thread_snap **order = td_ordered(s);
	if (!order) {
		char *lost;
		size_t n;
		if (td_text_close(d->f, &b, io, &lost, &n) == 0)
			free(lost);
		return -ENOMEM;
	}
	td_deadlocks(d, fs, nfs);
	td_blocked(d, order, fs, nfs);
	td_groups(d, fs, nfs);
	fprintf(d->f, "\n");
	for (size_t i = 0; i < s->nthreads; i++) {
		const struct ct_thread_snap *t = order[i];
		td_header(d, t, d->f, ":\n");
		if (t->waiting)
			fprintf(d->f, "%s(...)\n", ct_op_name(t->op));
		td_print_stack(d, t->pc, t->depth);
		if (t->create_depth) {
			char where[256], start[256];
			td_where(d, t->create_pc[0], where, sizeof(where));
			/* The start routine's entry is no return address: look it
			 * up as is (td_where subtracts 1 for calls). */
			td_where(d, t->start_routine + 1, start, sizeof(start));
			fprintf(d->f, "created by %s in thread %d, %s, start routine %s\n", where,
				t->creator_tid, t->detached ? "detached" : "joinable", start);
			td_print_stack(d, t->create_pc, t->create_depth);
		}
		fprintf(d->f, "\n");
	}
	free(order);
	return td_text_close(d->f, &b, io, out, outlen);
}

void
ct_threads_warm_text(void)
{
	struct ct_buf b;
	char *io, *text;
	size_t n;
	FILE *f = td_text_open(&b, &io);
	if (f && td_text_close(f, &b, io, &text, &n) == 0)
		free(text);
}

/* The labels of a thread dump's samples: state, wait, stuck, idle,
 * held_by. */
enum { TD_NLABELS = 5 };

/* Thread t's record (a count of 1) and labels: where it waits, or where it
 * was created (create, or a thread that is not waiting); held (16 bytes,
 * as long as the labels) receives the holder's tid. */
static void
td_thread_record(const struct ct_thread_snap *t, bool create, char held[16], struct ct_record *r,
		 struct ct_pprof_label l[TD_NLABELS])
{
	*r = (struct ct_record){.count = 1, .op = CT_OP_COUNT};
	l[0] = CT_PL_STR("state", td_state(t));
	l[1] = CT_PL_STR("wait", "");
	l[2] = CT_PL_STR("stuck", "");
	l[3] = CT_PL_STR("idle", "");
	l[4] = CT_PL_STR("held_by", "");
	if (create) {
		r->depth = (uint32_t)t->create_depth;
		memcpy(r->pc, t->create_pc, r->depth * sizeof(r->pc[0]));
		l[0].value = "";
	} else if (t->waiting) {
		r->op = t->op;
		r->depth = (uint32_t)t->depth;
		memcpy(r->pc, t->pc, r->depth * sizeof(r->pc[0]));
		l[1].value = ct_op_name(t->op);
		l[2].value = t->stuck ? "yes" : "";
		l[3].value = t->idle ? "yes" : "";
		/* The holder's tid: blocked behind a held lock. */
		if (td_rank(t) == 0) {
			snprintf(held, 16, "%d", t->owner_tid);
			l[4].value = held;
		}
	} else if (t->crashed) {
		/* Where it crashed. */
		r->depth = (uint32_t)t->depth;
		memcpy(r->pc, t->pc, r->depth * sizeof(r->pc[0]));
	} else {
		/* A running or finished thread: where it was created. */
		r->depth = (uint32_t)t->create_depth;
		memcpy(r->pc, t->create_pc, r->depth * sizeof(r->pc[0]));
	}
}

/* Whether two threads' records and labels make one sample. */
static bool
td_same(const struct ct_record *a, const struct ct_pprof_label *la, const struct ct_record *b,
	const struct ct_pprof_label *lb)
{
	if (a->op != b->op || a->depth != b->depth || memcmp(a->pc, b->pc, a->depth * sizeof(a->pc[0])))
		return false;
	for (int k = 0; k < TD_NLABELS; k++)
		if (strcmp(la[k].value, lb[k].value))
			return false;
	return true;
}

/* One record per thread, labelled; the encoder merges nothing, so equal
 * stacks are merged here by counting into the first record. */
static int
td_profile(struct td *d, struct ct_maps *maps, bool create, uint8_t **out, size_t *outlen)
{
	const struct ct_snapshot *s = d->snap;
	size_t n = s->nthreads ? s->nthreads : 1;
	struct ct_record *recs = calloc(n, sizeof(*recs));
	struct ct_pprof_label(*lab)[TD_NLABELS] = calloc(n, sizeof(*lab));
	char(*held)[16] = calloc(n, sizeof(*held));
	const struct ct_pprof_label **labp = calloc(n, sizeof(*labp));
	size_t *nlab = calloc(n, sizeof(*nlab)), nrec = 0;
	int err = 0;
	if (!recs || !lab || !labp || !nlab || !held) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->nthreads; i++) {
		struct ct_record r;
		struct ct_pprof_label l[TD_NLABELS];
		td_thread_record(&s->threads[i], create, held[i], &r, l);
		size_t j;
		for (j = 0; j < nrec; j++)
			if (td_same(&recs[j], lab[j], &r, l))
				break;
		if (j < nrec) {
			recs[j].count += 1;
			continue;
		}
		recs[nrec] = r;
		memcpy(lab[nrec], l, sizeof(l));
		labp[nrec] = lab[nrec];
		nlab[nrec] = TD_NLABELS;
		nrec++;
	}
	char full[160] = "";
	if (s->threads_untracked)
		snprintf(full, sizeof(full),
			 "registry full: %" PRIu64 " threads not tracked (more alive at once than "
			 "%d); missing here", s->threads_untracked, CT_THREADS_MAX);
	struct ct_pprof_spec spec = {
		.type = {create ? CT_NAME_THREADCREATE : CT_NAME_THREADS, NULL},
		.unit = {"count", NULL},
		.nvalues = 1,
		.period_type = create ? CT_NAME_THREADCREATE : CT_NAME_THREADS,
		.period_unit = "count",
		.comments = {create ? "libcontend: where threads were created"
				    : "libcontend thread dump: one sample per stack and state; "
				      "waiting threads show the wait, others where they were created",
			      full[0] ? full : NULL},
		.records = recs,
		.nrecords = nrec,
		.labels = labp,
		.nlabels = nlab,
	};
	err = ct_pprof_encode_spec(s, &spec, maps, d->sym, out, outlen);
out:
	free(recs);
	free(held);
	free(lab);
	free(labp);
	free(nlab);
	return err;
}

static int
td_gzip(uint8_t **buf, size_t *len)
{
	uint8_t *gz;
	size_t gzlen;
	int err = ct_gzout_compress(*buf, *len, &gz, &gzlen);
	free(*buf);
	*buf = err ? NULL : gz;
	*len = err ? 0 : gzlen;
	return err;
}

static int
td_render(const struct ct_snapshot *snap, const char *name, int debug, FILE *summary,
	  struct ct_maps *maps, struct ct_symbolizer *sym, uint8_t **out, size_t *outlen)
{
	struct td d = {.snap = snap, .sym = sym};
	bool create = !strcmp(name, CT_NAME_THREADCREATE);
	*out = NULL;
	*outlen = 0;
	if (!create && !ct_names_is_threads(name))
		return -ENOENT;
	int err;
	if (debug == 2 && !create) {
		/* Without names (no memory) the dump still shows addresses. */
		ct_locknames__new(snap, sym, &d.ln);
		err = td_text(&d, summary, (char **)out, outlen);
		ct_locknames__free(d.ln);
		return err;
	}
	if (debug != 0)
		return -EINVAL;
	err = td_profile(&d, maps, create, out, outlen);
	return err ? err : td_gzip(out, outlen);
}

int
ct_threads_render(const struct ct_snapshot *snap, const char *name, int debug, uint8_t **out,
		  size_t *outlen)
{
	struct ct_symbolizer *sym = NULL;
	struct ct_maps maps = {0};
	ct_maps_read_snap(&maps, snap);
	ct_symbolize_acquire(snap, &sym);
	int err = td_render(snap, name, debug, NULL, &maps, sym, out, outlen);
	ct_symbolize_release(sym);
	ct_maps_free(&maps);
	return err;
}

int
ct_threads_write(const struct ct_snapshot *snap, struct ct_gzout *w, FILE *summary,
		 struct ct_maps *maps, struct ct_symbolizer *sym)
{
	static const struct {
		const char *what, *file, *ext;
		int debug;
	} views[] = {
		{CT_NAME_THREADS, CT_NAME_THREADS, CT_EXT_TXT, 2},
		{CT_NAME_THREADS, CT_NAME_THREADS, CT_EXT_PB, 0},
		{CT_NAME_THREADCREATE, CT_NAME_THREADCREATE, CT_EXT_PB, 0},
	};
	int err = 0;
	/* Each view on its own: one that fails (ENOSPC ...) does not keep
	 * the next from being tried. */
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
		uint8_t *buf = NULL;
		size_t len = 0;
		int e = td_render(snap, views[i].what, views[i].debug, i == 0 ? summary : NULL, maps,
				  sym, &buf, &len);
		if (e)
			ct_gzout_fail(w, e, "cannot render %s%s%s: %s", views[i].file, w->suffix,
				      views[i].ext, strerror(-e));
		else /* .pb.gz views come back compressed already */
			e = ct_gzout_put(w, views[i].file, views[i].ext, buf, len, 0, i == 0);
		free(buf);
		if (e && !err)
			err = e;
	}
	return err;
}
