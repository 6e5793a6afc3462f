-- name: demographics
-- description: Who the patients and reporters are: sex, age group, reporter qualification and country of the kratom reports.
-- row: one category of one characteristic
-- counts: reports (latest version) in scope; pct_of_kratom_reports = reports / kratom reports in scope (each characteristic adds up to 100). Age groups are bands of age_years (an age given only as a decade is banded only when the whole decade lies in one group, else "decade spanning two groups"); country is ISO 3166 from occurcountry, else the reporter's country, names and codes alike ("United States", "UNITED STATES" and "US" are one), an unknown value as reported; reporter qualification and country exist in FAERS only, so CAERS reports count as "not reported" there.
-- columns: characteristic, category, reports, pct_of_kratom_reports
-- key: characteristic, category
-- parameters: source, since, until, role, serious, unit
-- scope_reports is a view (a join): its columns are read once (units), not once per
-- characteristic.
WITH units AS MATERIALIZED (
    SELECT sex, age_years, age_decade, reporter_qualification, country_code, country_name FROM scope_reports
),
described AS (
    SELECT 1 AS o, 'sex' AS characteristic, coalesce(sex, 'not reported') AS category FROM units
    UNION ALL
    SELECT 2, 'age group', age_band(age_years, age_decade) FROM units
    UNION ALL
    SELECT 3, 'reporter qualification', coalesce(reporter_qualification, 'not reported') FROM units
    UNION ALL
    SELECT 4, 'country', country_category(country_code, country_name) FROM units
)
SELECT characteristic, category, count(*) AS reports,
       round(100.0 * count(*) / (SELECT reports FROM scope_total), 1) AS pct_of_kratom_reports
FROM described
GROUP BY o, characteristic, category
ORDER BY o,
         CASE WHEN characteristic = 'age group' THEN age_band_order(category) END,
         category IN ('not reported', 'unknown'), reports DESC, category;
