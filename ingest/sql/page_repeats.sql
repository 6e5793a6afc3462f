-- page_repeats: the records of the page just read (`page_records`), and how many of them the
-- same query already brought, or the page holds twice: a server whose Link loops back to a
-- page already fetched would otherwise have its records counted as new ones. Records are
-- compared whole (a 64-bit hash of the JSON text): two versions of one report differ.
-- `query_records` holds the hashes of the query's records so far (staging.begin_query).
CREATE OR REPLACE TEMP TABLE page_hashes AS SELECT hash(record) AS h FROM page_records;
SET VARIABLE page_repeated = (SELECT count(*) - count(DISTINCT h) FROM page_hashes)
                           + (SELECT count(*) FROM page_hashes WHERE h IN (SELECT h FROM query_records));
INSERT INTO query_records SELECT h FROM page_hashes;
SELECT (SELECT count(*) FROM page_hashes), getvariable('page_repeated');
