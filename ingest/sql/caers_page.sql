-- caers_page: shape the CAERS (food/event) records in `page_caers` (caers_read.sql, less the
-- records caers_problems.sql left out) into the staging tables. CAERS reports have no versions, no seriousness flags and no reporter
-- fields; the flags are derived from the outcomes. openFDA documents upper-case outcomes
-- ("OTHER SERIOUS (IMPORTANT MEDICAL EVENTS)") but serves other wording too ("Other Serious
-- or Important Medical Event"), so outcomes are matched on keywords, case ignored. "Visited an
-- ER" and "visited a health care provider" are not serious criteria; "NON-SERIOUS INJURIES/
-- ILLNESS" is not serious although it contains "SERIOUS INJURIES".
CREATE OR REPLACE TEMP TABLE page_products AS
SELECT stage_seq, report_id, unnest(r.products) AS product, generate_subscripts(r.products, 1) AS product_seq
FROM page_caers;

-- A CAERS product has one name, its brand; kratom_hits (staging.sql) decides which are kratom.
CREATE OR REPLACE TEMP TABLE page_names AS
SELECT stage_seq, product_seq, 1 AS name_order, 'name_brand' AS field, product.name_brand AS name FROM page_products;

CREATE OR REPLACE TEMP TABLE page_hits AS FROM kratom_hits();

CREATE OR REPLACE TEMP TABLE page_matches AS
SELECT stage_seq, product_seq, matched_term, matched_field, matched_name FROM page_hits WHERE matched_term IS NOT NULL;

CREATE OR REPLACE TEMP TABLE page_products_out AS
SELECT p.stage_seq, 'caers' AS source, p.report_id, p.product_seq,
       clean(p.product.name_brand) AS product_name,
       normalize_name(clean(p.product.name_brand)) AS product_name_normalized,
       NULL AS active_substance,
       CASE WHEN lower(clean(p.product.role)) = 'not available' THEN NULL
            ELSE coalesce(map_extract_value(l.caers_role, lower(clean(p.product.role))), lower(clean(p.product.role))) END AS role,
       -- CAERS records carry none of FAERS's drug details (dates, dose, duration, route, action
       -- taken, rechallenge: docs/schema.md); INSERT BY NAME leaves the columns not named here NULL.
       NULL AS indication, NULL AS start_date, NULL AS route,
       clean(p.product.industry_name) AS industry_name,
       m.matched_term IS NOT NULL AS is_kratom, m.matched_term, m.matched_field, m.matched_name,
       CASE WHEN m.matched_term IS NULL THEN m.excluded_by END AS excluded_by
FROM page_products AS p
CROSS JOIN labels AS l
LEFT JOIN page_hits AS m USING (stage_seq, product_seq);

-- A CAERS product's only name is its brand, so it is its own ingredient (docs/methods.md "Ingredients").
CREATE OR REPLACE TEMP TABLE page_ingredient_names AS
SELECT stage_seq, product_seq, 'name_brand' AS ingredient_field, [normalize_name(clean(product.name_brand))] AS names
FROM page_products
WHERE normalize_name(clean(product.name_brand)) IS NOT NULL;

CREATE OR REPLACE TEMP TABLE page_reactions_out AS
SELECT stage_seq, 'caers' AS source, report_id, reaction_seq, term_key(reaction) AS reaction_pt, clean(reaction) AS reaction_pt_reported, NULL AS reaction_outcome
FROM (SELECT stage_seq, report_id, unnest(r.reactions) AS reaction, generate_subscripts(r.reactions, 1) AS reaction_seq FROM page_caers);

INSERT INTO stage_products BY NAME FROM product_flags();
INSERT INTO stage_ingredients BY NAME FROM ingredient_flags();
INSERT INTO stage_reactions BY NAME FROM reaction_flags();
INSERT INTO stage_case_facts BY NAME FROM case_facts_of_page();

INSERT INTO stage_reports BY NAME
WITH flags AS (
    SELECT stage_seq,
           list_transform(outcomes, lambda o: upper(o)) AS upper_outcomes,
           len(list_filter(outcomes, lambda o: upper(o) <> 'NONE')) > 0 AS reported
    FROM page_caers
), criteria AS (
    SELECT stage_seq, reported,
           list_bool_or(list_transform(upper_outcomes, lambda o: regexp_matches(o, '\bDEATH\b'))) AS death,
           list_bool_or(list_transform(upper_outcomes, lambda o: regexp_matches(o, 'LIFE.THREATENING'))) AS life_threatening,
           list_bool_or(list_transform(upper_outcomes, lambda o: regexp_matches(o, 'HOSPITALI[SZ]'))) AS hospitalization,
           list_bool_or(list_transform(upper_outcomes, lambda o: regexp_matches(o, 'DISABILITY'))) AS disabling,
           list_bool_or(list_transform(upper_outcomes, lambda o: regexp_matches(o, 'CONGENITAL'))) AS congenital,
           list_bool_or(list_transform(upper_outcomes, lambda o: regexp_matches(o, 'OTHER SERIOUS|^SERIOUS INJUR|REQ.* INTERVENTION|REQUIRED INTERVENTION'))) AS other
    FROM flags
)
SELECT c.stage_seq, 'caers' AS source, c.report_id, NULL AS report_version,
       openfda_date(r.date_created) AS received_date,
       openfda_date(r.date_started) AS event_date,
       clean(r.date_started) AS event_date_reported,
       CASE WHEN k.reported THEN coalesce(k.death OR k.life_threatening OR k.hospitalization OR k.disabling OR k.congenital OR k.other, false) END AS is_serious,
       coalesce(k.death, false) AS serious_death,
       coalesce(k.life_threatening, false) AS serious_life_threatening,
       coalesce(k.hospitalization, false) AS serious_hospitalization,
       coalesce(k.disabling, false) AS serious_disabling,
       coalesce(k.congenital, false) AS serious_congenital_anomaly,
       coalesce(k.other, false) AS serious_other,
       c.outcomes,
       CASE WHEN caers_age_unit(r.consumer.age_unit) <> 'decade' THEN
           age_years(r.consumer.age, map_extract_value(l.years_per_unit, caers_age_unit(r.consumer.age_unit))) END AS age_years,
       CASE WHEN caers_age_unit(r.consumer.age_unit) = 'decade' THEN age_decade(r.consumer.age) END AS age_decade,
       clean(r.consumer.age) AS age_reported,
       clean(r.consumer.age_unit) AS age_unit_reported,
       NULL AS age_group,
       coalesce(map_extract_value(l.caers_gender, lower(clean(r.consumer.gender))), lower(clean(r.consumer.gender))) AS sex,
       NULL AS weight_kg, NULL AS occur_country, NULL AS reporter_country, NULL AS country_code, NULL AS country_name, NULL AS reporter_qualification,
       NULL AS report_type, NULL AS company_number, NULL AS duplicate_source, NULL AS duplicate_number, NULL AS literature_reference,
       '' AS case_id, '' AS case_rule,  -- decided at publish (ingest/cases.py)
       c.stage_seq IN (SELECT stage_seq FROM page_matches) AS is_kratom_report,
       c.stage_seq IN (
           SELECT m.stage_seq FROM page_matches AS m JOIN page_products AS p USING (stage_seq, product_seq)
           WHERE lower(clean(p.product.role)) = 'suspect'
       ) AS is_kratom_suspect_report,
       c.stage_seq IN (SELECT stage_seq FROM page_matches)
           AND c.stage_seq NOT IN (SELECT stage_seq FROM page_products ANTI JOIN page_matches USING (stage_seq, product_seq)) AS is_kratom_only_report
FROM page_caers AS c
JOIN criteria AS k USING (stage_seq)
CROSS JOIN labels AS l;
