-- name: reactions
-- description: Each MedDRA preferred term reported with kratom: reports naming it, their share of kratom reports, how many were serious and how many fatal.
-- row: one MedDRA preferred term, in any spelling (shown in MedDRA's spelling when loaded, else upper case)
-- counts: reports (latest version) in scope naming the term, once per report whatever the spelling (DRUG DEPENDENCE, Drug dependence); pct_of_kratom_reports = reports / kratom reports in scope; serious_reports and fatal_reports are reports naming the term that were serious / had death as a seriousness criterion (FAERS seriousnessdeath, CAERS outcome DEATH)
-- columns: reaction_pt, reports, pct_of_kratom_reports, serious_reports, fatal_reports, faers_reports, caers_reports
-- key: reaction_pt
-- parameters: source, since, until, role, serious, top, unit
WITH counted AS (
    SELECT x.reaction_pt,
           count(*) AS reports,
           count(*) FILTER (WHERE r.is_serious) AS serious_reports,
           count(*) FILTER (WHERE r.serious_death) AS fatal_reports,
           count(*) FILTER (WHERE x.source = 'faers') AS faers_reports,
           count(*) FILTER (WHERE x.source = 'caers') AS caers_reports
    FROM scope_reactions AS x
    JOIN scope_reports AS r USING (report_key)
    GROUP BY x.reaction_pt
)
SELECT coalesce(l.label, c.reaction_pt) AS reaction_pt, reports,
       round(100.0 * reports / (SELECT reports FROM scope_total), 1) AS pct_of_kratom_reports,
       serious_reports, fatal_reports, faers_reports, caers_reports
FROM counted AS c
LEFT JOIN term_labels AS l USING (reaction_pt)
ORDER BY reports DESC, c.reaction_pt
LIMIT coalesce(getvariable('top'), 1000000000);
