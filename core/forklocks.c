/* See forklocks.h. The entry points are written once at init and only read
 * after, from signal handlers; the way out is per thread. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "compiler.h"
#include "forklocks.h"
#include "sys.h"
#include "unwind.h"

static uintptr_t ct_entries[CT_FORKLOCKS_ENTRIES] CT_INIT_HOT;
static int ct_nentries CT_INIT_HOT;

void
ct_forklocks_set_entries(const uintptr_t *fns, int n)
{
	ct_nentries = 0;
	for (int i = 0; i < n && ct_nentries < CT_FORKLOCKS_ENTRIES; i++)
		if (fns[i])
			ct_entries[ct_nentries++] = fns[i];
}

#if defined(__x86_64__)

struct ct_spans {
	uintptr_t lo[CT_FORKLOCKS_ENTRIES], hi[CT_FORKLOCKS_ENTRIES];
	int n;
};

static void
ct_spans_find(struct ct_spans *s)
{
	s->n = 0;
	for (int i = 0; i < ct_nentries; i++)
		if (ct_unwind_fn_range(ct_entries[i], &s->lo[s->n], &s->hi[s->n]))
			s->n++;
}

static bool
ct_spans_hold(const struct ct_spans *s, uintptr_t a)
{
	for (int i = 0; i < s->n; i++)
		if (a >= s->lo[i] && a < s->hi[i])
			return true;
	return false;
}

/* How far up the stack a return address into an entry point is looked
 * for when the frames cannot be walked: malloc's deepest calls (sysmalloc,
 * the arena code, mmap) take far less. */
#define CT_FORKLOCKS_STACK 4096
/* How many frames are walked: fork() runs the program's atfork handlers,
 * which may call malloc. */
#define CT_FORKLOCKS_FRAMES 24

/* The way out, armed in this thread: the return address the trampoline
 * stands in for (0: none armed), the signal to raise there and the
 * process that armed it (a fork() child returns through it too). */
static CT_TLS uintptr_t ct_out_ret;
static CT_TLS int ct_out_sig;
static CT_TLS pid_t ct_out_pid;

void ct_forklocks_trampoline(void);
CT_HIDDEN uintptr_t ct_forklocks_out_ret(void);
CT_HIDDEN void ct_forklocks_out_raise(void);

CT_HIDDEN uintptr_t
ct_forklocks_out_ret(void)
{
	return ct_out_ret;
}

/* In the trampoline, with the real return address back in its slot (so
 * a walk from the handler sees the program's frames) and no lock of the
 * allocator's held any more: the signal, to this thread, now. A process
 * that returns here from fork() but is not the one that armed it is the
 * child of a fork() the signal came into before the child was made:
 * natively there would be no such process, and it goes at once, before
 * it runs any more of the program (SIGKILL: no handler, no exit code of
 * the program's). */
CT_HIDDEN void
ct_forklocks_out_raise(void)
{
	int saved = errno;
	pid_t pid = ct_out_pid, me = (pid_t)syscall(SYS_getpid);
	int sig = ct_out_sig;
	ct_out_ret = 0;
	if (pid == me)
		syscall(SYS_tgkill, pid, (pid_t)syscall(SYS_gettid), sig);
	else
		syscall(SYS_kill, me, SIGKILL);
	errno = saved;
}

/* Entered by the `ret` of the outermost entry point, the stack pointer
 * where the caller's was before its call (16-byte aligned). Keeps the
 * return registers (rax, rdx, xmm0, xmm1); the placeholder below becomes
 * the return address, as the CFI says, before anything can walk it. */
__asm__(".text\n"
	".p2align 4\n"
	".globl ct_forklocks_trampoline\n"
	".hidden ct_forklocks_trampoline\n"
	".type ct_forklocks_trampoline, @function\n"
	"ct_forklocks_trampoline:\n"
	".cfi_startproc\n"
	"	.cfi_def_cfa_offset 0\n"
	"	subq $8, %rsp\n"
	"	.cfi_def_cfa_offset 8\n"
	"	pushq %rax\n"
	"	.cfi_def_cfa_offset 16\n"
	"	pushq %rdx\n"
	"	.cfi_def_cfa_offset 24\n"
	"	subq $40, %rsp\n"
	"	.cfi_def_cfa_offset 64\n"
	"	movdqu %xmm0, (%rsp)\n"
	"	movdqu %xmm1, 16(%rsp)\n"
	"	call ct_forklocks_out_ret\n"
	"	movq %rax, 56(%rsp)\n"
	"	call ct_forklocks_out_raise\n"
	"	movdqu (%rsp), %xmm0\n"
	"	movdqu 16(%rsp), %xmm1\n"
	"	addq $40, %rsp\n"
	"	.cfi_def_cfa_offset 24\n"
	"	popq %rdx\n"
	"	.cfi_def_cfa_offset 16\n"
	"	popq %rax\n"
	"	.cfi_def_cfa_offset 8\n"
	"	ret\n"
	".cfi_endproc\n"
	".size ct_forklocks_trampoline, .-ct_forklocks_trampoline\n");

/* Where the signal came: the registers, and whether the thread sat in a
 * system call a signal interrupts (its wait about to be restarted, or
 * ended with EINTR). The calls the allocator makes with a lock held
 * (mmap, munmap, brk, madvise) are not interrupted: they complete first. */
struct ct_interrupted {
	uintptr_t pc, sp, bp;
	bool waiting;
};

static void
ct_interrupted_read(const ucontext_t *uc, struct ct_interrupted *at)
{
	at->pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	at->sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	at->bp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
	long ret = (long)uc->uc_mcontext.gregs[REG_RAX];
	uint8_t code[4] = {0};
	at->waiting = false;
	if (ct_sys_peek(at->pc - 2, code, sizeof(code)) == sizeof(code)) {
		bool at_syscall = code[2] == 0x0f && code[3] == 0x05; /* restart */
		bool after_syscall = code[0] == 0x0f && code[1] == 0x05;
		at->waiting = at_syscall || (after_syscall && ret == -EINTR);
	}
}

/* Whether a return address into an entry point lies on the stack above
 * sp: the walk's fallback. Reads a little at a time, in a frame of its
 * own, not the walk's: this may run on a small alternate signal stack
 * (Rust gives each thread 8 KiB; the whole check takes about 2.5 KiB). */
static __attribute__((noinline)) bool
ct_stack_holds(const struct ct_spans *s, uintptr_t sp)
{
	uintptr_t words[64];
	uintptr_t from = sp & ~(uintptr_t)(sizeof(uintptr_t) - 1);
	for (size_t off = 0; off < CT_FORKLOCKS_STACK; off += sizeof(words)) {
		size_t got = ct_sys_peek(from + off, words, sizeof(words));
		for (size_t i = 0; i < got / sizeof(uintptr_t); i++)
			if (ct_spans_hold(s, words[i]))
				return true;
		if (got < sizeof(words))
			break;
	}
	return false;
}

enum ct_forklocks
ct_forklocks_check(const void *ucv, int sig)
{
	if (ct_out_ret)
		return CT_FORKLOCKS_HELD;
	if (!ucv)
		return CT_FORKLOCKS_FREE;
	int saved = errno;
	enum ct_forklocks res = CT_FORKLOCKS_FREE;
	struct ct_interrupted at;
	ct_interrupted_read(ucv, &at);
	struct ct_spans spans;
	ct_spans_find(&spans);
	struct ct_unwind_frame f[CT_FORKLOCKS_FRAMES];
	int n = ct_unwind_interrupted(at.pc, at.sp, at.bp, f, CT_FORKLOCKS_FRAMES);
	int outer = -1;
	for (int k = 0; k < n; k++)
		if (ct_spans_hold(&spans, k ? f[k].pc - 1 : f[k].pc))
			outer = k;
	if (outer >= 0 && sig) {
		uintptr_t *slot = (uintptr_t *)f[outer].ra_slot;
		ct_out_sig = sig;
		ct_out_pid = (pid_t)syscall(SYS_getpid);
		ct_out_ret = *slot;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		*slot = (uintptr_t)ct_forklocks_trampoline;
		res = CT_FORKLOCKS_HELD;
	} else if (outer >= 0) {
		res = CT_FORKLOCKS_HELD;
	} else if (n == 0 && !at.waiting &&
		   (ct_spans_hold(&spans, at.pc) || ct_stack_holds(&spans, at.sp))) {
		/* No frame to walk (code without unwind tables): a guess, not
		 * made for a system call a return would end with EINTR. */
		res = CT_FORKLOCKS_MAYBE;
	}
	errno = saved;
	return res;
}

#else

enum ct_forklocks
ct_forklocks_check(const void *uc, int sig)
{
	(void)uc;
	(void)sig;
	return CT_FORKLOCKS_FREE;
}

#endif
