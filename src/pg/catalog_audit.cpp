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

// The audit row, its columns $1..$10 as audit_params gives them. A macro:
// the plan cache keys on literals, and touch_model_and_audit embeds it.
#define UNLEARN_AUDIT_INSERT                                                                                       \
    "INSERT INTO unlearn.audit (event, model_id, model, rows, method, shards, duration_ms, state_hash_before, "     \
    "state_hash_after, details) VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), $9, NULLIF($10::jsonb, '{}'))"

// The event's columns as parameters, in the INSERT's order; the details
// last, as a JSON object's text ("{}" when there are none).
std::vector<Param> audit_params(const ModelMeta &m, const AuditEvent &event) {
    std::string details = event.details;
    if (event.rows_requested >= 0)
        details = "\"rows_requested\": " + std::to_string(event.rows_requested) + (details.empty() ? "" : ", ") + details;
    return {text_param(event.event), int4_param(m.id), text_param(m.name), int8_param(event.rows),
            text_param(event.method), int4_array_param(event.shards), {FLOAT8OID, Float8GetDatum(event.duration_ms)},
            text_param(event.hash_before), text_param(event.hash_after), text_param("{" + details + "}")};
}
}  // namespace

void write_audit(Spi &spi, const ModelMeta &m, const AuditEvent &event) {
    std::vector<Param> params = audit_params(m, event);
    if (!audit_has_details()) {  // a database still before 0.4.0 has no details column
        params.pop_back();
        spi.exec(
            "INSERT INTO unlearn.audit (event, model_id, model, rows, method, shards, duration_ms, "
            "state_hash_before, state_hash_after) VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), $9)",
            params);
        return;
    }
    spi.exec(UNLEARN_AUDIT_INSERT, params);
}

bool touch_model_and_audit(Spi &spi, const ModelMeta &m, int64 held_change, int64 forgotten, const AuditEvent &event) {
    if (!deltas_installed() || !audit_has_details() || snapshot_bound(m)) {
        const bool touched = touch_model(spi, m, held_change, forgotten);
        write_audit(spi, m, event);
        return touched;
    }
    std::vector<Param> params = audit_params(m, event);
    params.push_back(int8_param(held_change));
    params.push_back(int8_param(forgotten));
    // touch_model's statement with write_audit's INSERT as one more CTE (a
    // data-modifying CTE runs whether or not it is read): one statement
    // less per change. $2 is the model id, the audit's second column.
    SpiResult r = spi.exec(
        "WITH locked AS (SELECT model_id FROM unlearn.models WHERE model_id = $2 FOR NO KEY UPDATE SKIP LOCKED), "
        UNLEARN_TOUCH_LOCKED("$11", "$12") ", audited AS (" UNLEARN_AUDIT_INSERT ") SELECT count(*) FROM touched",
        params);
    if (r.int8(0, 1) == 1) return true;
    return count_later(spi, m, held_change, forgotten);
}

bool rewrites_in_one(const ModelMeta &m, const StateSeen &seen) { return rewrites_whole(m, seen) && audit_has_details(); }

ShardTouched rewrite_shard_touch_and_audit(Spi &spi, const ModelMeta &m, int32 shard, const ShardState &whole,
                                           const StateSeen &seen, int64 held_change, int64 forgotten,
                                           const AuditEvent &event, const BlockWrites *block) {
    std::vector<Param> params = audit_params(m, event);
    params.push_back(int8_param(held_change));
    params.push_back(int8_param(forgotten));
    params.push_back(int4_param(shard));
    params.push_back(text_param(seen.xmin));
    params.push_back(bytea_param(encode_state(m.algorithm, whole)));
    if (block) {
        params.push_back(int4_param(block->buckets.at(0)));
        params.push_back(bytea_param(block->blobs.at(0)));
    } else {  // bucket NULL: no block
        params.push_back(Param{INT4OID, Datum(0), true});
        params.push_back(Param{BYTEAOID, Datum(0), true});
    }
    // change_shard's UPDATE as a CTE before touch_model_and_audit's: each
    // takes its row only if no other transaction holds it (SKIP LOCKED), so
    // one statement waits no more than the three did (the block is this
    // transaction's already); $2 is the model id.
    SpiResult r = spi.exec(
        "WITH block AS (" UNLEARN_REWRITE_BLOCK("$2", "$16", "$17") "), "
        "rewritten AS (" UNLEARN_REWRITE_SHARD("$2", "$13", "$15", "$14") "), "
        "locked AS (SELECT model_id FROM unlearn.models WHERE model_id = $2 FOR NO KEY UPDATE SKIP LOCKED), "
        UNLEARN_TOUCH_LOCKED("$11", "$12") ", audited AS (" UNLEARN_AUDIT_INSERT ") "
        "SELECT (SELECT count(*) FROM touched), x, c FROM (SELECT) one LEFT JOIN rewritten ON true",
        params);
    ShardTouched done;
    done.touched = r.int8(0, 1) == 1;
    done.rewritten = !r.is_null(0, 2);
    if (done.rewritten) done.written = StateSeen{r.str(0, 2), r.str(0, 3)};
    return done;
}

}  // namespace unlearn::pg
