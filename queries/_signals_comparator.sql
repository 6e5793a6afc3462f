-- _signals_comparator: the background of `kratom-ae signals --comparator FILE`: the reports
-- openFDA's search for the comparator's terms finds (comparator_terms, comparator_totals), for
-- the comparator key of each source in signal_comparator (ingest/background.py use_comparator).
-- row: signal_background_terms a term of a source; signal_background_totals a source;
--   signal_background_kratom a kratom report the comparator's search finds
-- counts: reports
-- columns: see each view
-- key: source, term; source; source, report_id
-- parameters: none (signal_comparator)
CREATE OR REPLACE TEMP VIEW signal_background_terms AS
SELECT t.source, t.term, t.reports, t.method FROM comparator_terms AS t JOIN signal_comparator USING (source, comparator);
CREATE OR REPLACE TEMP VIEW signal_background_totals AS
SELECT t.source, t.total_reports, 'comparator ' || t.terms || ' (reports of openFDA ' || t.endpoint || ' its search finds)' AS background
FROM comparator_totals AS t JOIN signal_comparator USING (source, comparator);
-- A report naming kratom and a comparator drug is a kratom report: only the kratom reports the
-- comparator's search finds are in its counts, and only they are taken out of c and d.
CREATE OR REPLACE TEMP VIEW signal_background_kratom AS
SELECT r.source, r.report_id FROM comparator_reports AS r JOIN signal_comparator USING (source, comparator) WHERE r.in_comparator;
-- Empty unless a local background counted in probable cases put its kratom cases there
-- (queries/local_background.py use_in): c and d then take out cases, not reports.
CREATE TEMP TABLE IF NOT EXISTS background_kratom_units (source VARCHAR, term VARCHAR, units BIGINT);
