-- bulk_shared: of one bulk partition's records (as bulk_sieve.sql reads them), the JSON text
-- of those that may carry an id of `shared_ids` (an id kept by name that records not kept
-- carry too): their id as JSON text is one of them, or their id is not JSON text (Python
-- reads those its own way, and decides). One row per such record, in `shared_records`.
-- Parameters: $file, $id_path, $id_first (bulk_load.first_key).
CREATE OR REPLACE TEMP TABLE shared_records AS
SELECT pos, record
FROM (
    SELECT pos, record, coalesce(starts_with(id_json, '"'), false) AS id_is_text, json_extract_string(id_json, '$') AS id
    FROM (
        -- The id's JSON, then its text. Read by $id_first when the record starts with it, as
        -- openFDA's do (the first key: the one json_extract reads); else the record is parsed.
        SELECT ordinality AS pos, json AS record,
               coalesce(nullif(regexp_extract(json, $id_first, 1), ''), json_extract(json, $id_path)::VARCHAR) AS id_json
        FROM read_json_objects($file, format = 'array') WITH ORDINALITY
    )
)
WHERE NOT id_is_text OR id IN (SELECT id FROM shared_ids);
