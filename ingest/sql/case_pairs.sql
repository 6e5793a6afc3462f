-- case_pairs: pairs of reports of one source that are probably one case, with the rule that
-- links them and its detail, and each report's facts that can contradict another's
-- (case_facts). ingest/cases.py joins the pairs into cases, strongest rule first, and leaves
-- out every link that would put two contradicting reports into one case (docs/methods.md
-- "Probable cases"). Variable: source.
-- Rules, in the order they are tried (rule_order):
--   1. the same company number (FAERS companynumb);
--   2. a reportduplicate.duplicatenumb that names another report's company number;
--   3. the same literature reference (reference_key in shaping_macros.sql);
--   4. demographic-clinical (after FDA's advice, as in the FAERS literature): the same set of
--      drugs and the same set of reactions (both non-empty), and of the fields sex, age,
--      country, event date, drug start dates and indications all agree or all but one (a
--      differing sex, age, country or event date is a contradiction: cases.py drops it); CAERS
--      has only sex, age and event date of these, and there all three must agree: two common
--      values (male, 35) are too little to call two reports one patient.
--      A missing value never counts as agreement.
-- No rule here checks contradictions: cases.py does, for every rule alike, on the facts below.
-- Two reports contradict when both give a value and the values cannot be one patient's:
--   sex: female against male ("unknown" is no value);
--   age: the completed years of an exact age (any unit: 426 months is 35) or a decade's ten
--        years, as [age_lo, age_hi] whole years, do not overlap (34 against 35, 27 against the 40s);
--   country: two different ISO codes (a value that is no known country contradicts nothing);
--   event date: as written, at its own precision (a day, a month YYYYMM or a year YYYY), as
--        [event_lo, event_hi], do not overlap (2020 agrees with 20200315, not with 2021).
-- Every value compared is a digest of 32 bytes (digest in shaping_macros.sql): the pairs are
-- found by self-joins in the publish's 128 MB, and the values themselves are free text of any
-- length (a company number or literature reference of 5 MB ran it out of memory). The sets of
-- drugs, start dates, indications and reactions were digested as each page was shaped
-- (stage_case_facts in staging.sql, read from the fetch's files by the report's stage_seq
-- through publish.sql's winners). A detail quoting a value quotes at most its first 100
-- characters.
-- Variables: source, stage_case_facts (the files).
-- The event date as written, if it is a day, a month or a year; a written date that is no date
-- (20191345, seven digits) contradicts nothing.
CREATE OR REPLACE TEMP MACRO written_event(x) AS CASE WHEN regexp_full_match(coalesce(trim(x), ''), '[0-9]{4}|[0-9]{6}|[0-9]{8}') THEN trim(x) END;
CREATE OR REPLACE TEMP MACRO event_start(x) AS
    try_strptime(written_event(x) || CASE length(written_event(x)) WHEN 8 THEN '' WHEN 6 THEN '01' ELSE '0101' END, '%Y%m%d')::DATE;
CREATE OR REPLACE TEMP MACRO event_end(x) AS
    CASE length(written_event(x)) WHEN 8 THEN event_start(x) WHEN 6 THEN last_day(event_start(x))
                                  WHEN 4 THEN (event_start(x) + INTERVAL 1 YEAR - INTERVAL 1 DAY)::DATE END;
CREATE OR REPLACE TEMP MACRO shortened(x) AS CASE WHEN length(x) > 100 THEN left(x, 100) || '...' ELSE x END;
CREATE OR REPLACE TEMP TABLE case_facts AS
SELECT r.report_key, r.report_id,
       CASE WHEN r.sex IN ('female', 'male') THEN r.sex END AS sex,  -- "unknown" is no value
       CASE WHEN r.age_years IS NOT NULL THEN 'y' || round(r.age_years, 1) WHEN r.age_decade IS NOT NULL THEN 'd' || r.age_decade END AS age,
       digest(coalesce(r.country_code, r.country_name)) AS country_digest,  -- a name not mapped is as reported
       r.event_date,
       floor(coalesce(r.age_years, r.age_decade))::INTEGER AS age_lo,
       floor(coalesce(r.age_years, r.age_decade))::INTEGER + CASE WHEN r.age_years IS NOT NULL THEN 0 ELSE 9 END AS age_hi,
       r.country_code,
       event_start(r.event_date_reported) AS event_lo, event_end(r.event_date_reported) AS event_hi,
       digest(r.company_number) AS company_number_digest, shortened(r.company_number) AS company_number_shown,
       digest(r.duplicate_number) AS duplicate_number_digest, shortened(r.duplicate_number) AS duplicate_number_shown,
       digest(reference_key(r.literature_reference)) AS reference_digest, shortened(r.literature_reference) AS reference_shown,
       f.drug_set_digest, f.reaction_set_digest, f.start_dates_digest, f.indications_digest
FROM reports AS r
JOIN winners AS w USING (report_key)
LEFT JOIN read_parquet(getvariable('stage_case_facts')) AS f USING (stage_seq)
WHERE r.source = getvariable('source');

CREATE OR REPLACE TEMP MACRO agrees(x, y) AS coalesce(x = y, false);

CREATE OR REPLACE TEMP TABLE case_pairs AS
-- 1: each report with a company number is linked to the first report (by id) with that number.
SELECT report_key AS a, first_key AS b, 1 AS rule_order, 'same company number' AS rule, company_number_shown AS detail
FROM (SELECT report_key, company_number_shown, first_value(report_key) OVER w AS first_key
      FROM case_facts WHERE company_number_digest IS NOT NULL
      WINDOW w AS (PARTITION BY company_number_digest ORDER BY report_id))
WHERE report_key <> first_key
UNION ALL
-- 2: a duplicate number naming another report's company number.
SELECT a.report_key, b.report_key, 2, 'duplicate number names the company number', a.duplicate_number_shown
FROM case_facts AS a JOIN case_facts AS b ON b.company_number_digest = a.duplicate_number_digest AND a.report_key <> b.report_key
UNION ALL
-- 3: the same literature reference (one article can describe several patients: cases.py
-- keeps those apart by the contradiction check).
SELECT a.report_key, b.report_key, 3, 'same literature reference', a.reference_shown
FROM case_facts AS a JOIN case_facts AS b ON a.reference_digest = b.reference_digest AND a.report_key > b.report_key
UNION ALL
-- 4: demographic-clinical. A pair that qualifies agrees on age or on event date (at most one
-- field may disagree), so only pairs agreeing on one of them are compared.
SELECT a, b, 4, 'demographic-clinical', 'same drugs and reactions; agree on ' || array_to_string(agreeing, ', ')
FROM (
    SELECT a.report_key AS a, b.report_key AS b,
           list_filter([CASE WHEN agrees(a.sex, b.sex) THEN 'sex' END, CASE WHEN agrees(a.age, b.age) THEN 'age' END,
                        CASE WHEN agrees(a.country_digest, b.country_digest) THEN 'country' END, CASE WHEN agrees(a.event_date, b.event_date) THEN 'event date' END,
                        CASE WHEN agrees(a.start_dates_digest, b.start_dates_digest) THEN 'drug start dates' END, CASE WHEN agrees(a.indications_digest, b.indications_digest) THEN 'indications' END],
                       lambda f: f IS NOT NULL) AS agreeing
    FROM case_facts AS a
    JOIN case_facts AS b ON a.drug_set_digest = b.drug_set_digest AND a.reaction_set_digest = b.reaction_set_digest AND a.report_key > b.report_key
        AND (a.age = b.age OR a.event_date = b.event_date)
)
WHERE len(agreeing) >= CASE getvariable('source') WHEN 'caers' THEN 3 ELSE 5 END;
