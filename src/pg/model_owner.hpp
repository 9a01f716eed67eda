// Who may change a model. A model belongs to the role that trained it
// (unlearn.models.owner); the extension's tables are written only by the
// extension, as its owner (Spi::exec), so a role given training changes
// another role's model only through these checks, never by writing its
// rows (its lineage, say, so that its DELETEs would forget nothing).
#pragma once

#include <string>

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
// Whether unlearn.models has its owner column (0.7.0 on): the library runs
// against every catalog version until ALTER EXTENSION UPDATE.
bool models_have_owner();

}  // namespace unlearn::pg
