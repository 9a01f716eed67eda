// unlearn.refuse_models_after_snapshot: the event triggers' guards (no
// DISABLE or DROP of the forget triggers, no modelled table attached as a
// partition, a dropped feature forgotten, a detached partition retrained)
// read unlearn.models with the DDL's transaction snapshot. Under REPEATABLE
// READ or SERIALIZABLE a model committed after that snapshot is invisible
// to them, and the DDL went through as if the table had none: the model
// then kept rows deleted later (helper h2). Such a DDL fails with 40001, as
// a DELETE that meets such a model does (refuse_models_after_snapshot).
#include <algorithm>

#include "args.hpp"
#include "catalog.hpp"
#include "error.hpp"

using namespace unlearn;
using namespace unlearn::pg;

UNLEARN_FUNCTION(unlearn_refuse_models_after_snapshot) {
    if (!pg_call([] { return IsolationUsesXactSnapshot(); })) PG_RETURN_VOID();
    require_arg(fcinfo, 0, "relations");
    Spi spi;
    const Datum relations = PG_GETARG_DATUM(0);
    const std::vector<int32> seen = models_on_trees(spi, relations, false);
    for (int32 id : models_on_trees(spi, relations, true))
        if (std::find(seen.begin(), seen.end(), id) == seen.end())
            throw Error(ErrorKind::SerializationFailure,
                        "could not serialize access due to a model trained on the table after this transaction's snapshot",
                        "Retry the transaction: its DDL must keep every model trained on the table forgetting.");
    PG_RETURN_VOID();
}
