-- faers_problems: the FAERS records of `page_faers` (faers_read.sql) that break a rule for
-- malformed records (docs/schema.md "Malformed records"): one row per record and broken rule in
-- `page_problems`, kept in stage_problems. A record whose safetyreportid is not one value
-- cannot be stored: it is taken out of `page_faers`. Runs before faers_page.sql.
-- Each json_* call parses a record again, so only suspects are checked: the records whose
-- typed fields show what a broken rule leaves behind (faers_parse.sql says which).
CREATE OR REPLACE TEMP TABLE page_problems AS
WITH suspects AS (
    SELECT stage_seq, record FROM page_faers WHERE record IS NOT NULL  -- faers_parse.sql keeps the text of suspects only
), kinds AS (
    SELECT stage_seq, record,
           json_type(record, ['$.safetyreportid', '$.safetyreportversion', '$.patient', '$.patient.drug', '$.patient.reaction']) AS t,
           json_extract_string(record, '$.safetyreportversion') AS version,
           stray_kind(json_type(record, '$.patient.drug[*]'), ['OBJECT', 'NULL']) AS stray_drug
    FROM suspects
), found AS (
    SELECT stage_seq, record, t, [
        CASE WHEN t[1] IN ('ARRAY', 'OBJECT', 'BOOLEAN') THEN 'safetyreportid is ' || json_kind(t[1]) || ', not one value (record not stored)' END,
        CASE WHEN t[2] <> 'NULL' AND report_version(version) IS NULL
             THEN 'safetyreportversion ' || shown(json_extract(record, '$.safetyreportversion')::VARCHAR) || ' is not a whole number from 0 to 2147483647 (stored as no version)' END,
        CASE WHEN t[3] NOT IN ('OBJECT', 'NULL') THEN 'patient is ' || json_kind(t[3]) || ', not an object (read as empty)' END,
        CASE WHEN t[4] NOT IN ('ARRAY', 'NULL') THEN 'patient.drug is ' || json_kind(t[4]) || ', not a list (read as no products)' END,
        CASE WHEN stray_drug IS NOT NULL THEN 'patient.drug holds ' || json_kind(stray_drug) || ', not only objects (read as a product without a name)' END,
        CASE WHEN t[5] NOT IN ('ARRAY', 'NULL') THEN 'patient.reaction is ' || json_kind(t[5]) || ', not a list (read as no reactions)' END
    ] AS checks
    FROM kinds
)
SELECT stage_seq, CASE WHEN is_scalar(t[1]) THEN clean(record ->> '$.safetyreportid') ELSE (record -> '$.safetyreportid')::VARCHAR END AS report_id,
       problem, t[1] IN ('ARRAY', 'OBJECT', 'BOOLEAN') AS rejected
FROM (SELECT stage_seq, record, t, unnest(list_filter(checks, lambda c: c IS NOT NULL)) AS problem FROM found);

INSERT INTO stage_problems SELECT 'faers', report_id, problem, NOT rejected FROM page_problems;
DELETE FROM page_faers WHERE stage_seq IN (SELECT stage_seq FROM page_problems WHERE rejected);
