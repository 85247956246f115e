/* storagebox 1.2: a deadlock-free lock protocol for banks, crash-safe dispensers on every range */

\echo Use "ALTER EXTENSION storagebox UPDATE TO '1.2'" to load this file. \quit
