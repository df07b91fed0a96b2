/* A program that closes its stderr and gets descriptor 2 back for a file
 * of its own (a database, say):
 *   stderr_reused FILE
 * opens FILE read-write as fd 2, writes "DATA" to it, then waits 20 ms on
 * a mutex a thread holds (a recorded wait: profiles are written at exit,
 * with the shim's notices on), and prints fd=N. Nothing of the shim may
 * land in FILE. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;


int
main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	close(2);
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "DATA", 4) != 4)
		return 1;
	contended_wait(&m, 20000);
	printf("fd=%d\n", fd);
	return 0;
}
