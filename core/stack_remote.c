/* Stacks of other threads of this process while they are blocked in a
 * system call, for thread dumps: no signal is sent (that would turn a
 * sem_wait or nanosleep into EINTR), the thread is not stopped. The kernel
 * tells where the thread sits (/proc/self/task/<tid>/syscall: its stack
 * and instruction pointers at the system call) and libunwind's generic
 * API walks from there, reading memory with process_vm_readv so a stack
 * that changes under us can give a short stack but never a fault.
 *
 * Dump time only (allocates, dlopen()s libunwind-<arch>.so). */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libunwind.h>

#include "dlhist.h"
#include "snapshot.h"
#include "stack.h"
#include "sys.h"
#include "task.h"

#define CT_STR_(x) #x
#define CT_STR(x) CT_STR_(x)

struct ct_unw {
	unw_addr_space_t (*create)(unw_accessors_t *, int);
	unw_accessors_t *(*get_accessors)(unw_addr_space_t);
	int (*init_remote)(unw_cursor_t *, unw_addr_space_t, void *);
	int (*step)(unw_cursor_t *);
	int (*get_reg)(unw_cursor_t *, unw_regnum_t, unw_word_t *);
	unw_addr_space_t *local;
	unw_addr_space_t as;
	unw_accessors_t acc;
};

struct ct_regs {
	unw_word_t sp, pc;
};

static int
ct_remote_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
	if (write)
		return -UNW_EINVAL;
	struct iovec local = {val, sizeof(*val)}, remote = {(void *)addr, sizeof(*val)};
	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == sizeof(*val) ? 0
										    : -UNW_EINVAL;
}

static int
ct_remote_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
	const struct ct_regs *r = arg;
	if (write)
		return -UNW_EREADONLYREG;
	if (reg == UNW_REG_IP)
		*val = r->pc;
	else if (reg == UNW_REG_SP)
		*val = r->sp;
	else
		*val = 0; /* unknown at a system call; frames rarely need them */
	return 0;
}

static int
ct_remote_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write, void *arg)
{
	return -UNW_EBADREG;
}

/* Whether this process may call mincore(), which libunwind's first
 * address space calls once (tdep_init, libunwind 1.6 on x86-64: it probes
 * mincore on a page of the stack to choose how to validate addresses).
 * mincore is outside systemd's @system-service set of system calls, so a
 * unit with SystemCallFilter=@system-service (Debian's
 * redis-server.service, for one) killed the process with SIGSYS at its
 * first thread dump: redis at a BGSAVE's fork, at a dump signal, at its
 * exit. A process under no seccomp filter (Seccomp: 0 in
 * /proc/self/status) may; one under a filter is asked through a
 * throwaway copy of itself (clone without an exit signal, so no SIGCHLD
 * reaches the program and no wait(-1) of the program reaps it; all
 * signals blocked, so a SIGSYS the filter traps kills the copy rather
 * than run the program's handler) that calls mincore and exits. A filter
 * the program installs itself never gets here: the shim stops before it
 * (core/dump.h ct_dump_before_sandbox). Without /proc (a chroot) the
 * answer is yes, as before. Dump time only; once per process (a fork
 * child inherits the answer with the filter). */
static bool
ct_mincore_allowed(void)
{
	char buf[4096];
	if (ct_sys_read_file("/proc/self/status", buf, sizeof(buf)) <= 0)
		return true;
	const char *p = strstr(buf, "\nSeccomp:");
	if (!p || strtol(p + 9, NULL, 10) == 0)
		return true;
	/* The copy makes only these two system calls. */
	unsigned char vec[1];
	uintptr_t page = (uintptr_t)vec & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	long pid = syscall(SYS_clone, 0L, 0L, 0L, 0L, 0L);
	if (pid == 0) {
		syscall(SYS_mincore, page, 1L, vec);
		syscall(SYS_exit_group, 0L);
	}
	int status = 0;
	long r = -1;
	if (pid > 0)
		do
			r = syscall(SYS_wait4, pid, &status, __WCLONE, 0L);
		while (r < 0 && errno == EINTR);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static struct ct_unw *
ct_unw_load(void)
{
	static struct ct_unw u;
	static int state; /* 0 untried, 1 ok, -1 failed */
	if (state)
		return state > 0 ? &u : NULL;
	state = -1;
	/* Without libunwind a thread dump keeps, for each other blocked
	 * thread, the one frame its wrapper recorded (its call). */
	if (!ct_mincore_allowed())
		return NULL;
	char soname[64];
	snprintf(soname, sizeof(soname), "libunwind-%s.so.8", CT_STR(UNW_TARGET));
	/* dlsym takes the loader's lock too. */
	bool mine = ct_dl_forks_off();
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (h) {
		u.create = (void *)dlsym(h, CT_STR(unw_create_addr_space));
		u.get_accessors = (void *)dlsym(h, CT_STR(unw_get_accessors));
		u.init_remote = (void *)dlsym(h, CT_STR(unw_init_remote));
		u.step = (void *)dlsym(h, CT_STR(unw_step));
		u.get_reg = (void *)dlsym(h, CT_STR(unw_get_reg));
		u.local = (void *)dlsym(h, CT_STR(unw_local_addr_space));
	}
	ct_dl_forks_on(mine);
	if (!h)
		return NULL;
	if (!u.create || !u.get_accessors || !u.init_remote || !u.step || !u.get_reg || !u.local)
		return NULL;
	/* The local address space's unwind-info lookup (dl_iterate_phdr)
	 * is right for our own process; only memory and registers differ. */
	u.acc = *u.get_accessors(*u.local);
	u.acc.access_mem = ct_remote_mem;
	u.acc.access_reg = ct_remote_reg;
	u.acc.access_fpreg = ct_remote_fpreg;
	u.acc.resume = NULL;
	u.as = u.create(&u.acc, 0);
	if (!u.as)
		return NULL;
	state = 1;
	return &u;
}

/* "nr a1 a2 a3 a4 a5 a6 sp pc" while in a system call; "running" or
 * "-1 sp pc" (blocked outside a call) otherwise. */
static bool
ct_syscall_regs(int tid, struct ct_regs *r)
{
	char buf[512];
	if (ct_task_read(tid, "syscall", buf, sizeof(buf)) <= 0)
		return false;
	long nr;
	unsigned long a[6], sp, pc;
	if (sscanf(buf, "%ld %lx %lx %lx %lx %lx %lx %lx %lx", &nr, &a[0], &a[1], &a[2], &a[3],
		   &a[4], &a[5], &sp, &pc) != 9 || nr < 0)
		return false;
	r->sp = sp;
	r->pc = pc;
	return true;
}

static int
ct_blocked_walk(struct ct_unw *u, struct ct_regs regs, uintptr_t self_lo, uintptr_t self_hi,
		uintptr_t *pcs, int max)
{
	unw_cursor_t c;
	if (u->init_remote(&c, u->as, &regs) < 0)
		return 0;
	/* Keep what lies beyond the shim's wrapper frame: the program's
	 * stack at the call it made. */
	int out = 0, seen_self = 0;
	for (int i = 0; i < CT_STACK_MAX + 32 && out < max; i++) {
		unw_word_t ip;
		if (u->get_reg(&c, UNW_REG_IP, &ip) < 0 || ip == 0)
			break;
		if (ip >= self_lo && ip < self_hi)
			seen_self = 1;
		else if (seen_self)
			pcs[out++] = (uintptr_t)ip;
		if (u->step(&c) <= 0)
			break;
	}
	return out;
}

int
ct_stack_of_blocked_thread(int tid, uintptr_t self_lo, uintptr_t self_hi, uintptr_t *pcs,
			   int max)
{
	struct ct_regs regs;
	struct ct_unw *u = ct_unw_load();
	if (!u || !ct_syscall_regs(tid, &regs))
		return 0;
	/* libunwind finds each frame's unwind information with
	 * dl_iterate_phdr, which a fork must not copy half-done (core/dlhist.h). */
	bool mine = ct_dl_forks_off();
	int n = ct_blocked_walk(u, regs, self_lo, self_hi, pcs, max);
	ct_dl_forks_on(mine);
	return n;
}

/* Unwinds the program's stack from caller with the stack pointer just
 * above slot. Returns the frames, and in *clean whether the walk ended
 * where the unwinder says the stack ends (or filled pcs). */
static int
ct_unwind_from(struct ct_unw *u, uintptr_t caller, uintptr_t slot, uintptr_t *pcs, int max,
	       bool *clean)
{
	/* At the caller, just after its call returned: the stack pointer is
	 * above the return address. */
	struct ct_regs regs = {.sp = slot + sizeof(uintptr_t), .pc = caller};
	unw_cursor_t c;
	*clean = false;
	if (u->init_remote(&c, u->as, &regs) < 0)
		return 0;
	int out = 0;
	while (out < max) {
		unw_word_t ip;
		if (u->get_reg(&c, UNW_REG_IP, &ip) < 0)
			break;
		if (ip == 0) {
			*clean = true;
			break;
		}
		pcs[out++] = (uintptr_t)ip;
		int r = u->step(&c);
		if (r <= 0) {
			*clean = r == 0;
			break;
		}
	}
	if (out == max)
		*clean = true;
	return out;
}

/* The wrapper's call into libc, below the slot S holding its return
 * address: the nearest word under S pointing into the shim's own code
 * [lo, hi) (the return address of that call; the wrapper's frame holds
 * no other). A walk from there passes through the wrapper's frame, so
 * the unwinder restores the registers it saved (the program's frame
 * pointer among them: a program built with frame pointers needs it),
 * then goes on into the program. The shim's frames are dropped; the
 * walk must reach `caller`. 0 when any of that fails. */
static int
ct_unwind_through_wrapper(struct ct_unw *u, uintptr_t caller, uintptr_t slot, uintptr_t lo,
			  uintptr_t hi, uintptr_t *pcs, int max)
{
	uintptr_t buf[64];
	uintptr_t from = slot - sizeof(buf);
	struct iovec local = {buf, sizeof(buf)}, remote = {(void *)from, sizeof(buf)};
	if (!lo || process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)sizeof(buf))
		return 0;
	for (int i = 63; i >= 0; i--) {
		if (buf[i] < lo || buf[i] >= hi)
			continue;
		struct ct_regs regs = {.sp = from + (uintptr_t)i * sizeof(buf[0]) + sizeof(buf[0]),
				       .pc = buf[i]};
		unw_cursor_t c;
		if (u->init_remote(&c, u->as, &regs) < 0)
			return 0;
		int out = 0;
		for (int k = 0; k < CT_STACK_MAX + 8 && out < max; k++) {
			unw_word_t ip;
			if (u->get_reg(&c, UNW_REG_IP, &ip) < 0 || ip == 0)
				break;
			Dl_info di;
			unw_word_t sp;
			if (out) {
				/* A walk through a stale frame of the shim (an
				 * earlier call's, left below the wrapper's) may
				 * reach caller and then restore registers from
				 * the wrong words: garbage from there on. */
				if (!dladdr((void *)ip, &di))
					break;
				pcs[out++] = (uintptr_t)ip;
			} else if (ip == caller) {
				/* Through the frame whose return address is this
				 * slot, not another that also returned there. */
				if (u->get_reg(&c, UNW_REG_SP, &sp) < 0 ||
				    sp != slot + sizeof(uintptr_t))
					return 0;
				pcs[out++] = (uintptr_t)ip;
			} else if (ip < lo || ip >= hi)
				return 0; /* left the shim elsewhere than at caller */
			if (u->step(&c) <= 0)
				break;
		}
		return out;
	}
	return 0;
}

/* The wrapper's return address is the slot holding `caller` that the
 * longest walk starts from: the wrapper's own copies of the value (its
 * wait record's caller) lie below the slot, and a walk from one of them
 * meets garbage or a zero soon. Candidates are looked for in the 16 KiB
 * above `below`; the lowest of the longest walks wins. */
static int
ct_above_walk(struct ct_unw *u, uintptr_t caller, uintptr_t below, uintptr_t *pcs, int max)
{
	uintptr_t buf[512], best[CT_STACK_MAX];
	int nbest = 0;
	if (max > CT_STACK_MAX)
		max = CT_STACK_MAX;
	uintptr_t a = below & ~(uintptr_t)(sizeof(buf[0]) - 1);
	for (uintptr_t end = a + 16384; a < end; a += sizeof(buf)) {
		struct iovec local = {buf, sizeof(buf)}, remote = {(void *)a, sizeof(buf)};
		ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
		if (got <= 0)
			break;
		for (size_t i = 0; i < (size_t)got / sizeof(buf[0]); i++) {
			if (buf[i] != caller)
				continue;
			bool clean;
			uintptr_t lo, hi;
			ct_stack_self_range(&lo, &hi);
			int n = ct_unwind_through_wrapper(u, caller, a + i * sizeof(buf[0]), lo, hi,
							  pcs, max);
			if (n > 1)
				return n;
			n = ct_unwind_from(u, caller, a + i * sizeof(buf[0]), pcs, max, &clean);
			if (n == max)
				return n;
			if (n > nbest) {
				memcpy(best, pcs, (size_t)n * sizeof(pcs[0]));
				nbest = n;
			}
		}
		if ((size_t)got < sizeof(buf))
			break; /* the top of the stack */
	}
	memcpy(pcs, best, (size_t)nbest * sizeof(pcs[0]));
	return nbest;
}

int
ct_stack_above(uintptr_t caller, uintptr_t below, uintptr_t *pcs, int max)
{
	struct ct_unw *u;
	if (!caller || !below || max <= 0 || !(u = ct_unw_load()))
		return 0;
	bool mine = ct_dl_forks_off(); /* as in ct_stack_of_blocked_thread */
	int n = ct_above_walk(u, caller, below, pcs, max);
	ct_dl_forks_on(mine);
	return n;
}
