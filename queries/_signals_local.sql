-- _signals_local: the background of `kratom-ae signals --background local`: the local
-- background counted from a bulk export's store (queries/local_background.py use_in put its
-- counts in the temporary tables read here): every report of the export, or with
-- --comparator-ingredient the reports with a product, not kratom, of one of those ingredients.
-- row: signal_background_terms a term of a source; signal_background_totals a source;
--   signal_background_kratom a kratom report in scope that the background counts
-- counts: reports, or probable cases of the local background (then background_kratom_units
--   holds what c and d take out)
-- columns: see each view
-- key: source, term; source; source, report_id
-- parameters: none (the temporary tables of use_in)
-- The local count lists every term the background's reports name: a kratom term it does not
-- list has no report there (0), not an unknown count as a term missing from openFDA's list would.
CREATE OR REPLACE TEMP VIEW signal_background_terms AS
SELECT source, term, reports, method FROM background_terms
UNION ALL
SELECT DISTINCT s.source, s.reaction_pt AS term, 0::BIGINT AS reports, 'local' AS method
FROM scope_reactions AS s
WHERE s.reaction_pt IS NOT NULL AND s.source IN (SELECT source FROM background_totals)
  AND NOT EXISTS (SELECT 1 FROM background_terms AS b WHERE b.source = s.source AND b.term = s.reaction_pt);
CREATE OR REPLACE TEMP VIEW signal_background_totals AS
SELECT t.source, t.total_reports, b.background FROM background_totals AS t JOIN local_signal_background AS b USING (source);
-- Only the kratom reports in scope that the export holds (and, with a comparator, that have one
-- of its ingredients) are in the local counts: only they are taken out of c and d. A report the
-- database holds and the export does not (received after it) is in neither.
CREATE OR REPLACE TEMP VIEW signal_background_kratom AS
SELECT source, report_id FROM local_background_kratom;
CREATE TEMP TABLE IF NOT EXISTS background_kratom_units (source VARCHAR, term VARCHAR, units BIGINT);
