-- background_needed: per source in scope, the kratom data's openFDA last_updated, the cached
-- background (if any), and the reaction terms in scope that the cache does not count yet.
-- Needs the scope views (queries/_scope.sql).
WITH kratom AS (
    SELECT source, any_value(endpoint) AS endpoint, max(last_updated) AS kratom_last_updated
    FROM fetch_runs WHERE source IN (SELECT DISTINCT source FROM scope_reports)
    GROUP BY source
),
-- Each term once before the joins: scope_reactions has a row per report and term (2.3M rows at
-- 1M reports, which took 0.4 s through the joins).
terms AS (SELECT DISTINCT source, reaction_pt FROM scope_reactions)
SELECT k.source, k.endpoint, k.kratom_last_updated,
       t.kratom_last_updated AS cached_for, t.last_updated AS background_last_updated,
       list(DISTINCT x.reaction_pt ORDER BY x.reaction_pt) FILTER (WHERE x.reaction_pt IS NOT NULL AND b.term IS NULL) AS missing_terms
FROM kratom AS k
LEFT JOIN background_totals AS t USING (source)
LEFT JOIN terms AS x USING (source)
LEFT JOIN background_terms AS b ON b.source = x.source AND b.term = x.reaction_pt
GROUP BY ALL
ORDER BY k.source;
