-- staging: the tables of a fetch's scratch database (beside the user's, removed after the
-- fetch). Pages are shaped into them one by one; publish.sql copies them over in one
-- transaction. stage_seq numbers records in the order received.
-- The raw records are not here: staging.py's reader writes them, compressed, to Parquet files.
CREATE TABLE stage_reports AS SELECT 0::BIGINT AS stage_seq, * FROM reports LIMIT 0;
CREATE TABLE stage_products AS SELECT 0::BIGINT AS stage_seq, * FROM products LIMIT 0;
CREATE TABLE stage_reactions AS SELECT 0::BIGINT AS stage_seq, * FROM reactions LIMIT 0;
CREATE TABLE stage_ingredients AS SELECT 0::BIGINT AS stage_seq, * FROM product_ingredients LIMIT 0;

-- The terms, in the order they are tried (term_order), with the forms they are matched in:
-- a substring term inside the squeezed name, a word term as whole words of the normalized
-- name (both sides padded with spaces). An exclude term names a look-alike (7-OH-DPAT): a
-- name whose squeezed form contains it is not matched by the terms the look-alike contains
-- (7-OH), though other terms in the same name still match.
CREATE TABLE match_terms AS
SELECT term_order, term, kind, note, squeeze(term) AS squeezed, ' ' || normalize_name(term) || ' ' AS spaced
FROM terms_input;

-- Which products are kratom, for the page in `page_names` (stage_seq, product_seq, name_order,
-- field, name: every name of every product, made by faers_page.sql or caers_page.sql): each
-- name against every term; the first name in name_order, and for it the first term, decides.
-- A hit inside a look-alike named by an exclude term (7-OH in 7-OH-DPAT) does not count; such
-- a product keeps the exclude term in excluded_by. One row per product with any hit.
-- The same few hundred names recur on every page, so each distinct name is matched once
-- (name_forms), and products take their name's hits.
-- (page_names exists empty from the start: DuckDB checks a macro's tables when it is made.)
CREATE OR REPLACE TEMP TABLE page_names (stage_seq BIGINT, product_seq BIGINT, name_order INTEGER, field VARCHAR, name VARCHAR);
CREATE OR REPLACE TEMP MACRO name_forms() AS TABLE
SELECT name, clean(name) AS cleaned, squeeze(name) AS squeezed, ' ' || coalesce(normalize_name(name), '') || ' ' AS spaced
FROM (SELECT DISTINCT name FROM page_names)
WHERE clean(name) IS NOT NULL;
CREATE OR REPLACE TEMP MACRO kratom_hits() AS TABLE
WITH name_hits AS (
    SELECT f.name, f.cleaned, t.term, t.term_order,
           (SELECT min_by(e.term, e.term_order) FROM match_terms AS e
            WHERE e.kind = 'exclude' AND contains(f.squeezed, e.squeezed) AND contains(e.squeezed, t.squeezed)) AS excluded_by
    FROM name_forms() AS f
    JOIN match_terms AS t ON t.kind <> 'exclude'
        AND CASE t.kind WHEN 'substring' THEN contains(f.squeezed, t.squeezed) ELSE contains(f.spaced, t.spaced) END
),
hits AS (
    SELECT p.stage_seq, p.product_seq, p.field, h.cleaned AS name, h.term, h.excluded_by, p.name_order * 10000 + h.term_order AS rank
    FROM page_names AS p JOIN name_hits AS h USING (name)
)
SELECT stage_seq, product_seq,
       arg_min(term, rank) FILTER (WHERE excluded_by IS NULL) AS matched_term,
       arg_min(field, rank) FILTER (WHERE excluded_by IS NULL) AS matched_field,
       arg_min(name, rank) FILTER (WHERE excluded_by IS NULL) AS matched_name,
       arg_min(excluded_by, rank) AS excluded_by
FROM hits
GROUP BY stage_seq, product_seq;

-- is_first_mention, named_as_suspect (products) and is_first_mention, is_first_outcome
-- (reactions) are decided once, as each page is shaped, so that no table has to de-duplicate
-- the products or terms of a report. faers_page.sql and caers_page.sql make page_products_out
-- and page_reactions_out (the staging tables' columns but these), and append these.
CREATE OR REPLACE TEMP TABLE page_products_out AS SELECT * EXCLUDE (is_first_mention, named_as_suspect) FROM stage_products LIMIT 0;
CREATE OR REPLACE TEMP TABLE page_reactions_out AS SELECT * EXCLUDE (is_first_mention, is_first_outcome) FROM stage_reactions LIMIT 0;
CREATE OR REPLACE TEMP MACRO product_flags() AS TABLE
SELECT *,
       product_name_normalized IS NOT NULL
           AND row_number() OVER (PARTITION BY stage_seq, product_name_normalized, is_kratom ORDER BY product_seq) = 1 AS is_first_mention,
       product_name_normalized IS NOT NULL
           AND coalesce(bool_or(role IN ('suspect', 'interacting')) OVER (PARTITION BY stage_seq, product_name_normalized, is_kratom), false) AS named_as_suspect
FROM page_products_out;
-- The ingredients of the page's products (product_ingredients, schema.sql), from the names that
-- faers_page.sql or caers_page.sql chose for each product in page_ingredient_names: the field
-- they come from and its values, normalized. A value given twice (in any case: "Gabapentin",
-- "GABAPENTIN") is one ingredient, at its first place.
CREATE OR REPLACE TEMP TABLE page_ingredient_names (stage_seq BIGINT, product_seq BIGINT, ingredient_field VARCHAR, names VARCHAR[]);
CREATE OR REPLACE TEMP MACRO ingredient_flags() AS TABLE
WITH distinct_names AS (
    SELECT stage_seq, product_seq, ingredient_field,
           list_filter(list_filter(names, lambda n: n IS NOT NULL), lambda n, i: list_position(list_filter(names, lambda m: m IS NOT NULL), n) = i) AS names
    FROM page_ingredient_names
), each_one AS (
    SELECT n.stage_seq, p.source, p.report_id, n.product_seq, p.is_kratom, p.role, n.ingredient_field,
           unnest(n.names) AS ingredient, generate_subscripts(n.names, 1) AS ingredient_seq
    FROM distinct_names AS n JOIN page_products_out AS p USING (stage_seq, product_seq)
)
SELECT stage_seq, source, report_id, product_seq, ingredient_seq, ingredient, ingredient_field, is_kratom,
       row_number() OVER (PARTITION BY stage_seq, ingredient, is_kratom ORDER BY product_seq, ingredient_seq) = 1 AS is_first_mention,
       coalesce(bool_or(role IN ('suspect', 'interacting')) OVER (PARTITION BY stage_seq, ingredient, is_kratom), false) AS named_as_suspect
FROM each_one;
CREATE OR REPLACE TEMP MACRO reaction_flags() AS TABLE
SELECT *,
       reaction_pt IS NOT NULL AND row_number() OVER (PARTITION BY stage_seq, reaction_pt ORDER BY reaction_seq) = 1 AS is_first_mention,
       row_number() OVER (PARTITION BY stage_seq, reaction_outcome ORDER BY reaction_seq) = 1 AS is_first_outcome
FROM page_reactions_out;

-- The facts of each report that the case rules compare (ingest/sql/case_pairs.sql): its sets
-- of drugs, drug start dates, indications and reactions, each as a digest (NULL when empty).
-- Decided as each page is shaped, from its products and reactions (page_products_out,
-- page_reactions_out), instead of aggregating every product and reaction of the source at
-- publish, which ran out of memory at 300,000 reports. Digests, because the rules compare the
-- sets pair by pair at publish, in 128 MB, and sets of free text grow with its length (1,000
-- reports with indications of 40 KB ran that out of memory).
CREATE TABLE stage_case_facts (stage_seq BIGINT, drug_set_digest BLOB, start_dates_digest BLOB, indications_digest BLOB, reaction_set_digest BLOB);
-- A set's digest is that of its values' SHA-256 digests (hex) in order: each value is digested
-- before it is collected, so that collecting holds 64 characters a value, not the value, and
-- pieces of one width need no separator (one that could occur inside a name).
CREATE OR REPLACE TEMP MACRO set_digest(value_digests) AS digest(nullif(array_to_string(list_sort(value_digests), ''), ''));
CREATE OR REPLACE TEMP MACRO case_facts_of_page() AS TABLE
WITH drugs AS (
    SELECT stage_seq,
           set_digest(list(DISTINCT sha256(name)) FILTER (WHERE name IS NOT NULL)) AS drug_set_digest,
           set_digest(list(DISTINCT sha256(start_date::VARCHAR)) FILTER (WHERE start_date IS NOT NULL)) AS start_dates_digest,
           set_digest(list(DISTINCT sha256(indication)) FILTER (WHERE indication IS NOT NULL)) AS indications_digest
    FROM (SELECT stage_seq, product_name_normalized AS name, start_date, term_key(indication) AS indication FROM page_products_out)
    GROUP BY stage_seq
),
terms AS (
    SELECT stage_seq, set_digest(list(DISTINCT sha256(reaction_pt)) FILTER (WHERE reaction_pt IS NOT NULL)) AS reaction_set_digest
    FROM page_reactions_out
    GROUP BY stage_seq
)
SELECT stage_seq, d.drug_set_digest, d.start_dates_digest, d.indications_digest, t.reaction_set_digest
FROM drugs AS d FULL JOIN terms AS t USING (stage_seq);

-- Countries as reported -> ISO 3166 (ingest/countries.py), by country_key.
CREATE TABLE country_lookup AS
SELECT map_from_entries(list((key, code))) AS code, map_from_entries(list((key, name))) AS name
FROM (SELECT DISTINCT ON (country_key(spelling)) country_key(spelling) AS key, code, name FROM country_input ORDER BY key, code);
