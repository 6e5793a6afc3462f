-- name: outcomes
-- description: How serious the outcomes were: FAERS seriousness criteria and reaction outcomes, and CAERS outcomes as reported.
-- row: one outcome of one source
-- counts: reports (latest version) in scope with that outcome, once per report; a report can have several outcomes, so a source's rows add up to more than its reports. pct_of_source_reports = reports / kratom reports of that source in scope.
-- columns: source, kind, outcome, reports, pct_of_source_reports
-- parameters: source, since, until, role, serious
WITH per_source AS (SELECT source, count(*) AS n FROM scope_reports GROUP BY source),
criteria AS (
    SELECT source, 'seriousness criterion' AS kind, unnest(['serious', 'death', 'life threatening', 'hospitalisation', 'disabling', 'congenital anomaly', 'other serious']) AS outcome,
           unnest([is_serious IS TRUE, serious_death, serious_life_threatening, serious_hospitalization, serious_disabling, serious_congenital_anomaly, serious_other]) AS present,
           report_id
    FROM scope_reports WHERE source = 'faers'
),
reaction_outcomes AS (
    SELECT DISTINCT x.source, 'reaction outcome' AS kind, coalesce(x.reaction_outcome, 'not reported') AS outcome, x.report_id
    FROM reactions AS x JOIN scope_reports AS r USING (source, report_id)
    WHERE x.source = 'faers'
),
caers_outcomes AS (
    SELECT DISTINCT source, 'CAERS outcome' AS kind, upper(trim(unnest(coalesce(nullif(outcomes, []), ['NOT REPORTED'])))) AS outcome, report_id
    FROM scope_reports WHERE source = 'caers'
),
counted AS (
    SELECT source, kind, outcome, count(*) FILTER (WHERE present) AS reports FROM criteria GROUP BY ALL
    UNION ALL SELECT source, kind, outcome, count(*) FROM reaction_outcomes GROUP BY ALL
    UNION ALL SELECT source, kind, outcome, count(*) FROM caers_outcomes GROUP BY ALL
)
SELECT c.source, c.kind, c.outcome, c.reports, round(100.0 * c.reports / p.n, 1) AS pct_of_source_reports
FROM counted AS c JOIN per_source AS p USING (source)
ORDER BY c.source, list_position(['seriousness criterion', 'reaction outcome', 'CAERS outcome'], c.kind),
         CASE WHEN c.kind = 'seriousness criterion' THEN list_position(['serious', 'death', 'life threatening', 'hospitalisation', 'disabling', 'congenital anomaly', 'other serious'], c.outcome) END,
         c.reports DESC, c.outcome;
