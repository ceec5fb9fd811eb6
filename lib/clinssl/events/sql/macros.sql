-- Value normalisation shared by every extraction query.
--
-- extract.py exposes each MIMIC-IV table as a view whose columns are all VARCHAR (csv.gz is
-- read with all_varchar; parquet columns are cast), so these macros see the same text for a
-- csv.gz file and for a typed parquet copy of it, and the two give identical outputs. They
-- run on every row of the largest tables: each is kept to one or two cheap casts.

-- Empty and blank fields are missing values (MIMIC-IV writes missing values as empty fields).
CREATE MACRO clean_text(x) AS NULLIF(TRIM(x), '');

-- 'YYYY-MM-DD HH:MM:SS' (and a bare date, read as 00:00); empty or anything else is NULL.
CREATE MACRO parse_time(x) AS TRY_CAST(x AS TIMESTAMP);

-- Identifiers; the cast also accepts '200001.0', which a parquet copy holding them as floats
-- (written by tools without nullable integers) gives, so both read as the same BIGINT.
CREATE MACRO parse_id(x) AS TRY_CAST(x AS BIGINT);

-- Numeric columns (valuenum, amount, value of procedureevents) printed one way whatever the
-- source type: DuckDB's shortest round-trip form ('7.4' for '7.40') without a trailing '.0'
-- ('120', not '120.0'); a non-numeric entry is kept as its trimmed text.
CREATE MACRO format_number(x) AS COALESCE(
    regexp_replace(CAST(TRY_CAST(x AS DOUBLE) AS VARCHAR), '\.0$', ''), clean_text(x)
);

-- MIMIC-IV de-identification replaces some lab values with underscores ('___').
CREATE MACRO is_placeholder(x) AS COALESCE(starts_with(x, '_') AND trim(x, '_') = '', false);

-- A numeric entry (valuenum present and a number).
CREATE MACRO is_number(x) AS TRY_CAST(x AS DOUBLE) IS NOT NULL;
