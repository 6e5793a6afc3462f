-- read_records: the records of one openFDA search page, from a file that holds only the
-- page's results array (staging.py cuts it out of the page), one row per record in the
-- page's order: its JSON text as bytes (UTF-8, as received) and a 64-bit hash of it, by which
-- staging.py finds records a query sent twice. Read record by record, a page needs little
-- more memory than its records. A file that is not a JSON list makes this fail.
-- Variable: page_file.
SELECT encode(json) AS record, hash(json) AS h
FROM read_json_objects(getvariable('page_file'), format = 'array');
