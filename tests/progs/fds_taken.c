/* A program that takes over descriptors it did not open, as a daemon's
 * sweep of its descriptors or a shell's `exec N>FILE` does:
 *   fds_taken <libdl_hold.so> FILE
 * waits on a mutex a thread holds (a recorded wait), forks a child (the
 * shim then resolves symbols ahead for its children and keeps their files
 * open), dup2()s FILE onto every descriptor from 3 up that it did not
 * open itself, loads the library (a new set of objects, so what the shim
 * kept is of no use at the next fork), forks again, then writes a byte to
 * each descriptor it took. Prints taken=N and lost=M, M being how many were
 * closed under it (0 natively, where it takes none). */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;


static void
fork_one(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	if (p < 0 || waitpid(p, NULL, 0) != p)
		die("fork", 0);
}

int
main(int argc, char **argv)
{
	need_args(argc, 3, "fds_taken <libdl_hold.so> FILE");
	contended_wait(&m, 20000);
	fork_one();

	int file = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (file < 0)
		die("open", 0);
	int taken[256], n = 0;
	for (int fd = 3; fd < 1024 && n < 256; fd++)
		if (fd != file && fcntl(fd, F_GETFD) >= 0 && dup2(file, fd) == fd)
			taken[n++] = fd;
	close(file);

	if (!dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) {
		fprintf(stderr, "SETUP: dlopen: %s\n", dlerror());
		return 99;
	}
	fork_one();
	int lost = 0;
	for (int i = 0; i < n; i++)
		lost += write(taken[i], "x", 1) != 1;
	printf("taken=%d\nlost=%d\n", n, lost);
	return 0;
}
