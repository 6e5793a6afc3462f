-- problems: what the rules for malformed records (faers_problems.sql, caers_problems.sql;
-- docs/schema.md "Malformed records") need, made once per fetch in its scratch database.
-- stage_problems: one row per record received and rule it breaks (report_id as received:
-- for an id that is not one value, its JSON text). publish_problems.sql copies it over.
CREATE TABLE stage_problems (source VARCHAR, report_id VARCHAR, problem VARCHAR, stored BOOLEAN);
-- A JSON type (json_type) as words, and a JSON value shortened for a message.
CREATE OR REPLACE MACRO json_kind(t) AS
    CASE t WHEN 'VARCHAR' THEN 'a string' WHEN 'ARRAY' THEN 'a list' WHEN 'OBJECT' THEN 'an object'
           WHEN 'BOOLEAN' THEN 'true or false' WHEN 'NULL' THEN 'null' ELSE 'a number' END;
CREATE OR REPLACE MACRO shown(j) AS CASE WHEN length(j) > 40 THEN left(j, 40) || '...' ELSE j END;
-- Scalars are sent as strings; numbers read the same way.
CREATE OR REPLACE MACRO is_scalar(t) AS t IN ('VARCHAR', 'BIGINT', 'UBIGINT', 'DOUBLE');
-- The first kind in a list of json_types that is not one of `allowed`, or NULL.
CREATE OR REPLACE MACRO stray_kind(types, allowed) AS list_filter(types, lambda t: NOT list_contains(allowed, t))[1];
