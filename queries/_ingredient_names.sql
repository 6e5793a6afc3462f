-- _ingredient_names: the audit of the ingredient mapping (`kratom-ae ingredients`): which product
-- names were counted under which active ingredient by the drugs table, and why. Not a summary
-- table (no filter but the source and a name).
-- row: one product name (normalized, as the drugs_by_product table counts it) and one ingredient it
--   was mapped to, with the field the ingredient came from
-- counts: kratom reports (latest version) naming the product with that mapping, once per report (a
--   product name mapped otherwise in other reports, NEURONTIN with and without openFDA's mapping,
--   has a row for each)
-- columns: source, product, ingredient, from_field ('openfda.generic_name', 'openfda.substance_name',
--   'activesubstancename', 'medicinalproduct', CAERS 'name_brand'), is_kratom, reports
-- key: source, product, ingredient, from_field
-- Variables: source ('faers', 'caers' or 'all'), ingredient_name (NULL, or a name: only rows
--   whose product or ingredient contains it, normalized as names are).
SELECT i.source, coalesce(p.product_name_normalized, '(no name)') AS product, i.ingredient, i.ingredient_field AS from_field, i.is_kratom,
       count(DISTINCT i.report_key) AS reports
FROM product_ingredients AS i
JOIN products AS p USING (report_key, product_seq)
SEMI JOIN (SELECT report_key FROM reports WHERE is_kratom_report) AS r USING (report_key)
WHERE (getvariable('source') = 'all' OR i.source = getvariable('source'))
  AND (getvariable('ingredient_name') IS NULL
       OR contains(i.ingredient, normalize_name(getvariable('ingredient_name')))
       OR contains(coalesce(p.product_name_normalized, ''), normalize_name(getvariable('ingredient_name'))))
GROUP BY ALL
ORDER BY i.is_kratom, i.ingredient, reports DESC, product, i.source, from_field;
