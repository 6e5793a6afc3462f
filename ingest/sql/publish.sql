-- Replace one source's rows with what the fetch staged (Parquet files in its scratch folder,
-- written by ingest/staging.py), keeping one version per report. Runs in one transaction.
-- Variables: `source`; `stage_reports`, `stage_products`, `stage_ingredients`, `stage_reactions`: lists of the
-- files of the staging tables' rows (stage_seq and the table's columns); `match_terms`: the
-- file of the terms;
-- `raw_files`, the list of the raw records' Parquet files (stage_seq,
-- record: compressed, written by staging.py's reader), and `dictionary`, their zstd dictionary.
-- A report can arrive several times (found by several search terms, or in several
-- versions): the highest report_version wins, and among equal versions the last received.
-- Each winner gets its report_key: even numbers for FAERS, odd for CAERS, so that the two
-- sources (published separately) never share one. case_pairs.sql reads winners too.
-- The winners keep their key and version: the raw records' insert joins nothing else (two
-- joins there held two hash tables, and ran out of 128 MB at 900,000 reports).
CREATE OR REPLACE TEMP TABLE winners AS
SELECT stage_seq, 2 * stage_seq + CASE getvariable('source') WHEN 'caers' THEN 1 ELSE 0 END AS report_key,
       source, report_id, report_version
FROM read_parquet(getvariable('stage_reports'))
QUALIFY row_number() OVER (PARTITION BY report_id ORDER BY report_version DESC NULLS LAST, stage_seq DESC) = 1;

DELETE FROM reports WHERE source = getvariable('source');
DELETE FROM products WHERE source = getvariable('source');
DELETE FROM product_ingredients WHERE source = getvariable('source');
DELETE FROM reactions WHERE source = getvariable('source');
DELETE FROM raw_reports WHERE source = getvariable('source');
DELETE FROM kratom_terms WHERE source = getvariable('source');

-- Each report starts as a case of its own; ingest/cases.py then groups probable duplicates.
INSERT INTO reports BY NAME
SELECT s.* EXCLUDE (stage_seq, report_key, case_id, case_rule), w.report_key,
       s.source || ':' || s.report_id AS case_id, 'single report' AS case_rule
FROM read_parquet(getvariable('stage_reports')) AS s JOIN winners AS w USING (stage_seq);
INSERT INTO products BY NAME
SELECT s.* EXCLUDE (stage_seq, report_key), w.report_key
FROM read_parquet(getvariable('stage_products')) AS s JOIN winners AS w USING (stage_seq);
INSERT INTO product_ingredients BY NAME
SELECT s.* EXCLUDE (stage_seq, report_key), w.report_key
FROM read_parquet(getvariable('stage_ingredients')) AS s JOIN winners AS w USING (stage_seq);
INSERT INTO reactions BY NAME
SELECT s.* EXCLUDE (stage_seq, report_key), w.report_key
FROM read_parquet(getvariable('stage_reactions')) AS s JOIN winners AS w USING (stage_seq);
INSERT INTO raw_reports BY NAME
SELECT w.source, w.report_id, w.report_version, r.record AS record_zstd
FROM read_parquet(getvariable('raw_files')) AS r JOIN winners AS w USING (stage_seq);
DELETE FROM raw_dictionaries WHERE source = getvariable('source');
INSERT INTO raw_dictionaries VALUES (getvariable('source'), getvariable('dictionary'));

INSERT INTO kratom_terms BY NAME
SELECT getvariable('source') AS source, term_order, term, kind AS match, note FROM read_parquet(getvariable('match_terms'));

DELETE FROM fetch_runs WHERE source = getvariable('source');

