/* For the preloaded libraries that define open-like functions
 * (faultopen_lib.c, openlog_lib.c): the mode argument of such a call. */
#ifndef CT_OPEN_MODE_H
#define CT_OPEN_MODE_H

#include <fcntl.h>
#include <stdarg.h>

/* The mode_t after flags when flags ask for one (O_CREAT, O_TMPFILE), else
 * 0. A macro (a GNU statement expression): only the variadic function
 * itself can read its arguments, and flags must be its last named one. */
#define OPEN_MODE(flags)                                        \
	__extension__({                                         \
		mode_t om_mode_ = 0;                            \
		if ((flags) & (O_CREAT | O_TMPFILE)) {          \
			va_list om_ap_;                         \
			va_start(om_ap_, flags);                \
			om_mode_ = va_arg(om_ap_, mode_t);      \
			va_end(om_ap_);                         \
		}                                               \
		om_mode_;                                       \
	})

#endif
