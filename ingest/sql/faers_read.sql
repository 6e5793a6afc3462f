-- faers_read: the FAERS (drug/event) records of the batch in `page` (stage_seq, size, record, r: parsed by
-- faers_parse.sql) into `page_faers`, with their ids. Runs first; faers_problems.sql then
-- checks them and faers_page.sql shapes them.
CREATE OR REPLACE TEMP TABLE page_faers AS
SELECT stage_seq, record, r, clean(r.safetyreportid) AS report_id, report_version(r.safetyreportversion) AS report_version
FROM page;
