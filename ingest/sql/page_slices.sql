-- page_slices: the records of `batch` cut into runs of about `slice_bytes` of JSON each, as
-- (first stage_seq, last stage_seq): each is shaped on its own, so that the memory shaping
-- needs does not grow with the size of the records (a page of 70 KB records is 70 MB).
WITH sizes AS MATERIALIZED (SELECT stage_seq, size FROM batch)
SELECT min(stage_seq), max(stage_seq)
FROM (SELECT stage_seq, (sum(size) OVER (ORDER BY stage_seq) - size) // getvariable('slice_bytes') AS slice FROM sizes)
GROUP BY slice
ORDER BY slice;
