-- read_records: the records of one openFDA search page, from a file that holds only the
-- page's results array (staging.py cuts it out of the page), into `page_records`, one row per
-- record: its place on the page (pos, from 1), its JSON text as received, and a 64-bit hash
-- of it, by which staging.py finds records a query sent twice. Read record by record, a page
-- needs little more memory than its records. A file that is not a JSON list makes this fail.
-- Variable: page_file.
CREATE OR REPLACE TEMP TABLE page_records AS
SELECT ordinality AS pos, json AS record, hash(json) AS h
FROM read_json_objects(getvariable('page_file'), format = 'array') WITH ORDINALITY;
