-- _scope: the reports and reactions every table counts, after the filters. Not a table
-- itself (names starting with "_" are not listed); run before every query.
--
-- Counting rules (the same in README.md "Counting rules"):
--   * the unit is the report (unit = 'report', the default): one row of `reports`, the latest
--     version of a FAERS report; with unit = 'case' it is the probable case: reports grouped
--     as duplicates of one patient's event (reports.case_id, decided at fetch time by the rules
--     of ingest/sql/case_pairs.sql and ingest/cases.py; no case holds two reports that
--     contradict on sex, age, country or event date), each counted once; a case is a
--     probable duplicate judged by rules, not a verified patient;
--   * with unit = 'case', a case is in scope when any of its reports is (after the filters); its
--     sex, age, country, reporter, dates and source are those of its representative report,
--     the in-scope report received last (ties: the highest report_id); its seriousness
--     criteria, terms, outcomes and products are those of any of its in-scope reports; a
--     table's columns then say cases where they say reports (queries/library.py unit_names);
--   * the signals background (c, d) always counts reports: openFDA's counts with every kratom
--     report in scope taken out, whatever the unit of a and b;
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
-- top (INTEGER or NULL), unit ('report' or 'case').

-- The filters as they were when the scope was made, so that every scope table and view keeps
-- them even if a session variable changes later on the same connection.
CREATE OR REPLACE TEMP TABLE scope_filters AS
SELECT getvariable('source') AS source, getvariable('since') AS since, getvariable('until') AS until,
       getvariable('serious') AS serious, getvariable('role') AS role;

-- Whether a report passes the filters `f` (a row of scope_filters); one definition for
-- scope_members and scope_reports.
CREATE OR REPLACE TEMP MACRO passes_filters(source, received_date, is_serious, is_kratom_report, is_kratom_suspect_report, f) AS
    (f.source = 'all' OR source = f.source)
    AND (f.since IS NULL OR received_date >= f.since)
    AND (f.until IS NULL OR received_date <= f.until)
    AND (NOT f.serious OR is_serious IS TRUE)
    -- the kratom decisions, made per product at ingest (ingest/sql/faers_page.sql, caers_page.sql)
    AND CASE f.role WHEN 'suspect' THEN is_kratom_suspect_report ELSE is_kratom_report END;

-- The reports that pass the filters, each with the key of the unit it counts in (unit_key):
-- its own report_key, or with unit = 'case' the report_key of its case's representative.
CREATE OR REPLACE TEMP TABLE scope_members AS
WITH passing AS (
    SELECT r.report_key, r.case_id, r.received_date, r.report_id
    FROM reports AS r CROSS JOIN scope_filters AS f
    WHERE passes_filters(r.source, r.received_date, r.is_serious, r.is_kratom_report, r.is_kratom_suspect_report, f)
)
SELECT report_key, report_key AS unit_key FROM passing WHERE getvariable('unit') = 'report'
UNION ALL
SELECT report_key, first_value(report_key) OVER (PARTITION BY case_id ORDER BY received_date DESC NULLS LAST, report_id DESC) AS unit_key
FROM passing WHERE getvariable('unit') = 'case';

-- The units in scope, one row each with every `reports` column: the reports themselves, or
-- with unit = 'case' each case's representative report with the seriousness criteria and
-- outcomes of any of its in-scope reports (kratom the only product when it is on all of them). A view: each table reads only what it needs.
-- (The reports themselves are read with the filters, not joined to scope_members: the same
-- rows, five times faster.)
CREATE OR REPLACE TEMP VIEW scope_reports AS
SELECT r.* FROM reports AS r CROSS JOIN scope_filters AS f
WHERE getvariable('unit') = 'report' AND passes_filters(r.source, r.received_date, r.is_serious, r.is_kratom_report, r.is_kratom_suspect_report, f)
UNION ALL
SELECT r.* REPLACE (c.is_serious AS is_serious, c.serious_death AS serious_death, c.serious_life_threatening AS serious_life_threatening,
                    c.serious_hospitalization AS serious_hospitalization, c.serious_disabling AS serious_disabling,
                    c.serious_congenital_anomaly AS serious_congenital_anomaly, c.serious_other AS serious_other, c.outcomes AS outcomes,
                    c.is_kratom_only_report AS is_kratom_only_report)
FROM reports AS r
JOIN (
    SELECT m.unit_key, bool_or(x.is_serious) AS is_serious, bool_or(x.serious_death) AS serious_death,
           bool_or(x.serious_life_threatening) AS serious_life_threatening, bool_or(x.serious_hospitalization) AS serious_hospitalization,
           bool_or(x.serious_disabling) AS serious_disabling, bool_or(x.serious_congenital_anomaly) AS serious_congenital_anomaly,
           bool_or(x.serious_other) AS serious_other,
           CASE WHEN bool_or(x.outcomes IS NOT NULL) THEN list_sort(list_distinct(flatten(list(coalesce(x.outcomes, []))))) END AS outcomes,
           bool_and(x.is_kratom_only_report) AS is_kratom_only_report
    FROM scope_members AS m JOIN reports AS x USING (report_key)
    WHERE getvariable('unit') = 'case'
    GROUP BY m.unit_key
) AS c ON c.unit_key = r.report_key;

-- One row per unit and MedDRA term in scope, by term key (reactions.is_first_mention marks one
-- row per report and term, decided once at fetch time; a case names the terms of any of its
-- reports). Its report_key is the unit's: join it to scope_reports by report_key. A view, like
-- scope_reports: made as a table it cost every command 0.37 s at 1M reports, read or not; a
-- table that reads it more than once materializes what it needs (summary.sql).
CREATE OR REPLACE TEMP VIEW scope_reactions AS
SELECT x.source, m.unit_key AS report_key, x.reaction_pt
FROM reactions AS x JOIN scope_members AS m USING (report_key)
WHERE x.is_first_mention AND getvariable('unit') = 'report'
UNION ALL
SELECT DISTINCT x.source, m.unit_key, x.reaction_pt
FROM reactions AS x JOIN scope_members AS m USING (report_key)
WHERE x.is_first_mention AND getvariable('unit') = 'case';

-- One row per unit, product (normalized name) and kratom decision, with whether it was named
-- suspect or interacting on any of the unit's reports (products.is_first_mention and
-- named_as_suspect, decided at fetch time).
CREATE OR REPLACE TEMP VIEW scope_products AS
SELECT p.source, m.unit_key AS report_key, p.product_name_normalized, p.is_kratom, p.named_as_suspect
FROM products AS p JOIN scope_members AS m USING (report_key)
WHERE p.is_first_mention AND getvariable('unit') = 'report'
UNION ALL
SELECT p.source, m.unit_key, p.product_name_normalized, p.is_kratom, bool_or(p.named_as_suspect)
FROM products AS p JOIN scope_members AS m USING (report_key)
WHERE p.is_first_mention AND getvariable('unit') = 'case'
GROUP BY ALL;

-- One row per unit, active ingredient and kratom decision, with whether a product with it was
-- named suspect or interacting on any of the unit's reports (product_ingredients.is_first_mention
-- and named_as_suspect, decided at fetch time).
CREATE OR REPLACE TEMP VIEW scope_ingredients AS
SELECT i.source, m.unit_key AS report_key, i.ingredient, i.is_kratom, i.named_as_suspect
FROM product_ingredients AS i JOIN scope_members AS m USING (report_key)
WHERE i.is_first_mention AND getvariable('unit') = 'report'
UNION ALL
SELECT i.source, m.unit_key, i.ingredient, i.is_kratom, bool_or(i.named_as_suspect)
FROM product_ingredients AS i JOIN scope_members AS m USING (report_key)
WHERE i.is_first_mention AND getvariable('unit') = 'case'
GROUP BY ALL;

-- One row per unit and FAERS reaction outcome (reactions.is_first_outcome, decided at fetch time).
CREATE OR REPLACE TEMP VIEW scope_reaction_outcomes AS
SELECT x.source, m.unit_key AS report_key, x.reaction_outcome
FROM reactions AS x JOIN scope_members AS m USING (report_key)
WHERE x.is_first_outcome AND getvariable('unit') = 'report'
UNION ALL
SELECT DISTINCT x.source, m.unit_key, x.reaction_outcome
FROM reactions AS x JOIN scope_members AS m USING (report_key)
WHERE x.is_first_outcome AND getvariable('unit') = 'case';

-- What the tables count, in words: 'kratom reports' or 'probable cases'.
CREATE OR REPLACE TEMP MACRO unit_name() AS CASE getvariable('unit') WHEN 'case' THEN 'probable cases' ELSE 'kratom reports' END;

-- The number of units in scope: the denominator of every percentage.
-- scope_reports has one row per unit: a report, or a case's representative, which is itself in
-- scope (the member whose report_key is the unit_key). Counted from scope_members: counting
-- the view (a join) took 0.13 s at 1M reports.
CREATE OR REPLACE TEMP TABLE scope_total AS
SELECT count(*) AS reports FROM scope_members WHERE report_key = unit_key;

-- Age groups (age_band, age_band_order): queries/_age_bands.sql, loaded before this file.

-- The country of a report as one category: "United States (US)", or the value as reported
-- when it is no known country.
CREATE OR REPLACE TEMP MACRO country_category(country_code, country_name) AS
    CASE WHEN country_code IS NOT NULL THEN country_name || ' (' || country_code || ')' ELSE coalesce(country_name, 'not reported') END;
