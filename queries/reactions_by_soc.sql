-- name: reactions_by_soc
-- description: Reactions grouped by MedDRA primary System Organ Class (needs `kratom-ae meddra load`); terms not found in the loaded MedDRA are listed in their own row, not dropped.
-- row: one primary SOC, plus one row for terms not found in the loaded MedDRA
-- counts: reports (latest version) in scope naming at least one term of the SOC (in any spelling), once per report; terms are listed in MedDRA's spelling; pct_of_kratom_reports = reports / kratom reports in scope
-- columns: soc_name, reports, pct_of_kratom_reports, serious_reports, fatal_reports, terms (count), term_list
-- key: soc_name
-- parameters: source, since, until, role, serious, top, unit
-- requires: meddra
WITH mapped AS (
    SELECT x.report_key, coalesce(m.term_name, x.reaction_pt) AS reaction_pt, coalesce(m.soc_name, '(not found in loaded MedDRA)') AS soc_name
    FROM scope_reactions AS x
    LEFT JOIN meddra_terms AS m ON m.term = x.reaction_pt  -- both term keys: any spelling
),
counted AS (
    SELECT soc_name,
           count(DISTINCT m.report_key) AS reports,
           count(DISTINCT m.report_key) FILTER (WHERE r.is_serious) AS serious_reports,
           count(DISTINCT m.report_key) FILTER (WHERE r.serious_death) AS fatal_reports,
           count(DISTINCT m.reaction_pt) AS terms,
           string_agg(DISTINCT m.reaction_pt, '; ' ORDER BY m.reaction_pt) AS term_list
    FROM mapped AS m JOIN scope_reports AS r USING (report_key)
    GROUP BY soc_name
)
SELECT soc_name, reports, round(100.0 * reports / (SELECT reports FROM scope_total), 1) AS pct_of_kratom_reports,
       serious_reports, fatal_reports, terms, term_list
FROM counted
-- --top N keeps the N most reported SOCs, and always the row of terms MedDRA does not know.
QUALIFY soc_name = '(not found in loaded MedDRA)'
     OR row_number() OVER (ORDER BY soc_name = '(not found in loaded MedDRA)', reports DESC, soc_name) <= coalesce(getvariable('top'), 1000000000)
ORDER BY soc_name = '(not found in loaded MedDRA)', reports DESC, soc_name;
