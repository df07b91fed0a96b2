/* The names of the profiles and their files (core/names.h), for cli/,
 * which includes no core/ header itself (tests/layering). */
#ifndef CT_REPORT_NAMES_H
#define CT_REPORT_NAMES_H

#include "../core/names.h"

#endif
