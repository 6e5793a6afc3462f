-- name: age_by_sex
-- description: Age groups of the kratom reports by the patient's sex.
-- row: one age group and sex
-- counts: reports (latest version) in scope; pct_of_kratom_reports = reports / kratom reports in scope (all rows add up to 100). Age groups as in demographics (an age given only as a decade is banded only when the whole decade lies in one group, else "decade spanning two groups"); sex is female, male, or unknown or not reported.
-- columns: age_group, sex, reports, pct_of_kratom_reports
-- key: age_group, sex
-- parameters: source, since, until, role, serious, unit
WITH described AS (
    SELECT age_band(age_years, age_decade) AS age_group,
           CASE WHEN sex IN ('female', 'male') THEN sex ELSE 'unknown or not reported' END AS sex
    FROM scope_reports
)
SELECT age_group, sex, count(*) AS reports,
       round(100.0 * count(*) / (SELECT reports FROM scope_total), 1) AS pct_of_kratom_reports
FROM described
GROUP BY age_group, sex
ORDER BY age_band_order(age_group), list_position(['female', 'male', 'unknown or not reported'], sex);
