#include "catalog.hpp"

namespace unlearn::pg {

CatchUp load_catchup(Spi &spi, const ModelMeta &m, int32 shard) {
    SpiResult r = spi.exec(
        "SELECT from_slice, generation, xmin::text FROM unlearn.catchup WHERE model_id = $1 AND shard = $2",
        {int4_param(m.id), int4_param(shard)});
    if (r.rows() == 0) return CatchUp{m.slices, 0, ""};
    return CatchUp{r.int4(0, 1), r.int8(0, 2), r.str(0, 3)};
}

std::map<int32, int32> served_slices(Spi &spi, const ModelMeta &m) {
    std::map<int32, int32> out;
    if (!catchup_installed()) return out;
    SpiResult r = spi.exec("SELECT shard, from_slice FROM unlearn.catchup WHERE model_id = $1", {int4_param(m.id)});
    for (uint64 i = 0; i < r.rows(); ++i) out[r.int4(i, 1)] = r.int4(i, 2);
    return out;
}

void note_catchup(Spi &spi, const ModelMeta &m, int32 shard, int32 from_slice) {
    spi.exec(
        "INSERT INTO unlearn.catchup AS c (model_id, shard, from_slice) VALUES ($1, $2, $3) "
        "ON CONFLICT (model_id, shard) DO UPDATE SET from_slice = least(c.from_slice, excluded.from_slice), "
        "generation = c.generation + 1",
        {int4_param(m.id), int4_param(shard), int4_param(from_slice)});
}

bool finish_catchup(Spi &spi, const ModelMeta &m, int32 shard, const CatchUp &read) {
    return spi.exec("DELETE FROM unlearn.catchup WHERE model_id = $1 AND shard = $2 AND generation = $3 "
                    "AND xmin = $4::text::xid RETURNING 1",
                    {int4_param(m.id), int4_param(shard), int8_param(read.generation), text_param(read.xmin)})
               .rows() == 1;
}

void drop_catchup(Spi &spi, const ModelMeta &m, int32 shard) {
    if (catchup_installed())
        spi.exec("DELETE FROM unlearn.catchup WHERE model_id = $1 AND shard = $2", {int4_param(m.id), int4_param(shard)});
}

void delete_catchups(Spi &spi, const ModelMeta &m) {
    if (catchup_installed()) spi.exec("DELETE FROM unlearn.catchup WHERE model_id = $1", {int4_param(m.id)});
}

bool catchup_installed() { return catalog_table_exists("catchup"); }

}  // namespace unlearn::pg
