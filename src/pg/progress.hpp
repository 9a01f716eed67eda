// Progress of long work (training, a DELETE's shard retrains, verify), told
// two ways once it has lasted unlearn.progress_interval (default 5 s; 0:
// at every step, -1: never):
// - a NOTICE line to the client every interval: model, phase, rows read,
//   shard, slice, epoch, loss, elapsed and estimated remaining time;
// - a progress entry another session reads in the view unlearn.progress
//   while the work runs. PostgreSQL 15 gives an extension no progress
//   command of its own (pg_stat_progress_* shows only built-in commands)
//   and no shared memory after startup without shared_preload_libraries,
//   and the work runs inside one transaction whose rows nobody else sees.
//   So the entry is a small file per backend in pg_stat_tmp (where
//   pg_stat_statements keeps its query texts), replaced atomically by
//   rename at each report and removed when the work ends; the reader
//   shows only entries of live backends (pid and start time checked
//   against the backend status table), to roles that could see the
//   backend in pg_stat_activity.
#pragma once

#include <string>

#include "pg.hpp"

namespace unlearn::pg {

void define_progress_setting();
void install_progress_hook();

// One operation reported while it runs; nested scopes (a resync inside an
// event trigger, a retrain inside a train) leave the outer one in charge.
class ProgressScope {
public:
    ProgressScope(const std::string &model, const char *operation, int32 shards, Oid relation = InvalidOid);
    ~ProgressScope();
    ProgressScope(const ProgressScope &) = delete;
    ProgressScope &operator=(const ProgressScope &) = delete;

private:
    bool owner_;
};

// The shard being trained now (0-based), and rows read by a scan.
void progress_shard(int32 shard);
void progress_rows_read(int64 rows);

}  // namespace unlearn::pg
