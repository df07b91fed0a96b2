/* Snapshot lifetime helpers; see snapshot.h. */
#include <stdlib.h>

#include "snapshot.h"

/* Frees an owned array and leaves it empty. */
#define CT_SNAP_DROP(arr, count) (free(arr), (arr) = NULL, (count) = 0)

void
ct_snapshot_free(struct ct_snapshot *snap)
{
	for (int k = 0; k < CT_PROF_COUNT; k++)
		CT_SNAP_DROP(snap->prof[k].records, snap->prof[k].nrecords);
	CT_SNAP_DROP(snap->dl_gone, snap->ndl_gone);
	CT_SNAP_DROP(snap->dl_live, snap->ndl_live);
	CT_SNAP_DROP(snap->lockstats, snap->nlockstats);
	CT_SNAP_DROP(snap->locksites, snap->nlocksites);
	CT_SNAP_DROP(snap->threads, snap->nthreads);
}
