/* Set-up of the I/O wrappers (io_fd.c, io_poll.c, io_wait.c): the tick
 * clock (the ops' leaf addresses are set with all others in init.c). Runs
 * once from ct_init_once. */
#include "io.h"

void
ct_io_init(void)
{
	ct_iowait_init();
}
