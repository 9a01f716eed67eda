#include "evidence.hpp"

#include <cmath>
#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <unordered_map>

#include "fetch.hpp"
#include "metrics.hpp"
#include "source.hpp"

namespace unlearn::pg {
namespace {

constexpr int64 kHoldoutBlocks = 16;  // about 800 holdout rows at holdout 0.2: enough for an AUC, cheap to fetch
constexpr int64 kMinGroupRows = 5;
constexpr Eigen::Index kMinForgotten = 5;  // fewer forgotten rows: no attack AUC is kept
constexpr Eigen::Index kMinDeletedHoldout = 20;  // fewer deleted holdout rows give too noisy an AUC to be the reference

struct HoldoutSample {
    RowMatrix x;
    Vector y;
    std::vector<std::string> group;             // options.monitor_group's value per row, by identity
    std::map<std::string, std::string> labels;  // what each group is called now, for display
};

std::vector<std::string> holdout_keys(Spi &spi, const ModelMeta &m) {
    std::vector<std::string> keys;
    for (const auto &kv : load_first_blocks(spi, m, kHoldoutBlocks))
        for (const auto &e : kv.second.entries())
            if (e.role == Role::Holdout) keys.push_back(e.key);
    return keys;
}

// A group's identity and its label, from the stored value of the
// monitor_group column (no cast, no output function a table owner could
// define): an enum by its label's OID (a RENAME VALUE follows), text by its
// bytes, numbers formatted here. Called inside pg_call.
bool group_value(Oid type, bool is_enum, Datum d, std::string &code, std::string &label) {
    char buf[64];
    if (is_enum) {
        snprintf(buf, sizeof(buf), "%u", DatumGetObjectId(d));
        code = buf;
        HeapTuple tup = SearchSysCache1(ENUMOID, d);
        label = HeapTupleIsValid(tup) ? NameStr(reinterpret_cast<Form_pg_enum>(GETSTRUCT(tup))->enumlabel) : buf;
        if (HeapTupleIsValid(tup)) ReleaseSysCache(tup);
        return true;
    }
    switch (type) {
        case TEXTOID: case VARCHAROID: case BPCHAROID: {
            struct varlena *v = pg_detoast_datum_packed(reinterpret_cast<struct varlena *>(DatumGetPointer(d)));
            code.assign(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
            break;
        }
        case INT2OID: code = std::to_string(DatumGetInt16(d)); break;
        case INT4OID: code = std::to_string(DatumGetInt32(d)); break;
        case INT8OID: code = std::to_string(DatumGetInt64(d)); break;
        case BOOLOID: code = DatumGetBool(d) ? "true" : "false"; break;
        case FLOAT4OID: snprintf(buf, sizeof(buf), "%.9g", static_cast<double>(DatumGetFloat4(d))); code = buf; break;
        case FLOAT8OID: snprintf(buf, sizeof(buf), "%.17g", DatumGetFloat8(d)); code = buf; break;
        case NUMERICOID: code = DatumGetCString(DirectFunctionCall1(numeric_out, d)); break;  // reads no setting
        default: return false;
    }
    label = code;
    return true;
}

struct Groups {
    std::unordered_map<std::string, std::string> of_key;  // encoded key -> group identity
    std::map<std::string, std::string> labels;
};

// Group values by key, read in one query (NULL is a group of its own).
// Empty when the column is gone (dropped or renamed since training): the
// group figures are then left out, and the DELETE goes on.
Groups group_of(Spi &spi, const ModelMeta &m, const std::vector<std::string> &keys) {
    Groups out;
    if (pg_call([&] { return get_attnum(m.relation, m.options.monitor_group.c_str()); }) == InvalidAttrNumber) return out;
    KeyColumn key;
    const std::string sql = select_by_key(m, quoted(m.key_columns[0]) + ", " + quoted(m.options.monitor_group), &key);
    SpiResult r = spi.exec_as_owner(m.relation, sql, {key_array_param(key, keys)});
    Oid type = InvalidOid;
    bool is_enum = false;
    pg_call([&] {
        type = getBaseType(SPI_gettypeid(r.table()->tupdesc, 2));
        is_enum = type_is_enum(type);
    });
    std::string k, code, label;
    for (uint64 i = 0; i < r.rows(); ++i) {
        k.clear();
        code = label = "(null)";
        bool known = true;
        pg_call([&] {
            append_key_part(k, key, r.datum(i, 1), false);
            if (!r.is_null(i, 2)) known = group_value(type, is_enum, r.datum(i, 2), code, label);
        });
        if (!known)
            throw Error(ErrorKind::FeatureNotSupported,
                        "groups of option \"monitor_group\" are reported for text, enum, boolean and numeric columns");
        out.of_key.emplace(k, code);
        out.labels.emplace(code, label);
    }
    return out;
}

HoldoutSample holdout_sample(Spi &spi, const ModelMeta &m) {
    HoldoutSample h;
    std::vector<std::string> keys = holdout_keys(spi, m);
    if (keys.empty()) return h;
    Groups groups;
    if (!m.options.monitor_group.empty()) groups = group_of(spi, m, keys);
    h.labels = groups.labels;
    std::vector<double> xs, ys;
    fetch_by_key(spi, m, keys, [&](const RowBatch &b) {
        for (int i = 0; i < b.rows; ++i) {
            if (!b.trainable[i]) continue;
            xs.insert(xs.end(), b.x.row(i).data(), b.x.row(i).data() + b.x.cols());
            ys.push_back(b.y(i));
            auto g = groups.of_key.find(b.keys[i]);
            if (!groups.of_key.empty()) h.group.push_back(g == groups.of_key.end() ? "" : g->second);
        }
    });
    h.x = Eigen::Map<RowMatrix>(xs.data(), static_cast<Eigen::Index>(ys.size()), width(m));
    h.y = Eigen::Map<Vector>(ys.data(), static_cast<Eigen::Index>(ys.size()));
    return h;
}

std::string rounded(double v) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%.4g", v);
    return buf;
}

struct GroupMetric {
    int64 rows = 0;
    double hits = 0, squared = 0;  // correct predictions, or squared errors
};

std::map<std::string, GroupMetric> per_group(const ModelMeta &m, const FittedModel &fit, const HoldoutSample &h,
                                             const std::vector<std::string> &labels) {
    std::map<std::string, GroupMetric> out;
    for (Eigen::Index i = 0; i < h.x.rows(); ++i) {
        GroupMetric &g = out[labels[static_cast<size_t>(i)]];
        ++g.rows;
        const double p = fit.predict(h.x.row(i).transpose());
        if (is_classifier(m.algorithm)) g.hits += p == h.y(i);
        else g.squared += (p - h.y(i)) * (p - h.y(i));
    }
    return out;
}

// A group of a handful of rows would be named in the audit and the WARNING
// almost as a row's own value (and kept there after those rows leave):
// groups under kMinGroupRows holdout rows are reported pooled, unnamed.
std::vector<std::string> pooled_labels(const std::vector<std::string> &groups) {
    std::map<std::string, int64> count;
    for (const auto &g : groups) ++count[g];
    const std::string small = "(groups of fewer than " + std::to_string(kMinGroupRows) + " holdout rows)";
    std::vector<std::string> out;
    out.reserve(groups.size());
    for (const auto &g : groups) out.push_back(count[g] < kMinGroupRows ? small : g);
    return out;
}

double metric(const ModelMeta &m, const GroupMetric &g) {
    return is_classifier(m.algorithm) ? g.hits / static_cast<double>(g.rows) : std::sqrt(g.squared / static_cast<double>(g.rows));
}

// Per group: rows, metric before and after; a WARNING for each group whose
// metric worsens past the threshold (accuracy in points, RMSE relatively).
std::string group_figures(Spi &spi, const ModelMeta &m, const FittedModel &before, const FittedModel &after,
                          const HoldoutSample &h) {
    const bool accuracy = is_classifier(m.algorithm);
    const std::vector<std::string> labels = pooled_labels(h.group);
    std::map<std::string, GroupMetric> b = per_group(m, before, h, labels), a = per_group(m, after, h, labels);
    std::string json = std::string("\"group_metric\": \"") + (accuracy ? "accuracy" : "rmse") + "\", \"groups\": [";
    bool first = true;
    // listed by what the groups are called now
    std::vector<std::pair<std::string, std::string>> named;  // label, identity
    for (const auto &kv : a) {
        auto l = h.labels.find(kv.first);
        named.emplace_back(l == h.labels.end() ? kv.first : l->second, kv.first);
    }
    std::sort(named.begin(), named.end());
    // The WARNING goes to the session that deleted, whose role may not read
    // the model, or its group column: its figures go only to a role that
    // may read the model, the group's name only to one that may read the
    // column (the trigger runs as the extension's owner; the session's role,
    // GetOuterUserId, is the one the message reaches)
    std::optional<bool> may_read, may_name;  // asked only when a WARNING is due
    bool warned_without_figures = false;
    for (const auto &[name, id] : named) {
        const GroupMetric &after_group = a[id];
        const double mb = metric(m, b[id]), ma = metric(m, after_group);
        const double worse = accuracy ? mb - ma : (mb > 0 ? ma / mb - 1 : 0);
        json += std::string(first ? "" : ", ") + "{\"group\": " + json_string(name) +
                ", \"rows\": " + std::to_string(after_group.rows) + ", \"before\": " + json_number(mb) +
                ", \"after\": " + json_number(ma) + "}";
        first = false;
        if (worse > m.options.impact_warning) {
            if (!may_read) {
                const std::optional<ModelReaders> readers = model_readers(spi, m.id);
                may_read = readers && may_read_model(GetOuterUserId(), *readers);
            }
            if (!*may_read) {
                if (warned_without_figures) continue;  // one such WARNING: it says nothing per group
                warned_without_figures = true;
                const std::string msg = "forgetting rows changed model \"" + m.name + "\": " +
                                        (accuracy ? "accuracy" : "RMSE") + " of a group on holdout rows worsened past " +
                                        "options.impact_warning";
                pg_call([&] {
                    ereport(WARNING, (errmsg("%s", msg.c_str()),
                                      errhint("The model's readers see every group in unlearn.group_impact('%s').",
                                              m.name.c_str())));
                });
                continue;
            }
            if (!may_name) may_name = may_select_column(m.relation, m.options.monitor_group, GetOuterUserId());
            const std::string msg = "forgetting rows changed model \"" + m.name + "\": " + (accuracy ? "accuracy" : "RMSE") +
                                    " of " + (*may_name ? "group \"" + name + "\"" : std::string("a group")) + " (" +
                                    m.options.monitor_group + ") on holdout rows went from " +
                                    rounded(mb) + " to " + rounded(ma);
            pg_call([&] {
                ereport(WARNING, (errmsg("%s", msg.c_str()),
                                  errhint("unlearn.group_impact('%s') shows every group; retrain with more data "
                                          "resembling the group, or review the deletion.",
                                          m.name.c_str())));
            });
        }
    }
    return json + "]";
}

}  // namespace

std::string json_string(const std::string &s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char esc[8];
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            out += esc;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

std::string json_number(double v) {
    if (!std::isfinite(v)) return "null";
    char buf[32];
    snprintf(buf, sizeof(buf), "%.17g", v);
    return buf;
}

bool has_event_figures(const ModelMeta &m) { return m.options.holdout > 0 && m.key_columns.size() == 1; }

namespace {

std::string figures(Spi &spi, const ModelMeta &m, const std::vector<ShardState> &before,
                    const std::vector<ShardState> &after, const DeletedRows &deleted) {
    if (!has_event_figures(m)) return "";
    const bool own_reference = deleted.holdout_x.rows() >= kMinDeletedHoldout;
    const bool groups = !m.options.monitor_group.empty() && !before.empty();
    const HoldoutSample h = own_reference && !groups ? HoldoutSample{} : holdout_sample(spi, m);
    if (h.x.rows() == 0 && !own_reference) return "";
    FittedModel fit_after = fit_meta(m, after);
    if (fit_after.rows() == 0) return "";
    std::string json;
    if (deleted.x.rows() > 0 && deleted.x.rows() < kMinForgotten) {
        // the AUC of one or two rows is their own loss rank: a figure about those rows, not an aggregate
        json = "\"evidence_auc\": null, \"evidence_forgotten\": " + std::to_string(deleted.x.rows()) +
               ", \"evidence_withheld\": \"fewer than " + std::to_string(kMinForgotten) + " forgotten rows\"";
    } else if (deleted.x.rows() > 0) {
        const RowMatrix &ux = own_reference ? deleted.holdout_x : h.x;
        const Vector &uy = own_reference ? deleted.holdout_y : h.y;
        std::vector<double> forgotten, unseen;
        for (Eigen::Index i = 0; i < deleted.x.rows(); ++i)
            forgotten.push_back(-fit_after.loss(deleted.x.row(i).transpose(), deleted.y(i)));
        for (Eigen::Index i = 0; i < ux.rows(); ++i) unseen.push_back(-fit_after.loss(ux.row(i).transpose(), uy(i)));
        if (!unseen.empty()) {
            const AttackFigures f = threshold_attack(forgotten, unseen);
            json = "\"evidence_auc\": " + json_number(f.auc) + ", \"evidence_forgotten\": " + std::to_string(f.members) +
                   ", \"evidence_unseen\": " + std::to_string(f.nonmembers) + ", \"evidence_reference\": \"" +
                   (own_reference ? "deleted_holdout" : "holdout_sample") + "\"";
        }
    }
    if (groups && h.x.rows() > 0 && static_cast<Eigen::Index>(h.group.size()) == h.x.rows()) {
        FittedModel fit_before = fit_meta(m, before);
        if (fit_before.rows() > 0) json += (json.empty() ? "" : ", ") + group_figures(spi, m, fit_before, fit_after, h);
    }
    return json;
}

}  // namespace

std::string event_figures(Spi &spi, const ModelMeta &m, const std::vector<ShardState> &before,
                          const std::vector<ShardState> &after, const DeletedRows &deleted) {
    try {
        return figures(spi, m, before, after, deleted);
    } catch (const Error &e) {  // a core error (no PostgreSQL state to clean): the DELETE goes on
        return "\"figures_skipped\": " + json_string(e.what());
    }
}

}  // namespace unlearn::pg
