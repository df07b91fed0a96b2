/* Profiles in the tests: decoded by the one reader (report/pprof_read.h)
 * into samples of frame names that tests sum by stack, and hand-built
 * ones (valid, broken in one way, or large of one shape) for the reader's
 * and the views' error paths and costs.
 *
 * Test-process only: failures are Criterion failures; allocates. */
#ifndef CT_TESTPROF_H
#define CT_TESTPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.pb-c.h"

/* ------------------------------------------------------------------ */
/* Decoded profiles. */

struct psample {
	size_t nframes;
	const char **frames; /* function names, leaf first, inline frames expanded */
	int64_t count, delay;
};

struct ct_profile;

struct profile {
	void *pb; /* Perftools__Profiles__Profile, owned by reader */
	struct ct_profile *reader; /* the one reader's view (report/pprof_read.h) */
	size_t nsamples;
	struct psample *samples;
	const char *type[2], *unit[2]; /* sample_type, NULL if absent */
	const char *period_type, *period_unit;
	int64_t period;
	size_t nsample_types;
};

/* Gunzips, decodes and checks path with the one pprof reader
 * (report/pprof_read.h). Returns false (with a Criterion failure message:
 * the reader's one-line reason) if it is missing, not gzip'd or not a
 * valid profile. */
bool profile_load(struct profile *p, const char *path);
/* profile_load of dir/<kind>.pb.gz. */
bool profile_load_in(struct profile *p, const char *dir, const char *kind);
void profile_free(struct profile *p);
/* The number N of the first "<key>=N" in p's comments (libcontend writes
 * "fraction=100", "rate=..."), or -1 if none says it. */
long long profile_comment_num(const struct profile *p, const char *key);
/* Prints the samples on stderr (for failed expectations). */
void profile_dump(const struct profile *p, const char *title);

/* A stack selector. A function name matches want if it is equal, or
 * starts with want followed by '(' (C++ names carry their parameters).
 * NULL fields match anything. */
struct stack_match {
	const char *leaf;     /* frames[0] */
	const char *next;     /* frames[1], the caller of the leaf */
	const char *contains; /* any frame */
	const char *excludes; /* no frame */
};

struct psum {
	int64_t count, delay;
	size_t samples;
};

/* Whether sample s's stack is selected by m. */
bool sample_matches(const struct psample *s, const struct stack_match *m);
struct psum profile_sum(const struct profile *p, const struct stack_match *m);
/* The string label key of sample i (the reader keeps the samples' order),
 * or NULL. */
const char *profile_label(const struct profile *p, size_t i, const char *key);
/* True if a Mapping's file name ends with "/<basename>". */
bool profile_has_mapping(const struct profile *p, const char *basename);
bool frame_matches(const char *name, const char *want);

/* Criterion expectation lo*ref <= got <= hi*ref, described by fmt, and
 * dumping p (if not NULL) when it fails.
 *
 * The bands for a recorded wait, which must hold however slowly a loaded
 * machine runs the program:
 *  - against what the program asked for (a hold, a sleep, a time-out):
 *    at least BAND_ASKED_LO of it (sleeps only overrun; the margin is the
 *    tick clock's) and at most BAND_ASKED_HI times it, which only catches
 *    unit errors (a factor of 1000 at least): under load a 2 x 50 ms x 2
 *    hold has taken 10.15 times that (its holder's 50 ms sleeps overran);
 *  - against what the program measured around its own call: at most a
 *    little more (the wrapper's interval lies inside the measured one;
 *    the callers' upper bounds, 1.02 to 1.05), and no lower bound
 *    (BAND_MEASURED_LO): time the program spent preempted just outside
 *    the wrapper, or in the shim's first-use set-up, is in its
 *    measurement only (0.85 seen for one 50 ms nanosleep, 0.5 for a
 *    holder under load). The lower bound is the one against what was
 *    asked, which the programs make hold by construction (a holder
 *    starts its hold once its waiters are blocked). */
#define BAND_ASKED_LO 0.8
#define BAND_ASKED_HI 100.0
#define BAND_MEASURED_LO 0.0
void expect_ratio(const struct profile *p, double got, double ref, double lo, double hi,
		  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Both bands for a recorded wait total got: against what the program
 * asked for ("<what> vs constructed": BAND_ASKED_LO..BAND_ASKED_HI x
 * asked) and against what it measured around its calls ("<what> vs
 * measured": at most hi_measured x measured). */
void expect_wait_bands(const struct profile *p, double got, double asked, double measured,
		 double hi_measured, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* The raw message of data (gzip'd or not), after the one reader has
 * decoded and checked it (ids, string indices, value counts); what names
 * the data in the failure message. Free with
 * perftools__profiles__profile__free_unpacked(p, NULL). */
Perftools__Profiles__Profile *pb_decode_checked(const void *data, size_t len, const char *what);

/* ------------------------------------------------------------------ */
/* Hand-built profiles. */

/* gzip-compresses data (one member). */
void *gzip_bytes(const void *data, size_t len, size_t *outlen);
/* The message packed and gzip'd. */
void *pack_gz(const Perftools__Profiles__Profile *p, size_t *len);

/* Hand-built profiles (gzip'd), for the error cases and the corpus:
 * a valid two-sample profile with an inline frame, or one broken in a
 * single way. */
enum bad_profile {
	PROFILE_GOOD,
	PROFILE_EMPTY,            /* valid, sample types but no samples */
	PROFILE_DANGLING_LOCATION,
	PROFILE_DANGLING_FUNCTION,
	PROFILE_DANGLING_MAPPING,
	PROFILE_BAD_STRING_INDEX,
	PROFILE_VALUE_COUNT,      /* a sample with too few values */
};
void *make_profile(enum bad_profile kind, size_t *len);

/* Large profiles of one shape each (gzip'd), for the reader's and the
 * views' cost: n is the number of labels, samples or frames. */
enum profile_shape {
	SHAPE_LABEL_KEYS,    /* one sample, n string labels with distinct keys */
	SHAPE_LABEL_VALUES,  /* one sample, n string labels of one key */
	SHAPE_NUM_LABELS,    /* one sample, n numeric labels with distinct keys */
	SHAPE_SAMPLES,       /* n samples, each its own location and function */
	SHAPE_SAME_STACK,    /* n samples of one stack (all merged) */
	SHAPE_DEEP,          /* one sample n frames deep, distinct functions */
	SHAPE_RECURSIVE,     /* one sample n frames deep, all one function */
	SHAPE_COUNT
};
extern const char *const profile_shape_names[SHAPE_COUNT];
void *make_shape_profile(enum profile_shape shape, size_t n, size_t *len);

#endif
