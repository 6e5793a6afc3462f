-- _clinical: the rules a clinician's reading of a report needs, shared by the profile
-- (queries/_profile.sql) and the line listing (queries/cases.sql). Not a table; run after
-- _scope.sql. View pigmenting_drugs_csv: queries/pigmenting_drugs.csv, as text.
--
-- Dechallenge (what happened to the reaction when kratom was stopped; docs/methods.md
-- "Clinical profile"), from the action taken with each kratom product of the unit
-- (products.action_taken, FAERS actiondrug) and the outcomes of the reaction's own rows
-- (reactions.reaction_outcome):
--   * several kratom products, one withdrawn or reduced and another not changed or increased:
--     unknown (kratom was not stopped, so the outcome says nothing about stopping it);
--   * kratom withdrawn or dose reduced, and the reaction recovered/resolved, recovering/resolving
--     or recovered/resolved with sequelae (and never not recovered): positive;
--   * kratom withdrawn or dose reduced, and the reaction not recovered/not resolved (and never
--     one of the recovering outcomes): negative;
--   * kratom withdrawn or dose reduced, and the outcome unknown, not reported, fatal (death ends
--     what could be observed) or both kinds at once: unknown;
--   * no kratom product withdrawn or reduced, and one not changed, increased or "not applicable"
--     (a single use, or stopped before the reaction): not applicable (no dechallenge);
--   * otherwise (every action unknown or not reported, and every CAERS report): unknown.
-- An action "unknown" or missing on one kratom product does not stop another's withdrawal
-- from counting.
CREATE OR REPLACE TEMP MACRO dechallenge_of(actions, outcomes) AS CASE
    WHEN list_has_any(actions, ['drug withdrawn', 'dose reduced']) AND list_has_any(actions, ['dose not changed', 'dose increased']) THEN 'unknown'
    WHEN list_has_any(actions, ['drug withdrawn', 'dose reduced']) THEN CASE
        WHEN list_has_any(outcomes, ['recovered/resolved', 'recovering/resolving', 'recovered/resolved with sequelae'])
             AND NOT list_contains(outcomes, 'not recovered/not resolved') THEN 'positive'
        WHEN list_contains(outcomes, 'not recovered/not resolved')
             AND NOT list_has_any(outcomes, ['recovered/resolved', 'recovering/resolving', 'recovered/resolved with sequelae']) THEN 'negative'
        ELSE 'unknown' END
    WHEN list_has_any(actions, ['dose not changed', 'dose increased', 'not applicable']) THEN 'not applicable'
    ELSE 'unknown'
END;

-- Rechallenge (did the reaction recur when kratom was given again), from every kratom
-- product's products.recurred_on_readministration (FAERS drugrecurreadministration): positive
-- when any says yes, else negative when any says no, else unknown when any says unknown, else
-- not reported.
CREATE OR REPLACE TEMP MACRO rechallenge_of(answers) AS CASE
    WHEN list_contains(answers, 'yes') THEN 'positive'
    WHEN list_contains(answers, 'no') THEN 'negative'
    WHEN list_contains(answers, 'unknown') THEN 'unknown'
    ELSE 'not reported'
END;

-- A number of days or a dose as written for people: 15, not 15.0; 4.5 as it is.
CREATE OR REPLACE TEMP MACRO plain_number(x) AS regexp_replace(CAST(x AS VARCHAR), '\.0$', '');

-- The 95% Wilson score interval of k successes in n (Wilson 1927), as statsmodels'
-- proportion_confint(method='wilson') gives it; NULL when n = 0.
CREATE OR REPLACE TEMP MACRO wilson_low(k, n) AS CASE WHEN n > 0 THEN
    (k / n + 1.959963984540054 ** 2 / (2 * n) - 1.959963984540054 * sqrt(k / n * (1 - k / n) / n + 1.959963984540054 ** 2 / (4 * n * n)))
    / (1 + 1.959963984540054 ** 2 / n) END;
CREATE OR REPLACE TEMP MACRO wilson_high(k, n) AS CASE WHEN n > 0 THEN
    (k / n + 1.959963984540054 ** 2 / (2 * n) + 1.959963984540054 * sqrt(k / n * (1 - k / n) / n + 1.959963984540054 ** 2 / (4 * n * n)))
    / (1 + 1.959963984540054 ** 2 / n) END;

-- The pigmenting drugs of queries/pigmenting_drugs.csv, by normalized ingredient.
CREATE OR REPLACE TEMP TABLE pigmenting_drugs AS
SELECT normalize_name(ingredient) AS ingredient, drug_class, source FROM pigmenting_drugs_csv;

-- Each kratom report in scope with what the profile and the listing read per report:
-- onset_days = its event date (reports.event_date, a whole YYYYMMDD) minus the earliest start
-- date of its kratom products (products.start_date, a whole YYYYMMDD; a month or a year alone
-- is never used), NULL when either is missing; duration_days = the longest
-- drugtreatmentduration of its kratom products, in days (products.duration_days); the kratom
-- products' actions, rechallenge answers, roles, routes and doses as lists; pigmenting_drugs =
-- the entries of queries/pigmenting_drugs.csv that a product of the report other than kratom
-- has as an active ingredient (any role; product_ingredients).
-- A view: only the profile and the listing read it, and every command makes the scope.
CREATE OR REPLACE TEMP VIEW clinical_reports AS
WITH kratom AS (
    SELECT p.report_key,
           min(p.start_date) AS first_start,
           max(p.duration_days) AS duration_days,
           list(DISTINCT p.action_taken) FILTER (WHERE p.action_taken IS NOT NULL) AS actions,
           list(DISTINCT p.recurred_on_readministration) FILTER (WHERE p.recurred_on_readministration IS NOT NULL) AS rechallenge_answers,
           list(DISTINCT coalesce(p.role, 'role not reported')) AS roles,
           list(DISTINCT p.route) FILTER (WHERE p.route IS NOT NULL) AS routes,
           list(DISTINCT coalesce(p.dosage_text, plain_number(p.dose_amount) || coalesce(' ' || p.dose_unit, '')))
               FILTER (WHERE p.dosage_text IS NOT NULL OR p.dose_amount IS NOT NULL) AS doses
    FROM products AS p SEMI JOIN scope_members AS m USING (report_key)
    WHERE p.is_kratom
    GROUP BY p.report_key
),
pigmenting AS (
    SELECT i.report_key, list(DISTINCT d.ingredient ORDER BY d.ingredient) AS pigmenting_drugs
    FROM product_ingredients AS i SEMI JOIN scope_members AS m USING (report_key)
    JOIN pigmenting_drugs AS d ON i.ingredient = d.ingredient OR starts_with(i.ingredient, d.ingredient || ' ')
    WHERE NOT i.is_kratom
    GROUP BY i.report_key
)
SELECT r.report_key, r.received_date, r.report_id, r.event_date - k.first_start AS onset_days, k.duration_days,
       coalesce(k.actions, []) AS actions, coalesce(k.rechallenge_answers, []) AS rechallenge_answers,
       coalesce(k.roles, []) AS roles, coalesce(k.routes, []) AS routes, coalesce(k.doses, []) AS doses,
       coalesce(g.pigmenting_drugs, []) AS pigmenting_drugs
FROM reports AS r SEMI JOIN scope_members AS m USING (report_key)
LEFT JOIN kratom AS k USING (report_key)
LEFT JOIN pigmenting AS g USING (report_key);
