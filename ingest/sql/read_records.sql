-- read_records: the records of one openFDA search page into `page_records` (one row per
-- record, pos from 1, the record as JSON), from a file that holds only the page's results
-- array (staging.py cuts it out of the page). Read record by record, a page needs little
-- more memory than its records, where reading it as one JSON value (read_page.sql) needs
-- several times the page. A file that is not a JSON list makes this fail.
-- Variable: page_file.
CREATE OR REPLACE TEMP TABLE page_records AS
SELECT json AS record, ordinality AS pos
FROM read_json_objects(getvariable('page_file'), format = 'array') WITH ORDINALITY;
