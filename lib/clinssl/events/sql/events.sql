-- Every candidate event of the five sources, attached to a kept ICU stay or given the
-- `reason` it is dropped for (NULL = kept). Reads the table views, the dictionaries and
-- stay_candidates. Columns of a dropped row other than its type, reason, time column and
-- quirk flags are NULL, so that the millions of dropped lab rows cost almost no space.
--
-- Event times: prescriptions, procedureevents and ingredientevents starttime; labevents
-- charttime; microbiologyevents charttime or, when that is empty, chartdate (its 00:00).
-- Attachment: lab, microbiology and prescription rows by subject_id and event time within
-- [intime, outtime] (their hadm_id is often empty, and a hospital admission spans more than
-- one stay); procedure and ingredient rows by their own stay_id, and their time must also lie
-- in [intime, outtime]. A row matching two overlapping stays of one subject yields two
-- candidates. Events after end_time (the death) are dropped as 'after_death'.
CREATE TABLE event_candidates AS
WITH stays AS (
    SELECT stay_id, subject_id, intime, outtime, end_time
    FROM stay_candidates
    WHERE reason IS NULL
),
lab_items AS (
    SELECT parse_id(itemid) AS itemid, clean_text(label) AS label FROM d_labitems
),
icu_items AS (
    SELECT parse_id(itemid) AS itemid, clean_text(label) AS label FROM d_items
),
lab_rows AS (
    SELECT
        'lab' AS event_type,
        'charttime' AS time_column,
        parse_id(l.subject_id) AS subject_id,
        clean_text(l.charttime) AS time_text,
        parse_time(l.charttime) AS event_time,
        clean_text(l.hadm_id) IS NULL AS empty_hadm_id,
        lab_items.label IS NULL AS missing_label,
        is_placeholder(l.value) AND is_number(l.valuenum)
            AS placeholder_value_with_valuenum,
        is_placeholder(l.value) AND NOT is_number(l.valuenum)
            AS placeholder_value_without_valuenum,
        concat_ws(
            ' ',
            COALESCE(lab_items.label, 'itemid ' || CAST(parse_id(l.itemid) AS VARCHAR)),
            CASE
                WHEN clean_text(l.value) IS NULL OR is_placeholder(l.value)
                    THEN format_number(l.valuenum)
                ELSE clean_text(l.value)
            END,
            clean_text(l.valueuom),
            clean_text(l.flag)
        ) AS event_text
    FROM labevents AS l
    LEFT JOIN lab_items ON lab_items.itemid = parse_id(l.itemid)
),
microbiology_rows AS (
    SELECT
        'microbiology' AS event_type,
        CASE WHEN clean_text(charttime) IS NULL THEN 'chartdate' ELSE 'charttime' END
            AS time_column,
        parse_id(subject_id) AS subject_id,
        COALESCE(clean_text(charttime), clean_text(chartdate)) AS time_text,
        CASE
            WHEN clean_text(charttime) IS NULL THEN parse_time(chartdate)
            ELSE parse_time(charttime)
        END AS event_time,
        clean_text(hadm_id) IS NULL AS empty_hadm_id,
        clean_text(charttime) IS NULL AND clean_text(chartdate) IS NOT NULL AS chartdate_only,
        concat_ws(
            ' ',
            clean_text(spec_type_desc),
            COALESCE(clean_text(org_name), 'no growth'),
            clean_text(ab_name),
            clean_text(interpretation)
        ) AS event_text
    FROM microbiologyevents
),
prescription_rows AS (
    SELECT
        'prescription' AS event_type,
        'starttime' AS time_column,
        parse_id(subject_id) AS subject_id,
        clean_text(starttime) AS time_text,
        parse_time(starttime) AS event_time,
        clean_text(hadm_id) IS NULL AS empty_hadm_id,
        COALESCE(parse_time(stoptime) < parse_time(starttime), false)
            AS stoptime_before_starttime,
        concat_ws(
            ' ',
            clean_text(drug),
            clean_text(dose_val_rx),
            clean_text(dose_unit_rx),
            clean_text(route)
        ) AS event_text
    FROM prescriptions
),
procedure_rows AS (
    SELECT
        'procedure' AS event_type,
        'starttime' AS time_column,
        parse_id(p.stay_id) AS row_stay_id,
        clean_text(p.starttime) AS time_text,
        parse_time(p.starttime) AS event_time,
        icu_items.label IS NULL AS missing_label,
        COALESCE(
            TRY_CAST(clean_text(p."ORIGINALAMOUNT") AS DOUBLE)
                <> TRY_CAST(clean_text(p.value) AS DOUBLE),
            false
        ) AS original_amount_differs,
        concat_ws(
            ' ',
            COALESCE(icu_items.label, 'itemid ' || CAST(parse_id(p.itemid) AS VARCHAR)),
            format_number(p.value),
            clean_text(p.valueuom),
            CASE
                WHEN TRY_CAST(clean_text(p."ORIGINALAMOUNT") AS DOUBLE)
                    <> TRY_CAST(clean_text(p.value) AS DOUBLE)
                    THEN '(original amount ' || format_number(p."ORIGINALAMOUNT") || ')'
            END
        ) AS event_text
    FROM procedureevents AS p
    LEFT JOIN icu_items ON icu_items.itemid = parse_id(p.itemid)
),
ingredient_rows AS (
    SELECT
        'ingredient' AS event_type,
        'starttime' AS time_column,
        parse_id(g.stay_id) AS row_stay_id,
        clean_text(g.starttime) AS time_text,
        parse_time(g.starttime) AS event_time,
        icu_items.label IS NULL AS missing_label,
        concat_ws(
            ' ',
            COALESCE(icu_items.label, 'itemid ' || CAST(parse_id(g.itemid) AS VARCHAR)),
            format_number(g.amount),
            clean_text(g.amountuom)
        ) AS event_text
    FROM ingredientevents AS g
    LEFT JOIN icu_items ON icu_items.itemid = parse_id(g.itemid)
),
attached_by_time AS (
    SELECT
        r.*,
        s.stay_id,
        s.subject_id AS stay_subject_id,
        s.end_time,
        CASE
            WHEN r.time_text IS NULL THEN 'missing_time'
            WHEN r.event_time IS NULL THEN 'unparseable_time'
            WHEN r.subject_id IS NULL THEN 'missing_subject_id'
            WHEN s.stay_id IS NULL THEN 'outside_stay_window'
            WHEN r.event_time > s.end_time THEN 'after_death'
            WHEN NULLIF(r.event_text, '') IS NULL THEN 'empty_text'
        END AS reason
    FROM (
        SELECT * FROM lab_rows
        UNION ALL BY NAME SELECT * FROM microbiology_rows
        UNION ALL BY NAME SELECT * FROM prescription_rows
    ) AS r
    LEFT JOIN stays AS s
        ON s.subject_id = r.subject_id
        AND r.event_time >= s.intime
        AND r.event_time <= s.outtime
),
attached_by_stay AS (
    SELECT
        r.*,
        s.stay_id,
        s.subject_id AS stay_subject_id,
        s.end_time,
        CASE
            WHEN r.time_text IS NULL THEN 'missing_time'
            WHEN r.event_time IS NULL THEN 'unparseable_time'
            WHEN r.row_stay_id IS NULL THEN 'missing_stay_id'
            WHEN s.stay_id IS NULL THEN 'unknown_stay'
            WHEN r.event_time < s.intime OR r.event_time > s.outtime THEN 'outside_stay_window'
            WHEN r.event_time > s.end_time THEN 'after_death'
            WHEN NULLIF(r.event_text, '') IS NULL THEN 'empty_text'
        END AS reason
    FROM (
        SELECT * FROM procedure_rows
        UNION ALL BY NAME SELECT * FROM ingredient_rows
    ) AS r
    LEFT JOIN stays AS s ON s.stay_id = r.row_stay_id
),
candidates AS (
    SELECT * EXCLUDE (row_stay_id) FROM attached_by_stay
    UNION ALL BY NAME SELECT * FROM attached_by_time
)
SELECT
    event_type,
    time_column,
    reason,
    COALESCE(empty_hadm_id, false) AS empty_hadm_id,
    COALESCE(missing_label, false) AS missing_label,
    COALESCE(placeholder_value_with_valuenum, false) AS placeholder_value_with_valuenum,
    COALESCE(placeholder_value_without_valuenum, false) AS placeholder_value_without_valuenum,
    COALESCE(chartdate_only, false) AS chartdate_only,
    COALESCE(stoptime_before_starttime, false) AS stoptime_before_starttime,
    COALESCE(original_amount_differs, false) AS original_amount_differs,
    CASE WHEN reason IS NULL THEN stay_id END AS stay_id,
    CASE WHEN reason IS NULL THEN stay_subject_id END AS subject_id,
    CASE WHEN reason IS NULL THEN event_time END AS event_time,
    CASE WHEN reason IS NULL THEN event_text END AS event_text,
    CASE
        WHEN reason IS NULL
            THEN CAST(date_diff('microsecond', event_time, end_time) AS DOUBLE) / 60000000
    END AS minutes_to_end
FROM candidates
