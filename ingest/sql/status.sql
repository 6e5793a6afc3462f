-- status: what the database holds, one row per source.
-- reports: reports held (latest version each); kratom_reports: of those, reports with at
-- least one product matched as kratom. fetched_at: when the fetch that produced them ended
-- (UTC). queries: the openFDA search terms used (for a bulk load, the partitions read:
-- from_bulk, with records_read and the export_date). malformed_records: records that broke a
-- rule for malformed records (fetch_problems), not_stored: of those, records left out. A record
-- by its report_id; one without (a bulk partition's item with no id, or not an object) by its
-- row, whose problem names its place in the partition.
WITH held AS (
    SELECT source, count(*) AS reports, count(*) FILTER (WHERE is_kratom_report) AS kratom_reports,
           min(received_date) AS first_received, max(received_date) AS last_received
    FROM reports
    GROUP BY source
), runs AS (
    SELECT source, any_value(endpoint) AS endpoint, max(finished_at) AS fetched_at,
           string_agg(DISTINCT last_updated, ', ' ORDER BY last_updated) AS openfda_last_updated,
           count(*) AS queries, sum(records_received)::BIGINT AS records_received,
           any_value(base_url) AS base_url,
           string_agg(term, ' | ' ORDER BY term) AS terms,
           bool_and(term = '(bulk file)') AS from_bulk, sum(total_reported)::BIGINT AS records_read,
           string_agg(DISTINCT regexp_extract(search, '^bulk export ([^,]+),', 1), ', ') AS export_date
    FROM fetch_runs
    GROUP BY source
), problems AS (
    SELECT source, count(DISTINCT report_id) + count(*) FILTER (WHERE report_id IS NULL) AS malformed_records,
           count(DISTINCT report_id) FILTER (WHERE NOT stored) + count(*) FILTER (WHERE report_id IS NULL AND NOT stored) AS not_stored
    FROM fetch_problems
    GROUP BY source
)
SELECT runs.source, runs.endpoint,
       coalesce(held.reports, 0) AS reports,
       coalesce(held.kratom_reports, 0) AS kratom_reports,
       held.first_received, held.last_received,
       runs.fetched_at, runs.openfda_last_updated, runs.base_url,
       runs.queries, runs.records_received, runs.terms, runs.from_bulk, runs.records_read, runs.export_date,
       coalesce(problems.malformed_records, 0) AS malformed_records, coalesce(problems.not_stored, 0) AS not_stored
FROM runs LEFT JOIN held USING (source) LEFT JOIN problems USING (source)
ORDER BY runs.source;
