-- name: drugs
-- description: The other products reported with kratom (normalized names), with the number of kratom reports naming each.
-- row: one normalized product name that is not kratom
-- counts: reports (latest version) in scope listing the product, once per report; as_suspect_reports: of those, reports where it was suspect or interacting; pct_of_kratom_reports = reports / kratom reports in scope. Products with no name are not listed.
-- columns: product, reports, pct_of_kratom_reports, as_suspect_reports, faers_reports, caers_reports
-- parameters: source, since, until, role, serious, top
WITH other AS (
    SELECT p.source, p.report_id, p.product_name_normalized AS product,
           bool_or(p.role IN ('suspect', 'interacting')) AS as_suspect
    FROM products AS p
    JOIN scope_reports AS r USING (source, report_id)
    WHERE NOT p.is_kratom AND p.product_name_normalized IS NOT NULL
    GROUP BY ALL
)
SELECT product, count(*) AS reports,
       round(100.0 * count(*) / (SELECT reports FROM scope_total), 1) AS pct_of_kratom_reports,
       count(*) FILTER (WHERE as_suspect) AS as_suspect_reports,
       count(*) FILTER (WHERE source = 'faers') AS faers_reports,
       count(*) FILTER (WHERE source = 'caers') AS caers_reports
FROM other
GROUP BY product
ORDER BY reports DESC, product
LIMIT coalesce(getvariable('top'), 1000000000);
