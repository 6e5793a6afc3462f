-- name: profile
-- description: A clinical profile of each reaction term or group asked for: how often it is the only reaction, the outcome of that reaction with 95% Wilson CIs, the report-level seriousness beside it, time to onset and duration of kratom use, kratom's role, route and dose, dechallenge, rechallenge, and co-reported drugs known to pigment the skin.
-- row: one measure of one term or group asked for (profile), in sections
-- counts: reports (latest version) in scope naming the term (or a term of the group), once per report; term_reports = those reports, the denominator of pct_of_term_reports and of the 95% Wilson interval ci95_low-ci95_high. reactions: "only this term" = every term of the report is the term (or of the group). reaction outcome: the outcome on the report's own rows for the term, not the report's (a report whose rows carry two outcomes counts under both; "two or more outcomes" counts those). seriousness (report-level): the report's seriousness criteria, for any of its reactions: not this reaction's. time to onset: the event date (FAERS case event date, CAERS date_started; whole dates only) minus the earliest start date of the report's kratom products (whole dates only; a month or a year alone is not used); days = median and quartiles over the reports that allow it. duration of kratom use: the longest drugtreatmentduration of the kratom products, in days. kratom role, route, dose: of the report's kratom products (a report with several counts under each). dechallenge and rechallenge: the rule in queries/_clinical.sql (docs/methods.md "Clinical profile"). co-reported pigmenting drug: a product other than kratom with an active ingredient of queries/pigmenting_drugs.csv (any role), only for pigmentation terms that are not hypopigmentation.
-- columns: profile (the term, or (any skin term), (any pigmentation term), (any hyperpigmentation term)), section, measure, reports, term_reports (on the rows that count), pct_of_term_reports, ci95_low, ci95_high (the 95% Wilson interval of the percentage), days (median and quartiles; empty on the rows that count)
-- key: profile, section, measure
-- parameters: source, since, until, role, serious, unit
-- Reads the table profile_request (o, label, kind: term, skin, pigmentation or hyperpigmentation; term):
-- what the `profile` command was asked for, in order.
WITH asked AS (
    SELECT q.o, s.reaction_pt FROM profile_request AS q JOIN skin_terms AS s
        ON (q.kind = 'skin') OR (q.kind = 'pigmentation' AND s.is_pigmentation) OR (q.kind = 'hyperpigmentation' AND s.pigmentation = 'hyper')
    UNION
    SELECT o, term_key(term) FROM profile_request WHERE kind = 'term'
),
-- Whether co-reported pigmenting drugs apply: the row holds a pigmentation term that is not hypopigmentation.
assessed AS (
    SELECT q.o, bool_or(s.is_pigmentation AND coalesce(s.pigmentation, '') <> 'hypo') IS TRUE AS pigmenting_applies
    FROM profile_request AS q LEFT JOIN asked AS a USING (o) LEFT JOIN skin_terms AS s USING (reaction_pt)
    GROUP BY q.o
),
-- Every reaction row of the reports in scope, under its unit (with --unit case, a case's reports).
rows AS (
    SELECT m.unit_key, x.reaction_pt, coalesce(x.reaction_outcome, 'not reported') AS outcome
    FROM reactions AS x JOIN scope_members AS m USING (report_key)
    WHERE x.reaction_pt IS NOT NULL
),
-- Each unit naming a term of a row, with the outcomes its rows for those terms carry and
-- whether it names any other term.
named AS (
    SELECT a.o, r.unit_key, list(DISTINCT r.outcome) AS outcomes
    FROM rows AS r JOIN asked AS a USING (reaction_pt)
    GROUP BY ALL
),
others AS (
    SELECT DISTINCT n.o, n.unit_key FROM named AS n JOIN rows AS r USING (unit_key)
    WHERE r.reaction_pt NOT IN (SELECT reaction_pt FROM asked AS a WHERE a.o = n.o)
),
-- Per unit, what its reports say: lists joined over a case's reports; onset and duration from
-- the report received last that gives one (ties: the highest report_id), as a case's dates are.
units AS (
    SELECT m.unit_key,
           arg_max(c.onset_days, (coalesce(c.received_date, DATE '0001-01-01'), c.report_id)) FILTER (WHERE c.onset_days IS NOT NULL) AS onset_days,
           arg_max(c.duration_days, (coalesce(c.received_date, DATE '0001-01-01'), c.report_id)) FILTER (WHERE c.duration_days IS NOT NULL) AS duration_days,
           list_distinct(flatten(list(c.actions))) AS actions, list_distinct(flatten(list(c.rechallenge_answers))) AS rechallenge_answers,
           list_distinct(flatten(list(c.roles))) AS roles, list_distinct(flatten(list(c.routes))) AS routes,
           list_distinct(flatten(list(c.doses))) AS doses, list_distinct(flatten(list(c.pigmenting_drugs))) AS pigmenting_drugs
    FROM scope_members AS m JOIN clinical_reports AS c USING (report_key)
    GROUP BY m.unit_key
),
profiled AS (
    SELECT n.o, n.unit_key, n.outcomes, o.unit_key IS NOT NULL AS with_others, u.*  EXCLUDE (unit_key),
           r.is_serious, r.serious_death, r.serious_life_threatening, r.serious_hospitalization, r.serious_disabling,
           r.serious_congenital_anomaly, r.serious_other,
           dechallenge_of(u.actions, n.outcomes) AS dechallenge, rechallenge_of(u.rechallenge_answers) AS rechallenge
    FROM named AS n
    JOIN units AS u USING (unit_key)
    JOIN scope_reports AS r ON r.report_key = n.unit_key
    LEFT JOIN others AS o USING (o, unit_key)
),
totals AS (
    SELECT q.o, count(p.unit_key) AS term_reports FROM profile_request AS q LEFT JOIN profiled AS p USING (o) GROUP BY q.o
),
-- Median, lower and upper quartile (linear interpolation between order statistics, as R's
-- default type 7 and numpy's percentile), over the units that allow them.
quartiles AS (
    SELECT o, quantile_cont(onset_days, [0.5, 0.25, 0.75]) FILTER (WHERE onset_days >= 0) AS onset,
           quantile_cont(duration_days, [0.5, 0.25, 0.75]) AS duration
    FROM profile_request LEFT JOIN profiled USING (o) GROUP BY o
),
outcome_names AS (
    SELECT * FROM (VALUES (1, 'recovered/resolved'), (2, 'recovering/resolving'), (3, 'not recovered/not resolved'),
                          (4, 'recovered/resolved with sequelae'), (5, 'fatal'), (6, 'unknown'), (7, 'not reported')) AS t(i, outcome)
),
-- Every measure: (o, section order, section, measure order, measure, count, days).
measures AS (
    SELECT o, 1 AS s, 'reports' AS section, 1 AS i, 'naming the term' AS measure, count(unit_key) AS n, NULL::DOUBLE AS days
    FROM profile_request LEFT JOIN profiled USING (o) GROUP BY o
    UNION ALL
    SELECT q.o, 2, 'reactions', m.i, m.measure, count(p.unit_key) FILTER (WHERE p.with_others = m.with_others), NULL
    FROM profile_request AS q CROSS JOIN (VALUES (1, 'only this term (or terms of the group)', false), (2, 'with other reactions', true)) AS m(i, measure, with_others)
    LEFT JOIN profiled AS p USING (o) GROUP BY ALL
    UNION ALL
    SELECT q.o, 3, 'reaction outcome (of this reaction)', t.i, t.outcome, count(p.unit_key) FILTER (WHERE list_contains(p.outcomes, t.outcome)), NULL
    FROM profile_request AS q CROSS JOIN outcome_names AS t LEFT JOIN profiled AS p USING (o) GROUP BY ALL
    UNION ALL
    SELECT o, 3, 'reaction outcome (of this reaction)', 8, 'two or more outcomes', count(unit_key) FILTER (WHERE len(outcomes) > 1), NULL
    FROM profile_request LEFT JOIN profiled USING (o) GROUP BY o
    UNION ALL
    SELECT q.o, 4, 'seriousness (report-level: any reaction)', m.i, m.measure, count(p.unit_key) FILTER (WHERE CASE m.i
               WHEN 1 THEN p.is_serious IS TRUE WHEN 2 THEN p.is_serious IS FALSE WHEN 3 THEN p.is_serious IS NULL
               WHEN 4 THEN p.serious_death WHEN 5 THEN p.serious_life_threatening WHEN 6 THEN p.serious_hospitalization
               WHEN 7 THEN p.serious_disabling WHEN 8 THEN p.serious_congenital_anomaly ELSE p.serious_other END), NULL
    FROM profile_request AS q
    CROSS JOIN (VALUES (1, 'serious'), (2, 'not serious'), (3, 'seriousness not reported'), (4, 'death'), (5, 'life threatening'),
                       (6, 'hospitalisation'), (7, 'disabling'), (8, 'congenital anomaly'), (9, 'other serious')) AS m(i, measure)
    LEFT JOIN profiled AS p USING (o) GROUP BY ALL
    UNION ALL
    SELECT o, 5, 'time to onset (event date minus kratom start date)', 1, 'allowing it', count(unit_key) FILTER (WHERE onset_days >= 0), NULL
    FROM profile_request LEFT JOIN profiled USING (o) GROUP BY o
    UNION ALL
    SELECT o, 5, 'time to onset (event date minus kratom start date)', m.i, m.measure, NULL, onset[m.i - 1]
    FROM quartiles CROSS JOIN (VALUES (2, 'median'), (3, 'lower quartile'), (4, 'upper quartile')) AS m(i, measure)
    UNION ALL
    SELECT o, 5, 'time to onset (event date minus kratom start date)', 5, 'kratom start after the event date (left out)', count(unit_key) FILTER (WHERE onset_days < 0), NULL
    FROM profile_request LEFT JOIN profiled USING (o) GROUP BY o
    UNION ALL
    SELECT o, 5, 'time to onset (event date minus kratom start date)', 6, 'no whole event date or kratom start date', count(unit_key) FILTER (WHERE unit_key IS NOT NULL AND onset_days IS NULL), NULL
    FROM profile_request LEFT JOIN profiled USING (o) GROUP BY o
    UNION ALL
    SELECT o, 6, 'duration of kratom use (drugtreatmentduration)', 1, 'allowing it', count(duration_days), NULL
    FROM profile_request LEFT JOIN profiled USING (o) GROUP BY o
    UNION ALL
    SELECT o, 6, 'duration of kratom use (drugtreatmentduration)', m.i, m.measure, NULL, duration[m.i - 1]
    FROM quartiles CROSS JOIN (VALUES (2, 'median'), (3, 'lower quartile'), (4, 'upper quartile')) AS m(i, measure)
    UNION ALL
    SELECT o, 6, 'duration of kratom use (drugtreatmentduration)', 5, 'not reported', count(unit_key) FILTER (WHERE unit_key IS NOT NULL AND duration_days IS NULL), NULL
    FROM profile_request LEFT JOIN profiled USING (o) GROUP BY o
    UNION ALL
    SELECT q.o, 7, 'kratom role', m.i, m.measure, count(p.unit_key) FILTER (WHERE list_contains(p.roles, m.measure)), NULL
    FROM profile_request AS q CROSS JOIN (VALUES (1, 'suspect'), (2, 'concomitant'), (3, 'interacting'), (4, 'role not reported')) AS m(i, measure)
    LEFT JOIN profiled AS p USING (o) GROUP BY ALL
    UNION ALL
    SELECT o, 8, 'kratom route', 1, route, count(*), NULL FROM (SELECT o, unnest(routes) AS route FROM profiled) GROUP BY ALL
    UNION ALL
    SELECT o, 8, 'kratom route', 2, 'not reported', count(unit_key) FILTER (WHERE unit_key IS NOT NULL AND len(routes) = 0), NULL
    FROM profile_request LEFT JOIN profiled USING (o) GROUP BY o
    UNION ALL
    SELECT q.o, 9, 'kratom dose', m.i, m.measure, count(p.unit_key) FILTER (WHERE (len(p.doses) > 0) = m.given), NULL
    FROM profile_request AS q CROSS JOIN (VALUES (1, 'given', true), (2, 'not reported', false)) AS m(i, measure, given)
    LEFT JOIN profiled AS p USING (o) GROUP BY ALL
    UNION ALL
    SELECT o, 10, 'kratom dose as reported', 1, dose, count(*), NULL FROM (SELECT o, unnest(doses) AS dose FROM profiled) GROUP BY ALL
    UNION ALL
    SELECT q.o, 11, 'dechallenge (kratom stopped or reduced)', m.i, m.measure, count(p.unit_key) FILTER (WHERE p.dechallenge = m.measure), NULL
    FROM profile_request AS q CROSS JOIN (VALUES (1, 'positive'), (2, 'negative'), (3, 'not applicable'), (4, 'unknown')) AS m(i, measure)
    LEFT JOIN profiled AS p USING (o) GROUP BY ALL
    UNION ALL
    SELECT q.o, 12, 'rechallenge (kratom given again)', m.i, m.measure, count(p.unit_key) FILTER (WHERE p.rechallenge = m.measure), NULL
    FROM profile_request AS q CROSS JOIN (VALUES (1, 'positive'), (2, 'negative'), (3, 'unknown'), (4, 'not reported')) AS m(i, measure)
    LEFT JOIN profiled AS p USING (o) GROUP BY ALL
    UNION ALL
    SELECT q.o, 13, 'co-reported pigmenting drug', m.i, m.measure, count(p.unit_key) FILTER (WHERE (len(p.pigmenting_drugs) > 0) = m.present), NULL
    FROM profile_request AS q JOIN assessed AS a USING (o) CROSS JOIN (VALUES (1, 'present', true), (2, 'absent', false)) AS m(i, measure, present)
    LEFT JOIN profiled AS p USING (o)
    WHERE a.pigmenting_applies GROUP BY ALL
    UNION ALL
    SELECT o, 13, 'co-reported pigmenting drug', 3, drug, count(*), NULL
    FROM (SELECT o, unnest(pigmenting_drugs) AS drug FROM profiled) JOIN assessed USING (o) WHERE pigmenting_applies GROUP BY ALL
    UNION ALL
    SELECT o, 13, 'co-reported pigmenting drug', 1, 'not assessed: no list of drugs known to cause this reaction', NULL, NULL
    FROM assessed WHERE NOT pigmenting_applies
)
SELECT q.label AS profile, m.section, m.measure, m.n AS reports, CASE WHEN m.n IS NOT NULL THEN t.term_reports END AS term_reports,
       round(100.0 * m.n / t.term_reports, 1) AS pct_of_term_reports,
       round(100 * wilson_low(m.n, t.term_reports), 1) AS ci95_low, round(100 * wilson_high(m.n, t.term_reports), 1) AS ci95_high,
       round(m.days, 1) AS days
FROM measures AS m
JOIN profile_request AS q USING (o)
JOIN totals AS t USING (o)
ORDER BY q.o, m.s, m.i, m.n DESC NULLS LAST, m.measure;
