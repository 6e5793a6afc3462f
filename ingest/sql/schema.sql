-- kratom-ae database schema: one schema for FAERS (openFDA drug/event) and CAERS (food/event).
-- Each fetch replaces one source's rows whole, in one transaction (see ingest/sql/publish.sql).
-- The unit of every table is named in its comment; docs/schema.md "Tables" says the same.
--
-- reports, products, product_ingredients, reactions and raw_reports have a key each (named in
-- their comments) but no PRIMARY KEY: DuckDB holds a key's index in memory while a transaction changes the table,
-- so a fetch that replaced 300,000 bench reports ran out of its 256 MB in the publish (issue
-- 12, BENCHMARKS.md). publish_check.sql checks the keys of what each fetch publishes instead,
-- inside its transaction; nothing else writes these tables.

-- One row per report (key: source, report_id): FAERS keeps only the latest safetyreportversion
-- of each safetyreportid.
CREATE TABLE IF NOT EXISTS reports (
    source                      VARCHAR NOT NULL,   -- 'faers' or 'caers'
    report_id                   VARCHAR NOT NULL,   -- FAERS safetyreportid, CAERS report_number
    report_key                  BIGINT NOT NULL,    -- this database's number for the report, for joins; changes with each fetch
    report_version              INTEGER,            -- FAERS safetyreportversion; NULL for CAERS
    received_date               DATE,               -- FAERS receivedate, CAERS date_created
    event_date                  DATE,               -- FAERS case event date (patient.summary.narrativeincludeclinical
                                                    -- "CASE EVENT DATE: YYYYMMDD"), CAERS date_started; NULL if absent or partial
    event_date_reported         VARCHAR,            -- the event date as written (YYYYMMDD, or a partial YYYYMM / YYYY)
    is_serious                  BOOLEAN,            -- FAERS serious=1; CAERS: any serious outcome; NULL if not reported
    serious_death               BOOLEAN NOT NULL,
    serious_life_threatening    BOOLEAN NOT NULL,
    serious_hospitalization     BOOLEAN NOT NULL,
    serious_disabling           BOOLEAN NOT NULL,
    serious_congenital_anomaly  BOOLEAN NOT NULL,
    serious_other               BOOLEAN NOT NULL,
    outcomes                    VARCHAR[],          -- CAERS outcomes as reported; NULL for FAERS
    age_years                   DOUBLE,             -- exact age converted from the reported unit; NULL if missing, outside
                                                    -- 0-120, or given only as a decade (see age_decade)
    age_decade                  INTEGER,            -- FAERS age given in decades (unit 800): the decade's first year,
                                                    -- 40 for "4" (40-49 years); NULL otherwise
    age_reported                VARCHAR,            -- age as reported
    age_unit_reported           VARCHAR,            -- unit as reported (FAERS code 800-805 named)
    age_group                   VARCHAR,            -- FAERS patientagegroup (neonate ... elderly); NULL for CAERS
    sex                         VARCHAR,            -- 'female', 'male', 'unknown' (reported as unknown), NULL (not reported)
    weight_kg                   DOUBLE,
    occur_country               VARCHAR,            -- FAERS occurcountry, as reported (FAERS-era only; ISO 2-letter)
    reporter_country            VARCHAR,            -- FAERS primarysource.reportercountry, as reported (AERS: a name, FAERS: a code)
    country_code                VARCHAR,            -- ISO 3166-1 alpha-2 of occur_country, else of reporter_country;
                                                    -- NULL when neither is reported or the value is no known country
    country_name                VARCHAR,            -- ISO 3166's common name (else its name) for country_code; the value as reported when
                                                    -- it could not be mapped; NULL when not reported
    reporter_qualification      VARCHAR,            -- FAERS primarysource.qualification, named
    report_type                 VARCHAR,            -- FAERS reporttype, named (spontaneous, report from study, other, not available to sender)
    company_number              VARCHAR,            -- FAERS companynumb: the sender's own case number
    duplicate_source            VARCHAR,            -- FAERS reportduplicate.duplicatesource (FAERS-era only)
    duplicate_number            VARCHAR,            -- FAERS reportduplicate.duplicatenumb: another sender's number for this case
    literature_reference        VARCHAR,            -- FAERS primarysource.literaturereference, as reported
    case_id                     VARCHAR NOT NULL,   -- the probable case this report belongs to (ingest/cases.py): one per group
                                                    -- of reports judged duplicates of each other, named '<source>:<first report_id>'
    case_rule                   VARCHAR NOT NULL,   -- why the report is in its case: 'single report', or the rule and the report
                                                    -- that linked it; then any link left out because two reports
                                                    -- contradict ("; not joined with ...", docs/methods.md "Probable cases")
    is_kratom_report            BOOLEAN NOT NULL,   -- at least one product is kratom (see products.is_kratom)
    is_kratom_suspect_report    BOOLEAN NOT NULL,   -- at least one kratom product is suspect or interacting
    is_kratom_only_report       BOOLEAN NOT NULL    -- every product on the report is kratom
);

-- One row per product listed on a report, in the report's order (key: source, report_id, product_seq).
CREATE TABLE IF NOT EXISTS products (
    source                   VARCHAR NOT NULL,
    report_id                VARCHAR NOT NULL,
    report_key               BIGINT NOT NULL,       -- reports.report_key
    product_seq              INTEGER NOT NULL,      -- 1-based position in the report
    product_name             VARCHAR,               -- FAERS medicinalproduct, CAERS name_brand, as reported
    product_name_normalized  VARCHAR,               -- upper case, punctuation removed, spaces collapsed
    active_substance         VARCHAR,               -- FAERS activesubstancename
    role                     VARCHAR,               -- 'suspect', 'concomitant', 'interacting', NULL (not reported)
    indication               VARCHAR,               -- FAERS drugindication (MedDRA PT), as reported
    start_date               DATE,                  -- FAERS drugstartdate (a whole YYYYMMDD; NULL if absent or partial)
    start_date_reported      VARCHAR,               -- FAERS drugstartdate as written (YYYYMMDD, or a partial YYYYMM / YYYY)
    start_date_precision     VARCHAR,               -- how much of it was written: 'day', 'month', 'year'; NULL if it is no date
    start_date_format        VARCHAR,               -- FAERS drugstartdateformat as reported (102, 610, 602; docs/schema.md)
    end_date                 DATE,                  -- FAERS drugenddate, read as start_date is
    end_date_reported        VARCHAR,
    end_date_precision       VARCHAR,
    end_date_format          VARCHAR,               -- FAERS drugenddateformat as reported
    duration_reported        VARCHAR,               -- FAERS drugtreatmentduration as reported
    duration_unit            VARCHAR,               -- FAERS drugtreatmentdurationunit, named (year ... minute)
    duration_days            DOUBLE,                -- the duration in days (a year 365.25 days, a month a twelfth of it), not
                                                    -- rounded; NULL if either part is missing, not a number or negative
    dosage_text              VARCHAR,               -- FAERS drugdosagetext, as reported (free text)
    dosage_form              VARCHAR,               -- FAERS drugdosageform, as reported (free text)
    dose_amount              DOUBLE,                -- FAERS drugstructuredosagenumb: the amount of one dose
    dose_unit                VARCHAR,               -- FAERS drugstructuredosageunit, named (kg, g, mg, µg)
    separate_doses           DOUBLE,                -- FAERS drugseparatedosagenumb: the number of separate doses
    dose_interval            DOUBLE,                -- FAERS drugintervaldosageunitnumb: every this many ...
    dose_interval_unit       VARCHAR,               -- ... FAERS drugintervaldosagedefinition, named (day, week, ..., as necessary)
    cumulative_dose_amount   DOUBLE,                -- FAERS drugcumulativedosagenumb: the dose taken until the first reaction
    cumulative_dose_unit     VARCHAR,               -- FAERS drugcumulativedosageunit, named (kg, g, mg, µg)
    route                    VARCHAR,               -- FAERS route, named
    action_taken             VARCHAR,               -- FAERS actiondrug, named: what was done with the drug (drug withdrawn,
                                                    -- dose reduced, dose increased, dose not changed, unknown, not applicable)
    abated_after_action      VARCHAR,               -- FAERS drugadditional, named: did the reaction abate after the drug was
                                                    -- stopped or reduced ('yes', 'no', 'does not apply')
    recurred_on_readministration VARCHAR,           -- FAERS drugrecurreadministration, named: did the reaction recur when the
                                                    -- drug was given again ('yes', 'no', 'unknown')
    recurred_reactions       VARCHAR[],             -- FAERS drugrecurrence[].drugrecuraction: the terms that recurred (term keys)
    industry_name            VARCHAR,               -- CAERS industry_name
    is_kratom                BOOLEAN NOT NULL,      -- decided locally by the search terms
    matched_term             VARCHAR,               -- the term that matched
    matched_field            VARCHAR,               -- the field it matched in
    matched_name             VARCHAR,               -- the name (in that field) that matched, as reported
    excluded_by              VARCHAR,               -- an exclude term of the terms file that kept a name of this product
                                                    -- from matching (a look-alike such as 7-OH-DPAT); NULL otherwise
    is_first_mention         BOOLEAN NOT NULL,      -- the report's first row with this product_name_normalized and
                                                    -- is_kratom (false if no name): counting these counts a report once per product
    named_as_suspect         BOOLEAN NOT NULL       -- a row of the report with this name and is_kratom has role suspect
                                                    -- or interacting (false if no name)
);

-- One row per active ingredient of a product (key: source, report_id, product_seq,
-- ingredient_seq): openFDA's openfda.generic_name values where the product has any, else its
-- openfda.substance_name values, else its activesubstancename, else its own name (docs/methods.md
-- "Ingredients"). A product with no name of any kind has no row.
CREATE TABLE IF NOT EXISTS product_ingredients (
    source            VARCHAR NOT NULL,
    report_id         VARCHAR NOT NULL,
    report_key        BIGINT NOT NULL,              -- reports.report_key
    product_seq       INTEGER NOT NULL,             -- products.product_seq
    ingredient_seq    INTEGER NOT NULL,             -- 1-based, in the order of the field's list
    ingredient        VARCHAR NOT NULL,             -- normalized as product_name_normalized is (one name, any case)
    ingredient_field  VARCHAR NOT NULL,             -- where it came from: 'openfda.generic_name', 'openfda.substance_name',
                                                    -- 'activesubstancename', or the product's name ('medicinalproduct', CAERS 'name_brand')
    is_kratom         BOOLEAN NOT NULL,             -- the product's products.is_kratom
    is_first_mention  BOOLEAN NOT NULL,             -- the report's first row with this ingredient and is_kratom: counting
                                                    -- these counts a report once per ingredient
    named_as_suspect  BOOLEAN NOT NULL              -- a product of the report with this ingredient and is_kratom has role
                                                    -- suspect or interacting
);

-- One row per reaction listed on a report, MedDRA preferred term as reported (key: source,
-- report_id, reaction_seq).
CREATE TABLE IF NOT EXISTS reactions (
    source            VARCHAR NOT NULL,
    report_id         VARCHAR NOT NULL,
    report_key        BIGINT NOT NULL,              -- reports.report_key
    reaction_seq      INTEGER NOT NULL,
    reaction_pt       VARCHAR,                      -- the term's key: upper case, apostrophe as ', spaces collapsed
                                                    -- (term_key in ingest/sql/shaping_macros.sql); one term, any spelling
    reaction_pt_reported VARCHAR,                   -- the term as openFDA gives it ("Drug dependence", "CROHN^S DISEASE")
    reaction_outcome  VARCHAR,                      -- FAERS reactionoutcome, named; NULL for CAERS
    is_first_mention  BOOLEAN NOT NULL,             -- the report's first row with this reaction_pt key (false if none):
                                                    -- counting these rows counts a report once per term
    is_first_outcome  BOOLEAN NOT NULL              -- the report's first row with this reaction_outcome (NULL included):
                                                    -- counting these rows counts a report once per outcome
);

-- One row per report (key: source, report_id): the openFDA record as received, compressed
-- (zstd, with its source's dictionary in raw_dictionaries). Read it with `kratom-ae raw SOURCE
-- REPORT_ID` or, in Python, ingest.raw.record(con, source, report_id) (docs/schema.md "The raw records").
CREATE TABLE IF NOT EXISTS raw_reports (
    source          VARCHAR NOT NULL,
    report_id       VARCHAR NOT NULL,
    report_version  INTEGER,
    record_zstd     BLOB NOT NULL                   -- the record's JSON text (UTF-8) as received, zstd-compressed
);

-- One row per source: the zstd dictionary its raw_reports were compressed with (trained on
-- the fetch's first page); NULL when they were compressed without one.
CREATE TABLE IF NOT EXISTS raw_dictionaries (
    source      VARCHAR PRIMARY KEY,
    dictionary  BLOB
);

-- One row per term of the terms file of the fetch that produced a source's rows: what was
-- searched and matched as kratom, and what was excluded as a look-alike, with its reason.
CREATE TABLE IF NOT EXISTS kratom_terms (
    source      VARCHAR NOT NULL,
    term_order  INTEGER NOT NULL,                   -- the order terms are tried in: the first that matches is matched_term
    term        VARCHAR NOT NULL,
    match       VARCHAR NOT NULL,                   -- 'substring', 'word' or 'exclude'
    note        VARCHAR,                            -- the reason for the term, from the terms file
    PRIMARY KEY (source, term_order)
);

-- One row per openFDA query of the fetch that produced each source's current rows.
CREATE TABLE IF NOT EXISTS fetch_runs (
    source            VARCHAR NOT NULL,
    endpoint          VARCHAR NOT NULL,             -- 'drug/event' or 'food/event'
    term              VARCHAR NOT NULL,             -- the search term
    search            VARCHAR NOT NULL,             -- the openFDA search= value sent
    base_url          VARCHAR NOT NULL,             -- without any credentials
    last_updated      VARCHAR,                      -- openFDA meta.last_updated (NULL when no matches)
    total_reported    BIGINT NOT NULL,              -- openFDA meta.results.total
    records_received  BIGINT NOT NULL,
    pages             INTEGER NOT NULL,
    started_at        TIMESTAMP NOT NULL,           -- UTC
    finished_at       TIMESTAMP NOT NULL,           -- UTC
    status            VARCHAR NOT NULL,             -- 'complete': failed fetches leave no trace
    tool_version      VARCHAR NOT NULL,
    disclaimer        VARCHAR                       -- the server's meta.disclaimer (NULL when no matches); kratom-ae's
                                                    -- synthetic fixtures say "SYNTHETIC data, not from openFDA." here
);

-- One row per record of the fetch that produced a source's rows and rule for malformed
-- records it breaks (docs/schema.md "Malformed records"); empty when every record was well formed.
CREATE TABLE IF NOT EXISTS fetch_problems (
    source     VARCHAR NOT NULL,
    report_id  VARCHAR,                                  -- as received (an id that is not one value: its JSON text)
    problem    VARCHAR NOT NULL,                         -- the rule broken, and what kratom-ae did with the record
    stored     BOOLEAN NOT NULL                          -- false: the record could not be stored and was left out
);

-- Disproportionality background, cached (kratom-ae signals): one row per source.
CREATE TABLE IF NOT EXISTS background_totals (
    source               VARCHAR PRIMARY KEY,
    endpoint             VARCHAR NOT NULL,
    total_reports        BIGINT NOT NULL,               -- openFDA meta.results.total of the whole endpoint
    last_updated         VARCHAR,                        -- openFDA meta.last_updated of the background requests
    kratom_last_updated  VARCHAR,                        -- the kratom data's last_updated it was fetched for
    fetched_at           TIMESTAMP NOT NULL,             -- UTC
    requests             INTEGER NOT NULL                -- requests sent to build it
);

-- One row per source and reaction term: reports in all of the endpoint naming the term.
CREATE TABLE IF NOT EXISTS background_terms (
    source    VARCHAR NOT NULL,
    term      VARCHAR NOT NULL,                          -- the term's key (as reactions.reaction_pt); openFDA's count=
                                                         -- spellings are summed under it
    reports   BIGINT NOT NULL,
    method    VARCHAR NOT NULL,                          -- 'count' (count= top 1000) or 'search' (one search)
    PRIMARY KEY (source, term)
);

-- An active comparator's background, cached (kratom-ae signals --comparator FILE): one row per
-- source and comparator. A comparator is the reports openFDA's search for its terms finds
-- (the search the kratom fetch would send for them), keyed by a digest of that search.
CREATE TABLE IF NOT EXISTS comparator_totals (
    source               VARCHAR NOT NULL,
    comparator           VARCHAR NOT NULL,               -- digest of the search (ingest/background.py comparator_key)
    terms                VARCHAR NOT NULL,               -- the comparator's terms, as the terms file gives them
    search               VARCHAR NOT NULL,               -- the openFDA search that defines the comparator's reports
    endpoint             VARCHAR NOT NULL,
    total_reports        BIGINT NOT NULL,                -- meta.results.total of that search: the comparator's reports
    last_updated         VARCHAR,                        -- openFDA meta.last_updated of the comparator requests
    kratom_last_updated  VARCHAR,                        -- the kratom data's last_updated it was fetched for
    fetched_at           TIMESTAMP NOT NULL,             -- UTC
    requests             INTEGER NOT NULL,               -- requests sent to build it
    PRIMARY KEY (source, comparator)
);

-- One row per source, comparator and reaction term: the comparator's reports naming the term.
CREATE TABLE IF NOT EXISTS comparator_terms (
    source      VARCHAR NOT NULL,
    comparator  VARCHAR NOT NULL,
    term        VARCHAR NOT NULL,                        -- the term's key, as background_terms.term
    reports     BIGINT NOT NULL,
    method      VARCHAR NOT NULL,                        -- 'count' (count= top 1000 within the comparator) or 'search'
    PRIMARY KEY (source, comparator, term)
);

-- One row per source, comparator and kratom report asked about: whether openFDA's comparator
-- search finds the report (in_comparator), so that a report naming kratom and a comparator
-- drug is taken out of c and d exactly.
CREATE TABLE IF NOT EXISTS comparator_reports (
    source         VARCHAR NOT NULL,
    comparator     VARCHAR NOT NULL,
    report_id      VARCHAR NOT NULL,                     -- reports.report_id
    in_comparator  BOOLEAN NOT NULL,
    PRIMARY KEY (source, comparator, report_id)
);

-- The background per stratum of sex, age band and report year, cached (kratom-ae signals
-- --adjusted, FAERS): one row per source and stratum (ingest/background.py STRATA).
CREATE TABLE IF NOT EXISTS stratum_totals (
    source               VARCHAR NOT NULL,
    stratum              VARCHAR NOT NULL,               -- 'male|18-34|2015-2017'
    search               VARCHAR NOT NULL,               -- the openFDA search that is the stratum
    total_reports        BIGINT NOT NULL,                -- meta.results.total of that search
    list_complete        BOOLEAN NOT NULL,               -- count= listed fewer terms than its limit: every term of the
                                                         -- stratum, so a term not listed has no report in it
    last_updated         VARCHAR,
    kratom_last_updated  VARCHAR,
    fetched_at           TIMESTAMP NOT NULL,             -- UTC
    requests             INTEGER NOT NULL,               -- requests sent for this stratum's total and count= (the
                                                         -- age-count requests that fill terms are in the first stratum's)
    PRIMARY KEY (source, stratum)
);

-- One row per source, stratum and reaction term: the stratum's reports naming the term.
CREATE TABLE IF NOT EXISTS stratum_terms (
    source   VARCHAR NOT NULL,
    stratum  VARCHAR NOT NULL,
    term     VARCHAR NOT NULL,                           -- the term's key, as background_terms.term
    reports  BIGINT NOT NULL,
    method   VARCHAR NOT NULL,                           -- 'count' (the stratum's count= top 1000) or 'age count' (the term's
                                                         -- reports of one sex and period counted by onset age)
    PRIMARY KEY (source, stratum, term)
);
