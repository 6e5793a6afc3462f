-- bulk_sieve: the records of one bulk partition (its results array, unzipped by
-- ingest/bulk.py) into `sieved`, one row per record: its place in the partition (pos, from
-- 1), its id as text when the record gives it as JSON text (NULL otherwise: id_is_text says
-- which), and its JSON text as the partition holds it only when Python must judge it: the
-- sieve (terms.bulk_sieve, a regular expression that never turns down a record the name
-- filter would keep) finds it, or its id is not JSON text (Python reads such ids its own way).
-- The other records are judged here, by the sieve alone, and never leave DuckDB.
-- Parameters: $file, $sieve, $id_path ('$.safetyreportid').
CREATE OR REPLACE TEMP TABLE sieved AS
SELECT pos, CASE WHEN id_is_text THEN id END AS id, id_is_text,
       CASE WHEN regexp_matches(record, $sieve) OR NOT id_is_text THEN record END AS record
FROM (
    SELECT ordinality AS pos, json AS record,
           coalesce(json_type(json, $id_path) = 'VARCHAR', false) AS id_is_text,
           json_extract_string(json, $id_path) AS id
    FROM read_json_objects($file, format = 'array') WITH ORDINALITY
);
