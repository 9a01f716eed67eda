// Who may change a model. A model belongs to the role that trained it
// (unlearn.models.owner); the extension's tables are written only by the
// extension, as its owner (Spi::exec), so a role given training changes
// another role's model only through these checks, never by writing its
// rows (its lineage, say, so that its DELETEs would forget nothing).
#pragma once

#include <string>
#include <vector>

#include "spi.hpp"

namespace unlearn::pg {

// Refuses (42501) a caller who is neither a member of the model's owner,
// nor of its table's owner (who could drop the table, and the model with
// it), nor a superuser, nor the extension's owner (its event triggers). A
// model that does not exist passes: the caller's own look-up says so.
void check_may_change_model(Spi &spi, const std::string &name, const char *action);
// Refuses (0A000) any change of a model while pg_unlearn runs a table
// owner's code (Spi::exec_as_owner): the change in progress holds states
// and lineage it read before, which a nested drop, resync or training
// would change under it. check_may_change_model and train ask first.
void refuse_inside_owner_code(const std::string &what);
// Training attaches the extension's triggers to the table, as CREATE
// TRIGGER would: the caller needs TRIGGER on it (its owner has it).
void check_may_train_on(Oid relation);
// What decides who may read a model: its owner, its table, and the columns
// it reads (attribute numbers, and names: the key, target and features).
struct ModelReaders {
    Oid owner = InvalidOid;
    Oid relation = InvalidOid;
    std::vector<AttrNumber> attnums;
    std::vector<std::string> columns;
};
// Whether a role may read a model: its state, lineage, vocabulary,
// checkpoints and audit figures are data about its table's rows. A member
// of the model's owner or of its table's owner, a superuser or the
// extension's owner may; another role only if it may SELECT every column
// the model reads and no row-level security of the table applies to it
// (the model holds rows a policy hides from it), as train asks of its
// caller. Group figures (values of the monitor_group column) ask the same
// of that column (unlearn.audit's policy). The row-level security policies
// of the extension's tables ask this of every reader
// (unlearn.may_read_model); a model whose table is gone is read by its
// owner alone.
bool may_read_model(Oid role, const ModelReaders &m);
// Whether unlearn.models has its owner column (0.7.0 on): the library runs
// against every catalog version until ALTER EXTENSION UPDATE.
bool models_have_owner();

}  // namespace unlearn::pg
