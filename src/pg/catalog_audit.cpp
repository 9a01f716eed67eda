#include "catalog.hpp"

namespace unlearn::pg {

namespace {
// audit.details came with 0.4.0: the library may run before the update
bool audit_has_details() {
    return pg_call([] {
        const Oid ns = get_namespace_oid("unlearn", true);
        const Oid rel = OidIsValid(ns) ? get_relname_relid("audit", ns) : InvalidOid;
        return OidIsValid(rel) && get_attnum(rel, "details") != InvalidAttrNumber;
    });
}
}  // namespace

void write_audit(Spi &spi, const ModelMeta &m, const AuditEvent &event) {
    AuditEvent e = event;
    if (e.rows_requested >= 0)
        e.details = "\"rows_requested\": " + std::to_string(e.rows_requested) + (e.details.empty() ? "" : ", ") + e.details;
    if (!e.details.empty() && !audit_has_details()) e.details.clear();
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
