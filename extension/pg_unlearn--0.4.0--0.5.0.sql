-- pg_unlearn 0.4.0 -> 0.5.0: forgetting that cannot fail silently.
-- Privileged code evaluates nothing a table owner defines, a key's identity
-- is its stored value, every way a row changes reaches the model (or the
-- change is refused), interrupts and memory limits, clearer errors.
\echo Use "ALTER EXTENSION pg_unlearn UPDATE TO '0.5.0'" to load this file. \quit

-- Privileged code ------------------------------------------------------------

-- Key identity ---------------------------------------------------------------

-- Paths that change rows without a DELETE -------------------------------------

-- Interrupts, memory and errors ----------------------------------------------

