/* Formatting sample values exactly as pprof's measurement package does
 * (google/pprof internal/measurement, as vendored in Go 1.19): unit
 * sniffing ("nanoseconds" -> ns), auto-scaling to ns/us/ms/s/hrs (and
 * B..PB for memory), "%.2f" with ".00" trimmed, and pprof's percentages.
 * Pure functions; thread-safe; no allocation. */
#ifndef CT_CLI_UNITS_H
#define CT_CLI_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* measurement.Scale: value in unit `from` expressed in unit `to` ("auto"
 * and "minimum" pick the largest unit that keeps the value >= 1). *unit is
 * the unit to print after the number ("" for counts); it points to static
 * storage or to `to`. */
double ct_units_scale(int64_t value, const char *from, const char *to, const char **unit);

/* measurement.ScaledLabel: "685.47ms", "1s", "19", "0". */
void ct_units_label(char *buf, size_t len, int64_t value, const char *from, const char *to);

/* measurement.Percentage: "  100%", "71.26%", "  0.5%" (6 columns). */
void ct_units_percent(char *buf, size_t len, int64_t value, int64_t total);

#endif
