-- read_batch: add one page's records (a results array in its own file, written by
-- staging.py's reader) to `batch`, the records to be shaped together, numbered from the
-- page's first stage_seq in the page's order.
-- Variables: page_file, first_seq.
INSERT INTO batch
SELECT getvariable('first_seq') + ordinality - 1 AS stage_seq, json AS record
FROM read_json_objects(getvariable('page_file'), format = 'array') WITH ORDINALITY;
