-- name: drugs
-- description: The other drugs reported with kratom, by active ingredient (NEURONTIN counts as GABAPENTIN where openFDA maps it so), with the number of kratom reports naming each.
-- row: one active ingredient of products that are not kratom (openfda.generic_name, else openfda.substance_name, else activesubstancename, else the product's name; `kratom-ae ingredients` shows the mapping)
-- counts: reports (latest version) in scope listing a product with the ingredient, once per report however many of its products have it; as_suspect_reports: of those, reports where such a product was suspect or interacting; pct_of_kratom_reports = reports / kratom reports in scope. A combination product counts under each of its ingredients.
-- columns: ingredient, reports, pct_of_kratom_reports, as_suspect_reports, faers_reports, caers_reports
-- key: ingredient
-- parameters: source, since, until, role, serious, top, unit
-- scope_ingredients has one row per unit and ingredient, and whether a product with it was
-- suspect or interacting on any of the unit's reports (queries/_scope.sql).
SELECT i.ingredient, count(*) AS reports,
       round(100.0 * count(*) / (SELECT reports FROM scope_total), 1) AS pct_of_kratom_reports,
       count(*) FILTER (WHERE i.named_as_suspect) AS as_suspect_reports,
       count(*) FILTER (WHERE i.source = 'faers') AS faers_reports,
       count(*) FILTER (WHERE i.source = 'caers') AS caers_reports
FROM scope_ingredients AS i
WHERE NOT i.is_kratom
GROUP BY i.ingredient
ORDER BY reports DESC, i.ingredient
LIMIT coalesce(getvariable('top'), 1000000000);
