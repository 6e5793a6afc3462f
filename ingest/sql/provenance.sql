-- provenance: the openFDA queries behind the current data, one row per query of the fetch
-- that produced each source's rows (for the provenance file written with every export).
SELECT source, endpoint, term, search, base_url, last_updated, total_reported, records_received,
       pages, strftime(started_at, '%Y-%m-%dT%H:%M:%SZ') AS started_at, strftime(finished_at, '%Y-%m-%dT%H:%M:%SZ') AS finished_at, tool_version,
       disclaimer
FROM fetch_runs
ORDER BY source, term;
