// The library's identity for PostgreSQL's loader.
#include "pg.hpp"

extern "C" {
PG_MODULE_MAGIC;
}
