-- shaping_macros: the one place where names, MedDRA terms and countries are normalised, and
-- small helpers for the page shaping SQL (faers_page.sql, caers_page.sql). Temporary macros,
-- so that read-only connections (the tables, meddra load, the terms file) can use them too;
-- ingest/terms.py asks these macros for the search forms of its terms instead of repeating them.
CREATE OR REPLACE TEMP MACRO clean(x) AS nullif(trim(x), '');
-- openFDA dates are YYYYMMDD strings; anything else (partial, malformed) is no date.
CREATE OR REPLACE TEMP MACRO openfda_date(x) AS CASE WHEN regexp_full_match(coalesce(x, ''), '[0-9]{8}') THEN try_strptime(x, '%Y%m%d')::DATE END;
-- FAERS seriousness flags are "1" when set and absent otherwise.
CREATE OR REPLACE TEMP MACRO flag(x) AS coalesce(trim(x) = '1', false);
-- A code as openFDA's lists write it ("048", "1"). openFDA sends codes as strings, but a value
-- can come as a JSON number (48, 1.0), which from_json reads into a VARCHAR field as its text:
-- a whole number is written without decimals and padded with zeros to the list's width.
CREATE OR REPLACE TEMP MACRO code(x, width) AS CASE
    WHEN regexp_full_match(trim(x), '[0-9]+(\.0*)?') THEN lpad(split_part(trim(x), '.', 1), greatest(width, length(split_part(trim(x), '.', 1)))::INTEGER, '0')
    ELSE clean(x) END;
-- A code's label from its list (a map of codes.sql's labels), else the code as reported: a
-- code outside the list is shown, not lost.
CREATE OR REPLACE TEMP MACRO labelled(labels, c) AS coalesce(map_extract_value(labels, c), c);
-- How much of a FAERS drug start or end date was written: 'day' (a whole YYYYMMDD, which
-- openfda_date reads), 'month' (YYYYMM) or 'year' (YYYY); NULL for anything else. The format
-- code beside the date (102, 610, 602) says the same of a well-formed record, and is kept as reported.
CREATE OR REPLACE TEMP MACRO date_precision(x) AS CASE
    WHEN openfda_date(trim(x)) IS NOT NULL THEN 'day'
    WHEN regexp_full_match(trim(x), '[0-9]{6}') AND try_strptime(trim(x), '%Y%m') IS NOT NULL THEN 'month'
    WHEN regexp_full_match(trim(x), '[0-9]{4}') AND trim(x) >= '1900' THEN 'year' END;
CREATE OR REPLACE TEMP MACRO number(x) AS CASE WHEN NOT isnan(try_cast(trim(x) AS DOUBLE)) THEN try_cast(trim(x) AS DOUBLE) END;
-- Age in years, rounded to 3 decimals; ages outside 0-120 years are data-entry errors (the
-- value as reported stays in age_reported).
CREATE OR REPLACE TEMP MACRO age_years(value, years_per_unit) AS
    CASE WHEN round(number(value) * years_per_unit, 3) BETWEEN 0 AND 120 THEN round(number(value) * years_per_unit, 3) END;
-- An age given in decades (FAERS unit 800) says only that the age lies in [10v, 10v + 10):
-- "4" is 40-49 years. It is kept as the decade's first year, never as an exact age.
CREATE OR REPLACE TEMP MACRO age_decade(value) AS
    CASE WHEN number(value) = floor(number(value)) AND number(value) BETWEEN 0 AND 11 THEN (10 * number(value))::INTEGER END;
-- CAERS age units are words: "year(s)", "Month(s)", "decade(s)" -> year, month, decade.
CREATE OR REPLACE TEMP MACRO caers_age_unit(unit) AS rtrim(trim(lower(split_part(unit, '(', 1))), 's');
-- A version out of INTEGER's range is no version (faers_problems.sql notes it), not an error.
CREATE OR REPLACE TEMP MACRO report_version(v) AS CASE WHEN regexp_full_match(trim(v), '[0-9]+') THEN try_cast(trim(v) AS INTEGER) END;
-- FAERS puts the case event date in patient.summary.narrativeincludeclinical
-- ("CASE EVENT DATE: 20190412"); the date as written (8, 6 or 4 digits) is kept, and only a
-- whole YYYYMMDD becomes event_date.
CREATE OR REPLACE TEMP MACRO narrative_event_date(narrative) AS
    nullif(regexp_extract(coalesce(narrative, ''), 'CASE EVENT DATE:\s*([0-9]+)', 1), '');

-- Names for matching and grouping. squeeze: letters and digits only, upper case.
-- normalize_name: upper case, dots and apostrophes dropped, other punctuation as spaces,
-- spaces collapsed ("O.P.M.S. Kratom" -> "OPMS KRATOM").
CREATE OR REPLACE TEMP MACRO squeeze(x) AS regexp_replace(upper(x), '[^A-Z0-9]', '', 'g');
CREATE OR REPLACE TEMP MACRO normalize_name(x) AS nullif(trim(regexp_replace(regexp_replace(upper(x), '[.''`’]', '', 'g'), '[^A-Z0-9]+', ' ', 'g')), '');

-- The key of a MedDRA term: one term, whatever its spelling. openFDA writes a term in upper
-- case in AERS-era reports ("DRUG DEPENDENCE"), in sentence case in FAERS-era ones ("Drug
-- dependence"), and an apostrophe as a caret ("CROHN^S DISEASE"); MedDRA writes "Crohn's
-- disease". The key is upper case, with every apostrophe-like character (^ ’ ‘ ` ´) as ',
-- and runs of white space as one space: "CROHN'S DISEASE".
CREATE OR REPLACE TEMP MACRO term_key(x) AS
    nullif(upper(trim(regexp_replace(regexp_replace(x, '[\^’‘`´]', '''', 'g'), '\s+', ' ', 'g'))), '');

-- The key of a country as reported: upper case, spaces collapsed ("United States",
-- "UNITED STATES" and "US" all have keys that ingest/countries.py maps to ISO 3166 "US").
CREATE OR REPLACE TEMP MACRO country_key(x) AS nullif(upper(trim(regexp_replace(x, '\s+', ' ', 'g'))), '');

-- A value the case rules compare, as 32 bytes whatever its length (case_pairs.sql,
-- case_facts_of_page in staging.sql): equal digests are taken for equal values. SHA-256, not
-- DuckDB's 64-bit hash(): two drug sets sharing a hash would join two patients into one case,
-- and 64-bit hashes collide by chance (about once in 40 million fetches of a million reports)
-- or by design; no two values with one SHA-256 digest are known.
CREATE OR REPLACE TEMP MACRO digest(x) AS unhex(sha256(x));

-- The key of a literature reference, for finding one article cited several ways (docs/methods.md
-- "Probable cases" lists the steps and why): accents stripped and lower case ("Müller" =
-- "MULLER"); a DOI, URL or PubMed id left out (one company cites them, another does not); "&"
-- read as "and"; letters compared without the spaces and punctuation between them ("long-term"
-- = "long term" = "longterm", "J. Clin." = "J Clin"), numbers kept apart from each other and
-- from words ("10(3):123" is "10 3 123", never "103123", which "10(31):23" would also give).
-- A value with fewer than 20 letters and digits or no year (19xx, 20xx) names no article
-- ("UNK", "Case report", "Not applicable") and has no key: it links nothing.
CREATE OR REPLACE TEMP MACRO reference_words(x) AS
    trim(regexp_replace(regexp_replace(regexp_replace(
        strip_accents(lower(x)),
        '(https?://|www\.)\S*|\bdoi\b\s*:?\s*10\.\S*|\b10\.[0-9]{4,9}/\S*|\bpmc?id\b\s*:?\s*(pmc)?[0-9]+', ' ', 'g'),
        '&', ' and ', 'g'),
        '[^\pL\pN]+', ' ', 'g'));
CREATE OR REPLACE TEMP MACRO reference_joined(words) AS
    replace(replace(regexp_replace(regexp_replace(words, '(\pN) ', '\1|', 'g'), ' (\pN)', '|\1', 'g'), ' ', ''), '|', ' ');
CREATE OR REPLACE TEMP MACRO reference_key(x) AS
    CASE WHEN length(replace(reference_joined(reference_words(x)), ' ', '')) >= 20
              AND regexp_matches(reference_joined(reference_words(x)), '(^| )(19|20)[0-9]{2}( |$)')
         THEN reference_joined(reference_words(x)) END;
