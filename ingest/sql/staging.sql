-- staging: the tables of a fetch's scratch database (beside the user's, removed after the
-- fetch). Pages are shaped into them one by one; publish.sql copies them over in one
-- transaction. stage_seq numbers records in the order received.
-- stage_raw stays empty: the raw records go to a Parquet file per page (stage_raw.sql), and
-- this table gives those files their columns.
CREATE TABLE stage_reports AS SELECT 0::BIGINT AS stage_seq, * FROM reports LIMIT 0;
CREATE TABLE stage_products AS SELECT 0::BIGINT AS stage_seq, * FROM products LIMIT 0;
CREATE TABLE stage_reactions AS SELECT 0::BIGINT AS stage_seq, * FROM reactions LIMIT 0;
CREATE TABLE stage_raw AS SELECT 0::BIGINT AS stage_seq, * FROM raw_reports LIMIT 0;

-- The search terms, in the order they are tried (term_order), with the forms they are
-- matched in: a substring term inside the squeezed name, a word term as whole words of the
-- normalized name (both sides padded with spaces).
CREATE TABLE match_terms AS
SELECT term_order, term, kind, squeeze(term) AS squeezed, ' ' || normalize_name(term) || ' ' AS spaced
FROM terms_input;
