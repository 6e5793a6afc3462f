-- strata_rule: whether a report falls in a stratum of sex, onset age and report year
-- (ingest/background.py STRATA, signals --adjusted), by the rule openFDA's search of the stratum
-- applies (Stratum.search): patientsex 1 or 2 (stored as 'male', 'female'), the onset age as
-- reported in years (unit 801, stored as 'year') within the band's bounds, both included, and
-- receivedate within the period. One rule for the kratom reports of the database
-- (strata_members.sql) and for the local background's reports
-- (queries/_local_background_mh.sql), so that a report is in the same stratum on both sides.
CREATE OR REPLACE TEMP MACRO in_stratum(sex, age_unit_reported, age_reported, received_date, s_sex, age_low, age_high, first_date, last_date) AS
    sex = s_sex AND age_unit_reported = 'year'
    AND TRY_CAST(age_reported AS DOUBLE) BETWEEN age_low AND age_high
    AND CAST(strftime(received_date, '%Y%m%d') AS INTEGER) BETWEEN first_date AND last_date;
