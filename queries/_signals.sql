-- _signals: the 2x2 table of every reaction term (by term key: any spelling is one term, on the
-- kratom side and in the background), per source (used by `kratom-ae signals`; needs the scope
-- views and the cached background).
-- row: a reaction term of a source
-- counts: a and b in the unit of the run (reports, or with unit = 'case' probable cases); c and
--   d always in reports, openFDA's counts with every kratom report in scope taken out
--   a = kratom units (reports or probable cases) in scope naming the term
--   b = kratom units in scope not naming it
--   c = all other reports of the same openFDA endpoint naming it (background count - the kratom
--       reports in scope naming it, whatever the unit)
--   d = all other reports not naming it (background total - every kratom report in scope - c)
-- columns: source, term, a, b, c, d, ab_unit, cd_unit, kratom_reports_naming_term,
--   kratom_reports_in_scope, background_term_reports, background_total_reports, background_method
-- key: source, term
-- parameters: source, role, unit
-- With role = 'suspect', reports with kratom only as concomitant count among the "other" reports.
-- With unit = 'case', c and d take out the kratom REPORTS (scope_members: every in-scope report
-- of every case), not a case count: a case's duplicates are not "other reports", and the
-- comparator row is then the same in both units.
-- A comparator or stratified background replaces background_terms / background_totals here
-- (the same columns per term and source, or per stratum); the kratom side stays as it is.
WITH kratom AS (SELECT source, count(*) AS n FROM scope_reports GROUP BY source),
kratom_reports AS (SELECT r.source, count(*) AS n FROM scope_members AS m JOIN reports AS r USING (report_key) GROUP BY r.source),
terms AS (SELECT source, reaction_pt AS term, count(*) AS a FROM scope_reactions GROUP BY ALL),
term_reports AS (
    SELECT x.source, x.reaction_pt AS term, count(*) AS n
    FROM reactions AS x JOIN scope_members AS m USING (report_key)
    WHERE x.is_first_mention
    GROUP BY ALL
)
SELECT t.source, coalesce(l.label, t.term) AS term,
       t.a,
       k.n - t.a AS b,
       bt.reports - tr.n AS c,
       tot.total_reports - kr.n - (bt.reports - tr.n) AS d,
       CASE getvariable('unit') WHEN 'case' THEN 'probable cases' ELSE 'reports' END AS ab_unit,
       'reports' AS cd_unit,
       tr.n AS kratom_reports_naming_term,
       kr.n AS kratom_reports_in_scope,
       bt.reports AS background_term_reports,
       tot.total_reports AS background_total_reports,
       bt.method AS background_method
FROM terms AS t
JOIN kratom AS k USING (source)
JOIN kratom_reports AS kr USING (source)
JOIN term_reports AS tr USING (source, term)
LEFT JOIN background_terms AS bt ON bt.source = t.source AND bt.term = t.term
LEFT JOIN background_totals AS tot ON tot.source = t.source
LEFT JOIN term_labels AS l ON l.reaction_pt = t.term
ORDER BY t.source, t.term;
