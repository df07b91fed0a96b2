/* Counts the pages of the shim's static data (its writable segment: the
 * relocated data and the zeroed .bss) that are present in this process,
 * which calls nothing the shim wraps: what a short-lived preloaded
 * process that records nothing (a shell, each child of make -j) pays in
 * page faults for the shim's init. Raw system calls only, and only
 * after main began (the init ran in the shim's constructor).
 * Prints shim_data_pages=<n> (0 without the shim) and exits 0. */
#include <fcntl.h>
#include <link.h>
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

int
main(void)
{
	struct range r = {0, 0};
	dl_iterate_phdr(find_shim, &r);
	long present = 0;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (r.hi > r.lo && fd < 0)
		return 1;
	for (uintptr_t p = r.lo; p < r.hi; p += 4096) {
		uint64_t e;
		if (syscall(SYS_pread64, fd, &e, sizeof(e), (off_t)(p / 4096 * sizeof(e))) !=
		    (long)sizeof(e))
			return 1;
		present += (long)(e >> 63);
	}
	printf("shim_data_pages=%ld\nshim_data_span=%ld\n", present, (long)((r.hi - r.lo) / 4096));
	return 0;
}
