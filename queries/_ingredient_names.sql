-- _ingredient_names: the audit of the ingredient mapping (`kratom-ae ingredients`): which product
-- names were counted under which active ingredient by the drugs table, and why. Not a summary
-- table (no filter but the source and a name).
-- row: one product name (normalized, as the drugs_by_product table counts it) and one ingredient it
--   was mapped to, with every field the ingredient came from in some report
-- counts: kratom reports (latest version) naming the product mapped to that ingredient, once per
--   report (a product name mapped to another ingredient in other reports, NEURONTIN with and
--   without openFDA's mapping, has a row for each)
-- columns: source, product, ingredient, from_fields ('openfda.generic_name', 'openfda.substance_name',
--   'activesubstancename', 'medicinalproduct', CAERS 'name_brand': each field the mapping came
--   from in at least one report, in that order, comma-separated), is_kratom (the product was
--   judged kratom in these reports; in any of them, should a name be judged both ways: `terms`
--   shows each decision), reports
-- key: source, product, ingredient
-- Variables: source ('faers', 'caers' or 'all'), ingredient_name (NULL, or a name: only rows
--   whose product or ingredient contains it, normalized as names are).
WITH named AS (
    SELECT i.source, coalesce(p.product_name_normalized, '(no name)') AS product, i.ingredient, i.ingredient_field, i.is_kratom, i.report_key
    FROM product_ingredients AS i
    JOIN products AS p USING (report_key, product_seq)
    SEMI JOIN (SELECT report_key FROM reports WHERE is_kratom_report) AS r USING (report_key)
    WHERE (getvariable('source') = 'all' OR i.source = getvariable('source'))
      AND (getvariable('ingredient_name') IS NULL
           OR contains(i.ingredient, normalize_name(getvariable('ingredient_name')))
           OR contains(coalesce(p.product_name_normalized, ''), normalize_name(getvariable('ingredient_name'))))
)
SELECT source, product, ingredient,
       string_agg(DISTINCT ingredient_field, ', ' ORDER BY CASE ingredient_field WHEN 'openfda.generic_name' THEN 1 WHEN 'openfda.substance_name' THEN 2
                                                      WHEN 'activesubstancename' THEN 3 ELSE 4 END) AS from_fields,
       bool_or(is_kratom) AS is_kratom, count(DISTINCT report_key) AS reports
FROM named
GROUP BY source, product, ingredient
ORDER BY is_kratom, ingredient, reports DESC, product, source;
