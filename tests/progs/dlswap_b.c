/* One of two libraries that dlswap_prog loads one after the other at
 * (most likely) the same address: dlswap_contend_b waits for a mutex
 * held elsewhere, so its waits must be charged to it and to this file
 * even after the library is unloaded and the other one takes its place. */
#include "dlswap.h"

DLSWAP_LIBRARY(b)
