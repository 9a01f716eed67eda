-- pg_unlearn 0.6.0 -> 0.7.0. Every object added or changed here is also in
-- pg_unlearn--0.7.0.sql, the complete script for this version; sql/upgrade.sql
-- checks that both give the same definitions.
\echo Use "ALTER EXTENSION pg_unlearn UPDATE TO '0.7.0'" to load this file. \quit
