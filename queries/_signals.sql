-- _signals: the 2x2 table of every reaction term (by term key: any spelling is one term, on the
-- kratom side and in the background), per source (used by `kratom-ae signals`; needs the scope
-- views and the background views of _signals_all.sql, or of _signals_comparator.sql with
-- --comparator).
-- row: a reaction term of a source
-- counts: a and b in the unit of the run (reports, or with unit = 'case' probable cases); c and
--   d in reports, openFDA's counts with every kratom report in scope taken out; or, with the
--   local background counted in probable cases (background_kratom_units has rows for the
--   source), in probable cases of the local background with every such case holding a kratom
--   report in scope taken out (cd_unit says which)
--   a = kratom units (reports or probable cases) in scope naming the term
--   b = kratom units in scope not naming it
--   c = the background's other reports naming it (background count - the kratom reports in
--       scope that the background counts and that name the term, whatever the unit)
--   d = the background's other reports not naming it (background total - the kratom reports in
--       scope that the background counts - c)
--   The background is all of the source's openFDA endpoint, or with --comparator the reports
--   openFDA's search for the comparator's terms finds. A report naming kratom and a comparator
--   drug is a kratom report (a or b) and is not in c or d: it is taken out of the comparator's
--   counts when the comparator's search finds it (ingest/background.py asks openFDA which do).
-- columns: source, term, a, b, c, d, ab_unit, cd_unit, background, kratom_reports_naming_term,
--   kratom_reports_in_scope, kratom_reports_in_background_naming_term,
--   kratom_reports_in_background, background_term_reports, background_total_reports,
--   background_method, background_kratom_units_naming_term, background_kratom_units (what c and
--   d take out: kratom_reports_in_background* again, or the local background's cases)
-- key: source, term
-- parameters: source, role, unit
-- With role = 'suspect', reports with kratom only as concomitant count among the "other" reports.
-- With unit = 'case', c and d take out the kratom REPORTS (scope_members: every in-scope report
-- of every case), not a case count: a case's duplicates are not "other reports", and the
-- comparator row is then the same in both units.
WITH kratom AS (SELECT source, count(*) AS n FROM scope_reports GROUP BY source),
kratom_cases AS (SELECT source, units FROM background_kratom_units WHERE term IS NULL),
members AS (
    SELECT m.report_key, r.source, k.report_id IS NOT NULL AS in_background
    FROM scope_members AS m JOIN reports AS r USING (report_key)
    LEFT JOIN signal_background_kratom AS k ON k.source = r.source AND k.report_id = r.report_id
),
kratom_reports AS (SELECT source, count(*) AS n, count(*) FILTER (WHERE in_background) AS counted FROM members GROUP BY source),
terms AS (SELECT source, reaction_pt AS term, count(*) AS a FROM scope_reactions GROUP BY ALL),
term_reports AS (
    SELECT m.source, x.reaction_pt AS term, count(*) AS n, count(*) FILTER (WHERE m.in_background) AS counted
    FROM reactions AS x JOIN members AS m USING (report_key)
    WHERE x.is_first_mention
    GROUP BY ALL
)
SELECT t.source, coalesce(l.label, t.term) AS term,
       t.a,
       k.n - t.a AS b,
       bt.reports - taken.naming AS c,
       tot.total_reports - taken.total - (bt.reports - taken.naming) AS d,
       CASE getvariable('unit') WHEN 'case' THEN 'probable cases' ELSE 'reports' END AS ab_unit,
       CASE WHEN kc.source IS NULL THEN 'reports' ELSE 'probable cases' END AS cd_unit,
       tot.background,
       tr.n AS kratom_reports_naming_term,
       kr.n AS kratom_reports_in_scope,
       tr.counted AS kratom_reports_in_background_naming_term,
       kr.counted AS kratom_reports_in_background,
       bt.reports AS background_term_reports,
       tot.total_reports AS background_total_reports,
       bt.method AS background_method,
       taken.naming AS background_kratom_units_naming_term,
       taken.total AS background_kratom_units
FROM terms AS t
JOIN kratom AS k USING (source)
JOIN kratom_reports AS kr USING (source)
JOIN term_reports AS tr USING (source, term)
LEFT JOIN signal_background_terms AS bt ON bt.source = t.source AND bt.term = t.term
LEFT JOIN signal_background_totals AS tot ON tot.source = t.source
LEFT JOIN term_labels AS l ON l.reaction_pt = t.term
LEFT JOIN kratom_cases AS kc ON kc.source = t.source
LEFT JOIN background_kratom_units AS kt ON kt.source = t.source AND kt.term = t.term
-- A term no kratom case of the local background names has none to take out.
CROSS JOIN LATERAL (SELECT CASE WHEN kc.source IS NULL THEN tr.counted ELSE coalesce(kt.units, 0) END AS naming,
                           CASE WHEN kc.source IS NULL THEN kr.counted ELSE kc.units END AS total) AS taken
ORDER BY t.source, t.term;
