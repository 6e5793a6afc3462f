-- bulk_sieve: the records of one bulk partition (its results array, unzipped by
-- ingest/bulk.py) into `sieved`, one row per record: its place in the partition (pos, from
-- 1), its id as text when the record gives it as JSON text (NULL otherwise: id_is_text says
-- which), and its JSON text as the partition holds it only when Python must judge it: the
-- sieve (terms.bulk_sieve, two regular expressions that never turn down a record the name
-- filter would keep) finds it, or its id is not JSON text (Python reads such ids its own way).
-- The other records are judged here, by the sieve alone, and never leave DuckDB.
-- Parameters: $file, $escapes, $names, $id_path ('$.safetyreportid'), $id_first
-- (bulk_load.first_key).
CREATE OR REPLACE TEMP TABLE sieved AS
SELECT pos, CASE WHEN id_is_text THEN id END AS id, id_is_text,
       CASE WHEN regexp_matches(record, $escapes) OR regexp_matches(record, $names) OR NOT id_is_text THEN record END AS record
FROM (
    SELECT pos, record, coalesce(starts_with(id_json, '"'), false) AS id_is_text, json_extract_string(id_json, '$') AS id
    FROM (
        -- The id's JSON, then its text. Read by $id_first when the record starts with it, as
        -- openFDA's do (the first key: the one json_extract reads); else the record is parsed.
        SELECT ordinality AS pos, json AS record,
               coalesce(nullif(regexp_extract(json, $id_first, 1), ''), json_extract(json, $id_path)::VARCHAR) AS id_json
        FROM read_json_objects($file, format = 'array') WITH ORDINALITY
    )
);
