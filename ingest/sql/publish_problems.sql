-- publish_problems: replace one source's fetch_problems with the fetch's (stage_problems,
-- written to a Parquet file by ingest/staging.py), in publish's transaction. A record received several times
-- (found by several terms) is listed once per problem.
-- Variables: source, stage_problems (the file).
DELETE FROM fetch_problems WHERE source = getvariable('source');
INSERT INTO fetch_problems
SELECT DISTINCT source, report_id, problem, stored FROM read_parquet(getvariable('stage_problems')) WHERE source = getvariable('source') ORDER BY report_id, problem;
