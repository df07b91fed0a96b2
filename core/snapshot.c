/* Snapshot lifetime helpers; see snapshot.h. */
#include <stdlib.h>

#include "snapshot.h"

void
ct_snapshot_free(struct ct_snapshot *snap)
{
	for (int k = 0; k < CT_PROF_COUNT; k++) {
		free(snap->prof[k].records);
		snap->prof[k].records = NULL;
		snap->prof[k].nrecords = 0;
	}
	free(snap->dl_gone);
	snap->dl_gone = NULL;
	snap->ndl_gone = 0;
	free(snap->dl_live);
	snap->dl_live = NULL;
	snap->ndl_live = 0;
	free(snap->lockstats);
	snap->lockstats = NULL;
	snap->nlockstats = 0;
	free(snap->locksites);
	snap->locksites = NULL;
	snap->nlocksites = 0;
	free(snap->threads);
	snap->threads = NULL;
	snap->nthreads = 0;
}
