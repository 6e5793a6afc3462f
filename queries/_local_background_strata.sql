-- _local_background_strata: the local background (queries/_local_background.sql, run first on
-- the same connection) by stratum: sex, age group and year received, of each unit (a report, or
-- a probable case's representative report).
-- row: local_background_strata: a source and stratum; local_background_stratum_terms: a
--   source, stratum and reaction term
-- counts: units of the background population, as local_background_totals and
--   local_background_terms count them, within the stratum; every stratum's units add up to the
--   totals there
-- columns: source, sex, age_band, received_year, total_reports (strata); source, sex, age_band,
--   received_year, term, reports (stratum terms)
-- key: source, sex, age_band, received_year (strata); and term (stratum terms)
-- parameters: bg_source
-- sex is female, male, unknown (reported as unknown) or 'not reported'; age_band is that of the
-- kratom tables (queries/_age_bands.sql); received_year is NULL for a report with no received date.
CREATE OR REPLACE TEMP TABLE local_background_strata AS
SELECT getvariable('bg_source') AS source, coalesce(sex, 'not reported') AS sex, age_band, received_year, count(*) AS total_reports
FROM local_units
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE local_background_stratum_terms AS
SELECT getvariable('bg_source') AS source, coalesce(u.sex, 'not reported') AS sex, u.age_band, u.received_year, t.term, count(*) AS reports
FROM local_unit_terms AS t JOIN local_units AS u USING (unit_id)
GROUP BY ALL;
