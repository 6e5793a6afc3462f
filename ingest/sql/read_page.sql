-- read_page: one openFDA search page, a JSON file, parsed by DuckDB as one value into
-- `page_envelope` (meta) and `page_records` (one row per record, pos from 1, the record as
-- JSON). Used for pages not laid out as openFDA lays them out (read_records.sql reads those):
-- it needs memory of several times the page.
-- Variables: page_file, page_bytes (its size: DuckDB's buffer for one JSON value). A page that is not valid JSON makes this fail (and the page is asked for again).
CREATE OR REPLACE TEMP TABLE page_envelope AS
SELECT meta.last_updated AS last_updated, meta.results.total AS total, results, meta.disclaimer AS disclaimer
FROM read_json(getvariable('page_file'),
               columns = {'meta': 'STRUCT(last_updated VARCHAR, results STRUCT(total BIGINT), disclaimer VARCHAR)', 'results': 'JSON[]'},
               maximum_object_size = getvariable('page_bytes'));

CREATE OR REPLACE TEMP TABLE page_records AS
SELECT unnest(results) AS record, generate_subscripts(results, 1) AS pos FROM page_envelope;
