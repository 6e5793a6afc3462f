-- strata_needed: for one source ($s), the kratom data's openFDA last_updated and the cached
-- strata's (complete: every stratum of signal_strata, all fetched for one kratom release).
WITH kratom AS (SELECT any_value(endpoint) AS endpoint, max(last_updated) AS kratom_last_updated FROM fetch_runs WHERE source = $s),
cached AS (
    SELECT count(*) AS strata, min(t.kratom_last_updated) AS first_for, max(t.kratom_last_updated) AS last_for, max(t.last_updated) AS last_updated
    FROM stratum_totals AS t JOIN signal_strata AS s USING (source, stratum)
    WHERE t.source = $s
)
SELECT k.endpoint, k.kratom_last_updated,
       CASE WHEN c.strata = (SELECT count(*) FROM signal_strata WHERE source = $s) AND c.first_for = c.last_for THEN c.first_for END AS cached_for,
       c.last_updated AS background_last_updated
FROM kratom AS k, cached AS c;
