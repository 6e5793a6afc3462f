-- _signals_strata: the 2x2 table of every reaction term with enough kratom reports in every
-- stratum of sex, age band and report year that holds a kratom report in scope (used by
-- `kratom-ae signals --adjusted` for Mantel-Haenszel estimates; needs the scope views,
-- signal_strata and strata_members of ingest/background.py use_strata, signal_background_kratom
-- of _signals_all.sql or _signals_local.sql, and the cached strata or the local ones).
-- row: a reaction term of a source in one stratum
-- counts: reports (kratom reports in scope in the stratum: a, b; the stratum's other reports in
--   the background: c, d, with the kratom reports in scope of the stratum that it counts taken out)
-- columns: source, term, stratum, a, b, c, d
-- key: source, term, stratum
-- parameters: mh_min_reports (a term needs this many kratom reports in scope)
-- A stratum with no kratom report in scope adds 0 to every Mantel-Haenszel sum: it is left out.
-- As in _signals.sql, c and d take out the kratom reports in scope that the background counts
-- (signal_background_kratom: every one with openFDA's strata; with the local background's, those
-- the export holds).
WITH members AS (
    SELECT m.report_key, m.source, m.stratum, k.report_id IS NOT NULL AS in_background
    FROM strata_members AS m JOIN reports AS r USING (report_key)
    LEFT JOIN signal_background_kratom AS k ON k.source = r.source AND k.report_id = r.report_id
    WHERE m.stratum IS NOT NULL
),
kratom AS (SELECT source, stratum, count(*) AS n, count(*) FILTER (WHERE in_background) AS counted FROM members GROUP BY ALL),
naming AS (
    SELECT m.source, m.stratum, x.reaction_pt AS term, count(*) AS n, count(*) FILTER (WHERE m.in_background) AS counted
    FROM reactions AS x JOIN members AS m USING (report_key)
    WHERE x.is_first_mention
    GROUP BY ALL
),
terms AS (
    SELECT source, reaction_pt AS term FROM scope_reactions
    WHERE reaction_pt IS NOT NULL GROUP BY ALL HAVING count(*) >= getvariable('mh_min_reports')
)
SELECT t.source, coalesce(l.label, t.term) AS term, k.stratum,
       coalesce(nm.n, 0) AS a,
       k.n - coalesce(nm.n, 0) AS b,
       coalesce(st.reports, z.reports) - coalesce(nm.counted, 0) AS c,
       tot.total_reports - k.counted - (coalesce(st.reports, z.reports) - coalesce(nm.counted, 0)) AS d
FROM terms AS t
JOIN kratom AS k USING (source)
LEFT JOIN naming AS nm ON nm.source = t.source AND nm.stratum = k.stratum AND nm.term = t.term
LEFT JOIN stratum_terms AS st ON st.source = t.source AND st.stratum = k.stratum AND st.term = t.term
LEFT JOIN stratum_totals AS tot ON tot.source = t.source AND tot.stratum = k.stratum
-- A whole count= list (list_complete) counts every term of its stratum: one it does not list has 0.
LEFT JOIN (SELECT 0::BIGINT AS reports) AS z ON tot.list_complete
LEFT JOIN term_labels AS l ON l.reaction_pt = t.term
ORDER BY t.source, t.term, k.stratum;
