/* The table of core/sys.h, holding libc's own functions until the shim
 * installs the real ones. */
#include <sys/wait.h>
#include <unistd.h>

#include "sys.h"

struct ct_sys ct_sys = {
	.read = read,
	.write = write,
	.poll = poll,
	.nanosleep = nanosleep,
	.waitpid = waitpid,
	.pthread_create = pthread_create,
	.pthread_timedjoin_np = pthread_timedjoin_np,
	.accept4 = accept4,
};

void
ct_sys_install(const struct ct_sys *real)
{
	ct_sys = *real;
}
