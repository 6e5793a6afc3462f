-- strata_missing: the (stratum, term) pairs of one source ($s) whose background count is not
-- cached: terms with at least $min kratom reports in scope (those given MH estimates), in the
-- strata that hold a kratom report in scope (a stratum without one adds nothing to them), and
-- whose count= list was cut at its limit (a whole list counts every term: one not listed has 0).
WITH terms AS (SELECT reaction_pt AS term FROM scope_reactions WHERE source = $s AND reaction_pt IS NOT NULL GROUP BY ALL HAVING count(*) >= $min),
held AS (SELECT DISTINCT stratum FROM strata_members WHERE source = $s AND stratum IS NOT NULL)
SELECT s.stratum, s.sex, s.period, t.term
FROM held AS h JOIN signal_strata AS s ON s.source = $s AND s.stratum = h.stratum
JOIN stratum_totals AS tot ON tot.source = $s AND tot.stratum = s.stratum AND NOT tot.list_complete
CROSS JOIN terms AS t
WHERE NOT EXISTS (SELECT 1 FROM stratum_terms AS x WHERE x.source = $s AND x.stratum = s.stratum AND x.term = t.term)
ORDER BY t.term, s.sex, s.period, s.stratum;
