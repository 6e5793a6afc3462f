-- background_cases: the latest version of every report of a source's local background store
-- (ingest/bulk_background.py) as the tables case_pairs.sql and ingest/cases.py read in a
-- publish: `reports` (the columns the case rules compare, each report its own case to start
-- with), `winners` (report_key, stage_seq) and a file of the sets' digests (stage_case_facts),
-- so that the store's probable cases are grouped by the very rules a fetch's are.
-- The latest version: the rule of ingest/sql/publish.sql, as queries/_local_background.sql
-- applies it (the highest report_version, then the last received).
-- Variables: bg_reports (the store's files), facts_file (written here).
CREATE OR REPLACE TEMP TABLE latest AS
SELECT row_number() OVER (ORDER BY part_seq, record_seq) AS report_key, *
FROM read_parquet(getvariable('bg_reports'))
QUALIFY row_number() OVER (PARTITION BY report_id ORDER BY report_version DESC NULLS LAST, part_seq DESC, record_seq DESC) = 1;

CREATE OR REPLACE TEMP TABLE reports AS
SELECT report_key, source, report_id, sex, age_years, age_decade, country_code, country_name, event_date, event_date_reported,
       company_number, duplicate_number, literature_reference,
       source || ':' || report_id AS case_id, 'single report' AS case_rule
FROM latest;

CREATE OR REPLACE TEMP TABLE winners AS SELECT report_key, report_key AS stage_seq FROM latest;

COPY (SELECT report_key AS stage_seq, drug_set_digest, start_dates_digest, indications_digest, reaction_set_digest FROM latest)
TO (getvariable('facts_file')) (FORMAT parquet);
DROP TABLE latest;
