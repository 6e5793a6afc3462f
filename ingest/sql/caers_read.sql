-- caers_read: the CAERS (food/event) records in `page` (stage_seq, record) parsed into
-- `page_caers`, with the fields kratom-ae reads typed (r). from_json is lenient: a field of
-- another JSON kind than expected is read as NULL (or, for a string field, as its JSON text),
-- which caers_problems.sql then names. Runs first; caers_page.sql shapes page_caers.
CREATE OR REPLACE TEMP TABLE page_caers AS
SELECT stage_seq, record, r, clean(r.report_number) AS report_id,
       coalesce(list_filter(list_transform(r.outcomes, lambda o: clean(o)), lambda o: o IS NOT NULL), []) AS outcomes
FROM (
    SELECT stage_seq, record, from_json(record, '{
        "report_number": "VARCHAR", "date_created": "VARCHAR", "date_started": "VARCHAR",
        "outcomes": ["VARCHAR"], "reactions": ["VARCHAR"],
        "consumer": {"age": "VARCHAR", "age_unit": "VARCHAR", "gender": "VARCHAR"},
        "products": [{"role": "VARCHAR", "name_brand": "VARCHAR", "industry_name": "VARCHAR"}]}') AS r
    FROM page
);
