// Fitted models cached per backend, keyed by name and checked against the
// model's version once per statement, so a query never serves a state whose
// rows' deletion it can see committed.
#pragma once

#include <memory>
#include <string>

#include "catalog.hpp"

namespace unlearn::pg {

struct RecordLayouts;  // predict.cpp
struct ClassView;      // class_list.hpp

struct CachedModel {
    ModelMeta meta;
    FittedModel fit;
    // (xmin, ctid) of every state row: catches a state changed without a
    // version bump, also twice in one transaction
    std::string state_fingerprint;
    // predict's record form: where each row type seen holds the features
    mutable std::shared_ptr<RecordLayouts> record_layouts;
    // a classifier's classes as labels, built on first use
    mutable std::shared_ptr<const ClassView> classes;
};

// Looks the model up for this call; fn_extra remembers the answer for the
// rest of the statement (same snapshot, no local change since).
const CachedModel &model_for_call(FunctionCallInfo fcinfo, const std::string &name);
// The same for the model named by the call's first argument (not NULL).
const CachedModel &model_for_call(FunctionCallInfo fcinfo);

// Called by every function that changes a model in this backend.
void note_local_change();
// Called when this backend writes a model's states: its cached fit goes.
// The only backend that can see two versions of a state row with one xmin
// is the one writing them.
void note_model_written(int32 model_id);

}  // namespace unlearn::pg
