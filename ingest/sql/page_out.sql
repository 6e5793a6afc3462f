-- page_out: the records just read (`page_records`, read_records.sql) numbered from the page's
-- first stage_seq, to a Parquet file for the shaper (staging.py): reading them back from it
-- costs the shaper a fraction of parsing the page's JSON again.
-- Variables: first_seq, records_file.
COPY (SELECT getvariable('first_seq') + pos - 1 AS stage_seq, record FROM page_records ORDER BY pos)
TO (getvariable('records_file')) (FORMAT parquet, COMPRESSION uncompressed);
