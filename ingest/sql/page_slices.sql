-- page_slices: the page just read (`page_records`) cut into runs of records of about
-- `slice_bytes` of JSON each, as (first pos, last pos): each is shaped on its own, so that
-- the memory shaping needs does not grow with the size of the page's records.
WITH sizes AS MATERIALIZED (SELECT pos, length(record) AS size FROM page_records)
SELECT min(pos), max(pos)
FROM (SELECT pos, (sum(size) OVER (ORDER BY pos) - size) // getvariable('slice_bytes') AS slice FROM sizes)
GROUP BY slice
ORDER BY slice;
