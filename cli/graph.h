/* pprof's call graph (google/pprof internal/graph, Go 1.19), in C: the
 * nodes a profile's locations turn into at a given granularity, their
 * flat and cumulative values, the caller->callee edges with their inline
 * and residual flags, and pprof's sort orders. `contend top`, `peek`,
 * `list`, `traces` and `flame` are computed from it, so they agree with
 * `go tool pprof` on the same file.
 *
 * Inline frames are separate nodes (one per Location.line), as in pprof.
 * Not thread-safe; allocates; the profile must outlive the graph. */
#ifndef CT_CLI_GRAPH_H
#define CT_CLI_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../report/pprof_read.h"

/* pprof's -granularity: functions (top, peek, traces) or lines (list). */
enum ct_gran {
	CT_GRAN_FUNCTIONS,
	CT_GRAN_LINES,
};

/* graph.NodeInfo after the driver's aggregation at the granularity. */
struct ct_ninfo {
	const char *name;    /* function name, "" if unknown */
	const char *file;    /* cleaned source file, "" if unknown or not kept */
	int64_t lineno;      /* 0 unless lines granularity */
	int64_t start_line;
	const char *objfile; /* mapping file, "" if not kept */
};

/* Every distinct node of a profile at one granularity, and the nodes each
 * location expands to (one per line, innermost first). */
struct ct_nodes {
	size_t n;
	struct ct_ninfo *info;
	char **pname;       /* pprof's PrintableName */
	size_t *loc_first;  /* per location index: first entry in loc_node */
	size_t *loc_count;
	size_t *loc_node;
	char **owned;       /* cleaned file names */
	size_t nowned;
};

struct ct_node;

struct ct_edge {
	struct ct_node *src, *dst; /* caller, callee */
	int64_t weight;
	bool residual; /* goes over nodes that were not kept */
	bool inl;      /* the callee was inlined into the caller */
	unsigned long seen;
};

struct ct_node {
	size_t id; /* in ct_nodes */
	const struct ct_ninfo *info;
	const char *pname;
	int64_t flat, cum;
	size_t nin, nout, capin, capout;
	struct ct_edge **in, **out;
	unsigned long seen;
};

struct ct_graph {
	const struct ct_nodes *u;
	struct ct_node *all; /* u->n, indexed by node id */
	size_t n;
	struct ct_node **nodes; /* the graph's nodes (non-zero, kept) */
};

/* Builds the node universe; NULL on allocation failure. */
struct ct_nodes *ct_graph_nodes(const struct ct_profile *p, enum ct_gran gran);
void ct_graph_nodes_free(struct ct_nodes *u);

/* graph.New: values are sample value `vidx`; kept (indexed by node id)
 * restricts the nodes, NULL keeps all. NULL on allocation failure. */
struct ct_graph *ct_graph_build(const struct ct_profile *p, const struct ct_nodes *u, size_t vidx,
				const bool *kept);
void ct_graph_free(struct ct_graph *g);

enum ct_order {
	CT_ORDER_FLAT, /* FlatNameOrder */
	CT_ORDER_CUM,  /* CumNameOrder */
	CT_ORDER_NAME, /* NameOrder */
	CT_ORDER_FILE, /* FileOrder */
};
void ct_graph_sort(struct ct_node **nodes, size_t n, enum ct_order o);

/* Sorts edges like EdgeMap.Sort: weight desc, then caller, then callee. */
void ct_graph_sort_edges(struct ct_edge **e, size_t n);

/* TrimLowFrequencyEdges: removes edges lighter than cutoff; returns how
 * many. */
int ct_graph_trim_edges(struct ct_graph *g, int64_t cutoff);

/* Sum of flat and of cum over nodes. */
void ct_graph_sum(struct ct_node *const *nodes, size_t n, int64_t *flat, int64_t *cum);

/* Go's filepath.Clean into buf. */
void ct_graph_clean_path(const char *path, char *buf, size_t len);

/* Go's filepath.Base. Returns a pointer into path or a static string. */
const char *ct_graph_base(const char *path, char *buf, size_t len);

#endif
