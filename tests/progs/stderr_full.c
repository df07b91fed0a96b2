/* A program whose stderr pipe is full when it exits: it fills the pipe to
 * its capacity (F_GETPIPE_SZ) while its reader, the parent, reads
 * nothing until the program has exited; then it waits (a recorded sleep)
 * and returns 0. Natively it exits at once; a line of the shim's into the
 * full pipe would block it for good (the parent waits for the exit
 * before reading). Exit 2 when stderr is not a pipe.
 *   stderr_full */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progs.h"

int
main(void)
{
	int room = fcntl(STDERR_FILENO, F_GETPIPE_SZ);
	if (room <= 0)
		return 2;
	char *fill = malloc((size_t)room);
	if (!fill)
		return 3;
	memset(fill, 'x', (size_t)room);
	for (ssize_t off = 0, w; off < room; off += w)
		if ((w = write(STDERR_FILENO, fill + off, (size_t)(room - off))) <= 0)
			return 4;
	free(fill);
	sleep_us(20000);
	printf("filled=%d\n", room);
	return 0;
}
