-- Replace one source's rows with what the fetch staged (its scratch database, attached as
-- `staging`, and the raw records' Parquet files), keeping one version per report. Runs in
-- one transaction.
-- Variables: `source`, and `raw_files`, the glob of the raw Parquet files (stage_raw.sql).
-- A report can arrive several times (found by several search terms, or in several
-- versions): the highest report_version wins, and among equal versions the last received.
CREATE TEMP TABLE winners AS
SELECT stage_seq
FROM staging.stage_reports
QUALIFY row_number() OVER (PARTITION BY report_id ORDER BY report_version DESC NULLS LAST, stage_seq DESC) = 1;

DELETE FROM reports WHERE source = getvariable('source');
DELETE FROM products WHERE source = getvariable('source');
DELETE FROM reactions WHERE source = getvariable('source');
DELETE FROM raw_reports WHERE source = getvariable('source');

INSERT INTO reports SELECT * EXCLUDE (stage_seq) FROM staging.stage_reports WHERE stage_seq IN (SELECT stage_seq FROM winners);
INSERT INTO products SELECT * EXCLUDE (stage_seq) FROM staging.stage_products WHERE stage_seq IN (SELECT stage_seq FROM winners);
INSERT INTO reactions SELECT * EXCLUDE (stage_seq) FROM staging.stage_reactions WHERE stage_seq IN (SELECT stage_seq FROM winners);
INSERT INTO raw_reports SELECT * EXCLUDE (stage_seq) FROM read_parquet(getvariable('raw_files')) WHERE stage_seq IN (SELECT stage_seq FROM winners);

DELETE FROM fetch_runs WHERE source = getvariable('source');

DROP TABLE winners;
