// unlearn.drop_model and unlearn.resync: the caller's right to the model
// checked, then the model's rows changed as the extension's owner (the SQL
// bodies, unlearn.drop_model_rows and unlearn.resync_rows, are not
// executable by PUBLIC).
#include "model_owner.hpp"

#include "args.hpp"
#include "catalog.hpp"
#include "error.hpp"
#include "source.hpp"

using namespace unlearn;
using namespace unlearn::pg;

namespace unlearn::pg {

bool models_have_owner() {
    const Oid models = catalog_relid("models");
    return OidIsValid(models) && pg_call([&] { return get_attnum(models, "owner") != InvalidAttrNumber; });
}

void refuse_inside_owner_code(const std::string &what) {
    if (running_owner_code())
        throw Error(ErrorKind::FeatureNotSupported, what + " cannot change while pg_unlearn reads a table as its owner",
                    "A policy, trigger, index expression or function of the table's owner called pg_unlearn while it "
                    "read rows for a model's change, which holds that model's state and lineage; call it outside "
                    "such code.");
}

namespace {
// A member of the model's owner or of its table's owner (who could drop the
// table, and the model with it), a superuser, or the extension's owner (its
// event triggers and worker): who may change a model, and read it whatever
// its columns' grants. Called inside pg_call.
bool owns_model(Oid role, Oid owner, Oid relation) {
    if (role == extension_owner() || superuser_arg(role) || (OidIsValid(owner) && has_privs_of_role(role, owner)))
        return true;
    HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relation));
    if (!HeapTupleIsValid(tuple)) return false;
    const Oid table_owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
    ReleaseSysCache(tuple);
    return has_privs_of_role(role, table_owner);
}
}  // namespace

void check_may_change_model(Spi &spi, const std::string &name, const char *action) {
    refuse_inside_owner_code("model \"" + name + "\"");
    const auto found = owner_and_relation(spi, name);
    if (!found) return;
    if (!pg_call([&] { return owns_model(GetUserId(), found->first, found->second); }))
        throw Error(ErrorKind::InsufficientPrivilege, "must be the owner of model \"" + name + "\" to " + action,
                    "A model is changed by the role that trained it (unlearn.models.owner), by the owner of its "
                    "table, or by a superuser.");
}

bool may_read_model(Oid role, const ModelReaders &m) {
    return pg_call([&] {
        if (owns_model(role, m.owner, m.relation)) return true;
        // the table gone: its owner's rights went with it
        if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(m.relation))) return false;
        if (check_enable_rls(m.relation, role, true) == RLS_ENABLED) return false;
        if (pg_class_aclcheck(m.relation, role, ACL_SELECT) == ACLCHECK_OK) return true;
        for (const AttrNumber att : m.attnums)
            if (pg_attribute_aclcheck(m.relation, att, role, ACL_SELECT) != ACLCHECK_OK) return false;
        for (const std::string &c : m.columns) {
            const AttrNumber att = get_attnum(m.relation, c.c_str());
            if (att == InvalidAttrNumber || pg_attribute_aclcheck(m.relation, att, role, ACL_SELECT) != ACLCHECK_OK)
                return false;
        }
        return true;
    });
}

void check_may_train_on(Oid relation) {
    pg_call([&] {
        // every table of a partition tree gets the triggers, as the caller
        // would have needed to create them before the extension's owner did
        List *tables = find_all_inheritors(relation, NoLock, nullptr);
        ListCell *lc;
        foreach (lc, tables) {
            const Oid table = lfirst_oid(lc);
            const AclResult acl = pg_class_aclcheck(table, GetUserId(), ACL_TRIGGER);
            if (acl != ACLCHECK_OK) aclcheck_error(acl, get_relkind_objtype(get_rel_relkind(table)), get_rel_name(table));
        }
    });
}

}  // namespace unlearn::pg

// unlearn.may_read_model(owner, relation, column_attnums, columns): the
// row-level security policies' question, for the current user (column_attnums
// is NULL in a model row written before 0.6.0's attribute numbers).
UNLEARN_FUNCTION(unlearn_may_read_model) {
    ModelReaders m;
    m.owner = PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0);
    require_arg(fcinfo, 1, "relation");
    m.relation = PG_GETARG_OID(1);
    if (!PG_ARGISNULL(2)) m.attnums = int2_array_arg(fcinfo, 2, "column_attnums");
    m.columns = text_array_arg(fcinfo, 3, "columns");
    return BoolGetDatum(may_read_model(GetUserId(), m));
}

UNLEARN_FUNCTION(unlearn_drop_model) {
    const std::string name = text_arg(fcinfo, 0, "model name");
    Spi spi;
    check_may_change_model(spi, name, "drop it");
    spi.exec_as_extension("SELECT unlearn.drop_model_rows($1)", {text_param(name)});
    PG_RETURN_VOID();
}

UNLEARN_FUNCTION(unlearn_resync) {
    const std::string name = text_arg(fcinfo, 0, "model name");
    Spi spi;
    check_may_change_model(spi, name, "retrain it");
    // retrained as the extension's owner, which reads every column and row:
    // the caller must still pass train's own checks of its source (SELECT on
    // the key, target, features and monitor_group; no row-level security for
    // it), or resync would read for it what it may not
    const ModelMeta m = load_model(spi, name);
    std::vector<std::string> columns = m.features;
    columns.push_back(m.target);
    if (!m.options.monitor_group.empty()) columns.push_back(m.options.monitor_group);
    check_source(spi, m.relation, columns);
    spi.exec_as_extension("SELECT unlearn.resync_rows($1)", {text_param(name)});
    PG_RETURN_VOID();
}
