-- faers_parse: the FAERS (drug/event) records just read by staging.py's reader (`page_records`,
-- read_records.sql), numbered from the page's first stage_seq and parsed, with the fields
-- kratom-ae reads typed (r), to a Parquet file for the shaper (faers_read.sql). Parsing here,
-- in the reader's thread, leaves the shaper's thread less to do: the two run side by side.
-- from_json is lenient: a field of another JSON kind than expected is read as NULL (or, for a
-- string field, as its JSON text), which faers_problems.sql then names.
-- Only suspects keep their JSON text (record, else NULL), for faers_problems.sql: records
-- whose typed fields show what a broken rule for malformed records leaves behind (an id or
-- version read as JSON text, a list read as NULL, a product with no name: from_json reads a
-- product that is not an object as one with every field NULL). Well-formed records are
-- rarely suspects. size is the record's length, for cutting a big batch in slices.
-- A big page is parsed in slices (record_slices.sql), each to its own file.
-- Variables: first_seq, records_file, low and high (the slice's first and last pos).
COPY (
    SELECT stage_seq, size, CASE WHEN
       left(r.safetyreportid, 1) IN ('[', '{') OR r.safetyreportid IN ('true', 'false')
           OR (r.safetyreportversion IS NOT NULL AND report_version(r.safetyreportversion) IS NULL)
           OR r.patient.drug IS NULL OR r.patient.reaction IS NULL
           OR list_bool_or(list_transform(r.patient.drug, lambda d: d.medicinalproduct IS NULL))
    THEN record END AS record, r
    FROM (
    SELECT getvariable('first_seq') + pos - 1 AS stage_seq, length(record) AS size, record, from_json(record, '{
        "safetyreportid": "VARCHAR", "safetyreportversion": "VARCHAR", "receivedate": "VARCHAR", "serious": "VARCHAR",
        "seriousnessdeath": "VARCHAR", "seriousnesslifethreatening": "VARCHAR", "seriousnesshospitalization": "VARCHAR",
        "seriousnessdisabling": "VARCHAR", "seriousnesscongenitalanomali": "VARCHAR", "seriousnessother": "VARCHAR",
        "occurcountry": "VARCHAR", "primarysource": {"qualification": "VARCHAR", "reportercountry": "VARCHAR", "literaturereference": "VARCHAR"},
        "reporttype": "VARCHAR", "companynumb": "VARCHAR", "reportduplicate": {"duplicatesource": "VARCHAR", "duplicatenumb": "VARCHAR"},
        "patient": {"patientonsetage": "VARCHAR", "patientonsetageunit": "VARCHAR", "patientagegroup": "VARCHAR",
                    "patientsex": "VARCHAR", "patientweight": "VARCHAR", "summary": {"narrativeincludeclinical": "VARCHAR"},
                    "drug": [{"medicinalproduct": "VARCHAR", "drugcharacterization": "VARCHAR", "drugindication": "VARCHAR", "drugstartdate": "VARCHAR",
                              "drugstartdateformat": "VARCHAR", "drugenddate": "VARCHAR", "drugenddateformat": "VARCHAR",
                              "drugtreatmentduration": "VARCHAR", "drugtreatmentdurationunit": "VARCHAR", "drugdosagetext": "VARCHAR", "drugdosageform": "VARCHAR",
                              "drugstructuredosagenumb": "VARCHAR", "drugstructuredosageunit": "VARCHAR", "drugseparatedosagenumb": "VARCHAR",
                              "drugintervaldosageunitnumb": "VARCHAR", "drugintervaldosagedefinition": "VARCHAR",
                              "drugcumulativedosagenumb": "VARCHAR", "drugcumulativedosageunit": "VARCHAR", "actiondrug": "VARCHAR", "drugadditional": "VARCHAR",
                              "drugrecurreadministration": "VARCHAR", "drugrecurrence": [{"drugrecuraction": "VARCHAR"}],
                              "drugadministrationroute": "VARCHAR", "activesubstance": {"activesubstancename": "VARCHAR"},
                              "openfda": {"brand_name": ["VARCHAR"], "generic_name": ["VARCHAR"], "substance_name": ["VARCHAR"]}}],
                    "reaction": [{"reactionmeddrapt": "VARCHAR", "reactionoutcome": "VARCHAR"}]}}') AS r
    FROM page_records WHERE pos BETWEEN getvariable('low') AND getvariable('high')
    )
) TO (getvariable('records_file')) (FORMAT parquet, COMPRESSION uncompressed);
