// Included last by every core source file: the core must stay free of
// PostgreSQL so that models can be tested and benchmarked without a server.
#pragma once
#ifdef PG_VERSION_NUM
#error "src/core must not include PostgreSQL headers"
#endif
