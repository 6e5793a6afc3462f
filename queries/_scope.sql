-- _scope: the reports and reactions every table counts, after the filters. Not a table
-- itself (names starting with "_" are not listed); run before every query.
--
-- Counting rules (the same in README.md "Counting rules"):
--   * the unit is the report: one row of `reports`, the latest version of a FAERS report;
--   * a report is in scope when it is a kratom report (at least one product matched as
--     kratom) and passes the filters; with role = 'suspect', at least one kratom product must
--     be suspect or interacting (E2B drugcharacterization 1 or 3);
--   * a MedDRA term is one term whatever its spelling: reactions.reaction_pt is its key (upper
--     case, an apostrophe written ^ or ' alike, spaces collapsed), and every count, join and
--     lookup (skin list, MedDRA, background counts) uses that key; a term is shown in MedDRA's
--     spelling when a MedDRA release is loaded, else as its key;
--   * a report naming a term twice (in any spellings) counts once for that term;
--   * the country of a report is ISO 3166 (occurcountry, else the reporter's country, names and
--     codes alike); a value that is no known country is shown as reported;
--   * an age given only as a decade (FAERS unit 800: "4" is 40-49 years) is never an exact age:
--     it is left out of the mean and median, and counted in an age group only when the whole
--     decade lies in it (else in "decade spanning two groups");
--   * joins use report_key, the database's number for a report (one per source and report_id);
--   * percentages use the reports in scope as denominator unless a table says otherwise;
--   * reports with no received date are left out when --since or --until is given.
--
-- Session variables (set by queries/library.py): source ('faers', 'caers' or 'all'),
-- since and until (DATE or NULL), role ('suspect' or 'any'), serious (BOOLEAN),
-- top (INTEGER or NULL).

-- The reports in scope: a view, since filtering `reports` costs little and each table reads
-- only the columns it needs.
CREATE OR REPLACE TEMP VIEW scope_reports AS
SELECT r.*
FROM reports AS r
WHERE (getvariable('source') = 'all' OR r.source = getvariable('source'))
  AND (getvariable('since') IS NULL OR r.received_date >= getvariable('since'))
  AND (getvariable('until') IS NULL OR r.received_date <= getvariable('until'))
  AND (NOT getvariable('serious') OR r.is_serious IS TRUE)
  -- the kratom decisions, made per product at ingest (ingest/sql/faers_page.sql, caers_page.sql)
  AND CASE getvariable('role') WHEN 'suspect' THEN r.is_kratom_suspect_report ELSE r.is_kratom_report END;

-- One row per report and MedDRA term in scope (reactions.is_first_mention marks one row per
-- report and term, decided once at fetch time). A table, not a view: it takes a join to
-- make, and the tables read it up to three times. Join it to scope_reports by report_key.
CREATE OR REPLACE TEMP TABLE scope_reactions AS
SELECT x.source, x.report_key, x.reaction_pt
FROM reactions AS x
SEMI JOIN scope_reports AS r USING (report_key)
WHERE x.is_first_mention;

-- The number of reports in scope: the denominator of every percentage.
CREATE OR REPLACE TEMP TABLE scope_total AS
SELECT count(*) AS reports FROM scope_reports;

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

-- The country of a report as one category: "United States (US)", or the value as reported
-- when it is no known country.
CREATE OR REPLACE TEMP MACRO country_category(country_code, country_name) AS
    CASE WHEN country_code IS NOT NULL THEN country_name || ' (' || country_code || ')' ELSE coalesce(country_name, 'not reported') END;
