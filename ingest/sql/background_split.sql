-- background_split: the records of one bulk partition's results array (unzipped by
-- ingest/bulk.py), one row per record in the file's order: its JSON text as UTF-8 bytes, for
-- ingest/bulk_background.py to hand to the shaping as pages of the search API. Split as
-- read_records.sql splits a page, so that every record the shaping reads here it reads there.
-- suspect: the record may be no report (ingest/bulk.py unkeyable: not an object, or no usable
-- id), so Python decides by that rule; false only when it surely is one: an object whose id key
-- appears once in its text and is a number or a text with a character other than a space
-- separator (Unicode Zs, what the shaping's trim() removes).
-- Parameters: $file; $id_path ('$.safetyreportid'), $id_key ('"safetyreportid"').
SELECT encode(json) AS record,
       NOT coalesce(json_type(json) = 'OBJECT'
           AND (json_type(json, $id_path) IN ('BIGINT', 'UBIGINT', 'DOUBLE')
                OR (json_type(json, $id_path) = 'VARCHAR' AND regexp_matches(json_extract_string(json, $id_path), '[^\p{Zs}]')))
           AND length(json::VARCHAR) - length(replace(json::VARCHAR, $id_key, '')) = length($id_key), false) AS suspect
FROM read_json_objects($file, format = 'array');
