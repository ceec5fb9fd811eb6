-- One row per ICU stay of icustays, with its label, static features and, in `reason`, why it
-- is dropped (NULL = kept). Reads the views icustays, admissions, patients and the one-row
-- table extract_params (death_grace_seconds).
--
-- end_time: admissions.deathtime when it falls inside [intime, outtime], else outtime. Only
-- deathtime is precise enough for this; patients.dod is a date and only feeds the label.
-- died: the admission ended in death (hospital_expire_flag = 1), or admissions.deathtime lies
-- in [intime, outtime + grace], or patients.dod lies in [the day of intime, outtime + grace].
-- age: anchor_age + year(admittime) - anchor_year (intime's year when the admission is
-- unknown), capped at 91 as MIMIC-IV does for older patients.
CREATE TABLE stay_candidates AS
WITH icu AS (
    SELECT
        parse_id(stay_id) AS stay_id,
        parse_id(subject_id) AS subject_id,
        parse_id(hadm_id) AS hadm_id,
        clean_text(first_careunit) AS first_careunit,
        clean_text(intime) AS intime_text,
        parse_time(intime) AS intime,
        clean_text(outtime) AS outtime_text,
        parse_time(outtime) AS outtime
    FROM icustays
),
adm AS (
    SELECT
        parse_id(hadm_id) AS hadm_id,
        parse_time(admittime) AS admittime,
        parse_time(deathtime) AS deathtime,
        COALESCE(parse_id(hospital_expire_flag) = 1, false) AS hospital_expire_flag,
        clean_text(admission_type) AS admission_type,
        clean_text(admission_location) AS admission_location,
        clean_text(insurance) AS insurance,
        clean_text(marital_status) AS marital_status,
        clean_text(race) AS race
    FROM admissions
),
pat AS (
    SELECT
        parse_id(subject_id) AS subject_id,
        clean_text(gender) AS gender,
        parse_id(anchor_age) AS anchor_age,
        parse_id(anchor_year) AS anchor_year,
        parse_time(dod) AS dod
    FROM patients
),
joined AS (
    SELECT
        icu.*,
        adm.hadm_id IS NOT NULL AS has_admission,
        pat.subject_id IS NOT NULL AS has_patient,
        adm.admittime,
        adm.deathtime,
        COALESCE(adm.hospital_expire_flag, false) AS hospital_expire_flag,
        adm.admission_type,
        adm.admission_location,
        adm.insurance,
        adm.marital_status,
        adm.race,
        pat.gender,
        pat.anchor_age + year(COALESCE(adm.admittime, icu.intime)) - pat.anchor_year AS raw_age,
        pat.dod,
        icu.outtime + to_seconds(extract_params.death_grace_seconds) AS death_window_end
    FROM icu
    LEFT JOIN adm ON adm.hadm_id = icu.hadm_id
    LEFT JOIN pat ON pat.subject_id = icu.subject_id
    CROSS JOIN extract_params
)
SELECT
    stay_id,
    subject_id,
    hadm_id,
    intime,
    outtime,
    CASE WHEN deathtime >= intime AND deathtime <= outtime THEN deathtime ELSE outtime END
        AS end_time,
    hospital_expire_flag
        OR COALESCE(deathtime >= intime AND deathtime <= death_window_end, false)
        OR COALESCE(
            dod >= CAST(CAST(intime AS DATE) AS TIMESTAMP) AND dod <= death_window_end, false
        ) AS died,
    gender,
    CAST(CASE WHEN raw_age > 91 THEN 91 ELSE raw_age END AS INTEGER) AS age,
    race,
    marital_status,
    admission_type,
    admission_location,
    insurance,
    first_careunit,
    has_admission,
    has_patient,
    COALESCE(intime < admittime, false) AS intime_before_admittime,
    CASE
        WHEN stay_id IS NULL THEN 'missing_stay_id'
        WHEN subject_id IS NULL THEN 'missing_subject_id'
        WHEN intime_text IS NULL THEN 'missing_intime'
        WHEN intime IS NULL THEN 'unparseable_intime'
        WHEN outtime_text IS NULL THEN 'missing_outtime'
        WHEN outtime IS NULL THEN 'unparseable_outtime'
        WHEN outtime < intime THEN 'outtime_before_intime'
    END AS reason
FROM joined
