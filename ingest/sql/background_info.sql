-- background_info: the cached background per source, beside the kratom data's release.
SELECT t.source, t.endpoint, t.total_reports, t.last_updated AS background_last_updated,
       k.kratom_last_updated, strftime(t.fetched_at, '%Y-%m-%dT%H:%M:%SZ') AS background_fetched_at, t.requests AS background_requests,
       (SELECT count(*) FROM background_terms AS b WHERE b.source = t.source) AS terms_cached
FROM background_totals AS t
LEFT JOIN (SELECT source, max(last_updated) AS kratom_last_updated FROM fetch_runs GROUP BY source) AS k USING (source)
ORDER BY t.source;
