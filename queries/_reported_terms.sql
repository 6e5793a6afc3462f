-- _reported_terms: the terms kratom reports name anywhere in the database, as tables show them: where the
-- closest terms to a misspelt one (`cases --term`, _named_terms.sql) are looked for.
SELECT DISTINCT coalesce(l.label, x.reaction_pt) AS term
FROM reactions AS x JOIN reports AS r USING (report_key) LEFT JOIN term_labels AS l USING (reaction_pt)
WHERE r.is_kratom_report AND x.reaction_pt IS NOT NULL
ORDER BY term;
