-- malformed_records: the records of a source that broke a rule for malformed records, one
-- row per record (report_id as received, its problems joined), for the fetch summary. A
-- record without an id (a bulk partition's item: its problem names its place) is a row of
-- its own, after those with one.
-- Parameters: $source, $limit.
SELECT report_id, string_agg(problem, '; ' ORDER BY problem) AS problems
FROM fetch_problems
WHERE source = $source
GROUP BY report_id, CASE WHEN report_id IS NULL THEN problem END
ORDER BY report_id NULLS LAST, min(problem)
LIMIT $limit;
