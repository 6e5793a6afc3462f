-- caers_parse: the CAERS (food/event) records just read by staging.py's reader (`page_records`,
-- read_records.sql), numbered from the page's first stage_seq and parsed, with the fields
-- kratom-ae reads typed (r), to a Parquet file for the shaper (caers_read.sql). Parsing here,
-- in the reader's thread, leaves the shaper's thread less to do: the two run side by side.
-- from_json is lenient: a field of another JSON kind than expected is read as NULL (or, for a
-- string field, as its JSON text), which caers_problems.sql then names.
-- Only suspects keep their JSON text (record, else NULL), for caers_problems.sql: records
-- whose typed fields show what a broken rule for malformed records leaves behind (an id or
-- version read as JSON text, a list read as NULL, a product with no name: from_json reads a
-- product that is not an object as one with every field NULL). Well-formed records are
-- rarely suspects. size is the record's length, for cutting a big batch in slices.
-- A big page is parsed in slices (record_slices.sql), each to its own file.
-- Variables: first_seq, records_file, low and high (the slice's first and last pos).
COPY (
    SELECT stage_seq, size, CASE WHEN
       left(r.report_number, 1) IN ('[', '{') OR r.report_number IN ('true', 'false')
           OR r.products IS NULL OR r.reactions IS NULL OR r.outcomes IS NULL
           OR (r.consumer.age IS NULL AND r.consumer.age_unit IS NULL AND r.consumer.gender IS NULL)
           OR list_bool_or(list_transform(r.products, lambda p: p.name_brand IS NULL))
    THEN record END AS record, r
    FROM (
    SELECT getvariable('first_seq') + pos - 1 AS stage_seq, length(record) AS size, record, from_json(record, '{
        "report_number": "VARCHAR", "date_created": "VARCHAR", "date_started": "VARCHAR",
        "outcomes": ["VARCHAR"], "reactions": ["VARCHAR"],
        "consumer": {"age": "VARCHAR", "age_unit": "VARCHAR", "gender": "VARCHAR"},
        "products": [{"role": "VARCHAR", "name_brand": "VARCHAR", "industry_name": "VARCHAR"}]}') AS r
    FROM page_records WHERE pos BETWEEN getvariable('low') AND getvariable('high')
    )
) TO (getvariable('records_file')) (FORMAT parquet, COMPRESSION uncompressed);
