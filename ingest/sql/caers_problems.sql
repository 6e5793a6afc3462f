-- caers_problems: the CAERS records of `page_caers` (caers_read.sql) that break a rule for
-- malformed records (docs/schema.md "Malformed records"): one row per record and broken rule in
-- `page_problems`, kept in stage_problems. A record whose report_number is not one value
-- cannot be stored: it is taken out of `page_caers`. Runs before caers_page.sql.
-- Each json_* call parses a record again, so only suspects are checked: the records whose
-- typed fields show what a broken rule leaves behind (caers_parse.sql says which).
CREATE OR REPLACE TEMP TABLE page_problems AS
WITH suspects AS (
    SELECT stage_seq, record FROM page_caers WHERE record IS NOT NULL  -- caers_parse.sql keeps the text of suspects only
), kinds AS (
    SELECT stage_seq, record,
           json_type(record, ['$.report_number', '$.products', '$.reactions', '$.outcomes', '$.consumer']) AS t,
           stray_kind(json_type(record, '$.products[*]'), ['OBJECT', 'NULL']) AS stray_product
    FROM suspects
), found AS (
    SELECT stage_seq, record, t, [
        CASE WHEN t[1] IN ('ARRAY', 'OBJECT', 'BOOLEAN') THEN 'report_number is ' || json_kind(t[1]) || ', not one value (record not stored)' END,
        CASE WHEN t[2] NOT IN ('ARRAY', 'NULL') THEN 'products is ' || json_kind(t[2]) || ', not a list (read as no products)' END,
        CASE WHEN stray_product IS NOT NULL THEN 'products holds ' || json_kind(stray_product) || ', not only objects (read as a product without a name)' END,
        CASE WHEN t[3] NOT IN ('ARRAY', 'NULL') THEN 'reactions is ' || json_kind(t[3]) || ', not a list (read as no reactions)' END,
        CASE WHEN t[4] NOT IN ('ARRAY', 'NULL') THEN 'outcomes is ' || json_kind(t[4]) || ', not a list (read as no outcomes)' END,
        CASE WHEN t[5] NOT IN ('OBJECT', 'NULL') THEN 'consumer is ' || json_kind(t[5]) || ', not an object (read as empty)' END
    ] AS checks
    FROM kinds
)
SELECT stage_seq, CASE WHEN is_scalar(t[1]) THEN clean(record ->> '$.report_number') ELSE (record -> '$.report_number')::VARCHAR END AS report_id,
       problem, t[1] IN ('ARRAY', 'OBJECT', 'BOOLEAN') AS rejected
FROM (SELECT stage_seq, record, t, unnest(list_filter(checks, lambda c: c IS NOT NULL)) AS problem FROM found);

INSERT INTO stage_problems SELECT 'caers', report_id, problem, NOT rejected FROM page_problems;
DELETE FROM page_caers WHERE stage_seq IN (SELECT stage_seq FROM page_problems WHERE rejected);
