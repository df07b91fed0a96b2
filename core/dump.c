/* The common write path of every dump, and the output directory; see
 * dump.h. Lifetime: the whole process. ct_dump_set_dir runs at init and in
 * a fork child (async-signal-safe); ct_dump_snapshot and ct_dump_write run
 * with the guard raised on any thread but a wrapper or a signal handler
 * (they allocate, and the latter loads the report library through
 * core/plugin.c); ct_dump_copy_stats is lock-free and thread-safe. No lock
 * of its own, and none of the tables' (ct_profiles_snapshot reads them under
 * per-record sequence counters, core/table.h). Also the process's one final dump (exit,
 * fatal signal or crash: dump_exit.c, dump_fatal.c) and whose profiles a
 * forked copy writes, shared with those files through dump_int.h. */
#include <errno.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "compiler.h"
#include "config.h"
#include "dlhist.h"
#include "dump.h"
#include "dump_int.h"
#include "event.h"
#include "forkstate.h"
#include "locks.h"
#include "log.h"
#include "names.h"
#include "outfile.h"
#include "paths.h"
#include "plugin.h"
#include "profiles.h"
#include "scratch.h"
#include "stack.h"
#include "sys.h"
#include "thread.h"
#include "threads.h"
#include "unwind.h"

/* The output directory; "" until the first ct_dump_set_dir. Most paths
 * fit ct_dir_short, among init's variables (CT_INIT_HOT), whose page a
 * fork child writes anyway; a longer one takes room for CT_DIR_MAX bytes
 * from ct_paths_take (paths.h). Each fork child writes its own name: in
 * the room, that was a page copied from the parent in every child,
 * whether or not it ever wrote a profile (each command a shell forks). */
#define CT_DIR_MAX 4096
#define CT_DIR_SHORT 192
static char ct_no_dir[1];
static char ct_dir_short[CT_DIR_SHORT] CT_INIT_HOT;
static char *ct_dir_room CT_INIT_HOT;
static char *ct_dir CT_INIT_HOT = ct_no_dir;
/* ct_dir for a reader outside the process (names.h). */
CT_HIDDEN const struct ct_dir_beacon ct_dir_beacon __attribute__((used)) = {
	CT_DIR_BEACON_MAGIC, (const char *const *)&ct_dir, &ct_cfg.dump_signal};
/* The process ct_dir was expanded for: a vfork() child (which shares our
 * memory and runs no fork handler) sees its parent's. */
static pid_t ct_dir_pid CT_FORK_HOT;
/* A page a process shares with its fork children (MAP_SHARED, made at
 * its first fork): how many of them wrote profiles, and the return
 * addresses of their recorded stacks that they had to resolve themselves
 * (symbols and unwind rules), because this process had not before their
 * fork. Its next fork resolves those too, so that later children, which
 * mostly record the same stacks (every backend of a PostgreSQL server
 * waits for its client at the same place), inherit them instead of
 * resolving them again, each into copies of the pages it writes. */
#define CT_KIDS_PCS ((4096 - 16) / sizeof(uintptr_t))
struct ct_kids_page {
	uint64_t wrote;
	uint32_t npcs; /* slots claimed; may pass CT_KIDS_PCS (then full) */
	uint32_t unused;
	uintptr_t pcs[CT_KIDS_PCS]; /* 0 = claimed, not written yet */
};
_Static_assert(sizeof(struct ct_kids_page) <= 4096, "one page");
/* This process's page, and its parent's (which it reports into). */
static struct ct_kids_page *ct_kids CT_FORK_HOT;
static struct ct_kids_page *ct_parent_kids CT_FORK_HOT;
/* Slots of ct_kids this process has resolved. */
static uint32_t ct_kids_taken CT_FORK_HOT;
/* The unwinder's lookup count at this process's fork (ct_unwind_misses). */
static unsigned ct_uw_since CT_FORK_HOT;
/* The return addresses this process resolved before a fork (its own
 * stacks, its children's): an open-addressing set its children read (and
 * never write) to tell what they inherit. */
#define CT_WARMED_SLOTS 4096
static uintptr_t ct_warmed[CT_WARMED_SLOTS];
static unsigned ct_nwarmed;
/* The loaded objects (ct_dl_signature) when the kept symbols were last
 * warmed for children; 0 = never. */
static uint64_t ct_warm_sig;
/* The forking thread's stack, for ct_dump_warm. */
static uintptr_t ct_warm_pcs[CT_STACK_MAX];
static size_t ct_warm_npcs;
static int ct_final_done CT_FORK_HOT;
static pid_t ct_dump_pid CT_FORK_HOT; /* the profiled process, when a forked copy writes */
/* What names this process's files take and which directory it made
 * (outfile.h); a fork child starts afresh in ct_dump_set_dir. */
static struct ct_output ct_out CT_FORK_HOT;

/* The working directory at init: a relative CONTEND_OUT is resolved
 * against it in this process and in every fork child, so that a server
 * that chdir()s away (to "/", or to its data directory) before forking
 * its workers still has them write beside its own directory. */
static const char *ct_base CT_INIT_HOT; /* NULL: unknown */

/* The process whose directory was made at its uid drop for the user it
 * dropped to (ct_dump_after_uid_drop), and that user: its descendants
 * still of that user write there, since they could make no directory of
 * their own beside it (memcached -d -u: the drop comes before the fork
 * that daemonizes). 0 = none. */
static pid_t ct_drop_dir_pid CT_INIT_HOT;
static uid_t ct_drop_dir_uid CT_INIT_HOT;

/* The output directory for pid into dst (size bytes, at most
 * CT_DIR_MAX): CONTEND_OUT expanded, or "contend.%p" when it does not
 * expand into CT_DIR_MAX bytes; then, when relative, under the working
 * directory at init (ct_base), so that a daemon's later chdir("/") does
 * not move it, unless that would pass CT_DIR_MAX. false when dst is too
 * small for what CT_DIR_MAX bytes would hold. Async-signal-safe. */
static bool
ct_dir_compose(char *dst, size_t size, int pid)
{
	int r = ct_config_expand_out(ct_cfg.out, pid, dst, size);
	if (r == -ENAMETOOLONG && size < CT_DIR_MAX)
		return false;
	if (r < 0 && ct_config_expand_out("contend.%p", pid, dst, size) < 0)
		return false;
	if (dst[0] == '/' || !ct_base)
		return true;
	size_t n = strlen(ct_base), len = strlen(dst);
	if (n + 2 + len >= CT_DIR_MAX)
		return true; /* kept relative */
	if (n + 2 + len > size)
		return false;
	size_t slash = n == 0 || ct_base[n - 1] != '/';
	memmove(dst + n + slash, dst, len + 1);
	memcpy(dst, ct_base, n);
	if (slash)
		dst[n] = '/';
	return true;
}

void
ct_dump_set_dir(void)
{
	/* A new process: the names its parent placed are not its own. The
	 * directory its parent made (if the same) stays trusted. */
	__atomic_store_n(&ct_out.naming, CT_OUT_NAMES_UNDECIDED, __ATOMIC_RELAXED);
	ct_out.own[0] = '\0';
	ct_dir_pid = getpid();
	int pid = (int)ct_dir_pid;
	if (CT_UNLIKELY(ct_drop_dir_pid) && geteuid() == ct_drop_dir_uid) {
		pid = (int)ct_drop_dir_pid;
		__atomic_store_n(&ct_out.naming, CT_OUT_NAMES_PID, __ATOMIC_RELAXED);
	}
	/* The base before the directory's room, which may be left unused
	 * past what is written (paths.h keeps the room's first page dense). */
	char *cwd = ct_base ? NULL : ct_paths_next(4096);
	if (cwd && getcwd(cwd, 4096 - 2) && cwd[0])
		ct_base = ct_paths_take(strlen(cwd) + 1);
	char *dst = ct_dir_short;
	if (!ct_dir_compose(dst, sizeof(ct_dir_short), pid)) {
		if (!ct_dir_room)
			ct_dir_room = ct_paths_take(CT_DIR_MAX);
		dst = ct_dir_room;
		if (!dst || !ct_dir_compose(dst, CT_DIR_MAX, pid))
			dst = ct_no_dir; /* nowhere: not the parent's directory */
	}
	if (ct_dir != dst)
		ct_dir = dst;
}

const char *
ct_dump_dir(void)
{
	return ct_dir;
}

bool
ct_dump_borrowed(void)
{
	return getpid() != ct_dir_pid;
}

/* 1 once the process changed its root (ct_dump_after_chroot). A jail
 * (sshd's /run/sshd) must stay unwritable for the user its process drops
 * to: no directory is made for that user there. */
static int ct_chrooted;

void
ct_dump_after_chroot(void)
{
	__atomic_store_n(&ct_chrooted, 1, __ATOMIC_RELAXED);
}

/* 1 while a uid drop's directory made by ct_dump_before_uid_drop waits for
 * the drop's outcome. setuid applies to the whole process, and a program
 * that calls it from two threads at once is racing with itself. */
static int ct_uid_drop_made;

void
ct_dump_before_uid_drop(uid_t uid)
{
	/* A vfork() child dropping root before its exec (su-like programs)
	 * would give its parent's directory away, and the parent's own
	 * dumps would then refuse it. */
	if (!__atomic_load_n(&ct_hot.ready, __ATOMIC_ACQUIRE) || ct_sandboxed || !ct_dir[0] ||
	    ct_dump_borrowed())
		return;
	gid_t groups[256];
	int n = getgroups(CT_ARRAY_SIZE(groups), groups);
	n = n < 0 ? 0 : n;
	/* A jail's own directories are left as they are; but a daemon that
	 * drops root inside one (haproxy's default configuration: chroot,
	 * setuid, then stderr closed) would lose every profile without a
	 * word where anyone reads it. Said now, while stderr is still the
	 * one it was started with. */
	if (__atomic_load_n(&ct_chrooted, __ATOMIC_RELAXED)) {
		if (!ct_outfile_usable_by(ct_dir, uid, getegid(), groups, n))
			ct_log("pid %d gives up root inside a chroot: its profiles go to %s in the "
			       "jail, which uid %u may not write; none will be written unless that "
			       "directory is made for it, or CONTEND_OUT names one it may write "
			       "inside the jail",
			       (int)getpid(), ct_dir, (unsigned)uid);
		return;
	}
	/* Only a directory of this process's own (a CONTEND_OUT with %p): one
	 * shared by every process (no %p) given to the new user would be
	 * refused by the processes that stay root. */
	bool own = false;
	for (const char *t = ct_cfg.out; *t && !own; t++)
		if (t[0] == '%' && t[1]) /* "%%" is one character, skipped whole */
			own = *++t == 'p';
	if (!own)
		return;
	int made = ct_outfile_make_dir_for(ct_dir, uid, getegid(), groups, n);
	__atomic_store_n(&ct_uid_drop_made, made > 0, __ATOMIC_RELAXED);
}

void
ct_dump_after_uid_drop(bool dropped)
{
	if (!__atomic_exchange_n(&ct_uid_drop_made, 0, __ATOMIC_RELAXED))
		return;
	if (dropped) {
		ct_drop_dir_uid = geteuid();
		ct_drop_dir_pid = ct_dir_pid;
		return;
	}
	/* Should this fail too, the directory stays uid's, and dumps say
	 * that it is owned by another user. */
	int saved = errno, r = lchown(ct_dir, geteuid(), getegid());
	(void)r;
	errno = saved;
}

/* Looked up once: the report library is never unloaded. A forking
 * process looks it up at its warm-up (ct_dump_warm), so that its children
 * inherit it rather than each search the library's symbols again (a
 * dlsym, and the loader's pages it reads). */
static ct_report_write_fn ct_report_write_ptr;

static ct_report_write_fn
ct_report_fn(void)
{
	ct_report_write_fn fn = __atomic_load_n(&ct_report_write_ptr, __ATOMIC_ACQUIRE);
	if (!fn) {
		fn = (ct_report_write_fn)ct_plugin_sym("ct_report_write");
		if (fn)
			__atomic_store_n(&ct_report_write_ptr, fn, __ATOMIC_RELEASE);
	} else {
		ct_plugin_demangler_refresh();
	}
	return fn;
}

/* Table copies of live snapshots (ct_dump_snapshot): what the copy costs
 * the thread that takes it (it holds up none of the program's). */
static uint64_t ct_copy_n CT_FORK_HOT;
static int64_t ct_copy_last_ns CT_FORK_HOT, ct_copy_max_ns CT_FORK_HOT, ct_copy_total_ns CT_FORK_HOT;
static int64_t ct_copy_cpu_max_ns CT_FORK_HOT, ct_copy_cpu_total_ns CT_FORK_HOT;
static uint64_t ct_copy_unsettled CT_FORK_HOT;

static int64_t
ct_thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The parent process of the process a dump is of: ours, or, in the copy
 * a fatal dump writes from (ct_dump_pid set), the profiled process's, from
 * its /proc/<pid>/stat ("pid (comm) state ppid ..."; comm may hold any
 * character but the last ')' ends it). 0 if it cannot be read. */
static pid_t
ct_dump_parent(void)
{
	if (!ct_dump_pid || ct_dump_pid == getpid())
		return getppid();
	char path[32], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)ct_dump_pid);
	if (ct_sys_read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	const char *end = strrchr(buf, ')');
	int ppid = 0;
	return end && sscanf(end + 1, " %*c %d", &ppid) == 1 ? (pid_t)ppid : 0;
}

int
ct_dump_snapshot(struct ct_snapshot *snap, bool threads)
{
	/* Wall time bounds what a thread can wait; CPU time is the work
	 * itself, without the time this thread was not running. */
	int64_t c0 = ct_thread_cpu_ns(), t0 = ct_now_ns();
	int err = ct_profiles_snapshot(snap);
	int64_t dt = ct_now_ns() - t0, dc = ct_thread_cpu_ns() - c0;
	if (err < 0)
		return err;
	__atomic_store_n(&ct_copy_last_ns, dt, __ATOMIC_RELAXED);
	if (dt > __atomic_load_n(&ct_copy_max_ns, __ATOMIC_RELAXED))
		__atomic_store_n(&ct_copy_max_ns, dt, __ATOMIC_RELAXED);
	if (dc > __atomic_load_n(&ct_copy_cpu_max_ns, __ATOMIC_RELAXED))
		__atomic_store_n(&ct_copy_cpu_max_ns, dc, __ATOMIC_RELAXED);
	__atomic_fetch_add(&ct_copy_total_ns, dt, __ATOMIC_RELAXED);
	__atomic_fetch_add(&ct_copy_cpu_total_ns, dc, __ATOMIC_RELAXED);
	__atomic_fetch_add(&ct_copy_n, 1, __ATOMIC_RELAXED);
	for (int k = 0; k < CT_PROF_COUNT; k++)
		__atomic_fetch_add(&ct_copy_unsettled, snap->prof[k].unsettled, __ATOMIC_RELAXED);
	/* The registry is read with sequence counters: no thread waits. */
	if (threads)
		err = ct_threads_snapshot(snap, (int64_t)ct_cfg.stuck_ns, ct_dump_parent());
	if (err >= 0 && ct_locks_snapshot_sites(snap) < 0)
		err = -ENOMEM;
	if (err < 0)
		ct_snapshot_free(snap);
	return err;
}

void
ct_dump_copy_stats(struct ct_copy_stats *st)
{
	st->n = __atomic_load_n(&ct_copy_n, __ATOMIC_RELAXED);
	st->last_ns = __atomic_load_n(&ct_copy_last_ns, __ATOMIC_RELAXED);
	st->max_ns = __atomic_load_n(&ct_copy_max_ns, __ATOMIC_RELAXED);
	st->total_ns = __atomic_load_n(&ct_copy_total_ns, __ATOMIC_RELAXED);
	st->cpu_max_ns = __atomic_load_n(&ct_copy_cpu_max_ns, __ATOMIC_RELAXED);
	st->cpu_total_ns = __atomic_load_n(&ct_copy_cpu_total_ns, __ATOMIC_RELAXED);
	st->unsettled = __atomic_load_n(&ct_copy_unsettled, __ATOMIC_RELAXED);
}

static size_t
ct_warmed_slot(uintptr_t pc)
{
	return (size_t)((pc * 0x9e3779b97f4a7c15ULL) >> 52) & (CT_WARMED_SLOTS - 1);
}

static bool
ct_warmed_has(uintptr_t pc)
{
	for (size_t i = ct_warmed_slot(pc);; i = (i + 1) & (CT_WARMED_SLOTS - 1)) {
		if (ct_warmed[i] == pc)
			return true;
		if (ct_warmed[i] == 0)
			return false;
	}
}

/* Kept at most 3/4 full; past that, children report again what is lost. */
static void
ct_warmed_add(uintptr_t pc)
{
	if (!pc || ct_nwarmed >= CT_WARMED_SLOTS / 4 * 3)
		return;
	size_t i = ct_warmed_slot(pc);
	while (ct_warmed[i] && ct_warmed[i] != pc)
		i = (i + 1) & (CT_WARMED_SLOTS - 1);
	if (!ct_warmed[i]) {
		ct_warmed[i] = pc;
		ct_nwarmed++;
	}
}

/* Adds pc to v[0..*n) (at most max) unless the parent resolved it or it
 * is there already. */
static void
ct_tell_one(uintptr_t *v, size_t *n, size_t max, uintptr_t pc)
{
	if (!pc || *n >= max || ct_warmed_has(pc))
		return;
	for (size_t i = 0; i < *n; i++)
		if (v[i] == pc)
			return;
	v[(*n)++] = pc;
}

/* A fork child that wrote profiles: the return addresses of its stacks
 * that its parent had not resolved go into the parent's page. Only
 * reads the inherited set, so no page of it is copied. */
static void
ct_dump_tell_parent(const struct ct_snapshot *snap)
{
	uintptr_t v[CT_KIDS_PCS];
	size_t n = 0;
	for (int k = 0; k < CT_PROF_COUNT; k++)
		for (size_t i = 0; i < snap->prof[k].nrecords; i++) {
			const struct ct_record *r = &snap->prof[k].records[i];
			for (uint32_t j = 0; j < r->depth && j < CT_STACK_MAX; j++)
				ct_tell_one(v, &n, CT_KIDS_PCS, r->pc[j]);
		}
	/* The rules it looked up itself (the shim's own frames, too). */
	uintptr_t missed[64];
	size_t nm = ct_unwind_missed(ct_uw_since, missed, 64);
	for (size_t i = 0; i < nm; i++)
		ct_tell_one(v, &n, CT_KIDS_PCS, missed[i]);
	for (size_t t = 0; snap->threads && t < snap->nthreads; t++) {
		const struct ct_thread_snap *th = &snap->threads[t];
		for (int j = 0; j < th->depth && j < CT_STACK_MAX; j++)
			ct_tell_one(v, &n, CT_KIDS_PCS, th->pc[j]);
		for (int j = 0; j < th->create_depth && j < 32; j++)
			ct_tell_one(v, &n, CT_KIDS_PCS, th->create_pc[j]);
	}
	if (!n)
		return;
	uint32_t at = __atomic_fetch_add(&ct_parent_kids->npcs, (uint32_t)n, __ATOMIC_RELAXED);
	for (size_t i = 0; i < n && at + i < CT_KIDS_PCS; i++)
		__atomic_store_n(&ct_parent_kids->pcs[at + i], v[i], __ATOMIC_RELEASE);
}

int
ct_dump_write(const char *suffix, bool threads)
{
	/* A process that writes profiles writes its thread dump beside them,
	 * single-threaded ones (a forked server's workers) included. */
	bool data = ct_profiles_have_data();
	threads = threads || data || ct_threads_worth_dumping();
	if (!data && !threads)
		return 0;
	if (ct_forkstate_heap_unsafe()) {
		if (!ct_notices_off())
			ct_log("this process was made by _Fork() while other threads ran (its heap "
			       "may be inconsistent); no profiles written (pid %d)", (int)getpid());
		return -EAGAIN;
	}
	int err = 0;
	ct_guard_enter();
	struct ct_snapshot snap;
	ct_report_write_fn fn = ct_report_fn();
	if (!fn) {
		err = -ENOENT;
		goto out;
	}
	err = ct_dump_snapshot(&snap, threads);
	if (ct_dump_pid)
		snap.pid = ct_dump_pid;
	if (err < 0) {
		ct_log("out of memory taking the profile snapshot; no profiles written");
		goto out;
	}
	char msg[2048] = "", wrote[512] = "";
	long pid = (long)(ct_dump_pid ? ct_dump_pid : getpid());
	__atomic_store_n(&ct_out.pid, pid, __ATOMIC_RELAXED);
	/* Final dumps also say on stderr what is stuck, leaked or deadlocked. */
	bool quiet = ct_notices_off();
	struct ct_report_opts o = {.dir = ct_dir, .suffix = suffix, .errbuf = msg,
				   .errlen = sizeof(msg), .summary = !suffix[0] && !quiet,
				   .out = &ct_out, .quiet = quiet, .wrote = wrote,
				   .wrotelen = sizeof(wrote), .scratch = ct_scratch_current()};
	err = fn(&snap, &o);
	if (o.wrote[0] && ct_parent_kids)
		ct_dump_tell_parent(&snap);
	ct_snapshot_free(&snap);
	/* One line per failed file (and the notice when this process had to
	 * take pid-qualified names). */
	for (char *line = msg, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		ct_log("%.*s", nl ? (int)(nl - line) : (int)strlen(line), line);
	}
	if (err < 0 && !msg[0])
		ct_log("writing the profiles failed");
	if (wrote[0] && !quiet)
		ct_log("wrote %s to %s/ (pid %ld)", wrote, ct_dir, pid);
	if (wrote[0] && ct_parent_kids)
		__atomic_fetch_add(&ct_parent_kids->wrote, 1, __ATOMIC_RELAXED);
out:
	ct_guard_leave();
	return err;
}

#ifdef CT_TEST_SEAMS
CT_EXPORT size_t
ct_dump_test_kids_pcs(uintptr_t *out, size_t max)
{
	struct ct_kids_page *page = __atomic_load_n(&ct_kids, __ATOMIC_ACQUIRE);
	size_t n = page ? __atomic_load_n(&page->npcs, __ATOMIC_RELAXED) : 0;
	if (n > CT_KIDS_PCS)
		n = CT_KIDS_PCS;
	for (size_t i = 0; i < n && i < max; i++)
		out[i] = __atomic_load_n(&page->pcs[i], __ATOMIC_ACQUIRE);
	return n;
}
#endif

bool
ct_dump_final_claim(void)
{
	return !__atomic_exchange_n(&ct_final_done, 1, __ATOMIC_ACQ_REL);
}

bool
ct_dump_is_fork_child(void)
{
	return ct_parent_kids != NULL;
}

bool
ct_dump_final_claimed(void)
{
	return __atomic_load_n(&ct_final_done, __ATOMIC_ACQUIRE);
}

void
ct_dump_set_profiled_pid(pid_t pid)
{
	ct_dump_pid = pid;
}

pid_t
ct_dump_profiled_pid(void)
{
	return ct_dump_pid;
}

struct ct_output *
ct_dump_output(void)
{
	return &ct_out;
}

void
ct_dump_fork_child(void)
{
	/* This process's own final dump has not run, whatever the parent's
	 * threads were doing. */
	if (__atomic_load_n(&ct_final_done, __ATOMIC_RELAXED))
		__atomic_store_n(&ct_final_done, 0, __ATOMIC_RELAXED);
	if (ct_dump_pid)
		ct_dump_pid = 0;
	/* This process's writes count for its parent; its own children get a
	 * page of their own at its first fork. The kept symbols (and so
	 * ct_warm_sig) are inherited. */
	ct_parent_kids = ct_kids;
	ct_kids = NULL;
	ct_uw_since = ct_unwind_misses();
	ct_kids_taken = 0;
	ct_dump_set_dir();
}

static int
ct_dl_signature_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	uint64_t *sig = arg;
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs))
		*sig = ((uint64_t)info->dlpi_adds << 32) ^ (uint64_t)info->dlpi_subs;
	return 1; /* the counters are the same in every entry */
}

/* Changes whenever an object is loaded or unloaded; never 0. */
static uint64_t
ct_dl_signature(void)
{
	uint64_t sig = 0;
	ct_dl_iterate(ct_dl_signature_cb, &sig);
	return sig ? sig : 1;
}

/* glibc >= 2.35 runs atfork prepare handlers without its atfork lock, so
 * one may dlopen() a library whose constructor registers handlers. */
static bool
ct_prepare_may_load(void)
{
	static int may = -1;
	if (may < 0) {
		int maj = 0, min = 0;
		sscanf(gnu_get_libc_version(), "%d.%d", &maj, &min);
		may = maj > 2 || (maj == 2 && min >= 35);
	}
	return may;
}

/* The children's return addresses not resolved yet (slots taken in
 * order; one claimed but not written yet waits for the next fork). */
static size_t
ct_kids_news(uintptr_t *v, size_t max)
{
	struct ct_kids_page *page = __atomic_load_n(&ct_kids, __ATOMIC_ACQUIRE);
	if (!page) /* never forked (a warm-up before chroot) */
		return 0;
	uint32_t end = __atomic_load_n(&page->npcs, __ATOMIC_RELAXED), n = 0;
	if (end > CT_KIDS_PCS)
		end = CT_KIDS_PCS;
	for (uint32_t i = ct_kids_taken; i < end && n < max; i++) {
		uintptr_t pc = __atomic_load_n(&page->pcs[i], __ATOMIC_ACQUIRE);
		if (!pc)
			break;
		v[n++] = pc;
	}
	return n;
}

/* Has the report library resolve what the children will need: this
 * process's recorded stacks, the fork's own stack and what its earlier
 * children reported (ct_dump_tell_parent); the unwind rules of the
 * latter too (its own it found when it recorded them). */
static void
ct_dump_warm(void)
{
	static uintptr_t pcs[CT_STACK_MAX + CT_KIDS_PCS];
	size_t n = ct_warm_npcs;
	memcpy(pcs, ct_warm_pcs, n * sizeof(pcs[0]));
	size_t news = ct_kids_news(pcs + n, CT_KIDS_PCS);
	for (size_t i = n; i < n + news; i++)
		ct_unwind_warm(pcs[i]);
	n += news;
	ct_report_warm_fn fn = (ct_report_warm_fn)ct_plugin_sym("ct_report_warm");
	(void)ct_report_fn();
	struct ct_snapshot snap;
	if (fn && ct_profiles_snapshot(&snap) == 0) {
		/* The snapshot the children's exit dumps take, threads and
		 * creation sites too: what it calls that this process never
		 * called before is bound by the dynamic loader now, once, not
		 * in every child (a lookup over all the process's objects per
		 * function: a PostgreSQL backend bound calloc, open64, close and
		 * qsort_r at its exit). Out of memory here costs nothing. */
		(void)ct_threads_snapshot(&snap, (int64_t)ct_cfg.stuck_ns, getppid());
		(void)ct_locks_snapshot_sites(&snap);
		fn(&snap, pcs, n);
		for (int k = 0; k < CT_PROF_COUNT; k++)
			for (size_t i = 0; i < snap.prof[k].nrecords; i++) {
				const struct ct_record *r = &snap.prof[k].records[i];
				for (uint32_t j = 0; j < r->depth && j < CT_STACK_MAX; j++)
					ct_warmed_add(r->pc[j]);
			}
		for (size_t i = 0; i < n; i++)
			ct_warmed_add(pcs[i]);
		ct_snapshot_free(&snap);
	}
	ct_kids_taken += (uint32_t)news;
}

void
ct_dump_before_chroot(void)
{
	if (!ct_active() || ct_dump_borrowed())
		return;
	int saved = errno;
	/* What writing needs from outside the new root: the report library
	 * and its dependencies, the loaded objects' files, kept open for
	 * later dumps, and (when there is something to write, so that it is
	 * read at exit anyway) the debug information of the recorded stacks
	 * and of this call's. All allocate: not from a signal handler, nor in
	 * a child whose heap may be inconsistent. */
	if (ct_forkstate_heap_unsafe() || (ct_self.sig_depth && ct_in_handler_slow()) ||
	    !ct_stack_load_unwinder() || !ct_stack_outside_signal_handler()) {
		errno = saved;
		return;
	}
	ct_guard_enter();
	/* Without data, only the objects' files are opened and kept (their
	 * symbol tables name what is recorded later); their debug
	 * information, which costs tens of ms for libc's, only for stacks
	 * there are. */
	if (ct_profiles_have_data()) {
		int n = ct_stack_capture(ct_warm_pcs, CT_STACK_MAX);
		ct_warm_npcs = n > 0 ? (size_t)n : 0;
		ct_dump_warm();
	} else {
		ct_report_open_objects_fn fn =
			(ct_report_open_objects_fn)ct_plugin_sym("ct_report_open_objects");
		struct ct_snapshot snap;
		if (fn && ct_profiles_snapshot(&snap) == 0) {
			fn(&snap);
			ct_snapshot_free(&snap);
		}
	}
	ct_guard_leave();
	errno = saved;
}

void
ct_dump_prefork(void)
{
	struct ct_kids_page *page = __atomic_load_n(&ct_kids, __ATOMIC_ACQUIRE);
	if (!page) {
		/* The first fork: somewhere for the children to say they
		 * wrote, and what they resolved. */
		void *p = mmap(NULL, sizeof(*page), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return;
		if (!__atomic_compare_exchange_n(&ct_kids, &page, (struct ct_kids_page *)p, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			munmap(p, sizeof(*page));
		page = __atomic_load_n(&ct_kids, __ATOMIC_ACQUIRE);
	}
	/* Worth it once a child wrote profiles (children that exec or _exit
	 * write nothing, and a shell never pays for symbols it does not
	 * need), or when this process recorded enough to write its own at
	 * exit: it reads the same debug information then anyway, so reading
	 * it now costs nothing more, and children forked before any of them
	 * wrote (a postmaster's checkpointer, writer and launcher, which all
	 * write at shutdown) inherit it too. */
	if ((__atomic_load_n(&page->wrote, __ATOMIC_RELAXED) == 0 && !ct_profiles_have_data()) ||
	    !ct_active() || ct_forkstate_heap_unsafe() || !ct_prepare_may_load())
		return;
	/* Again when children reported addresses (at most CT_KIDS_PCS in
	 * all, and only new ones: a few forks in a server's life). */
	uint64_t sig = ct_dl_signature();
	uintptr_t first;
	if (sig == __atomic_load_n(&ct_warm_sig, __ATOMIC_RELAXED) && !ct_kids_news(&first, 1))
		return;
	/* Loading and symbolizing allocate: not from a signal handler. */
	if ((ct_self.sig_depth && ct_in_handler_slow()) || !ct_stack_outside_signal_handler())
		return;
	int saved = errno;
	ct_guard_enter();
	int n = ct_stack_load_unwinder() ? ct_stack_capture(ct_warm_pcs, CT_STACK_MAX) : 0;
	ct_warm_npcs = n > 0 ? (size_t)n : 0;
	/* Here, on the forking thread: a warm-up thread of its own (to keep
	 * libdw's data off the main heap) would make a single-threaded server
	 * multi-threaded for glibc for good, and that costs its children more
	 * (measured: 12 ms of CPU per child against 6). */
	ct_dump_warm();
	/* Once per set of objects, even when it failed: never at every fork. */
	__atomic_store_n(&ct_warm_sig, sig, __ATOMIC_RELAXED);
	ct_guard_leave();
	errno = saved;
}
