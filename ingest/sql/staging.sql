-- staging: the tables of a fetch's scratch database (beside the user's, removed after the
-- fetch). Pages are shaped into them one by one; publish.sql copies them over in one
-- transaction. stage_seq numbers records in the order received.
-- stage_raw stays empty: the raw records go to a Parquet file per page (stage_raw.sql), and
-- this table gives those files their columns.
CREATE TABLE stage_reports AS SELECT 0::BIGINT AS stage_seq, * FROM reports LIMIT 0;
CREATE TABLE stage_products AS SELECT 0::BIGINT AS stage_seq, * FROM products LIMIT 0;
CREATE TABLE stage_reactions AS SELECT 0::BIGINT AS stage_seq, * FROM reactions LIMIT 0;
CREATE TABLE stage_raw AS SELECT 0::BIGINT AS stage_seq, * FROM raw_reports LIMIT 0;

-- The terms, in the order they are tried (term_order), with the forms they are matched in:
-- a substring term inside the squeezed name, a word term as whole words of the normalized
-- name (both sides padded with spaces). An exclude term names a look-alike (7-OH-DPAT): a
-- name whose squeezed form contains it is not matched by the terms the look-alike contains
-- (7-OH), though other terms in the same name still match.
CREATE TABLE match_terms AS
SELECT term_order, term, kind, note, squeeze(term) AS squeezed, ' ' || normalize_name(term) || ' ' AS spaced
FROM terms_input;

-- Countries as reported -> ISO 3166 (ingest/countries.py), by country_key.
CREATE TABLE country_lookup AS
SELECT map_from_entries(list((key, code))) AS code, map_from_entries(list((key, name))) AS name
FROM (SELECT DISTINCT ON (country_key(spelling)) country_key(spelling) AS key, code, name FROM country_input ORDER BY key, code);
