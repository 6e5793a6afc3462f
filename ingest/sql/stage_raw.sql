-- stage_raw: write the raw records of the page just shaped (`page_raw`, made by
-- faers_page.sql or caers_page.sql) to their own Parquet file in the fetch's scratch folder.
-- Variable: raw_file, the file to write. publish.sql reads all of them back.
COPY (SELECT * FROM page_raw) TO (getvariable('raw_file')) (FORMAT parquet, COMPRESSION snappy);
