// What a table's triggers do to a model, for a caller that is no trigger:
// training, which reads the table without locking writers out, applies the
// changes its scan missed.
#pragma once

#include "catalog.hpp"

namespace unlearn::pg {

// Rows of relation relid (the model's table or one of its partitions) that
// left it since the model's training snapshot (removed: the versions the
// scan read) and rows that came (added: the versions there now), applied to
// model m alone as the table's triggers would have applied them: a key that
// left and came again is an UPDATE of that row. Returns by how many rows the
// rows trained on changed.
int64 apply_missed_changes(Spi &spi, const ModelMeta &m, Oid relid, Tuplestorestate *removed, Tuplestorestate *added);

}  // namespace unlearn::pg
