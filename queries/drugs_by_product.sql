-- name: drugs_by_product
-- description: The other products reported with kratom, by product name as reported (normalized; NEURONTIN and GABAPENTIN are two rows), with the number of kratom reports naming each (`query drugs --by product`).
-- row: one normalized product name that is not kratom
-- counts: reports (latest version) in scope listing the product, once per report; as_suspect_reports: of those, reports where it was suspect or interacting; pct_of_kratom_reports = reports / kratom reports in scope. Products with no name are not listed.
-- columns: product, reports, pct_of_kratom_reports, as_suspect_reports, faers_reports, caers_reports
-- key: product
-- parameters: source, since, until, role, serious, top, unit
-- scope_products has one row per unit and product, and whether it was suspect or interacting
-- on any of the unit's reports (queries/_scope.sql).
SELECT p.product_name_normalized AS product, count(*) AS reports,
       round(100.0 * count(*) / (SELECT reports FROM scope_total), 1) AS pct_of_kratom_reports,
       count(*) FILTER (WHERE p.named_as_suspect) AS as_suspect_reports,
       count(*) FILTER (WHERE p.source = 'faers') AS faers_reports,
       count(*) FILTER (WHERE p.source = 'caers') AS caers_reports
FROM scope_products AS p
WHERE NOT p.is_kratom AND p.product_name_normalized IS NOT NULL
GROUP BY p.product_name_normalized
ORDER BY reports DESC, product
LIMIT coalesce(getvariable('top'), 1000000000);
