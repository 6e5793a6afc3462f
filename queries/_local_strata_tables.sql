-- _local_strata_tables: the local background's strata (queries/_local_background_mh.sql, passed
-- as the frames local_mh_totals_input and local_mh_terms_input) put in place of the cached API
-- strata for one signals run: temporary tables with the names and columns of stratum_totals and
-- stratum_terms (ingest/sql/schema.sql), which DuckDB reads before the database's own
-- (queries/local_background.py use_in; the database is opened read-only and not changed).
-- row: stratum_totals: a source and stratum; stratum_terms: a source, stratum and term
-- counts: reports (latest version) of the local background in the stratum
-- columns: as schema.sql's stratum_totals and stratum_terms
-- key: source, stratum (totals); source, stratum, term (terms)
-- parameters: none
-- list_complete: the local count lists every term a stratum's reports name, so a term not listed
-- has none there; no request was sent, so search says what the stratum is instead.
CREATE OR REPLACE TEMP TABLE stratum_totals AS
SELECT source::VARCHAR AS source, stratum::VARCHAR AS stratum, 'local background stratum ' || stratum AS search,
       total_reports::BIGINT AS total_reports, true AS list_complete, last_updated::VARCHAR AS last_updated,
       NULL::VARCHAR AS kratom_last_updated, fetched_at::TIMESTAMP AS fetched_at, 0 AS requests
FROM local_mh_totals_input;

CREATE OR REPLACE TEMP TABLE stratum_terms AS
SELECT source::VARCHAR AS source, stratum::VARCHAR AS stratum, term::VARCHAR AS term, reports::BIGINT AS reports, 'local' AS method
FROM local_mh_terms_input;
