#include "source.hpp"


#include "error.hpp"

namespace unlearn::pg {

std::string relation_name(Oid relid) {
    return pg_call([&] {
        char *n = get_rel_name(relid);
        if (!n) elog(ERROR, "relation with OID %u does not exist", relid);
        return std::string(quote_identifier(n));
    });
}

std::string quoted(const std::string &identifier) {
    return pg_call([&] { return std::string(quote_identifier(identifier.c_str())); });
}

std::vector<std::string> check_source(Spi &spi, Oid relid, const std::vector<std::string> &columns) {
    const std::string name = relation_name(relid);
    char kind = pg_call([&] { return get_rel_relkind(relid); });
    if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE)
        throw Error(ErrorKind::WrongObjectType, "\"" + name + "\" is not a table",
                    "pg_unlearn trains on tables (plain or partitioned): DELETE triggers with transition tables are "
                    "what let it forget.");

    // Plain inheritance: a DELETE on the parent reaches the children's rows
    // but a DELETE on a child fires no trigger of the parent's, and a child's
    // key may repeat a parent's. Partitions have none of these problems.
    const bool inherits = pg_call([&] {
        return kind == RELKIND_RELATION && (has_subclass(relid) || (has_superclass(relid) && !get_rel_relispartition(relid)));
    });
    if (inherits)
        throw Error(ErrorKind::FeatureNotSupported, "table " + name + " takes part in table inheritance",
                    "A DELETE on a child table fires no trigger of its parent's, so rows could leave without being "
                    "forgotten; train on a partitioned table or a table without INHERITS.");

    if (pg_call([&] { return check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED; }))
        throw Error(ErrorKind::FeatureNotSupported,
                    "row-level security is enabled on \"" + name + "\" for the current user",
                    "pg_unlearn does not yet train under row-level security; train as a role the policy "
                    "does not apply to.");

    SpiResult pk = spi.exec(
        "SELECT a.attname::text FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
        "JOIN pg_attribute a ON a.attnum = k.attnum WHERE i.indrelid = $1 AND i.indisprimary "
        "AND a.attrelid = i.indrelid ORDER BY k.ord",
        {oid_param(relid)});
    if (pk.rows() == 0)
        throw Error(ErrorKind::InvalidParameter, "table \"" + name + "\" has no primary key",
                    "Lineage records rows by primary key: ALTER TABLE " + name + " ADD PRIMARY KEY (...).");
    std::vector<std::string> keys;
    for (uint64 i = 0; i < pk.rows(); ++i) keys.push_back(pk.str(i, 1));

    // SELECT on every column the model reads or records: lineage shows the
    // keys, group figures the monitor_group column
    std::vector<std::string> readable = columns;
    readable.insert(readable.end(), keys.begin(), keys.end());
    require_select(relid, readable, "A model reads its key, target, features and monitor_group column: GRANT SELECT on them.");
    return keys;
}

void refuse_deferrable_key(Spi &spi, Oid relid) {
    SpiResult deferrable =
        spi.exec("SELECT 1 FROM pg_index WHERE indrelid = $1 AND indisprimary AND NOT indimmediate", {oid_param(relid)});
    if (deferrable.rows() > 0)
        throw Error(ErrorKind::FeatureNotSupported, "the primary key of " + relation_name(relid) + " is deferrable",
                    "Lineage knows a row by its key, which must be unique at every moment: make the key NOT "
                    "DEFERRABLE (drop the constraint and add it again without DEFERRABLE).");
}

void refuse_temporary(Oid relid) {
    if (pg_call([&] { return get_rel_persistence(relid); }) != RELPERSISTENCE_TEMP) return;
    throw Error(ErrorKind::FeatureNotSupported, "table " + relation_name(relid) + " is temporary",
                "The background worker that retrains SISA shards after a DELETE cannot read another session's "
                "temporary table: train on a regular or unlogged table, or pass options => '{\"retrain\": \"inline\"}'.");
}

void refuse_partition(Oid relid) {
    if (!pg_call([&] { return get_rel_relispartition(relid); })) return;
    const Oid root = pg_call([&] { return llast_oid(get_partition_ancestors(relid)); });
    throw Error(ErrorKind::FeatureNotSupported, "table " + relation_name(relid) + " is a partition",
                "A DELETE or UPDATE through " + relation_name(root) +
                    " fires its own triggers, not the partition's, so a model of the partition alone would not forget "
                    "those rows. Train on " + relation_name(root) + ", or on a table that is not a partition.");
}

void refuse_keys_equal_in_other_bytes(Oid relid, const std::vector<std::string> &key_columns) {
    for (const auto &c : key_columns) {
        const bool unequal_bytes = pg_call([&] {
            const AttrNumber att = get_attnum(relid, c.c_str());
            if (att == InvalidAttrNumber) return false;
            Oid type = InvalidOid, collation = InvalidOid;
            int32 typmod = -1;
            get_atttypetypmodcoll(relid, att, &type, &typmod, &collation);
            return getBaseType(type) == INTERVALOID || (OidIsValid(collation) && !get_collation_isdeterministic(collation));
        });
        if (unequal_bytes)
            throw Error(ErrorKind::FeatureNotSupported,
                        "key column " + quoted(c) + " of " + relation_name(relid) +
                            " has values that are equal with other bytes",
                        "Lineage knows a row by its key's stored bytes: '1 day' and '24 hours' (interval), or 'K1' and "
                        "'k1' under a nondeterministic collation, are one key to the table and two to lineage, so "
                        "trained_on would answer for one and not the other. Key the table by another type or a "
                        "deterministic collation.");
    }
}

bool may_select_column(Oid relid, const std::string &column, Oid role) {
    return pg_call([&] {
        if (pg_class_aclcheck(relid, role, ACL_SELECT) == ACLCHECK_OK) return true;
        const AttrNumber att = get_attnum(relid, column.c_str());
        return att != InvalidAttrNumber && pg_attribute_aclcheck(relid, att, role, ACL_SELECT) == ACLCHECK_OK;
    });
}

void require_select(Oid relid, const std::vector<std::string> &columns, const std::string &why) {
    for (const auto &c : columns) {
        if (may_select_column(relid, c, GetUserId())) continue;
        // a column that does not exist is named by the check that needs it
        if (pg_call([&] { return get_attnum(relid, c.c_str()); }) == InvalidAttrNumber) continue;
        throw Error(ErrorKind::InsufficientPrivilege,
                    "permission denied for column " + quoted(c) + " of table " + relation_name(relid), why);
    }
}

}  // namespace unlearn::pg
