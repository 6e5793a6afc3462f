-- name: trend
-- description: Kratom reports per received year and source, with the reports naming a skin term and a pigmentation term alongside.
-- row: one received year and source
-- counts: reports (latest version) in scope received that year; skin_reports: of those, reports naming at least one skin term; pct_skin = skin_reports / reports of that year and source; pigmentation_reports: of those, reports naming at least one pigmentation term (hyper- or hypopigmentation, or a discolouration: is_pigmentation in queries/skin_terms.csv). Reports with no received date are counted in a row with an empty year.
-- columns: received_year, source, reports, skin_reports, pct_skin, pigmentation_reports
-- key: received_year, source
-- parameters: source, since, until, role, serious, unit
WITH skin AS (
    SELECT report_key, bool_or(is_pigmentation) AS any_pigmentation
    FROM scope_reactions JOIN skin_terms USING (reaction_pt)
    GROUP BY report_key
)
SELECT year(r.received_date) AS received_year, r.source,
       count(*) AS reports,
       count(s.report_key) AS skin_reports,
       round(100.0 * count(s.report_key) / count(*), 1) AS pct_skin,
       count(*) FILTER (WHERE s.any_pigmentation) AS pigmentation_reports
FROM scope_reports AS r
LEFT JOIN skin AS s USING (report_key)
GROUP BY ALL
ORDER BY received_year NULLS LAST, r.source;
