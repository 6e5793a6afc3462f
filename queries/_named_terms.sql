-- _named_terms: each term given to `cases --term` (variable named_terms: the spellings as
-- typed), by term key, with the kratom reports in scope that name it and the kratom reports
-- in the whole database that do. A term no report in scope names is a typo or a filter
-- too narrow: `cases` says which, with the closest terms, instead of an empty listing.
SELECT t.given,
       (SELECT count(DISTINCT x.report_key) FROM reactions AS x SEMI JOIN scope_members AS m USING (report_key)
        WHERE x.reaction_pt = term_key(t.given)) AS in_scope,
       (SELECT count(DISTINCT x.report_key) FROM reactions AS x JOIN reports AS r USING (report_key)
        WHERE r.is_kratom_report AND x.reaction_pt = term_key(t.given)) AS in_database
FROM unnest(getvariable('named_terms')::VARCHAR[]) AS t(given);
