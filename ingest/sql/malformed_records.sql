-- malformed_records: the records of a source that broke a rule for malformed records, one
-- row per record (report_id as received, its problems joined), for the fetch summary.
-- Parameters: $source, $limit.
SELECT report_id, string_agg(problem, '; ' ORDER BY problem) AS problems
FROM fetch_problems
WHERE source = $source
GROUP BY report_id
ORDER BY report_id
LIMIT $limit;
