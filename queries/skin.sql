-- name: skin
-- description: Skin and subcutaneous tissue disorders reported with kratom, pigmentation terms marked; the first row counts reports with any skin term, the second any pigmentation term, the third any hyperpigmentation term.
-- row: one skin term, after three rows for "any skin term", "any pigmentation term" and "any hyperpigmentation term" (the terms marked hyper, so neither hypopigmentation nor a discolouration that says no direction)
-- counts: reports (latest version) in scope naming the term, once per report whatever the spelling; pct_of_kratom_reports = reports / kratom reports in scope. Skin terms are the curated list queries/skin_terms.csv, or with a loaded MedDRA every term whose primary SOC is skin (see skin_basis).
-- columns: reaction_pt, is_pigmentation, reports, pct_of_kratom_reports, serious_reports, fatal_reports, skin_basis, pigmentation (hyper or hypo for a term that says which way, as marked in queries/skin_terms.csv, and hyper on the hyperpigmentation row; empty otherwise)
-- key: reaction_pt
-- parameters: source, since, until, role, serious, top, unit
WITH skin AS (
    SELECT x.report_key, x.reaction_pt, s.is_pigmentation, s.pigmentation, r.is_serious, r.serious_death
    FROM scope_reactions AS x
    JOIN skin_terms AS s USING (reaction_pt)
    JOIN scope_reports AS r USING (report_key)
),
per_report AS (
    SELECT report_key, bool_or(is_pigmentation) AS any_pigmentation, bool_or(pigmentation = 'hyper') AS any_hyperpigmentation, any_value(is_serious) AS is_serious, any_value(serious_death) AS serious_death
    FROM skin GROUP BY report_key
),
terms AS (
    SELECT reaction_pt, any_value(is_pigmentation) AS is_pigmentation, count(*) AS reports,
           count(*) FILTER (WHERE is_serious) AS serious_reports, count(*) FILTER (WHERE serious_death) AS fatal_reports
    FROM skin GROUP BY reaction_pt
    ORDER BY reports DESC, reaction_pt
    LIMIT coalesce(getvariable('top'), 1000000000)
),
rows AS (
    SELECT 1 AS o, '(any skin term)' AS reaction_pt, NULL::BOOLEAN AS is_pigmentation, count(*) AS reports,
           count(*) FILTER (WHERE is_serious) AS serious_reports, count(*) FILTER (WHERE serious_death) AS fatal_reports
    FROM per_report
    UNION ALL
    SELECT 2, '(any pigmentation term)', true, count(*), count(*) FILTER (WHERE is_serious), count(*) FILTER (WHERE serious_death)
    FROM per_report WHERE any_pigmentation
    UNION ALL
    SELECT 3, '(any hyperpigmentation term)', true, count(*), count(*) FILTER (WHERE is_serious), count(*) FILTER (WHERE serious_death)
    FROM per_report WHERE any_hyperpigmentation
    UNION ALL
    SELECT 4, reaction_pt, is_pigmentation, reports, serious_reports, fatal_reports FROM terms
)
SELECT coalesce(l.label, r.reaction_pt) AS reaction_pt, r.is_pigmentation, reports,
       round(100.0 * reports / (SELECT reports FROM scope_total), 1) AS pct_of_kratom_reports,
       serious_reports, fatal_reports, (SELECT any_value(skin_basis) FROM skin_terms) AS skin_basis,
       CASE WHEN r.o = 3 THEN 'hyper' ELSE st.pigmentation END AS pigmentation
FROM rows AS r
LEFT JOIN term_labels AS l ON l.reaction_pt = r.reaction_pt AND r.o = 4
LEFT JOIN skin_terms AS st ON st.reaction_pt = r.reaction_pt AND r.o = 4
ORDER BY o, reports DESC, r.reaction_pt;
