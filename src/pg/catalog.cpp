#include "catalog.hpp"

#include <algorithm>
#include <cstdio>


#include "error.hpp"
#include "source.hpp"

namespace unlearn::pg {

namespace {



// Stored options were valid when the model was trained; every statement that
// reaches a model would otherwise parse them again with two queries.
const ParsedOptions &stored_options(Spi &spi, Algorithm algorithm, const std::string &json) {
    static std::map<std::pair<int, std::string>, ParsedOptions> parsed;
    auto key = std::make_pair(static_cast<int>(algorithm), json);
    auto it = parsed.find(key);
    if (it == parsed.end()) {
        if (parsed.size() > 1000) parsed.clear();
        it = parsed.emplace(key, parse_model_options(spi, algorithm, json)).first;
    }
    return it->second;
}

ModelMeta meta_from(Spi &spi, const SpiResult &r, uint64 row) {
    ModelMeta m;
    m.id = r.int4(row, 1);
    m.name = r.str(row, 2);
    m.relation = DatumGetObjectId(r.datum(row, 3));
    m.key_columns = r.text_array(row, 4);
    m.target = r.str(row, 5);
    m.features = r.text_array(row, 6);
    m.algorithm = parse_algorithm(r.str(row, 7));
    std::string options = r.str(row, 8);
    m.shards = r.int4(row, 9);
    m.buckets = r.int4(row, 10);
    m.version = r.int8(row, 11);
    m.strategy = parse_strategy(r.str(row, 12), m.algorithm);
    m.slices = r.int4(row, 13);
    // only models with a text or enum feature have a vocabulary (0.2.0 on)
    bool categorical = false;
    for (const auto &f : m.features)
        categorical = categorical || pg_call([&] {
                          AttrNumber att = get_attnum(m.relation, f.c_str());
                          return att != InvalidAttrNumber && is_category_type(getBaseType(get_atttype(m.relation, att)));
                      });
    if (categorical) {
        SpiResult v = spi.exec("SELECT feature, categories FROM unlearn.vocabulary WHERE model_id = $1",
                               {int4_param(m.id)});
        for (uint64 i = 0; i < v.rows(); ++i) m.categories[v.str(i, 1)] = v.text_array(i, 2);
    }
    const ParsedOptions &parsed = stored_options(spi, m.algorithm, options);
    m.options = parsed.options;
    m.learn_inserts = parsed.learn_inserts;
    m.monitor_group = parsed.monitor_group;
    m.impact_warning = parsed.impact_warning;
    if (m.shards < 1 || m.slices < 1 || m.buckets < 1 || (m.buckets & (m.buckets - 1)))
        throw Error(ErrorKind::CorruptState, "model \"" + m.name + "\" has an invalid shard or bucket count");
    return m;
}

}  // namespace

ParsedOptions parse_model_options(Spi &spi, Algorithm algorithm, const std::string &json) {
    const char *hint = "Write options as a JSON object, e.g. '{\"l2\": 0.5, \"on_insert\": \"learn\"}'.";
    if (spi.exec("SELECT 1 WHERE jsonb_typeof($1::text::jsonb) <> 'object'", {text_param(json)}).rows() > 0)
        throw Error(ErrorKind::InvalidParameter, "options must be a JSON object", hint);
    SpiResult r = spi.exec(
        "SELECT key, jsonb_typeof(value), CASE WHEN jsonb_typeof(value) = 'number' THEN value::text::float8 END, "
        "value #>> '{}' FROM jsonb_each($1::text::jsonb)",
        {text_param(json)});
    std::map<std::string, double> numbers;
    ParsedOptions out;
    bool vote = false;
    for (uint64 i = 0; i < r.rows(); ++i) {
        std::string key = r.str(i, 1);
        std::string type = r.str(i, 2);
        if (key == "on_insert") {
            std::string v = type == "string" ? r.str(i, 4) : "";
            if (v != "learn" && v != "ignore")
                throw Error(ErrorKind::InvalidParameter, "option \"on_insert\" must be \"learn\" or \"ignore\"",
                            "\"learn\" adds inserted rows to the model; \"ignore\" (the default) leaves them out.");
            out.learn_inserts = v == "learn";
            continue;
        }
        if (key == "monitor_group") {
            out.monitor_group = type == "string" ? r.str(i, 4) : "";
            if (out.monitor_group.empty())
                throw Error(ErrorKind::InvalidParameter, "option \"monitor_group\" must name a column",
                            "Each DELETE then reports the holdout metric of every group of that column.");
            continue;
        }
        if (key == "impact_warning") {
            const double v = type == "number" ? r.float8(i, 3) : -1;
            if (!(v >= 0 && v <= 1))
                throw Error(ErrorKind::InvalidParameter, "option \"impact_warning\" must be a number between 0 and 1",
                            "The worsening of a group's holdout accuracy (or relative RMSE) that raises a WARNING.");
            out.impact_warning = v;
            continue;
        }
        if (key == "aggregation" && !has_summation_form(algorithm)) {
            std::string v = type == "string" ? r.str(i, 4) : "";
            if (v != "mean" && v != "vote")
                throw Error(ErrorKind::InvalidParameter, "option \"aggregation\" must be \"mean\" or \"vote\"",
                            "\"mean\" (the default) averages the shards' probabilities; \"vote\" takes their majority.");
            vote = v == "vote";
            continue;
        }
        if (type != "number")
            throw Error(ErrorKind::InvalidParameter, "option \"" + key + "\" must be a number", hint);
        numbers[key] = r.float8(i, 3);
    }
    out.options = parse_options(algorithm, numbers);
    out.options.vote = vote;
    if (!out.monitor_group.empty() && !(out.options.holdout > 0))
        throw Error(ErrorKind::InvalidParameter, "option \"monitor_group\" needs holdout rows",
                    "Add options.holdout, e.g. '{\"holdout\": 0.2, \"monitor_group\": \"district\"}'.");
    return out;
}

ModelMeta load_model(Spi &spi, const std::string &name) {
    SpiResult r = spi.exec(
        "SELECT model_id, name, relation::oid, key_columns, target, features, algorithm, options::text, shards, "
        "lineage_buckets, version, strategy, slices FROM unlearn.models WHERE name = $1",
        {text_param(name)});
    if (r.rows() == 0)
        throw Error(ErrorKind::UndefinedObject, "model \"" + name + "\" does not exist",
                    "SELECT name FROM unlearn.models lists the trained models.");
    return meta_from(spi, r, 0);
}

std::vector<ModelMeta> models_of(Spi &spi, Oid relation, bool lock) {
    SpiResult r = lock ? spi.exec("SELECT model_id, name, relation::oid, key_columns, target, features, algorithm, "
                                  "options::text, shards, lineage_buckets, version, strategy, slices FROM unlearn.models "
                                  "WHERE relation = $1::oid::regclass OR relation IN (SELECT relid FROM pg_partition_ancestors($1::oid::regclass)) "
                                  "ORDER BY model_id FOR UPDATE",
                                  {oid_param(relation)})
                       : spi.exec("SELECT model_id, name, relation::oid, key_columns, target, features, algorithm, "
                                  "options::text, shards, lineage_buckets, version, strategy, slices FROM unlearn.models "
                                  "WHERE relation = $1::oid::regclass OR relation IN (SELECT relid FROM pg_partition_ancestors($1::oid::regclass)) "
                                  "ORDER BY model_id",
                                  {oid_param(relation)});
    std::vector<ModelMeta> out;
    for (uint64 i = 0; i < r.rows(); ++i) out.push_back(meta_from(spi, r, i));
    if (lock) refuse_models_after_snapshot(spi, relation, out);
    return out;
}

void refuse_models_after_snapshot(Spi &spi, Oid relation, const std::vector<ModelMeta> &seen) {
    // Read committed takes a new snapshot per query and FOR UPDATE waits for a
    // model being changed; under REPEATABLE READ and SERIALIZABLE a model
    // trained after the transaction's snapshot is invisible to it, and its
    // rows would stay in that model. (A model changed or dropped since the
    // snapshot already makes FOR UPDATE fail with 40001.)
    if (!pg_call([] { return IsolationUsesXactSnapshot(); })) return;
    SpiResult now = spi.exec_latest(
        "SELECT model_id FROM unlearn.models WHERE relation = $1::oid::regclass "
        "OR relation IN (SELECT relid FROM pg_partition_ancestors($1::oid::regclass))",
        {oid_param(relation)});
    for (uint64 i = 0; i < now.rows(); ++i) {
        const int32 id = now.int4(i, 1);
        if (std::none_of(seen.begin(), seen.end(), [&](const ModelMeta &m) { return m.id == id; }))
            throw Error(ErrorKind::SerializationFailure,
                        "could not serialize access due to a model trained on " + relation_name(relation) +
                            " after this transaction's snapshot",
                        "Retry the transaction: its rows must be forgotten by every model trained on them.");
    }
}

int width(const ModelMeta &m) {
    int w = 0;
    for (const auto &f : m.features) {
        auto it = m.categories.find(f);
        w += it == m.categories.end() ? 1 : static_cast<int>(it->second.size());
    }
    return w;
}

std::vector<std::string> column_names(const ModelMeta &m) {
    std::vector<std::string> out;
    for (const auto &f : m.features) {
        auto it = m.categories.find(f);
        if (it == m.categories.end()) {
            out.push_back(f);
            continue;
        }
        // an enum category is its label's OID: shown by the label it has now
        const Oid type = pg_call([&] {
            const AttrNumber att = get_attnum(m.relation, f.c_str());
            return att == InvalidAttrNumber ? InvalidOid : getBaseType(get_atttype(m.relation, att));
        });
        for (const auto &c : it->second) out.push_back(f + "=" + (type == InvalidOid ? c : category_label(type, c)));
    }
    return out;
}

FittedModel fit_meta(const ModelMeta &m, const std::vector<ShardState> &states) {
    // least squares with an intercept leaves each categorical feature's first
    // category out (it is the reference); ridge and naive Bayes keep them all
    std::vector<int> reference;
    int at = 0;
    for (const auto &f : m.features) {
        auto it = m.categories.find(f);
        int k = it == m.categories.end() ? 1 : static_cast<int>(it->second.size());
        if (it != m.categories.end() && k > 0 && m.algorithm == Algorithm::LinearRegression) reference.push_back(at);
        at += k;
    }
    return fit_model(m.algorithm, m.options, states, reference);
}

bool prune_categories(ModelMeta &m, std::vector<ShardState> &states) {
    bool changed = false;
    int at = 0;
    for (const auto &f : m.features) {
        auto it = m.categories.find(f);
        if (it == m.categories.end()) {
            ++at;
            continue;
        }
        auto &vocab = it->second;
        for (size_t c = 0; c < vocab.size();) {
            double total = 0;
            for (const auto &s : states) total += column_total(s, at + static_cast<int>(c));
            if (total == 0.0) {
                for (auto &s : states) drop_feature(s, at + static_cast<int>(c));
                vocab.erase(vocab.begin() + static_cast<std::ptrdiff_t>(c));
                changed = true;
            } else {
                ++c;
            }
        }
        at += static_cast<int>(vocab.size());
    }
    return changed;
}

void write_categories(Spi &spi, const ModelMeta &m) {
    for (const auto &kv : m.categories)
        spi.exec(
            "INSERT INTO unlearn.vocabulary (model_id, feature, categories) VALUES ($1, $2, $3) "
            "ON CONFLICT (model_id, feature) DO UPDATE SET categories = excluded.categories",
            {int4_param(m.id), text_param(kv.first), text_array_param(kv.second)});
}

std::vector<ShardState> load_states(Spi &spi, const ModelMeta &m) {
    SpiResult r = spi.exec("SELECT shard, state FROM unlearn.state WHERE model_id = $1 ORDER BY shard",
                           {int4_param(m.id)});
    if (r.rows() != static_cast<uint64>(m.shards))
        throw Error(ErrorKind::CorruptState, "model \"" + m.name + "\" is missing shard state",
                    "Drop the model with unlearn.drop_model and train it again.");
    std::vector<ShardState> out;
    for (uint64 i = 0; i < r.rows(); ++i) {
        if (r.int4(i, 1) != static_cast<int32>(i))
            throw Error(ErrorKind::CorruptState, "model \"" + m.name + "\" has unexpected shard numbers");
        std::vector<uint8_t> blob = r.bytes(i, 2);
        out.push_back(decode_state(m.algorithm, width(m), blob.data(), blob.size(), m.options));
    }
    return out;
}

void write_states(Spi &spi, const ModelMeta &m, const std::vector<ShardState> &states, const std::vector<int32> &shards) {
    std::vector<std::vector<uint8_t>> blobs;
    for (int32 s : shards) blobs.push_back(encode_state(m.algorithm, states.at(static_cast<size_t>(s))));
    spi.exec(
        "INSERT INTO unlearn.state (model_id, shard, state) SELECT $1, s, b FROM unnest($2::int4[], $3::bytea[]) AS u(s, b) "
        "ON CONFLICT (model_id, shard) DO UPDATE SET state = excluded.state",
        {int4_param(m.id), int4_array_param(shards), bytea_array_param(blobs)});
}

std::string state_hash(const ModelMeta &m, const std::vector<ShardState> &states) {
    uint8 digest[PG_SHA256_DIGEST_LENGTH];
    std::vector<std::vector<uint8_t>> blobs;
    for (const auto &s : states) blobs.push_back(encode_state(m.algorithm, s));
    pg_call([&] {
        pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
        bool ok = pg_cryptohash_init(ctx) == 0;
        for (const auto &b : blobs) ok = ok && pg_cryptohash_update(ctx, b.data(), b.size()) == 0;
        ok = ok && pg_cryptohash_final(ctx, digest, sizeof(digest)) == 0;
        pg_cryptohash_free(ctx);
        if (!ok) elog(ERROR, "could not compute the state hash");
    });
    char hex[2 * PG_SHA256_DIGEST_LENGTH + 1];
    for (int i = 0; i < PG_SHA256_DIGEST_LENGTH; ++i) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return hex;
}

namespace {
std::map<int32, LineageBlock> blocks_from(const SpiResult &r) {
    std::map<int32, LineageBlock> out;
    for (uint64 i = 0; i < r.rows(); ++i) {
        std::vector<uint8_t> blob = r.bytes(i, 2);
        out.emplace(r.int4(i, 1), LineageBlock::decode(blob.data(), blob.size()));
    }
    return out;
}
}  // namespace

int32 lineage_bucket(const ModelMeta &m, const std::string &key) {
    const uint64_t hash = key_hash(key);
    if (m.strategy == Strategy::Incremental) return bucket_of(hash, m.buckets);
    return shard_bucket(hash, m.shards == 1 ? 0 : shard_of(key, m.shards, m.options.seed), m.buckets);
}

int32 lineage_bucket(const ModelMeta &m, const LineageEntry &e) {
    return m.strategy != Strategy::Incremental ? shard_bucket(e.hash, e.shard, m.buckets) : bucket_of(e.hash, m.buckets);
}

int32 total_buckets(const ModelMeta &m) { return m.strategy != Strategy::Incremental ? m.shards * m.buckets : m.buckets; }

std::vector<int32> shard_buckets(const ModelMeta &m, int32 shard) {
    std::vector<int32> out;
    for (int32 b = 0; b < m.buckets; ++b) out.push_back(shard * m.buckets + b);
    return out;
}

std::map<int32, LineageBlock> load_blocks(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets) {
    return blocks_from(spi.exec(
        "SELECT bucket, block FROM unlearn.lineage_blocks WHERE model_id = $1 AND bucket = ANY($2::int4[])",
        {int4_param(m.id), int4_array_param(buckets)}));
}

std::map<int32, LineageBlock> load_all_blocks(Spi &spi, const ModelMeta &m) {
    return blocks_from(
        spi.exec("SELECT bucket, block FROM unlearn.lineage_blocks WHERE model_id = $1", {int4_param(m.id)}));
}

void write_blocks(Spi &spi, const ModelMeta &m, const std::map<int32, LineageBlock> &blocks) {
    std::vector<int32> keep, gone;
    std::vector<std::vector<uint8_t>> blobs;
    for (const auto &kv : blocks) {
        if (kv.second.empty()) {
            gone.push_back(kv.first);
        } else {
            keep.push_back(kv.first);
            blobs.push_back(kv.second.encode());
        }
    }
    if (!keep.empty()) write_encoded_blocks(spi, m, keep, blobs);
    if (!gone.empty())
        spi.exec("DELETE FROM unlearn.lineage_blocks WHERE model_id = $1 AND bucket = ANY($2::int4[])",
                 {int4_param(m.id), int4_array_param(gone)});
}

void write_encoded_blocks(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets,
                          const std::vector<std::vector<uint8_t>> &blobs) {
    spi.exec(
        "INSERT INTO unlearn.lineage_blocks (model_id, bucket, block) "
        "SELECT $1, b, k FROM unnest($2::int4[], $3::bytea[]) AS u(b, k) "
        "ON CONFLICT (model_id, bucket) DO UPDATE SET block = excluded.block",
        {int4_param(m.id), int4_array_param(buckets), bytea_array_param(blobs)});
}

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

void touch_model(Spi &spi, const ModelMeta &m, int64 rows_held, int64 forgotten) {
    spi.exec(
        "UPDATE unlearn.models SET version = version + 1, rows_held = $2, "
        "rows_forgotten = rows_forgotten + $3, updated_at = clock_timestamp() WHERE model_id = $1",
        {int4_param(m.id), int8_param(rows_held), int8_param(forgotten)});
}

}  // namespace unlearn::pg
