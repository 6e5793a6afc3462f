-- _kratom_names: the audit of the kratom decision (`kratom-ae terms`). Not a summary table
-- (it reads every fetched report, kratom or not, with no filter but the source).
-- row: one distinct product name as reported, with how it was judged
-- counts: reports (latest version) naming the product name, once per report
-- columns: source, judged ('kratom', 'look-alike (excluded)', 'not kratom'), product_name (as
--   reported), matched_name, matched_field, matched_term, excluded_by, reason (the terms file's
--   note for matched_term or excluded_by), reports
-- key: source, judged, product_name
--   (a name kratom in reports that matched it by different fields or names, matched_field and
--   matched_name, is listed once for each, under the same key: the terminal repeats the key, not
--   those wider columns, in each part of a split table)
-- Variables: source ('faers', 'caers' or 'all'), judged ('kratom', 'look-alike', 'not-kratom'
--   or 'all').
WITH judged AS (
    SELECT source, report_key, coalesce(product_name, '(no name)') AS product_name, matched_name, matched_field, matched_term, excluded_by,
           CASE WHEN is_kratom THEN 'kratom' WHEN excluded_by IS NOT NULL THEN 'look-alike (excluded)' ELSE 'not kratom' END AS judged
    FROM products
    WHERE getvariable('source') = 'all' OR source = getvariable('source')
),
counted AS (
    SELECT source, judged, product_name, matched_name, matched_field, matched_term, excluded_by, count(DISTINCT report_key) AS reports
    FROM judged
    WHERE getvariable('judged') = 'all' OR judged = CASE getvariable('judged') WHEN 'look-alike' THEN 'look-alike (excluded)' WHEN 'not-kratom' THEN 'not kratom' ELSE 'kratom' END
    GROUP BY ALL
)
SELECT c.source, c.judged, c.product_name, c.matched_name, c.matched_field, c.matched_term, c.excluded_by, t.note AS reason, c.reports
FROM counted AS c
LEFT JOIN (SELECT DISTINCT ON (source, term) source, term, note FROM kratom_terms ORDER BY source, term, term_order) AS t
    ON t.source = c.source AND t.term = coalesce(c.matched_term, c.excluded_by)
ORDER BY list_position(['kratom', 'look-alike (excluded)', 'not kratom'], c.judged), c.reports DESC, c.product_name, c.source, c.matched_name;
