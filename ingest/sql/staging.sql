-- Staging tables for one fetch. They are created inside the fetch's transaction, so an
-- interrupted fetch leaves none behind. stage_seq numbers records in the order received.
CREATE TABLE stage_reports AS SELECT 0::BIGINT AS stage_seq, * FROM reports LIMIT 0;
CREATE TABLE stage_products AS SELECT 0::BIGINT AS stage_seq, * FROM products LIMIT 0;
CREATE TABLE stage_reactions AS SELECT 0::BIGINT AS stage_seq, * FROM reactions LIMIT 0;
CREATE TABLE stage_raw AS SELECT 0::BIGINT AS stage_seq, * FROM raw_reports LIMIT 0;
