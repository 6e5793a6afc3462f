-- publish_check: the keys of the five tables that have one but no PRIMARY KEY (schema.sql says
-- why), checked on the source just published, inside publish's transaction: one row per table
-- in which a key repeats, with how many keys repeat. publish.sql makes one row per key by
-- construction (one winner per report_id, one product, ingredient or reaction per position in it); this is
-- the guarantee that it did. Variable: source.
SELECT * FROM (
    SELECT 'reports' AS table_name, count(*) AS repeated_keys
    FROM (SELECT report_id FROM reports WHERE source = getvariable('source') GROUP BY report_id HAVING count(*) > 1)
    UNION ALL
    SELECT 'products', count(*)
    FROM (SELECT report_id, product_seq FROM products WHERE source = getvariable('source') GROUP BY ALL HAVING count(*) > 1)
    UNION ALL
    SELECT 'product_ingredients', count(*)
    FROM (SELECT report_id, product_seq, ingredient_seq FROM product_ingredients WHERE source = getvariable('source') GROUP BY ALL HAVING count(*) > 1)
    UNION ALL
    SELECT 'reactions', count(*)
    FROM (SELECT report_id, reaction_seq FROM reactions WHERE source = getvariable('source') GROUP BY ALL HAVING count(*) > 1)
    UNION ALL
    SELECT 'raw_reports', count(*)
    FROM (SELECT report_id FROM raw_reports WHERE source = getvariable('source') GROUP BY report_id HAVING count(*) > 1)
)
WHERE repeated_keys > 0
ORDER BY table_name;
