/* Resolution of the real libc functions; see real.h. No allocation of our
 * own and no pthread locks: a three-state atomic guards it. */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>

#include "../core/compiler.h"
#include "../core/forkstate.h"
#include "../core/log.h"
#include "../core/spin.h"
#include "real.h"

enum { CT_UNRESOLVED, CT_RESOLVING, CT_RESOLVED };
static int ct_real_state;
static CT_TLS int ct_resolving_here;

#if defined(__x86_64__) && defined(__GLIBC__)
/* glibc's internal aliases of the lock functions, bound at link time so
 * they need no dlsym: only used while dlsym itself is running on this
 * thread and re-enters us. */
#define CT_GLIBC_ALIAS(ret, alias, params, ver) \
	extern ret alias##_ct params;           \
	__asm__(".symver " #alias "_ct," #alias "@" ver);
CT_GLIBC_ALIAS(int, __pthread_mutex_lock, (pthread_mutex_t *), "GLIBC_2.2.5")
CT_GLIBC_ALIAS(int, __pthread_mutex_trylock, (pthread_mutex_t *), "GLIBC_2.2.5")
CT_GLIBC_ALIAS(int, __pthread_mutex_unlock, (pthread_mutex_t *), "GLIBC_2.2.5")
CT_GLIBC_ALIAS(int, __pthread_rwlock_rdlock, (pthread_rwlock_t *), "GLIBC_2.2.5")
CT_GLIBC_ALIAS(int, __pthread_rwlock_wrlock, (pthread_rwlock_t *), "GLIBC_2.2.5")
CT_GLIBC_ALIAS(int, __pthread_rwlock_unlock, (pthread_rwlock_t *), "GLIBC_2.2.5")
CT_GLIBC_ALIAS(int, __pthread_mutex_init, (pthread_mutex_t *, const pthread_mutexattr_t *), "GLIBC_2.2.5")
CT_GLIBC_ALIAS(int, __pthread_rwlock_init, (pthread_rwlock_t *, const pthread_rwlockattr_t *), "GLIBC_2.2.5")
/* The same for the I/O calls an allocator or a logger may make while
 * dlsym runs (never one we export ourselves, such as __poll: a versioned
 * reference would bind to our unversioned wrapper). */
CT_GLIBC_ALIAS(ssize_t, __read, (int, void *, size_t), "GLIBC_2.2.5")
CT_GLIBC_ALIAS(ssize_t, __write, (int, const void *, size_t), "GLIBC_2.2.5")
CT_GLIBC_ALIAS(ssize_t, __pread64, (int, void *, size_t, off64_t), "GLIBC_2.2.5")
CT_GLIBC_ALIAS(ssize_t, __pwrite64, (int, const void *, size_t, off64_t), "GLIBC_2.2.5")
CT_GLIBC_ALIAS(int, __select, (int, fd_set *, fd_set *, fd_set *, struct timeval *), "GLIBC_2.2.5")
CT_GLIBC_ALIAS(int, __connect, (int, const struct sockaddr *, socklen_t), "GLIBC_2.2.5")
CT_GLIBC_ALIAS(ssize_t, __send, (int, const void *, size_t, int), "GLIBC_2.2.5")
CT_GLIBC_ALIAS(pid_t, __waitpid, (pid_t, int *, int), "GLIBC_2.2.5")
/* syscall() is ours too, so its fallback is the instruction itself, with
 * libc's convention: -1 and errno for a result in [-4095, -1]. */
static long
ct_raw_syscall(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long r;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	if ((unsigned long)r > -4096UL) {
		errno = (int)-r;
		r = -1;
	}
	return r;
}
/* Each function's fallback while dlsym runs; the only list of them. */
#define CT_FALLBACKS(F)                                         \
	F(pthread_mutex_lock, __pthread_mutex_lock_ct)         \
	F(pthread_mutex_trylock, __pthread_mutex_trylock_ct)   \
	F(pthread_mutex_unlock, __pthread_mutex_unlock_ct)     \
	F(pthread_rwlock_rdlock, __pthread_rwlock_rdlock_ct)   \
	F(pthread_rwlock_wrlock, __pthread_rwlock_wrlock_ct)   \
	F(pthread_rwlock_unlock, __pthread_rwlock_unlock_ct)   \
	F(pthread_mutex_init, __pthread_mutex_init_ct)         \
	F(pthread_rwlock_init, __pthread_rwlock_init_ct)       \
	F(read, __read_ct)                                     \
	F(write, __write_ct)                                   \
	F(pread, __pread64_ct)                                 \
	F(pread64, __pread64_ct)                               \
	F(pwrite, __pwrite64_ct)                               \
	F(pwrite64, __pwrite64_ct)                             \
	F(select, __select_ct)                                 \
	F(connect, __connect_ct)                               \
	F(send, __send_ct)                                     \
	F(waitpid, __waitpid_ct)                               \
	F(syscall, ct_raw_syscall)
#endif

/* Stubs: bootstrap (resolve, then forward) and missing (ENOSYS). */
#define CT_STUBS(ret, name, params, args, versioned)                      \
	static ret boot_##name params;                                    \
	static ret missing_##name params                                  \
	{                                                                 \
		/* pthread_* report errors in the return value */       \
		errno = ENOSYS;                                           \
		return (ret)(long)(__builtin_strncmp(#name, "pthread_", 8) == 0 ? ENOSYS : -1); \
	}                                                                 \
	ret(*real_##name) params = boot_##name;                           \
	static ret boot_##name params                                     \
	{                                                                 \
		ct_real_resolve();                                        \
		if (real_##name == boot_##name) {                         \
			void *fb = ct_fallback_for(#name);                \
			return fb ? ((ret(*) params)fb) args : missing_##name args; \
		}                                                         \
		return real_##name args;                                  \
	}

static void *ct_fallback_for(const char *name);
CT_REAL_FUNCS(CT_STUBS)

static void *
ct_fallback_for(const char *name)
{
#ifdef CT_FALLBACKS
	/* Each name must be a wrapped function: real_<name> must exist. */
#define CT_TRY(n, call)                                        \
	if (__builtin_strcmp(name, #n) == 0)                   \
		return (void)sizeof(real_##n), (void *)(call);
	CT_FALLBACKS(CT_TRY)
#undef CT_TRY
#endif
	(void)name;
	return NULL;
}

static void *
ct_lookup(const char *name, int versioned)
{
	void *p = NULL;
#if defined(__x86_64__)
	/* The unversioned lookup may give the 2.2.5 compat condvar with the
	 * old pthread_cond_t layout (mutrace's freeze, BZ 14932). */
	if (versioned)
		p = dlvsym(RTLD_NEXT, name, "GLIBC_2.3.2");
#endif
	if (!p)
		p = dlsym(RTLD_NEXT, name);
	return p;
}

void
ct_real_resolve(void)
{
	if (CT_LIKELY(__atomic_load_n(&ct_real_state, __ATOMIC_ACQUIRE) == CT_RESOLVED))
		return;
	if (ct_resolving_here)
		return; /* re-entered from dlsym: the caller falls back */
	int expect = CT_UNRESOLVED;
	if (!__atomic_compare_exchange_n(&ct_real_state, &expect, CT_RESOLVING, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&ct_real_state, __ATOMIC_ACQUIRE) != CT_RESOLVED)
			ct_cpu_relax();
		return;
	}
	ct_resolving_here = 1;
#define CT_RESOLVE(ret, name, params, args, versioned)                   \
	{                                                                \
		void *p = ct_lookup(#name, versioned);                   \
		real_##name = p ? (ret(*) params)p : missing_##name;     \
	}
	CT_REAL_FUNCS(CT_RESOLVE)
#undef CT_RESOLVE
	ct_resolving_here = 0;
	__atomic_store_n(&ct_real_state, CT_RESOLVED, __ATOMIC_RELEASE);
}

void
ct_real_fork_child(void)
{
	/* Resolving on a thread that is gone: start over (the pointers it
	 * set are valid or still the bootstrap stubs). */
	if (ct_resolving_here)
		return;
	int resolving = CT_RESOLVING;
	/* Read first: a compare-and-swap writes its page even when it fails
	 * (the child would copy it from its parent). */
	if (__atomic_load_n(&ct_real_state, __ATOMIC_RELAXED) == resolving)
		__atomic_compare_exchange_n(&ct_real_state, &resolving, CT_UNRESOLVED, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

#ifdef CT_TEST_SEAMS
void
ct_real_test_hold(long hold_us)
{
	int was = __atomic_exchange_n(&ct_real_state, CT_RESOLVING, __ATOMIC_ACQ_REL);
	ct_forkstate_test_sleep_us(hold_us);
	__atomic_store_n(&ct_real_state, was, __ATOMIC_RELEASE);
}
#endif
