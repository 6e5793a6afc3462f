-- _signals: the 2x2 table of every reaction term (by term key: any spelling is one term, on the
-- kratom side and in the background), per source, at report level (used by
-- `kratom-ae signals`; needs the scope views and the cached background).
--   a = kratom reports in scope naming the term
--   b = kratom reports in scope not naming it
--   c = all other reports of the same openFDA endpoint naming it (background count - a)
--   d = all other reports not naming it (background total - a - b - c)
-- key: source, term
-- With role = 'suspect', reports with kratom only as concomitant count among the "other" reports.
WITH kratom AS (SELECT source, count(*) AS n FROM scope_reports GROUP BY source),
terms AS (SELECT source, reaction_pt AS term, count(*) AS a FROM scope_reactions GROUP BY ALL)
SELECT t.source, coalesce(l.label, t.term) AS term,
       t.a,
       k.n - t.a AS b,
       bt.reports - t.a AS c,
       tot.total_reports - k.n - (bt.reports - t.a) AS d,
       bt.reports AS background_term_reports,
       tot.total_reports AS background_total_reports,
       bt.method AS background_method
FROM terms AS t
JOIN kratom AS k USING (source)
LEFT JOIN background_terms AS bt ON bt.source = t.source AND bt.term = t.term
LEFT JOIN background_totals AS tot ON tot.source = t.source
LEFT JOIN term_labels AS l ON l.reaction_pt = t.term
ORDER BY t.source, t.term;
