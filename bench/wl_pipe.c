/* Workload "pipe": two threads pass a byte back and forth through two
 * pipes, strictly alternating, both pinned to one CPU (see wl_sem.c):
 * every read() blocks. us per round trip: what the I/O wrappers cost
 * blocking reads of a few microseconds at the default rates. */
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"

/* g_pipe[i]: thread i reads g_pipe[i][0], the other writes g_pipe[i][1]. */
static int g_pipe[2][2];

static void
put(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		abort();
}

static char
get(int fd)
{
	char c;
	if (read(fd, &c, 1) != 1)
		abort();
	return c;
}

/* Thread 0 counts round trips and, once stopped, sends a 1, which tells
 * thread 1 to end. */
static void *
pipe_thread(void *arg)
{
	struct pp_side pp = pp_begin(arg);
	for (;;) {
		if (pp.me == 0) {
			char c = stopped() ? 1 : 0;
			put(g_pipe[1][1], c);
			if (c)
				break;
			get(g_pipe[0][0]);
			pp.n++;
		} else {
			char c = get(g_pipe[1][0]);
			if (c)
				break;
			put(g_pipe[0][1], c);
		}
	}
	pp_end(&pp);
	return NULL;
}

static void
work_pipe(struct wres *r)
{
	if (pipe(g_pipe[0]) != 0 || pipe(g_pipe[1]) != 0)
		abort();
	run_pinned_pair(pipe_thread, r);
}

PINGPONG_WORKLOAD(pipe, work_pipe, 44, 48, "4 pipe ping-pong");
