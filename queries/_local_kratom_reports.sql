-- _local_kratom_reports: the kratom reports in scope whose probable cases of the local background
-- signals --background local --unit case takes out of c and d (queries/local_background.py).
-- row: a kratom report in scope (with unit = 'case' every in-scope report of every case)
-- counts: nothing; lists report ids
-- columns: source, report_id
-- key: source, report_id
-- parameters: none (the scope tables of _scope.sql)
SELECT DISTINCT r.source, r.report_id
FROM scope_members AS m JOIN reports AS r USING (report_key)
ORDER BY ALL;
