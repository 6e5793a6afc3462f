-- name: cases
-- description: The line listing: one row per kratom report in scope, with what a reviewer reads (dates, patient, reporter, seriousness, each reaction with its outcome, the products by role) and the probable case it belongs to.
-- row: one report (latest version), whatever --unit says: a case's reports are listed one by one, with their case_id
-- counts: nothing is counted; case_reports is the number of reports in the report's case (in the whole database, not only in scope)
-- columns: source, report_id, report_version, received_date, event_date, event_date_reported, age_years, age_decade, sex, country, reporter_qualification, report_type, seriousness, reactions (each "term (outcome)"), kratom_products (each "name [role]"), other_suspect_products, concomitant_products, pigmenting_drugs (co-reported products other than kratom with an active ingredient of queries/pigmenting_drugs.csv: an alternative explanation of a pigmentation term), dechallenge and rechallenge (the rules of queries/_clinical.sql; the dechallenge judged on the outcomes of the terms the listing is narrowed to, else of every reaction), time_to_onset_days (event date minus the earliest kratom start date, whole dates only; negative when kratom started after the event), literature_reference, company_number, case_id, case_reports, case_rule
-- key: source, report_id
-- parameters: source, since, until, role, serious
-- The `cases` command narrows it further with the variables case_terms (term keys, any of
-- them), case_skin, case_pigmentation (BOOLEAN: naming a skin / pigmentation term of the
-- skin table) and case_soc (a MedDRA primary SOC name); other commands leave them empty.
WITH listed AS (
    SELECT DISTINCT m.report_key FROM scope_members AS m
    WHERE (len(getvariable('case_terms')) = 0 OR m.report_key IN (
              SELECT report_key FROM reactions WHERE list_contains(getvariable('case_terms'), reaction_pt)))
      AND (NOT getvariable('case_skin') OR m.report_key IN (
              SELECT report_key FROM reactions SEMI JOIN skin_terms USING (reaction_pt)))
      AND (NOT getvariable('case_pigmentation') OR m.report_key IN (
              SELECT report_key FROM reactions SEMI JOIN (SELECT reaction_pt FROM skin_terms WHERE is_pigmentation) USING (reaction_pt)))
      AND (getvariable('case_soc') IS NULL OR m.report_key IN (
              SELECT x.report_key FROM reactions AS x JOIN term_socs AS s ON s.term = x.reaction_pt
              WHERE lower(s.soc_name) = lower(getvariable('case_soc'))))
),
reaction_list AS (
    SELECT x.report_key,
           string_agg(coalesce(l.label, x.reaction_pt) || ' (' || coalesce(x.reaction_outcome, 'outcome not reported') || ')', '; ' ORDER BY x.reaction_seq) AS reactions
    FROM reactions AS x SEMI JOIN listed USING (report_key)
    LEFT JOIN term_labels AS l USING (reaction_pt)
    WHERE x.is_first_mention
    GROUP BY x.report_key
),
product_list AS (
    SELECT p.report_key,
           string_agg(coalesce(p.product_name, '(no name)') || ' [' || coalesce(p.role, 'role not reported') || ']', '; ' ORDER BY p.product_seq) FILTER (WHERE p.is_kratom) AS kratom_products,
           string_agg(p.product_name, '; ' ORDER BY p.product_seq) FILTER (WHERE NOT p.is_kratom AND p.role IN ('suspect', 'interacting')) AS other_suspect_products,
           string_agg(p.product_name, '; ' ORDER BY p.product_seq) FILTER (WHERE NOT p.is_kratom AND coalesce(p.role, '') NOT IN ('suspect', 'interacting')) AS concomitant_products
    FROM products AS p SEMI JOIN listed USING (report_key)
    GROUP BY p.report_key
),
-- The outcomes the dechallenge is judged on: those of the terms the listing was narrowed to
-- (--term, --skin, --pigmentation, --soc), else of every reaction of the report.
judged_outcomes AS (
    SELECT x.report_key, list(DISTINCT coalesce(x.reaction_outcome, 'not reported')) AS outcomes
    FROM reactions AS x SEMI JOIN listed USING (report_key)
    WHERE x.reaction_pt IS NOT NULL AND (
        (len(getvariable('case_terms')) = 0 AND NOT getvariable('case_skin') AND NOT getvariable('case_pigmentation') AND getvariable('case_soc') IS NULL)
        OR list_contains(getvariable('case_terms'), x.reaction_pt)
        OR (getvariable('case_skin') AND x.reaction_pt IN (SELECT reaction_pt FROM skin_terms))
        OR (getvariable('case_pigmentation') AND x.reaction_pt IN (SELECT reaction_pt FROM skin_terms WHERE is_pigmentation))
        OR x.reaction_pt IN (SELECT term FROM term_socs WHERE lower(soc_name) = lower(getvariable('case_soc'))))
    GROUP BY x.report_key
),
case_size AS (SELECT case_id, count(*) AS case_reports FROM reports GROUP BY case_id)
SELECT r.source, r.report_id, r.report_version, r.received_date, r.event_date, r.event_date_reported, r.age_years, r.age_decade, r.sex,
       country_category(r.country_code, r.country_name) AS country, r.reporter_qualification, r.report_type,
       CASE WHEN r.is_serious IS NULL THEN 'not reported' WHEN NOT r.is_serious THEN 'not serious'
            ELSE coalesce(nullif(array_to_string(list_filter([
                CASE WHEN r.serious_death THEN 'death' END, CASE WHEN r.serious_life_threatening THEN 'life threatening' END,
                CASE WHEN r.serious_hospitalization THEN 'hospitalisation' END, CASE WHEN r.serious_disabling THEN 'disabling' END,
                CASE WHEN r.serious_congenital_anomaly THEN 'congenital anomaly' END, CASE WHEN r.serious_other THEN 'other serious' END],
                lambda c: c IS NOT NULL), ', '), ''), 'serious, no criterion given') END AS seriousness,
       x.reactions, p.kratom_products, p.other_suspect_products, p.concomitant_products,
       nullif(array_to_string(k.pigmenting_drugs, '; '), '') AS pigmenting_drugs, dechallenge_of(k.actions, coalesce(o.outcomes, [])) AS dechallenge,
       rechallenge_of(k.rechallenge_answers) AS rechallenge, k.onset_days AS time_to_onset_days,
       r.literature_reference, r.company_number, r.case_id, c.case_reports, r.case_rule
FROM reports AS r
SEMI JOIN listed USING (report_key)
JOIN clinical_reports AS k USING (report_key)
LEFT JOIN judged_outcomes AS o USING (report_key)
LEFT JOIN reaction_list AS x USING (report_key)
LEFT JOIN product_list AS p USING (report_key)
JOIN case_size AS c USING (case_id)
ORDER BY r.case_id, r.received_date, r.source, r.report_id;
