#include "catalog.hpp"

namespace unlearn::pg {

void write_audit(Spi &spi, const ModelMeta &m, const AuditEvent &e) {
    std::vector<Param> params{text_param(e.event), int4_param(m.id), text_param(m.name), int8_param(e.rows),
                              text_param(e.method), int4_array_param(e.shards), {FLOAT8OID, Float8GetDatum(e.duration_ms)},
                              text_param(e.hash_before), text_param(e.hash_after)};
    if (e.details.empty()) {  // the only form a database still before 0.4.0 (no details column) accepts
        spi.exec(
            "INSERT INTO unlearn.audit (event, model_id, model, rows, method, shards, duration_ms, "
            "state_hash_before, state_hash_after) VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), $9)",
            params);
        return;
    }
    params.push_back(text_param("{" + e.details + "}"));
    spi.exec(
        "INSERT INTO unlearn.audit (event, model_id, model, rows, method, shards, duration_ms, "
        "state_hash_before, state_hash_after, details) VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), $9, $10::jsonb)",
        params);
}

}  // namespace unlearn::pg
