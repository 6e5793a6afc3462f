-- name: skin_outcomes
-- description: How each skin term itself turned out: the reaction outcome reported for that term (FAERS reactionoutcome), per skin term and for the pigmentation groups, hyperpigmentation apart from hypopigmentation.
-- row: one outcome of one skin term, after the group rows "(any skin term)", "(any pigmentation term)", "(any hyperpigmentation term)" and "(any hypopigmentation term)"
-- counts: reports (latest version) in scope naming the term (or a term of the group) whose rows for that term carry the outcome, once per report, term and outcome. The outcome is that term's own reactionoutcome, not the report's: recovered/resolved, recovering/resolving, not recovered/not resolved, recovered/resolved with sequelae, fatal, unknown, or not reported (AERS-era FAERS reports, and every CAERS report: CAERS has no outcome per reaction). A report whose rows for one term (or group) carry two outcomes counts under both, so a term's rows can add up to more than term_reports; reports_only_this_outcome counts the reports whose rows for the term carry this outcome and no other, reports_several_outcomes (the same on each row of a term) those whose rows carry two or more: the two partition term_reports (the sum of reports_only_this_outcome over a term's outcomes plus reports_several_outcomes is term_reports), which is what the report's figure draws. term_reports = reports naming the term (or any term of the group), the denominator of pct_of_term_reports. Combinations with no report are not listed. Skin terms as in the skin table; pigmentation (hyper or hypo) as marked in queries/skin_terms.csv.
-- columns: reaction_pt, pigmentation, outcome, reports, term_reports, pct_of_term_reports, reports_only_this_outcome, reports_several_outcomes, is_group (true on the four group rows)
-- key: reaction_pt, outcome
-- parameters: source, since, until, role, serious, top, unit
WITH outcomes AS (
    -- every reaction row, not only a report's first mention of a term: each row has its own outcome
    -- (with --unit case, the rows of all of a case's in-scope reports, under the case's key)
    SELECT DISTINCT m.unit_key AS report_key, x.reaction_pt, coalesce(x.reaction_outcome, 'not reported') AS outcome
    FROM reactions AS x
    JOIN scope_members AS m USING (report_key)
    WHERE x.reaction_pt IN (SELECT reaction_pt FROM skin_terms)
),
term_totals AS (
    SELECT reaction_pt, count(DISTINCT report_key) AS term_reports
    FROM outcomes GROUP BY reaction_pt
    ORDER BY term_reports DESC, reaction_pt
    LIMIT coalesce(getvariable('top'), 1000000000)
),
-- Which rows a term counts in: its own, and each group it belongs to.
members AS (
    SELECT 1 AS o, '(any skin term)' AS row_pt, NULL::VARCHAR AS pigmentation, reaction_pt FROM skin_terms
    UNION ALL SELECT 2, '(any pigmentation term)', NULL, reaction_pt FROM skin_terms WHERE is_pigmentation
    UNION ALL SELECT 3, '(any hyperpigmentation term)', 'hyper', reaction_pt FROM skin_terms WHERE pigmentation = 'hyper'
    UNION ALL SELECT 4, '(any hypopigmentation term)', 'hypo', reaction_pt FROM skin_terms WHERE pigmentation = 'hypo'
    UNION ALL SELECT 5, s.reaction_pt, s.pigmentation, s.reaction_pt FROM skin_terms AS s SEMI JOIN term_totals USING (reaction_pt)
),
-- Each report of each row with the outcomes its rows for the row's terms carry: the figure
-- needs to know which reports carry only one outcome, so that its shares add up to 100%.
per_report AS (
    SELECT m.o, m.row_pt, m.pigmentation, o.report_key, list(DISTINCT o.outcome) AS report_outcomes
    FROM outcomes AS o JOIN members AS m USING (reaction_pt)
    GROUP BY ALL
),
counted AS (
    SELECT o, row_pt, pigmentation, unnest(report_outcomes) AS outcome, len(report_outcomes) = 1 AS only_outcome
    FROM per_report
),
outcome_totals AS (
    SELECT o, row_pt, pigmentation, outcome, count(*) AS reports, count(*) FILTER (WHERE only_outcome) AS reports_only_this_outcome
    FROM counted GROUP BY ALL
),
row_totals AS (
    SELECT o, row_pt, count(*) AS term_reports, count(*) FILTER (WHERE len(report_outcomes) > 1) AS reports_several_outcomes
    FROM per_report GROUP BY ALL
)
SELECT coalesce(l.label, c.row_pt) AS reaction_pt, c.pigmentation, c.outcome, c.reports, t.term_reports,
       round(100.0 * c.reports / t.term_reports, 1) AS pct_of_term_reports, c.reports_only_this_outcome, t.reports_several_outcomes,
       c.o < 5 AS is_group
FROM outcome_totals AS c
JOIN row_totals AS t USING (o, row_pt)
LEFT JOIN term_labels AS l ON l.reaction_pt = c.row_pt AND c.o = 5
ORDER BY c.o, t.term_reports DESC, c.row_pt,
         list_position(['recovered/resolved', 'recovering/resolving', 'not recovered/not resolved', 'recovered/resolved with sequelae', 'fatal', 'unknown', 'not reported'], c.outcome);
