/* A server that confines itself with chroot(), as bind, postfix, vsftpd
 * and sshd's privilege separation do:
 *   chrooted JAIL before|after [UID GID]
 * as root: with before, makes its recorded wait (contended_wait: the
 * holder is hold_until_waiter) before chroot(JAIL); with after, in
 * jail_wait once inside, where neither its output directory, nor the
 * report library, nor the files of its objects can be found by their
 * paths. With UID GID it then gives up root for good (setgid, setuid).
 * Prints jailed=1 and exits 0. Natively it does exactly that. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static __attribute__((noinline)) void
jail_wait(void)
{
	contended_wait(&m, 20000);
}

int
main(int argc, char **argv)
{
	need_args(argc, 3, "chrooted JAIL before|after [UID GID]");
	bool after = !strcmp(argv[2], "after");
	if (!after)
		contended_wait(&m, 20000);
	if (chroot(argv[1]) != 0 || chdir("/") != 0)
		die("chroot", 0);
	if (argc > 4 && (setgid((gid_t)atoi(argv[4])) != 0 || setuid((uid_t)atoi(argv[3])) != 0))
		die("setuid", 0);
	if (after)
		jail_wait();
	printf("jailed=1\n");
	return 0;
}
