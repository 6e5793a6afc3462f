-- _kratom_names: the audit of the kratom decision (`kratom-ae terms`). Not a summary table
-- (it reads every fetched report, kratom or not, with no filter but the source).
-- row: one distinct product name as reported, with how it was judged
-- counts: reports (latest version) naming the product name, once per report
-- columns: source, judged ('kratom', 'look-alike (excluded)', 'not kratom'), product_name (as
--   reported), matched_name, matched_field, matched_term, excluded_by, near_term (for a name not
--   kratom: the first substring or word term of at least NEAR_LETTERS letters and digits that one
--   word of the name, or two adjacent words written together, misses by one edit, a letter or
--   digit changed, added or dropped: KRAT0M, KRATM and KRÁTOM are near KRATOM; the same rule
--   as ingest/terms.py near_miss, by which bulk load keeps such records), reason (the terms
--   file's note for matched_term or excluded_by), reports
-- key: source, judged, product_name
--   (a name kratom in reports that matched it by different fields or names, matched_field and
--   matched_name, is listed once for each, under the same key: the terminal repeats the key, not
--   those wider columns, in each part of a split table)
-- Variables: source ('faers', 'caers' or 'all'), judged ('kratom', 'look-alike', 'not-kratom',
--   'near-miss' (names not kratom with a near_term) or 'all'). Needs the shaping macros
--   (normalize_name, squeeze).
WITH judged AS (
    SELECT source, report_key, coalesce(product_name, '(no name)') AS product_name, matched_name, matched_field, matched_term, excluded_by,
           CASE WHEN is_kratom THEN 'kratom' WHEN excluded_by IS NOT NULL THEN 'look-alike (excluded)' ELSE 'not kratom' END AS judged
    FROM products
    WHERE getvariable('source') = 'all' OR source = getvariable('source')
),
counted AS (
    SELECT source, judged, product_name, matched_name, matched_field, matched_term, excluded_by, count(DISTINCT report_key) AS reports
    FROM judged
    WHERE getvariable('judged') IN ('all', 'near-miss') OR judged = CASE getvariable('judged') WHEN 'look-alike' THEN 'look-alike (excluded)' WHEN 'not-kratom' THEN 'not kratom' ELSE 'kratom' END
    GROUP BY ALL
),
-- Each word of a name not judged kratom, and each two adjacent words written together.
pieces AS (
    SELECT source, product_name, unnest(words || list_transform(range(1, len(words)), lambda i: words[i] || words[i + 1])) AS piece
    FROM (SELECT DISTINCT source, product_name, string_split(coalesce(normalize_name(product_name), ''), ' ') AS words FROM counted WHERE judged = 'not kratom')
),
near AS (
    SELECT p.source, p.product_name, min_by(t.term, t.term_order) AS near_term
    FROM pieces AS p
    JOIN kratom_terms AS t ON t.source = p.source AND t.match <> 'exclude' AND length(squeeze(t.term)) >= 5  -- NEAR_LETTERS
        AND abs(length(p.piece) - length(squeeze(t.term))) <= 1 AND levenshtein(p.piece, squeeze(t.term)) = 1
    GROUP BY ALL
)
SELECT c.source, c.judged, c.product_name, c.matched_name, c.matched_field, c.matched_term, c.excluded_by, n.near_term, t.note AS reason, c.reports
FROM counted AS c
LEFT JOIN near AS n ON n.source = c.source AND n.product_name = c.product_name AND c.judged = 'not kratom'
LEFT JOIN (SELECT DISTINCT ON (source, term) source, term, note FROM kratom_terms ORDER BY source, term, term_order) AS t
    ON t.source = c.source AND t.term = coalesce(c.matched_term, c.excluded_by)
WHERE getvariable('judged') <> 'near-miss' OR n.near_term IS NOT NULL
ORDER BY list_position(['kratom', 'look-alike (excluded)', 'not kratom'], c.judged), c.reports DESC, c.product_name, c.source, c.matched_name;
