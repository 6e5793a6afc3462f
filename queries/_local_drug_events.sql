-- _local_drug_events: the ingredient-by-event table of the local background (run after
-- queries/_local_background.sql on the same connection), the table an empirical-Bayes prior is
-- fitted on (queries/ebgm.py, DuMouchel 1999): every pair of a drug and a reaction term that
-- some unit names, with its observed and expected count.
-- row: a drug and a reaction term named together by at least one unit
-- counts: units of the background population (reports, latest version; or probable cases):
--   n = units naming both the drug and the term; drug_units, term_units = units naming the drug,
--   the term; units = units naming any drug and any term; expected = drug_units * term_units / units
--   (the drug and the term reported independently). Margins count units, not pairs, as
--   openEBGM's processRaw does (its E = N_v1 / N_tot * N_v2).
-- columns: source, drug, term, n, drug_units, term_units, units, expected
-- key: source, drug, term
-- parameters: bg_source
-- A drug is an ingredient of a product that is not kratom (product_ingredients' rule: openFDA's
-- generic names, else substance names, else the active substance, else the product's name),
-- and 'kratom' (lower case: no normalized ingredient is) for any kratom product.
CREATE OR REPLACE TEMP TABLE local_unit_drugs AS
SELECT DISTINCT m.unit_id, CASE WHEN i.is_kratom THEN 'kratom' ELSE i.ingredient END AS drug
FROM local_members AS m
JOIN read_parquet(getvariable('bg_ingredients')) AS i USING (part_seq, record_seq);

CREATE OR REPLACE TEMP TABLE local_drug_events AS
WITH counted AS (
    SELECT unit_id FROM local_unit_drugs INTERSECT SELECT unit_id FROM local_unit_terms
),
drugs AS (SELECT drug, count(*) AS drug_units FROM local_unit_drugs SEMI JOIN counted USING (unit_id) GROUP BY drug),
terms AS (SELECT term, count(*) AS term_units FROM local_unit_terms SEMI JOIN counted USING (unit_id) GROUP BY term),
pairs AS (
    SELECT d.drug, t.term, count(*) AS n
    FROM local_unit_drugs AS d JOIN local_unit_terms AS t USING (unit_id)
    GROUP BY ALL
)
SELECT getvariable('bg_source') AS source, p.drug, p.term, p.n, d.drug_units, t.term_units, c.units,
       d.drug_units::DOUBLE * t.term_units / c.units AS expected
FROM pairs AS p
JOIN drugs AS d USING (drug)
JOIN terms AS t USING (term)
CROSS JOIN (SELECT count(*) AS units FROM counted) AS c;
