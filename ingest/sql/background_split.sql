-- background_split: the records of one bulk partition's results array (unzipped by
-- ingest/bulk.py), one row per record in the file's order: its JSON text as UTF-8 bytes, for
-- ingest/bulk_background.py to hand to the shaping as pages of the search API. Split as
-- read_records.sql splits a page, so that every record the shaping reads here it reads there.
-- Parameter: $file.
SELECT encode(json) AS record FROM read_json_objects($file, format = 'array');
