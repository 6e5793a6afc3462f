-- _local_background_mh: the local background (queries/_local_background.sql, run first on the
-- same connection, in reports) in the strata of signals --adjusted (signal_strata, from
-- ingest/background.py define_strata), in the shapes of the cached API strata (stratum_totals,
-- stratum_terms in ingest/sql/schema.sql), which queries/_signals_strata.sql reads.
-- row: local_stratum_totals: a source and stratum; local_stratum_terms: a source, stratum and
--   reaction term named in it
-- counts: reports of the background population (latest version) in the stratum, by the rule
--   openFDA's search of the stratum applies (in_stratum, ingest/sql/strata_rule.sql):
--   total_reports = all of them, reports = those naming the term (by term key). Every term a
--   stratum's reports name is listed, so a term not listed has no report there.
-- columns: local_stratum_totals: source, stratum, total_reports; local_stratum_terms: source,
--   stratum, term, reports
-- key: source, stratum (totals); source, stratum, term (terms)
-- parameters: bg_source; tables signal_strata, local_members and local_unit_terms of
--   _local_background.sql (unit = 'report': a probable case's reports may lie in two strata)
CREATE OR REPLACE TEMP TABLE local_stratum_members AS
SELECT s.stratum, m.unit_id
FROM local_members AS m
JOIN signal_strata AS s
  ON s.source = getvariable('bg_source')
 AND in_stratum(m.sex, m.age_unit_reported, m.age_reported, m.received_date, s.sex, s.age_low, s.age_high, s.first_date, s.last_date);

-- Every stratum, a stratum without reports too (openFDA's total of its search is then 0).
CREATE OR REPLACE TEMP TABLE local_stratum_totals AS
SELECT s.source, s.stratum, count(m.unit_id) AS total_reports
FROM signal_strata AS s
LEFT JOIN local_stratum_members AS m USING (stratum)
WHERE s.source = getvariable('bg_source')
GROUP BY ALL
ORDER BY s.stratum;

CREATE OR REPLACE TEMP TABLE local_stratum_terms AS
SELECT getvariable('bg_source') AS source, m.stratum, t.term, count(*) AS reports
FROM local_stratum_members AS m JOIN local_unit_terms AS t USING (unit_id)
GROUP BY ALL
ORDER BY ALL;
