-- record_slices: the records just read (`page_records`) cut into runs of about `slice_bytes`
-- of JSON each, as (first pos, last pos): staging.py's reader parses each on its own (DuckDB
-- parses 2048 records at a time, so a page of 1000 records of 70 KB, parsed at once, needs
-- several times its 70 MB).
WITH sizes AS MATERIALIZED (SELECT pos, length(record) AS size FROM page_records)
SELECT min(pos), max(pos)
FROM (SELECT pos, (sum(size) OVER (ORDER BY pos) - size) // getvariable('slice_bytes') AS slice FROM sizes)
GROUP BY slice
ORDER BY slice;
