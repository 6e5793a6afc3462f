-- name: outcomes
-- description: How serious the outcomes were: FAERS seriousness criteria and reaction outcomes, and CAERS outcomes as reported.
-- row: one outcome of one source
-- counts: reports (latest version) in scope with that outcome, once per report; a report can have several outcomes, so a source's rows add up to more than its reports. pct_of_source_reports = reports / kratom reports of that source in scope.
-- columns: source, kind, outcome, reports, pct_of_source_reports
-- key: source, kind, outcome
-- parameters: source, since, until, role, serious, unit
WITH per_source AS (SELECT source, count(*) AS n FROM scope_reports GROUP BY source),
criteria AS (
    UNPIVOT (
        SELECT 'faers' AS source, 'seriousness criterion' AS kind,
               count(*) FILTER (WHERE is_serious) AS "serious",
               count(*) FILTER (WHERE serious_death) AS "death",
               count(*) FILTER (WHERE serious_life_threatening) AS "life threatening",
               count(*) FILTER (WHERE serious_hospitalization) AS "hospitalisation",
               count(*) FILTER (WHERE serious_disabling) AS "disabling",
               count(*) FILTER (WHERE serious_congenital_anomaly) AS "congenital anomaly",
               count(*) FILTER (WHERE serious_other) AS "other serious"
        FROM scope_reports WHERE source = 'faers'
    ) ON COLUMNS(* EXCLUDE (source, kind)) INTO NAME outcome VALUE reports
),
-- scope_reaction_outcomes has one row per unit and reaction outcome (queries/_scope.sql).
reaction_outcomes AS (
    SELECT source, 'reaction outcome' AS kind, coalesce(reaction_outcome, 'not reported') AS outcome, count(*) AS reports
    FROM scope_reaction_outcomes
    WHERE source = 'faers'
    GROUP BY ALL
),
caers_outcomes AS (
    SELECT DISTINCT source, 'CAERS outcome' AS kind, upper(trim(unnest(coalesce(nullif(outcomes, []), ['NOT REPORTED'])))) AS outcome, report_key
    FROM scope_reports WHERE source = 'caers'
),
counted AS (
    SELECT source, kind, outcome, reports FROM criteria
    UNION ALL SELECT * FROM reaction_outcomes
    UNION ALL SELECT source, kind, outcome, count(*) FROM caers_outcomes GROUP BY ALL
)
SELECT c.source, c.kind, c.outcome, c.reports, round(100.0 * c.reports / p.n, 1) AS pct_of_source_reports
FROM counted AS c JOIN per_source AS p USING (source)
ORDER BY c.source, list_position(['seriousness criterion', 'reaction outcome', 'CAERS outcome'], c.kind),
         CASE WHEN c.kind = 'seriousness criterion' THEN list_position(['serious', 'death', 'life threatening', 'hospitalisation', 'disabling', 'congenital anomaly', 'other serious'], c.outcome) END,
         c.reports DESC, c.outcome;
