-- name: summary
-- description: Overview of the kratom reports in scope: sources, dates, sex, age, seriousness, deaths, hospitalisations, kratom as the only product, the ten most reported reactions, skin disorders.
-- row: one measure
-- counts: reports (latest version) in scope, or with --unit case probable cases (the first two rows give both: N reports, M probable cases); pct_of_kratom_reports = reports (or cases) / all kratom reports (or cases) in scope. Age statistics are over reports with an exact age; ages given only as a decade are counted apart and banded only when the whole decade lies in one age group. Terms in any spelling count as one.
-- columns: section, measure, reports (count), value (mean or median age, years), detail (dates), pct_of_kratom_reports
-- key: section, measure
-- parameters: source, since, until, role, serious, unit
-- scope_reports is a view (a join): the columns the rows below count are read from it once
-- (units), not once per row, which took 2.7 s on 1M reports.
WITH total AS (SELECT reports AS n FROM scope_total),
units AS MATERIALIZED (
    SELECT source, received_date, sex, age_years, age_decade, is_serious, serious_death, serious_life_threatening, serious_hospitalization,
           serious_disabling, serious_congenital_anomaly, serious_other, is_kratom_only_report
    FROM scope_reports
),
age AS (SELECT age_years FROM units WHERE age_years IS NOT NULL),
bands AS (
    SELECT age_band(age_years, age_decade) AS band, age_years IS NULL AND age_decade IS NOT NULL AS is_decade
    FROM units
),
-- scope_reactions is a view (a join) too, read three times below.
terms AS MATERIALIZED (SELECT report_key, reaction_pt FROM scope_reactions),
top_reactions AS (
    SELECT coalesce(l.label, x.reaction_pt) AS reaction_pt, count(*) AS reports
    FROM terms AS x LEFT JOIN term_labels AS l USING (reaction_pt)
    GROUP BY ALL
    ORDER BY reports DESC, reaction_pt LIMIT 10
),
skin AS (SELECT DISTINCT report_key FROM terms JOIN skin_terms USING (reaction_pt)),
pigment AS (SELECT DISTINCT report_key FROM terms JOIN skin_terms USING (reaction_pt) WHERE is_pigmentation),
rows AS (
    SELECT 1 AS o, 'reports' AS section, 'kratom reports' AS measure, (SELECT count(*) FROM scope_members) AS reports, NULL::DOUBLE AS value,
           'reports in scope, whatever the unit' AS detail
    UNION ALL SELECT 2, 'reports', 'probable cases', count(DISTINCT r.case_id), NULL, 'the reports above, duplicates grouped (docs/methods.md "Probable cases")'
        FROM scope_members AS m JOIN reports AS r USING (report_key)
    UNION ALL SELECT 3, 'reports', unit_name() || ', FAERS', count(*) FILTER (WHERE source = 'faers'), NULL, NULL FROM units
    UNION ALL SELECT 4, 'reports', unit_name() || ', CAERS', count(*) FILTER (WHERE source = 'caers'), NULL, NULL FROM units
    UNION ALL SELECT 5, 'reports', 'received dates', count(received_date), NULL, strftime(min(received_date), '%Y-%m-%d') || ' to ' || strftime(max(received_date), '%Y-%m-%d') FROM units
    UNION ALL SELECT 10, 'sex', 'female', count(*) FILTER (WHERE sex = 'female'), NULL, NULL FROM units
    UNION ALL SELECT 11, 'sex', 'male', count(*) FILTER (WHERE sex = 'male'), NULL, NULL FROM units
    UNION ALL SELECT 12, 'sex', 'unknown or not reported', count(*) FILTER (WHERE sex IS NULL OR sex = 'unknown'), NULL, NULL FROM units
    UNION ALL SELECT 20, 'age', 'reports with an exact age', count(*), NULL, NULL FROM age
    UNION ALL SELECT 21, 'age', 'mean age (years)', NULL, round(avg(age_years), 1), 'of the reports with an exact age' FROM age
    UNION ALL SELECT 22, 'age', 'median age (years)', NULL, round(median(age_years), 1), 'of the reports with an exact age' FROM age
    UNION ALL SELECT 23, 'age', 'ages given only as a decade', count(*) FILTER (WHERE is_decade), NULL,
        'not in the mean or median; in an age group when the whole decade lies in it (' || count(*) FILTER (WHERE is_decade AND band <> 'decade spanning two groups')
        || '), else under "decade spanning two groups" (' || count(*) FILTER (WHERE band = 'decade spanning two groups') || ')' FROM bands
    UNION ALL SELECT 23 + age_band_order(band), 'age group', band, count(*), NULL, NULL FROM bands GROUP BY band
    UNION ALL SELECT 40, 'seriousness', 'serious reports', count(*) FILTER (WHERE is_serious), NULL, NULL FROM units
    UNION ALL SELECT 41, 'seriousness', 'death', count(*) FILTER (WHERE serious_death), NULL, NULL FROM units
    UNION ALL SELECT 42, 'seriousness', 'life threatening', count(*) FILTER (WHERE serious_life_threatening), NULL, NULL FROM units
    UNION ALL SELECT 43, 'seriousness', 'hospitalisation', count(*) FILTER (WHERE serious_hospitalization), NULL, NULL FROM units
    UNION ALL SELECT 44, 'seriousness', 'disabling', count(*) FILTER (WHERE serious_disabling), NULL, NULL FROM units
    UNION ALL SELECT 45, 'seriousness', 'congenital anomaly', count(*) FILTER (WHERE serious_congenital_anomaly), NULL, NULL FROM units
    UNION ALL SELECT 46, 'seriousness', 'other serious', count(*) FILTER (WHERE serious_other), NULL, NULL FROM units
    UNION ALL SELECT 47, 'seriousness', 'seriousness not reported', count(*) FILTER (WHERE is_serious IS NULL), NULL, NULL FROM units
    UNION ALL SELECT 50, 'products', 'kratom the only product', count(*) FILTER (WHERE is_kratom_only_report), NULL, NULL FROM units
    UNION ALL SELECT 60 + row_number() OVER (ORDER BY reports DESC, reaction_pt), 'top reactions', reaction_pt, reports, NULL, NULL FROM top_reactions
    UNION ALL SELECT 80, 'skin', 'reports with a skin disorder', count(*), NULL, (SELECT any_value(skin_basis) FROM skin_terms) FROM skin
    UNION ALL SELECT 81, 'skin', 'reports with a pigmentation term', count(*), NULL, NULL FROM pigment
)
SELECT section, measure, reports, value, detail,
       CASE WHEN reports IS NOT NULL AND section <> 'reports' OR o IN (3, 4) THEN round(100.0 * reports / nullif((SELECT n FROM total), 0), 1) END AS pct_of_kratom_reports
FROM rows
ORDER BY o;
