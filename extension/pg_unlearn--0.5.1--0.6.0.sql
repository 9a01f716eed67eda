-- pg_unlearn 0.5.1 -> 0.6.0. Every object added or changed here is also in
-- pg_unlearn--0.6.0.sql, the complete script for this version; sql/upgrade.sql
-- checks that both give the same definitions.
\echo Use "ALTER EXTENSION pg_unlearn UPDATE TO '0.6.0'" to load this file. \quit

-- A model never stalls its table (issue 15) ----------------------------------

-- The data scientist's workflow (issue 16) -----------------------------------

-- Random forests that forget exactly (issue 17) ------------------------------
-- A random forest's state is megabytes rewritten by every DELETE: pglz
-- would cost more than the forgetting (states under 2 kB were never compressed).
ALTER TABLE unlearn.state ALTER COLUMN state SET STORAGE EXTERNAL;
