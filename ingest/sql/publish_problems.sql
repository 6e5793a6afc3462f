-- publish_problems: replace one source's fetch_problems with the fetch's (the scratch
-- database's stage_problems), in publish's transaction. A record received several times
-- (found by several terms) is listed once per problem.
-- Variable: source.
DELETE FROM fetch_problems WHERE source = getvariable('source');
INSERT INTO fetch_problems
SELECT DISTINCT source, report_id, problem, stored FROM staging.stage_problems WHERE source = getvariable('source') ORDER BY report_id, problem;
