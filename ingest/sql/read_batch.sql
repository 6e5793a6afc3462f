-- read_batch: the records of the pages of a batch (Parquet files written by staging.py's
-- reader, faers_parse.sql or caers_parse.sql) into `batch`, to be shaped together.
-- Variable: batch_files.
CREATE OR REPLACE TEMP TABLE batch AS
SELECT stage_seq, size, record, r FROM read_parquet(getvariable('batch_files'));
