// One pass over every row version of a table (as SnapshotAny sees them),
// each tested against two snapshots. A version visible to the first only
// left the table between them; one visible to the second only came.
//
// A heap table's pass skips, without reading them, the pages the visibility
// map marks all-visible: no version on such a page changed between the two
// snapshots. Why that holds, as for an index-only scan (nodeIndexonlyscan.c):
//  - the bit is set only by VACUUM (and COPY FREEZE into a table created or
//    truncated in the same transaction: not one the training reads, whose
//    scan holds its locks to commit), and only when every version on the
//    page was written, and any delete aborted, by transactions older than
//    the oldest xmin of any backend; this backend's registered snapshots
//    hold that horizon at or below the first snapshot's xmin. The training's
//    lock keeps VACUUM off the table it names; a partition's own VACUUM (or
//    autovacuum's) may run, but meets that horizon;
//  - every insert, update and delete of a version on the page clears the bit
//    (heap_insert, heap_update, heap_delete, heap_multi_insert), in the same
//    critical section as the change, before the writer can commit;
//  - a version whose visibility differs between the snapshots was written or
//    deleted by a transaction T that the first does not see (T is at or
//    above its xmin, so not older than the horizon) and the second does. If
//    the change came before the bit was last set, VACUUM met T's version and
//    did not set it (T not below the horizon); if after, the change cleared
//    it. Either way the page is not all-visible once T has committed, before
//    the second snapshot was taken, and this pass runs after that.
// Row locks (SELECT ... FOR UPDATE) clear only the all-frozen bit, and do not
// change a version's visibility; pruning removes only versions no snapshot
// sees and sets no bit. The map is kept for every table, WAL-logged or not
// (unlogged, or created in this transaction with wal_level = minimal), so the
// skip needs no fallback there; another table access method gets the full
// pass through the table AM (it has no visibility map we can read).
#include "changed_versions.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
extern "C" {
#include "access/heapam.h"
#include "access/visibilitymap.h"
#include "storage/bufmgr.h"
}
#pragma GCC diagnostic pop

#include "pg_relation.hpp"

namespace unlearn::pg {

ChangedVersions::ChangedVersions() {
    pg_call([&] {
        removed_ = tuplestore_begin_heap(false, false, work_mem);
        added_ = tuplestore_begin_heap(false, false, work_mem);
    });
}

ChangedVersions::~ChangedVersions() {
    pg_release([&] {
        tuplestore_end(removed_);
        tuplestore_end(added_);
    });
}

int64 ChangedVersions::count() const {
    return pg_call([&] { return tuplestore_tuple_count(removed_) + tuplestore_tuple_count(added_); });
}

void ChangedVersions::collect(Oid relid, Snapshot before, Snapshot now) {
    const PgRelation rel(relid, NoLock);  // locked by the caller
    if (rel.get()->rd_tableam == GetHeapamTableAmRoutine())
        collect_heap(rel.get(), before, now);
    else
        collect_any(rel.get(), before, now);
}

// Page by page, as heapgetpage reads one: the versions tested under a share
// lock of the page, the changed ones copied out after it is let go, with the
// page still pinned (nothing moves a pinned page's versions: pruning needs a
// cleanup lock). The pages past the end when the pass starts were added
// after `now` was taken, so hold nothing `now` sees that `before` does not.
void ChangedVersions::collect_heap(Relation rel, Snapshot before, Snapshot now) {
    pg_call([&] {
        BufferAccessStrategy strategy = GetAccessStrategy(BAS_BULKREAD);
        Buffer vm = InvalidBuffer;
        const BlockNumber pages = RelationGetNumberOfBlocks(rel);
        OffsetNumber changed[MaxHeapTuplesPerPage];
        bool gone[MaxHeapTuplesPerPage];
        HeapTupleData tuple;
        tuple.t_tableOid = RelationGetRelid(rel);
        for (BlockNumber block = 0; block < pages; ++block) {
            CHECK_FOR_INTERRUPTS();
            if (VM_ALL_VISIBLE(rel, block, &vm)) continue;
            const Buffer buffer = ReadBufferExtended(rel, MAIN_FORKNUM, block, RBM_NORMAL, strategy);
            LockBuffer(buffer, BUFFER_LOCK_SHARE);
            Page page = BufferGetPage(buffer);
            const OffsetNumber last = PageGetMaxOffsetNumber(page);
            int n = 0;
            for (OffsetNumber off = FirstOffsetNumber; off <= last; off = OffsetNumberNext(off)) {
                ItemId item = PageGetItemId(page, off);
                if (!ItemIdIsNormal(item)) continue;
                tuple.t_data = reinterpret_cast<HeapTupleHeader>(PageGetItem(page, item));
                tuple.t_len = ItemIdGetLength(item);
                ItemPointerSet(&tuple.t_self, block, off);
                const bool was = HeapTupleSatisfiesVisibility(&tuple, before, buffer);
                const bool is = HeapTupleSatisfiesVisibility(&tuple, now, buffer);
                if (was == is) continue;
                changed[n] = off;
                gone[n] = was;
                ++n;
            }
            LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
            for (int i = 0; i < n; ++i) {
                ItemId item = PageGetItemId(page, changed[i]);
                tuple.t_data = reinterpret_cast<HeapTupleHeader>(PageGetItem(page, item));
                tuple.t_len = ItemIdGetLength(item);
                ItemPointerSet(&tuple.t_self, block, changed[i]);
                tuplestore_puttuple(gone[i] ? removed_ : added_, &tuple);
            }
            ReleaseBuffer(buffer);
        }
        if (BufferIsValid(vm)) ReleaseBuffer(vm);
        FreeAccessStrategy(strategy);
    });
}

// Any other table access method: every version through the table AM.
void ChangedVersions::collect_any(Relation rel, Snapshot before, Snapshot now) {
    pg_call([&] {
        TupleTableSlot *slot = table_slot_create(rel, nullptr);
        TableScanDesc scan = table_beginscan(rel, SnapshotAny, 0, nullptr);
        while (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
            CHECK_FOR_INTERRUPTS();
            const bool was = table_tuple_satisfies_snapshot(rel, slot, before);
            const bool is = table_tuple_satisfies_snapshot(rel, slot, now);
            if (was && !is) tuplestore_puttupleslot(removed_, slot);
            if (is && !was) tuplestore_puttupleslot(added_, slot);
        }
        table_endscan(scan);
        ExecDropSingleTupleTableSlot(slot);
    });
}

}  // namespace unlearn::pg
