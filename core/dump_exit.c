/* The final dump at exit (ct_dump_at_exit, the atexit handler), and its
 * like before an exec or a seccomp sandbox; see dump.h. Lifetime: once, on the exiting thread, after main returned or
 * exit() was called. Not async-signal-safe: allocates, loads the report
 * library and may create a helper thread, which the exiting thread waits
 * for with a deadline. Holds no lock (the guard is raised throughout). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#include "compiler.h"
#include "dump.h"
#include "dump_int.h"
#include "dumper.h"
#include "event.h"
#include "log.h"
#include "names.h"
#include "ownstack.h"
#include "profiles.h"
#include "scratch.h"
#include "sys.h"
#include "thread.h"
#include "threads.h"

/* Long enough to symbolize a big program at exit. */
#define CT_EXIT_DUMP_TIMEOUT_S 10

static void *
ct_exit_dump_main(void *exiting_slot)
{
	ct_guard_enter();
	/* Stand for the exiting thread in the dump, not as a thread of ours:
	 * with no slot to stand for (the exiting thread's own slot was freed
	 * by its exit, main having called pthread_exit), claim none either,
	 * or the dump would list this helper as a running program thread. */
	ct_self.no_slot = 1;
	ct_self.slot = exiting_slot;
	ct_dump_write("", false);
	return NULL;
}

/* The dump with suffix (a const char *) in its files' names. */
static void
ct_exit_write(void *suffix)
{
	ct_dump_write(suffix, false);
}

/* The process's initial thread (ct_dump_exit_init): its stack grows to
 * its limit. A fork child's only thread is the one that forked, whose
 * tid is the child's pid but whose stack may be small. */
static pthread_t ct_exit_initial CT_INIT_HOT;

void
ct_dump_exit_init(void)
{
	ct_exit_initial = pthread_self();
}

/* What writing needs at most (ownstack.h), with a margin. */
#define CT_EXIT_STACK_NEED (512u << 10)

/* Whether this thread has less stack left than writing needs: a thread
 * the program made small (64 KiB is common) that calls exit() when it is
 * the last one left, after main's pthread_exit, or the only one of a
 * fork child forked from such a thread (it died of SIGSEGV in the dump,
 * where natively it exits with its status). Allocates
 * (pthread_getattr_np): not from a signal handler. */
static bool
ct_exit_stack_small(void)
{
	if (pthread_equal(pthread_self(), ct_exit_initial))
		return false;
	pthread_attr_t a;
	void *lo;
	size_t size;
	if (pthread_getattr_np(pthread_self(), &a) != 0)
		return true; /* cannot tell: ours is safe */
	int r = pthread_attr_getstack(&a, &lo, &size);
	pthread_attr_destroy(&a);
	char here;
	return r != 0 || (uintptr_t)&here - (uintptr_t)lo < CT_EXIT_STACK_NEED;
}

/* The final dump on this thread: on a stack of our own when exit() was
 * called from a handler running on the program's alternate signal stack,
 * or on a thread whose own stack is too small for it (ownstack.h). */
static void
ct_exit_write_here(const char *suffix)
{
	if (ct_self.sig_depth ? ct_ownstack_on_altstack() : ct_exit_stack_small())
		ct_ownstack_run(ct_exit_write, (void *)suffix);
	else
		ct_dump_write(suffix, false);
}

static struct {
	uintptr_t lo, hi;
} ct_locking_code[CT_DUMP_LOCKING_CODE] CT_INIT_HOT;

void
ct_dump_set_locking_code(int i, uintptr_t lo, uintptr_t hi)
{
	if (i >= 0 && i < CT_DUMP_LOCKING_CODE) {
		ct_locking_code[i].lo = lo;
		ct_locking_code[i].hi = hi;
	}
}

/* Whether this thread runs a signal handler that interrupted code which
 * may hold the heap's or the loader's lock, with the address interrupted
 * in *pc (0 when unknown). Handlers left with siglongjmp are not counted
 * (ct_in_handler_slow). */
static bool
ct_exit_interrupted_locking_code(uintptr_t *pc)
{
	*pc = 0;
	if (ct_self.sig_depth == 0 || !ct_in_handler_slow())
		return false;
	if (ct_self.sig_depth > CT_SIG_FRAMES)
		return true;
	for (int d = 0; d < ct_self.sig_depth; d++) {
		uintptr_t at = ct_self.sig_pc[d];
		if (at == CT_SIG_PC_WAITING)
			continue;
		*pc = at;
		if (!at)
			return true;
		for (int i = 0; i < CT_DUMP_LOCKING_CODE; i++)
			if (at >= ct_locking_code[i].lo && at < ct_locking_code[i].hi)
				return true;
	}
	return false;
}

/* The scratch heap of a fork child's final dump (scratch.h): reserved,
 * and the first pages present at once, one system call instead of a page
 * fault each (about 8 us a page against 13 on a VM). A PostgreSQL
 * backend's dump writes about 8 pages of it; more come a fault at a time. */
#define CT_EXIT_SCRATCH_RESERVE (64u << 20)
#define CT_EXIT_SCRATCH_POPULATE (32u << 10)
static struct ct_scratch ct_exit_scratch CT_FORK_HOT;

/* The final dump of a fork child that is about to exit with no other
 * thread: its allocations come from fresh pages of its own, not from the
 * heap it shares with its parent (scratch.h). Not for a process that
 * goes on running (ct_dump_before_sandbox), nor for a vfork() child
 * (its parent's memory), nor where another thread could allocate. */
static void
ct_exit_write_alone(bool exiting)
{
	bool scratch = exiting && ct_dump_is_fork_child() && !ct_dump_borrowed() &&
		       ct_profiles_have_data() && !ct_threads_others_running() &&
		       !ct_dumper_running() &&
		       ct_scratch_open(&ct_exit_scratch, CT_EXIT_SCRATCH_RESERVE,
				       CT_EXIT_SCRATCH_POPULATE) == 0;
	if (scratch)
		ct_scratch_use(&ct_exit_scratch);
	ct_exit_write_here("");
	if (scratch)
		ct_scratch_use(NULL);
}

/* With other threads alive, the exit dump runs on a helper thread that the
 * exiting thread waits for at most CT_EXIT_DUMP_TIMEOUT_S: a lock the dump
 * needs (the loader's, taken by dlopen) may be held by a thread that will
 * never run again, such as an interpreter's daemon thread parked for good
 * at shutdown in the middle of loading a module, and exit must not hang on
 * it. Our wrappers pass straight through while the guard is raised.
 * exiting: called by exit() (not before a sandbox, after which the
 * process goes on). */
static void
ct_dump_final(bool exiting)
{
	/* A vfork() child that calls exit() (after a failed exec, say) runs
	 * the atexit handlers in its parent's memory, and uses them up: the
	 * parent's exit will run none, natively as here. So the child writes
	 * what was recorded (its parent's) as the final dump, then. */
	if (__atomic_load_n(&ct_sandboxed, __ATOMIC_ACQUIRE) || !ct_dump_final_claim())
		return;
	uintptr_t pc;
	if (ct_exit_interrupted_locking_code(&pc)) {
		ct_log("exit() was called from a signal handler that interrupted the C library, "
		       "the dynamic loader or the allocator (at %#lx), which may hold a lock "
		       "writing needs: no profiles written at exit (CONTEND_INTERVAL keeps "
		       "numbered snapshots)", (unsigned long)pc);
		return;
	}
	/* A single-threaded process writes on its own thread, fork children
	 * (a process-per-connection server's backends) included: a helper
	 * thread of their own, for a malloc arena of fresh pages instead of
	 * the heap shared with the parent (f997708), now costs more than it
	 * saves, since the dump allocates little there (d23213b): its stack,
	 * its arena's pages and its start and exit cost a PostgreSQL backend
	 * about 25 page faults more than the few chunks the dump takes from
	 * the inherited heap (889-912 faults from fork to exit against
	 * 866-880, plain 765), and a thread makes the process multi-threaded
	 * for glibc and the kernel for the rest of its exit. */
	if (!ct_threads_worth_dumping()) {
		ct_exit_write_alone(exiting);
		return;
	}
	ct_guard_enter();
	struct ct_thread_slot *me = ct_threads_self();
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	int r = ct_sys_pthread_create(&t, NULL, ct_exit_dump_main, me);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		ct_exit_write_here("");
	} else {
		struct timespec deadline;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += CT_EXIT_DUMP_TIMEOUT_S;
		if (ct_sys_pthread_timedjoin_np(t, NULL, &deadline) != 0)
			ct_log("writing the profiles at exit took longer than %d s; given up",
			       CT_EXIT_DUMP_TIMEOUT_S);
	}
	ct_guard_leave();
}

/* The process whose image wrote its profiles before an exec: an exec
 * that failed leaves them, and the next one writes nothing more (the exit
 * writes everything, under the plain names). A fork child is another
 * process. */
static pid_t ct_exec_wrote_pid;

void
ct_dump_before_exec(void)
{
	if (!ct_active() || __atomic_load_n(&ct_sandboxed, __ATOMIC_ACQUIRE) ||
	    ct_dump_borrowed() || ct_dump_final_claimed() || !ct_profiles_have_data())
		return;
	pid_t me = getpid();
	if (__atomic_exchange_n(&ct_exec_wrote_pid, me, __ATOMIC_RELAXED) == me)
		return;
	int saved = errno;
	/* mutex.exec.pb.gz...: the new image, the same pid, writes its own
	 * under the plain names at its exit. */
	ct_exit_write_here(CT_SUFFIX_EXEC);
	errno = saved;
}

void
ct_dump_at_exit(void)
{
	ct_dump_final(true);
}

void
ct_dump_before_sandbox(void)
{
	if (__atomic_load_n(&ct_sandboxed, __ATOMIC_ACQUIRE))
		return;
	int saved = errno;
	ct_dumper_stop();
	ct_dump_final(false);
	__atomic_store_n(&ct_hot.ready, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&ct_sandboxed, 1, __ATOMIC_RELEASE);
	errno = saved;
}
