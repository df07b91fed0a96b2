/* A program that execs with the shim's files open, as a server's binary
 * upgrade does (nginx's SIGUSR2, a daemon re-executing itself):
 *   fds_exec
 * waits on a mutex a thread holds (a recorded wait) and forks a child
 * (the shim then resolves symbols ahead for its children and keeps their
 * files open), then execs itself as `fds_exec list FDS` (FDS: those open
 * at its own start, which whoever started it left open), which prints
 * inherited=N, the other descriptors from 3 up the new image found open
 * at its start: 0 natively, and must be 0 under the shim (its descriptors
 * are closed on exec). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

/* The open descriptors from 3 up but those in skip (",3,9,"), as
 * ",3,9," into buf (or printed, with print); their number. */
static int
fds(const char *skip, char *buf, size_t len, int print)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		die("opendir", 0);
	int n = 0;
	size_t used = 0;
	struct dirent *e;
	if (buf)
		used = (size_t)snprintf(buf, len, ",");
	while ((e = readdir(d))) {
		char key[32];
		int fd = atoi(e->d_name);
		snprintf(key, sizeof(key), ",%d,", fd);
		if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(d) || strstr(skip, key))
			continue;
		n++;
		if (buf && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%d,", fd);
		if (print) {
			char l[256] = "";
			char p[300];
			snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
			ssize_t k = readlink(p, l, sizeof(l) - 1);
			printf("fd %s -> %s\n", e->d_name, k > 0 ? l : "?");
		}
	}
	closedir(d);
	return n;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "list")) {
		printf("inherited=%d\n", fds(argv[2], NULL, 0, 1));
		return 0;
	}
	char before[4096];
	fds("", before, sizeof(before), 0);
	contended_wait(&m, 20000);
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	if (p < 0 || waitpid(p, NULL, 0) != p)
		die("fork", 0);
	fflush(stdout);
	execl("/proc/self/exe", argv[0], "list", before, (char *)NULL);
	die("execl", 0);
}
