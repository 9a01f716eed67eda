# PGXS build of pg_unlearn: the extension library (src/core + src/pg), its
# SQL scripts in extension/, and the pg_regress suite in sql/ + expected/.
MODULE_big = pg_unlearn
OBJS = $(patsubst %.cpp,%.o,$(wildcard src/core/*.cpp src/pg/*.cpp))

# The control file lives in extension/, so it is installed as DATA, with the
# SQL scripts: pg_unlearn--X.Y.Z.sql installs version X.Y.Z whole (written by
# hand, as pgvector does: CREATE EXTENSION replays no history), and the
# pg_unlearn--A--B.sql deltas upgrade older installs from the 0.1.0 base.
# sql/upgrade.sql checks that every upgrade path ends at the definitions of
# the full script for the default version.
DATA = extension/pg_unlearn.control $(wildcard extension/pg_unlearn--*.sql)
MODULEDIR = extension

REGRESS = extension linear_regression ridge naive_bayes forget forget_feature learn categorical shards drift paths partitions privileges sisa privacy certified bad_input guard exact keys security paths_guard interrupts memory errors sisa_slices verify_fails privacy_strategies sqlstates domains workflow random_forest quality progress certified_scale report worker_lock kept_states old_checksum role_boundaries upgrade
REGRESS_OPTS = --inputdir=. --load-extension=pg_unlearn
ISOLATION = concurrent_forget concurrent_writers concurrent_sisa snapshot_races concurrent_train hostile_train train_visibility_map emptied_block kept_states worker_dropped_table memo_snapshot cache_same_xmin cache_same_xmin_sisa cache_same_xmin_rr catchup_generation_reset detach_interrupted replace_race ddl_after_snapshot
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=output_iso --load-extension=pg_unlearn

PG_CONFIG ?= pg_config
EIGEN_INCLUDE ?= /usr/include/eigen3
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wno-missing-field-initializers -Wno-register \
	-isystem $(EIGEN_INCLUDE) -Isrc/core -Isrc/pg -MMD -MP
SHLIB_LINK = -lstdc++ -lcrypto

# No LLVM bitcode: PostgreSQL's JIT never inlines C++ and Debian lacks clang by default.
override with_llvm = no

# The exact accumulation's block loops rely on GCC's vectoriser, which -O2
# (PostgreSQL's CXXFLAGS) barely runs; CMake builds the core at -O3 too.
# -fno-trapping-math lets it vectorise floor() (split_column): the code never
# reads the floating-point exception flags, and no result changes.
src/core/grid_block.o: override CXXFLAGS += -O3 -fno-trapping-math

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# header dependencies, written by -MMD
-include $(OBJS:.o=.d)
EXTRA_CLEAN = $(OBJS:.o=.d)
