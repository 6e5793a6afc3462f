-- faers_page: shape the FAERS (drug/event) records in `page_faers` (faers_read.sql, less the
-- records faers_problems.sql left out) into the staging tables.
-- Field names and code lists are openFDA's; ingest/sql/codes.sql has the labels.
CREATE OR REPLACE TEMP TABLE page_products AS
SELECT stage_seq, report_id, unnest(r.patient.drug) AS drug, generate_subscripts(r.patient.drug, 1) AS product_seq
FROM page_faers;

-- Every name of a product: the product, its active substance, then its openfda brand, generic
-- and substance names, in that order; kratom_hits (staging.sql) decides which are kratom.
CREATE OR REPLACE TEMP TABLE page_names AS
SELECT stage_seq, product_seq, 1 AS name_order, 'medicinalproduct' AS field, drug.medicinalproduct AS name FROM page_products
UNION ALL SELECT stage_seq, product_seq, 2, 'activesubstancename', drug.activesubstance.activesubstancename FROM page_products
UNION ALL SELECT stage_seq, product_seq, 1000 + generate_subscripts(drug.openfda.brand_name, 1), 'openfda.brand_name', unnest(drug.openfda.brand_name) FROM page_products
UNION ALL SELECT stage_seq, product_seq, 2000 + generate_subscripts(drug.openfda.generic_name, 1), 'openfda.generic_name', unnest(drug.openfda.generic_name) FROM page_products
UNION ALL SELECT stage_seq, product_seq, 3000 + generate_subscripts(drug.openfda.substance_name, 1), 'openfda.substance_name', unnest(drug.openfda.substance_name) FROM page_products;

CREATE OR REPLACE TEMP TABLE page_hits AS FROM kratom_hits();

CREATE OR REPLACE TEMP TABLE page_matches AS
SELECT stage_seq, product_seq, matched_term, matched_field, matched_name FROM page_hits WHERE matched_term IS NOT NULL;

CREATE OR REPLACE TEMP TABLE page_products_out AS
SELECT p.stage_seq, 'faers' AS source, p.report_id, p.product_seq,
       clean(p.drug.medicinalproduct) AS product_name,
       normalize_name(clean(p.drug.medicinalproduct)) AS product_name_normalized,
       clean(p.drug.activesubstance.activesubstancename) AS active_substance,
       map_extract_value(l.drug_role, code(p.drug.drugcharacterization, 1)) AS role,
       clean(p.drug.drugindication) AS indication,
       openfda_date(clean(p.drug.drugstartdate)) AS start_date,
       clean(p.drug.drugstartdate) AS start_date_reported,
       date_precision(p.drug.drugstartdate) AS start_date_precision,
       code(p.drug.drugstartdateformat, 3) AS start_date_format,
       openfda_date(clean(p.drug.drugenddate)) AS end_date,
       clean(p.drug.drugenddate) AS end_date_reported,
       date_precision(p.drug.drugenddate) AS end_date_precision,
       code(p.drug.drugenddateformat, 3) AS end_date_format,
       clean(p.drug.drugtreatmentduration) AS duration_reported,
       labelled(l.duration_unit, code(p.drug.drugtreatmentdurationunit, 3)) AS duration_unit,
       CASE WHEN number(p.drug.drugtreatmentduration) >= 0 THEN
           number(p.drug.drugtreatmentduration) * map_extract_value(l.days_in_unit, code(p.drug.drugtreatmentdurationunit, 3))
               / map_extract_value(l.unit_per_days, code(p.drug.drugtreatmentdurationunit, 3)) END AS duration_days,
       clean(p.drug.drugdosagetext) AS dosage_text,
       clean(p.drug.drugdosageform) AS dosage_form,
       number(p.drug.drugstructuredosagenumb) AS dose_amount,
       labelled(l.dose_unit, code(p.drug.drugstructuredosageunit, 3)) AS dose_unit,
       number(p.drug.drugseparatedosagenumb) AS separate_doses,
       number(p.drug.drugintervaldosageunitnumb) AS dose_interval,
       labelled(l.interval_unit, code(p.drug.drugintervaldosagedefinition, 3)) AS dose_interval_unit,
       number(p.drug.drugcumulativedosagenumb) AS cumulative_dose_amount,
       labelled(l.dose_unit, code(p.drug.drugcumulativedosageunit, 3)) AS cumulative_dose_unit,
       labelled(l.route, code(p.drug.drugadministrationroute, 3)) AS route,
       labelled(l.action, code(p.drug.actiondrug, 1)) AS action_taken,
       labelled(l.abated, code(p.drug.drugadditional, 1)) AS abated_after_action,
       labelled(l.recurred, code(p.drug.drugrecurreadministration, 1)) AS recurred_on_readministration,
       nullif(list_filter(list_transform(p.drug.drugrecurrence, lambda x: term_key(x.drugrecuraction)), lambda t: t IS NOT NULL), []) AS recurred_reactions,
       NULL AS industry_name,
       m.matched_term IS NOT NULL AS is_kratom, m.matched_term, m.matched_field, m.matched_name,
       CASE WHEN m.matched_term IS NULL THEN m.excluded_by END AS excluded_by
FROM page_products AS p
CROSS JOIN labels AS l
LEFT JOIN page_hits AS m USING (stage_seq, product_seq);

-- Each product's active ingredients (docs/methods.md "Ingredients"): openFDA's own mapping of the
-- product to drug labels (openfda.generic_name, else openfda.substance_name) where it made one,
-- else the activesubstancename the sender gave, else the product's name: NEURONTIN is GABAPENTIN
-- when openFDA says so, and stays NEURONTIN when nothing does.
CREATE OR REPLACE TEMP TABLE page_ingredient_names AS
WITH named AS (
    SELECT stage_seq, product_seq,
           list_transform(drug.openfda.generic_name, lambda g: normalize_name(g)) AS generic,
           list_transform(drug.openfda.substance_name, lambda g: normalize_name(g)) AS substance,
           normalize_name(drug.activesubstance.activesubstancename) AS active,
           normalize_name(drug.medicinalproduct) AS product
    FROM page_products
)
SELECT stage_seq, product_seq,
       CASE WHEN list_bool_or(list_transform(generic, lambda g: g IS NOT NULL)) THEN 'openfda.generic_name'
            WHEN list_bool_or(list_transform(substance, lambda g: g IS NOT NULL)) THEN 'openfda.substance_name'
            WHEN active IS NOT NULL THEN 'activesubstancename'
            WHEN product IS NOT NULL THEN 'medicinalproduct' END AS ingredient_field,
       CASE ingredient_field WHEN 'openfda.generic_name' THEN generic WHEN 'openfda.substance_name' THEN substance
            WHEN 'activesubstancename' THEN [active] WHEN 'medicinalproduct' THEN [product] END AS names
FROM named
WHERE ingredient_field IS NOT NULL;

CREATE OR REPLACE TEMP TABLE page_reactions_out AS
SELECT stage_seq, 'faers' AS source, report_id, reaction_seq,
       term_key(reaction.reactionmeddrapt) AS reaction_pt,
       clean(reaction.reactionmeddrapt) AS reaction_pt_reported,
       map_extract_value(l.reaction_outcome, clean(reaction.reactionoutcome)) AS reaction_outcome
FROM (SELECT stage_seq, report_id, unnest(r.patient.reaction) AS reaction, generate_subscripts(r.patient.reaction, 1) AS reaction_seq FROM page_faers)
CROSS JOIN labels AS l;

INSERT INTO stage_products BY NAME FROM product_flags();
INSERT INTO stage_ingredients BY NAME FROM ingredient_flags();
INSERT INTO stage_reactions BY NAME FROM reaction_flags();
INSERT INTO stage_case_facts BY NAME FROM case_facts_of_page();

INSERT INTO stage_reports BY NAME
SELECT f.stage_seq, 'faers' AS source, f.report_id, f.report_version,
       openfda_date(r.receivedate) AS received_date,
       openfda_date(narrative_event_date(r.patient.summary.narrativeincludeclinical)) AS event_date,
       narrative_event_date(r.patient.summary.narrativeincludeclinical) AS event_date_reported,
       CASE clean(r.serious) WHEN '1' THEN true WHEN '2' THEN false END AS is_serious,
       flag(r.seriousnessdeath) AS serious_death,
       flag(r.seriousnesslifethreatening) AS serious_life_threatening,
       flag(r.seriousnesshospitalization) AS serious_hospitalization,
       flag(r.seriousnessdisabling) AS serious_disabling,
       flag(r.seriousnesscongenitalanomali) AS serious_congenital_anomaly,
       flag(r.seriousnessother) AS serious_other,
       NULL AS outcomes,
       CASE WHEN clean(r.patient.patientonsetageunit) <> '800' THEN
           age_years(r.patient.patientonsetage, map_extract_value(l.years_per_unit, clean(r.patient.patientonsetageunit))) END AS age_years,
       CASE WHEN clean(r.patient.patientonsetageunit) = '800' THEN age_decade(r.patient.patientonsetage) END AS age_decade,
       clean(r.patient.patientonsetage) AS age_reported,
       coalesce(map_extract_value(l.age_unit_name, clean(r.patient.patientonsetageunit)), clean(r.patient.patientonsetageunit)) AS age_unit_reported,
       map_extract_value(l.age_group, clean(r.patient.patientagegroup)) AS age_group,
       map_extract_value(l.sex, clean(r.patient.patientsex)) AS sex,
       number(r.patient.patientweight) AS weight_kg,
       clean(r.occurcountry) AS occur_country,
       clean(r.primarysource.reportercountry) AS reporter_country,
       map_extract_value(c.code, country_key(coalesce(clean(r.occurcountry), clean(r.primarysource.reportercountry)))) AS country_code,
       coalesce(map_extract_value(c.name, country_key(coalesce(clean(r.occurcountry), clean(r.primarysource.reportercountry)))),
                coalesce(clean(r.occurcountry), clean(r.primarysource.reportercountry))) AS country_name,
       map_extract_value(l.qualification, clean(r.primarysource.qualification)) AS reporter_qualification,
       map_extract_value(l.report_type, clean(r.reporttype)) AS report_type,
       clean(r.companynumb) AS company_number,
       clean(r.reportduplicate.duplicatesource) AS duplicate_source,
       clean(r.reportduplicate.duplicatenumb) AS duplicate_number,
       clean(r.primarysource.literaturereference) AS literature_reference,
       '' AS case_id, '' AS case_rule,  -- decided at publish (ingest/cases.py)
       f.stage_seq IN (SELECT stage_seq FROM page_matches) AS is_kratom_report,
       f.stage_seq IN (
           SELECT m.stage_seq FROM page_matches AS m JOIN page_products AS p USING (stage_seq, product_seq)
           WHERE code(p.drug.drugcharacterization, 1) IN ('1', '3')  -- suspect, interacting
       ) AS is_kratom_suspect_report,
       f.stage_seq IN (SELECT stage_seq FROM page_matches)
           AND f.stage_seq NOT IN (SELECT stage_seq FROM page_products ANTI JOIN page_matches USING (stage_seq, product_seq)) AS is_kratom_only_report
FROM page_faers AS f
CROSS JOIN labels AS l
CROSS JOIN country_lookup AS c;
