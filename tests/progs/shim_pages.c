/* shim_pages [fork]: counts the pages of the shim's static data (its
 * writable segment: the relocated data and the zeroed .bss).
 *
 * Without an argument, those present in this process, which calls nothing
 * the shim wraps: what a short-lived preloaded process that records
 * nothing (a shell, each child of make -j) pays in page faults for the
 * shim's init. Raw system calls only, and only after main began (the init
 * ran in the shim's constructor). Prints shim_data_pages=<n> (0 without
 * the shim) and shim_data_span=<pages>.
 *
 * fork: first gives the shim something of every kind to keep (a thread,
 * a contended mutex, a lock site), then forks; once the parent is past
 * its fork handlers, the child counts the pages of that segment it has
 * copied or faulted in since the fork (exclusively its own in
 * /proc/self/pagemap): what the shim's fork handlers cost every fork
 * child, also one that only execs. Prints shim_fork_pages=<n>. */
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "progs.h"

struct range {
	uintptr_t lo, hi;
};

static int
find_shim(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct range *r = arg;
	(void)size;
	if (!info->dlpi_name || !strstr(info->dlpi_name, "libcontend.so"))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W)) {
			r->lo = (info->dlpi_addr + ph->p_vaddr) & ~(uintptr_t)4095;
			r->hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + 4095) & ~(uintptr_t)4095;
		}
	}
	return 1;
}

/* The pages of r with every bit of want set in their pagemap entry, or
 * -1 if it cannot be read. */
static long
count_pages(const struct range *r, uint64_t want)
{
	long n = 0;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (r->hi > r->lo && fd < 0)
		return -1;
	for (uintptr_t p = r->lo; p < r->hi; p += 4096) {
		uint64_t e;
		if (syscall(SYS_pread64, fd, &e, sizeof(e), (off_t)(p / 4096 * sizeof(e))) !=
		    (long)sizeof(e))
			return -1;
		n += (e & want) == want;
	}
	syscall(SYS_close, fd);
	return n;
}

#define PM_PRESENT (1ULL << 63)
#define PM_EXCLUSIVE (1ULL << 56)

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void *
holder(void *arg)
{
	pthread_mutex_lock(&m);
	sleep_us(20000);
	pthread_mutex_unlock(&m);
	return arg;
}

static int
fork_pages(const struct range *r)
{
	pthread_t t;
	pthread_create(&t, NULL, holder, NULL);
	sleep_us(5000);
	pthread_mutex_lock(&m); /* contended: recorded */
	pthread_mutex_unlock(&m);
	pthread_join(t, NULL);
	int go[2], back[2];
	if (pipe(go) != 0 || pipe(back) != 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		if (syscall(SYS_read, go[0], &c, 1) != 1)
			syscall(SYS_exit_group, 1);
		long n = count_pages(r, PM_PRESENT | PM_EXCLUSIVE);
		syscall(SYS_write, back[1], &n, sizeof(n));
		syscall(SYS_exit_group, 0);
	}
	/* The parent is past its fork handlers: what it writes from here on
	 * would make the child's copies of those pages its own too. */
	long n = -1;
	if (pid < 0 || syscall(SYS_write, go[1], "g", 1) != 1 ||
	    syscall(SYS_read, back[0], &n, sizeof(n)) != (long)sizeof(n) ||
	    syscall(SYS_wait4, pid, NULL, 0, NULL) != pid || n < 0)
		return 1;
	printf("shim_fork_pages=%ld\n", n);
	return 0;
}

int
main(int argc, char **argv)
{
	struct range r = {0, 0};
	dl_iterate_phdr(find_shim, &r);
	if (argc > 1 && !strcmp(argv[1], "fork"))
		return fork_pages(&r);
	long present = count_pages(&r, PM_PRESENT);
	if (present < 0)
		return 1;
	printf("shim_data_pages=%ld\nshim_data_span=%ld\n", present, (long)((r.hi - r.lo) / 4096));
	return 0;
}
