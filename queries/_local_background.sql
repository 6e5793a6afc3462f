-- _local_background: the disproportionality background counted from the local background store
-- (ingest/bulk_background.py, docs/schema.md "The local background") of one source, in the
-- shapes of the cached API background (background_totals, background_terms in
-- ingest/sql/schema.sql), which queries/_signals.sql reads. Run by queries/local_background.py
-- on a connection of its own (the user's database reads no file), once per source.
-- row: local_background_totals: a source; local_background_terms: a source and reaction term;
--   local_background_kratom: a kratom report in scope of the population
-- counts: units of the background population (reports, latest version; with unit = 'case'
--   probable cases): total_reports = all of them, reports = those naming the term (by term key:
--   a term named twice in any spelling counts once). The population is every report of the
--   endpoint (as openFDA's own counts), or with a comparator the reports with a product, not
--   kratom, of one of its ingredients; with exclude_kratom the reports the store flags as
--   kratom reports are left out. kratom_units: those of the units (of total_reports, of
--   reports) holding a report of local_kratom_reports, the kratom reports in scope of the user's
--   database, which signals takes out of c and d when it counts them in probable cases;
--   local_background_kratom: those kratom reports that the population holds, which signals
--   takes out of c and d in reports.
-- columns: local_background_totals: source, total_reports, unit, kratom_units;
--   local_background_terms: source, term, reports, method, kratom_units;
--   local_background_kratom: source, report_id
-- key: source (totals); source, term (terms); source, report_id (kratom)
-- parameters: bg_source, bg_reports, bg_reactions, bg_ingredients (the store's files),
--   bg_comparator (ingredient names, normalized as ingredients are; NULL: every report),
--   bg_exclude_kratom, bg_unit ('report' or 'case'); and tables local_cases (report_id, case_id:
--   the store's probable cases, ingest/bulk_background.py; read with unit = 'case') and
--   local_kratom_reports (report_id; may be empty)
-- The latest version of each report, by the rule of a fetch's publish (ingest/sql/publish.sql):
-- the highest report_version wins, and among equal versions (or none) the last received, here
-- the later partition of the export and the later record in it.
CREATE OR REPLACE TEMP TABLE local_latest AS
SELECT part_seq, record_seq, report_id, received_date, sex, age_years, age_decade, age_reported, age_unit_reported, is_kratom_report
FROM read_parquet(getvariable('bg_reports'))
QUALIFY row_number() OVER (PARTITION BY report_id ORDER BY report_version DESC NULLS LAST, part_seq DESC, record_seq DESC) = 1;

-- The reports of the background population.
CREATE OR REPLACE TEMP TABLE local_population AS
SELECT l.* FROM local_latest AS l
WHERE (getvariable('bg_comparator') IS NULL OR EXISTS (
           SELECT 1 FROM read_parquet(getvariable('bg_ingredients')) AS i
           WHERE i.part_seq = l.part_seq AND i.record_seq = l.record_seq AND NOT i.is_kratom
             AND list_contains(getvariable('bg_comparator'), i.ingredient)))
  AND NOT (getvariable('bg_exclude_kratom') AND l.is_kratom_report);

-- One row per unit: a report, or with unit = 'case' a probable case with a report in the
-- population, whose sex, age and received date are those of its representative report (the
-- one received last; ties: the highest report_id), as for kratom cases (queries/_scope.sql).
CREATE OR REPLACE TEMP TABLE local_members AS
SELECT p.part_seq, p.record_seq,
       CASE getvariable('bg_unit') WHEN 'case' THEN c.case_id ELSE p.report_id END AS unit_id,
       p.report_id, p.received_date, p.sex, p.age_years, p.age_decade, p.age_reported, p.age_unit_reported
FROM local_population AS p
LEFT JOIN local_cases AS c
    ON getvariable('bg_unit') = 'case' AND c.report_id = p.report_id;

CREATE OR REPLACE TEMP TABLE local_units AS
SELECT unit_id, sex, age_band(age_years, age_decade) AS age_band, year(received_date) AS received_year
FROM local_members
QUALIFY row_number() OVER (PARTITION BY unit_id ORDER BY received_date DESC NULLS LAST, report_id DESC) = 1;

-- A case counts as a kratom unit when any of its reports is a kratom report in scope: its other
-- reports are its duplicates, not other reports (the API rule takes out every kratom report).
CREATE OR REPLACE TEMP TABLE local_kratom_units AS
SELECT DISTINCT unit_id FROM local_members
WHERE report_id IN (SELECT report_id FROM local_kratom_reports);

-- The kratom reports in scope that the background population holds (latest version): those c and
-- d take out in reports. A report the database holds and the export does not (one received
-- after the export) is in no count of the background, so it is not taken out of one.
CREATE OR REPLACE TEMP TABLE local_background_kratom AS
SELECT DISTINCT getvariable('bg_source') AS source, report_id FROM local_population
WHERE report_id IN (SELECT report_id FROM local_kratom_reports)
ORDER BY report_id;

CREATE OR REPLACE TEMP TABLE local_unit_terms AS
SELECT DISTINCT m.unit_id, x.reaction_pt AS term
FROM local_members AS m
JOIN read_parquet(getvariable('bg_reactions')) AS x USING (part_seq, record_seq)
WHERE x.reaction_pt IS NOT NULL;

CREATE OR REPLACE TEMP TABLE local_background_totals AS
SELECT getvariable('bg_source') AS source, count(*) AS total_reports,
       CASE getvariable('bg_unit') WHEN 'case' THEN 'probable cases' ELSE 'reports' END AS unit,
       count(*) FILTER (WHERE unit_id IN (SELECT unit_id FROM local_kratom_units)) AS kratom_units
FROM local_units;

CREATE OR REPLACE TEMP TABLE local_background_terms AS
SELECT getvariable('bg_source') AS source, term, count(*) AS reports, 'local' AS method,
       count(*) FILTER (WHERE unit_id IN (SELECT unit_id FROM local_kratom_units)) AS kratom_units
FROM local_unit_terms
GROUP BY term;
