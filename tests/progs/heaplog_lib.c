/* Preloaded with the shim: an allocator wrapper (forwarding to glibc's
 * __libc_* entry points) that notes the return address of every malloc,
 * calloc, realloc and free made in a fork child of the process that
 * loaded it, in a page shared with that process. At that process's exit
 * (this library's destructor), prints on stdout
 *   heaplog_child_calls=N
 *   heaplog_from_contend=M
 * where M counts the calls made from libcontend*.so's own code (dladdr),
 * and one heaplog_from=<symbol or offset> line for each of the first few.
 * Lets a test see whether the shim's dump in a fork child took or gave
 * back any chunk of the heap the child shares with its parent. Calls made
 * past the page's room are counted, not noted. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t k);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

#define HEAPLOG_MAX 65536

struct heaplog {
	unsigned long n; /* calls made in children; the first HEAPLOG_MAX noted */
	uintptr_t at[HEAPLOG_MAX];
};

static struct heaplog *heaplog;
static int heaplog_child;

static void
heaplog_note(void *ret)
{
	if (!heaplog_child || !heaplog)
		return;
	unsigned long i = __atomic_fetch_add(&heaplog->n, 1, __ATOMIC_RELAXED);
	if (i < HEAPLOG_MAX)
		heaplog->at[i] = (uintptr_t)ret;
}

void *
malloc(size_t n)
{
	heaplog_note(__builtin_return_address(0));
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t k)
{
	heaplog_note(__builtin_return_address(0));
	return __libc_calloc(n, k);
}

void *
realloc(void *p, size_t n)
{
	heaplog_note(__builtin_return_address(0));
	return __libc_realloc(p, n);
}

void
free(void *p)
{
	if (p)
		heaplog_note(__builtin_return_address(0));
	__libc_free(p);
}

static void
heaplog_in_child(void)
{
	heaplog_child = 1;
}

static pid_t heaplog_owner;

__attribute__((constructor)) static void
heaplog_init(void)
{
	void *p = mmap(NULL, sizeof(struct heaplog), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	heaplog = p;
	heaplog_owner = getpid();
	pthread_atfork(NULL, NULL, heaplog_in_child);
}

__attribute__((destructor)) static void
heaplog_report(void)
{
	if (!heaplog || heaplog_child || getpid() != heaplog_owner)
		return;
	unsigned long n = __atomic_load_n(&heaplog->n, __ATOMIC_RELAXED), ours = 0, shown = 0;
	char line[512];
	for (unsigned long i = 0; i < n && i < HEAPLOG_MAX; i++) {
		Dl_info info;
		if (!dladdr((void *)heaplog->at[i], &info) || !info.dli_fname ||
		    !strstr(info.dli_fname, "libcontend"))
			continue;
		ours++;
		if (shown++ < 8) {
			int len = snprintf(line, sizeof(line), "heaplog_from=%s+%#lx\n",
					   info.dli_sname ? info.dli_sname : strrchr(info.dli_fname, '/'),
					   (unsigned long)(heaplog->at[i] -
							   (uintptr_t)(info.dli_sname ? info.dli_saddr
										   : info.dli_fbase)));
			if (len > 0 && write(1, line, (size_t)len) < 0)
				return;
		}
	}
	int len = snprintf(line, sizeof(line), "heaplog_child_calls=%lu\nheaplog_from_contend=%lu\n",
			   n, ours);
	if (len > 0 && write(1, line, (size_t)len) < 0)
		return;
}
