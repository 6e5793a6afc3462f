-- _signals_all: the background of `kratom-ae signals` without --comparator: all of the source's
-- openFDA endpoint (background_terms, background_totals), which counts every kratom report.
-- row: signal_background_terms a term of a source; signal_background_totals a source;
--   signal_background_kratom a report the background counts
-- counts: reports
-- columns: see each view
-- key: source, term; source; source, report_id
-- parameters: none
CREATE OR REPLACE TEMP VIEW signal_background_terms AS
SELECT source, term, reports, method FROM background_terms;
CREATE OR REPLACE TEMP VIEW signal_background_totals AS
SELECT source, total_reports, 'all reports of openFDA ' || endpoint AS background FROM background_totals;
-- Every report of the endpoint is in the background, so every kratom report in scope is taken out.
CREATE OR REPLACE TEMP VIEW signal_background_kratom AS
SELECT source, report_id FROM reports;
-- Empty unless a local background counted in probable cases put its kratom cases there
-- (queries/local_background.py use_in): c and d then take out cases, not reports.
CREATE TEMP TABLE IF NOT EXISTS background_kratom_units (source VARCHAR, term VARCHAR, units BIGINT);
