-- caers_read: the CAERS (food/event) records of the batch in `page` (stage_seq, size, record, r: parsed by
-- caers_parse.sql) into `page_caers`, with their ids. Runs first; caers_problems.sql then
-- checks them and caers_page.sql shapes them.
CREATE OR REPLACE TEMP TABLE page_caers AS
SELECT stage_seq, record, r, clean(r.report_number) AS report_id,
       coalesce(list_filter(list_transform(r.outcomes, lambda o: clean(o)), lambda o: o IS NOT NULL), []) AS outcomes
FROM page;
