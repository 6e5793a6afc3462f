-- _age_bands: the age groups of the tables, one definition for the kratom tables (run before
-- queries/_scope.sql) and the local background (queries/_local_background.sql).
-- Age groups of the tables: bands of age_years (ages are converted to years at ingest). An
-- age known only as a decade [d, d + 10) gets the band only when the whole decade lies in it.
CREATE OR REPLACE TEMP MACRO band_of(years) AS CASE
    WHEN years < 18 THEN 'under 18'
    WHEN years < 25 THEN '18-24'
    WHEN years < 35 THEN '25-34'
    WHEN years < 45 THEN '35-44'
    WHEN years < 55 THEN '45-54'
    WHEN years < 65 THEN '55-64'
    ELSE '65 and over'
END;
CREATE OR REPLACE TEMP MACRO age_band(age_years, age_decade) AS CASE
    WHEN age_years IS NOT NULL THEN band_of(age_years)
    WHEN age_decade IS NULL THEN 'unknown'
    WHEN band_of(age_decade) = band_of(age_decade + 9.999) THEN band_of(age_decade)
    ELSE 'decade spanning two groups'
END;
CREATE OR REPLACE TEMP MACRO age_band_order(band) AS
    list_position(['under 18', '18-24', '25-34', '35-44', '45-54', '55-64', '65 and over', 'decade spanning two groups', 'unknown'], band);
