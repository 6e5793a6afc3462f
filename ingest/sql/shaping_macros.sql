-- shaping_macros: small helpers for the page shaping SQL (faers_page.sql, caers_page.sql).
CREATE OR REPLACE MACRO clean(x) AS nullif(trim(x), '');
-- openFDA dates are YYYYMMDD strings; anything else (partial, malformed) is no date.
CREATE OR REPLACE MACRO openfda_date(x) AS CASE WHEN regexp_full_match(coalesce(x, ''), '[0-9]{8}') THEN try_strptime(x, '%Y%m%d')::DATE END;
-- FAERS seriousness flags are "1" when set and absent otherwise.
CREATE OR REPLACE MACRO flag(x) AS coalesce(trim(x) = '1', false);
CREATE OR REPLACE MACRO number(x) AS CASE WHEN NOT isnan(try_cast(trim(x) AS DOUBLE)) THEN try_cast(trim(x) AS DOUBLE) END;
-- Age in years, rounded to 3 decimals; ages outside 0-120 years are data-entry errors (the
-- value as reported stays in age_reported).
CREATE OR REPLACE MACRO age_years(value, years_per_unit) AS
    CASE WHEN round(number(value) * years_per_unit, 3) BETWEEN 0 AND 120 THEN round(number(value) * years_per_unit, 3) END;
-- A version out of INTEGER's range is no version (faers_problems.sql notes it), not an error.
CREATE OR REPLACE MACRO report_version(v) AS CASE WHEN regexp_full_match(trim(v), '[0-9]+') THEN try_cast(trim(v) AS INTEGER) END;
-- Names for matching and grouping. squeeze: letters and digits only, upper case.
-- normalize_name: upper case, dots and apostrophes dropped, other punctuation as spaces,
-- spaces collapsed ("O.P.M.S. Kratom" -> "OPMS KRATOM").
CREATE OR REPLACE MACRO squeeze(x) AS regexp_replace(upper(x), '[^A-Z0-9]', '', 'g');
CREATE OR REPLACE MACRO normalize_name(x) AS nullif(trim(regexp_replace(regexp_replace(upper(x), '[.''`’]', '', 'g'), '[^A-Z0-9]+', ' ', 'g')), '');
