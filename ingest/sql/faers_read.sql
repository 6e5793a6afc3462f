-- faers_read: the FAERS (drug/event) records in `page` (stage_seq, record) parsed into
-- `page_faers`, with the fields kratom-ae reads typed (r). from_json is lenient: a field of
-- another JSON kind than expected is read as NULL (or, for a string field, as its JSON text),
-- which faers_problems.sql then names. Runs first; faers_page.sql shapes page_faers.
CREATE OR REPLACE TEMP TABLE page_faers AS
SELECT stage_seq, record, r, clean(r.safetyreportid) AS report_id, report_version(r.safetyreportversion) AS report_version
FROM (
    SELECT stage_seq, record, from_json(record, '{
        "safetyreportid": "VARCHAR", "safetyreportversion": "VARCHAR", "receivedate": "VARCHAR", "serious": "VARCHAR",
        "seriousnessdeath": "VARCHAR", "seriousnesslifethreatening": "VARCHAR", "seriousnesshospitalization": "VARCHAR",
        "seriousnessdisabling": "VARCHAR", "seriousnesscongenitalanomali": "VARCHAR", "seriousnessother": "VARCHAR",
        "occurcountry": "VARCHAR", "primarysource": {"qualification": "VARCHAR", "reportercountry": "VARCHAR", "literaturereference": "VARCHAR"},
        "reporttype": "VARCHAR", "companynumb": "VARCHAR", "reportduplicate": {"duplicatesource": "VARCHAR", "duplicatenumb": "VARCHAR"},
        "patient": {"patientonsetage": "VARCHAR", "patientonsetageunit": "VARCHAR", "patientagegroup": "VARCHAR",
                    "patientsex": "VARCHAR", "patientweight": "VARCHAR", "summary": {"narrativeincludeclinical": "VARCHAR"},
                    "drug": [{"medicinalproduct": "VARCHAR", "drugcharacterization": "VARCHAR", "drugindication": "VARCHAR", "drugstartdate": "VARCHAR",
                              "drugadministrationroute": "VARCHAR", "activesubstance": {"activesubstancename": "VARCHAR"},
                              "openfda": {"brand_name": ["VARCHAR"], "generic_name": ["VARCHAR"], "substance_name": ["VARCHAR"]}}],
                    "reaction": [{"reactionmeddrapt": "VARCHAR", "reactionoutcome": "VARCHAR"}]}}') AS r
    FROM page
);
