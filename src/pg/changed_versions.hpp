// The row versions of one table whose visibility differs between two
// snapshots: what a training's catch-up round applies (missed_changes.cpp).
#pragma once

#include "guard.hpp"

namespace unlearn::pg {

class ChangedVersions {
public:
    ChangedVersions();
    ~ChangedVersions();
    ChangedVersions(const ChangedVersions &) = delete;
    ChangedVersions &operator=(const ChangedVersions &) = delete;

    // One pass over the heap of relid (a table, not a partitioned parent),
    // read by the caller's scan (locked until commit); `before` and `now`
    // stay registered meanwhile (their xmin holds VACUUM's horizon back).
    void collect(Oid relid, Snapshot before, Snapshot now);
    int64 count() const;
    Tuplestorestate *removed() const { return removed_; }  // seen by `before` only
    Tuplestorestate *added() const { return added_; }      // seen by `now` only

private:
    void collect_heap(Relation rel, Snapshot before, Snapshot now);
    void collect_any(Relation rel, Snapshot before, Snapshot now);

    Tuplestorestate *removed_ = nullptr;
    Tuplestorestate *added_ = nullptr;
};

}  // namespace unlearn::pg
