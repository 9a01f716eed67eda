// unlearn.compact: the deltas concurrent writers left (unlearn.state_delta)
// folded into the base states and the model's counts. Writers fold them
// too whenever they find the base free; this is for a DBA who wants none
// pending, e.g. before a dump or after a burst of concurrent DELETEs.
#include "args.hpp"
#include "catalog.hpp"
#include "model_cache.hpp"
#include "model_owner.hpp"

using namespace unlearn;
using namespace unlearn::pg;

UNLEARN_FUNCTION(unlearn_compact) {
    const std::string name = text_arg(fcinfo, 0, "model name");
    Spi spi;
    // folding locks the model row (FOR UPDATE) until the caller's
    // transaction ends, which holds every writer of the table back
    check_may_change_model(spi, name, "compact it");
    const ModelMeta m = load_model(spi, name);
    const int64 folded = fold_all_deltas(spi, m);
    if (folded > 0) note_local_change();
    PG_RETURN_INT64(folded);
}
