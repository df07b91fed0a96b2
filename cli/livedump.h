/* `contend threads --pid PID`: a live thread dump of a running process
 * preloaded with libcontend.so, in any process of a forking server.
 *
 * Reads the process's CONTEND_DUMP_SIGNAL (or takes --signal) and
 * CONTEND_OUT from /proc/PID/environ, checks that libcontend.so is mapped
 * there and that the process catches the signal (its default action would
 * end it), sends it, waits for a new numbered snapshot whose thread dump
 * names that pid (threads.<seq>.txt, or threads.pid<PID>.<seq>.txt in a
 * directory another process named first) in its output directory (CONTEND_OUT for
 * its pid, relative to its PWD or its current directory; or --dir), and
 * prints it as `contend threads` does. Every failure is one line on
 * stderr: no such process, permission denied, not preloaded, no dump
 * signal, the process ended, timed out. Not thread-safe. */
#ifndef CT_CLI_LIVEDUMP_H
#define CT_CLI_LIVEDUMP_H

#include <sys/types.h>

struct ct_livedump_opts {
	pid_t pid;
	const char *signal; /* NULL: the process's CONTEND_DUMP_SIGNAL */
	const char *dir;    /* NULL: found from its environment */
	double timeout_s;
};

/* The exit status: 0 with the dump on stdout, else 1. */
int ct_livedump_main(const struct ct_livedump_opts *o);

#endif
