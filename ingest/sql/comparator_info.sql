-- comparator_info: the cached background of the comparators in signal_comparator (one row per
-- source: its key), beside the kratom data's release and the kratom reports the search finds.
SELECT t.source, t.endpoint, t.total_reports, t.last_updated AS background_last_updated,
       k.kratom_last_updated, strftime(t.fetched_at, '%Y-%m-%dT%H:%M:%SZ') AS background_fetched_at, t.requests AS background_requests,
       (SELECT count(*) FROM comparator_terms AS b WHERE b.source = t.source AND b.comparator = t.comparator) AS terms_cached,
       t.comparator, t.terms AS comparator_terms, t.search AS comparator_search,
       (SELECT count(*) FROM comparator_reports AS r WHERE r.source = t.source AND r.comparator = t.comparator AND r.in_comparator) AS kratom_reports_in_comparator
FROM comparator_totals AS t
JOIN signal_comparator AS s USING (source, comparator)
LEFT JOIN (SELECT source, max(last_updated) AS kratom_last_updated FROM fetch_runs GROUP BY source) AS k USING (source)
ORDER BY t.source;
