-- comparator_needed: for one source and comparator ($s, $k), the kratom data's openFDA
-- last_updated, the cached comparator background (if any), the reaction terms in scope it does
-- not count yet, and the source's kratom reports not yet asked about (every kratom report, not
-- only those in scope: one cache then serves --role suspect and any alike). Needs the scope views.
WITH kratom AS (
    SELECT any_value(endpoint) AS endpoint, max(last_updated) AS kratom_last_updated
    FROM fetch_runs WHERE source = $s
)
SELECT k.endpoint, k.kratom_last_updated,
       t.kratom_last_updated AS cached_for, t.last_updated AS comparator_last_updated,
       (SELECT list(DISTINCT x.reaction_pt ORDER BY x.reaction_pt) FROM scope_reactions AS x
        WHERE x.source = $s AND x.reaction_pt IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM comparator_terms AS b WHERE b.source = $s AND b.comparator = $k AND b.term = x.reaction_pt)) AS missing_terms,
       (SELECT list(r.report_id ORDER BY r.report_id) FROM reports AS r
        WHERE r.source = $s AND r.is_kratom_report
          AND NOT EXISTS (SELECT 1 FROM comparator_reports AS c WHERE c.source = $s AND c.comparator = $k AND c.report_id = r.report_id)) AS unasked_reports
FROM kratom AS k
LEFT JOIN comparator_totals AS t ON t.source = $s AND t.comparator = $k;
