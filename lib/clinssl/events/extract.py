"""Event extraction: MIMIC-IV tables -> one chronological event sequence per ICU stay.

The event-sequence model reads, per ICU stay, its most recent clinical events from five
sources. MIMIC-IV is far too large for pandas (labevents alone has more than 100 M rows), so
every table is streamed by DuckDB through the SQL in ``sql/`` and only the per-stay-limited
result is written, by DuckDB itself, to parquet. The same code reads the official layout
(``root/hosp/*.csv.gz``, ``root/icu/*.csv.gz``) and parquet copies (``root/hosp/*.parquet``;
a ``.parquet`` file wins over ``.csv.gz``, which wins over ``.csv``): every column is read as
text (parquet columns are cast) and normalised by the macros of ``sql/macros.sql``, so a
csv.gz table and a typed parquet copy of it give identical outputs.

Outputs (``out_dir``, replaced as a whole only when everything succeeded):

* ``events.parquet``: stay_id, subject_id, event_time, event_type, event_text,
  minutes_to_end; sorted by stay_id, event_time, event_type, event_text; per stay only its
  ``max_events`` most recent events.
* ``stays.parquet``: one row per kept ICU stay (stay_id order): ids, intime, outtime,
  end_time, the label ``died``, the static features and ``n_events`` (0 when none).
* ``extract_report.json``: inputs, settings, and for stays and each event source what was
  read, kept and dropped (by reason) and how often each known quirk occurred.

Event texts (missing parts are left out; parts are joined by single spaces):

* prescription: drug, dose_val_rx, dose_unit_rx, route; at starttime.
* procedure: d_items label, value, valueuom, and ``(original amount X)`` when ORIGINALAMOUNT
  is a number different from value; at starttime.
* lab: d_labitems label (``itemid N`` when the label is empty or the item unknown), value
  (valuenum when value is empty or the de-identification placeholder ``___``), valueuom,
  flag; at charttime.
* microbiology: spec_type_desc, org_name (``no growth`` when empty: no organism was
  isolated), ab_name, interpretation; at charttime, or at 00:00 of chartdate when charttime
  is empty (such an event is attached only if that midnight lies inside the stay).
* ingredient: d_items label (``itemid N`` fallback), amount, amountuom; at starttime.

Numbers from numeric columns (valuenum, value of procedureevents, amount, ORIGINALAMOUNT)
are printed canonically: ``120`` not ``120.0``, ``7.4`` for ``7.40``.

Attachment and time: lab, microbiology and prescription rows are attached to a stay by
subject_id and event time within [intime, outtime], never by hadm_id (empty for about a
quarter of the lab rows, and one admission can hold several stays); procedure and
ingredient rows by their own stay_id, with the time also inside [intime, outtime]. A stay
ends (``end_time``) at outtime, or at admissions.deathtime when that lies inside
[intime, outtime]; events after a death inside the stay are dropped (``after_death``), so
``minutes_to_end`` (minutes from the event to end_time) is never negative.

Label: ``died`` is true when the stay's admission ended in death
(admissions.hospital_expire_flag = 1), or when admissions.deathtime lies in
[intime, outtime + grace] or patients.dod (a date, read as its 00:00) lies in
[00:00 of intime's day, outtime + grace], grace being ``death_grace_hours`` (24 h by
default): a death recorded shortly after ICU discharge counts, a date-only death on the day
of the stay counts. Age is anchor_age + year(admittime) - anchor_year (intime's year when the
admission row is missing), capped at 91 as MIMIC-IV caps it.

Bad input: a missing table or column raises (naming the file and the column) before anything
is written. Unparseable timestamps are dropped and counted row by row, but a time column in
which no non-empty value parses is an error (a wrong export, not a few bad rows). Duplicated
keys of the stay and dictionary tables (which would silently duplicate stays or events) are an
error. Everything else that is dropped is counted in the report, never silently lost.

Determinism: no random choice is made; ties in the "most recent N" cut are broken by
event_type then event_text, and identical calls give byte-identical files.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from clinssl.utils.atomic import atomic_directory
from clinssl.utils.jsonio import write_json

__all__ = [
    "DEFAULT_DEATH_GRACE_HOURS",
    "DEFAULT_MAX_EVENTS",
    "DEFAULT_MEMORY_LIMIT",
    "EVENT_COLUMNS",
    "EVENT_DROP_REASONS",
    "EVENT_QUIRKS",
    "EVENT_SOURCE_TABLES",
    "REQUIRED_COLUMNS",
    "STAY_COLUMNS",
    "STAY_DROP_REASONS",
    "DuplicateKeyError",
    "ExtractError",
    "MissingColumnError",
    "MissingTableError",
    "SourceTable",
    "TableReadError",
    "UnparseableColumnError",
    "extract_events",
    "resolve_tables",
]

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parent / "sql"

DEFAULT_MAX_EVENTS = 512
DEFAULT_DEATH_GRACE_HOURS = 24.0
DEFAULT_MEMORY_LIMIT = "2GB"

# The columns of events.parquet and stays.parquet (sql/events_output.sql, stays_output.sql).
EVENT_COLUMNS = (
    "stay_id", "subject_id", "event_time", "event_type", "event_text", "minutes_to_end",
)
STAY_COLUMNS = (
    "stay_id", "subject_id", "hadm_id", "intime", "outtime", "end_time", "died", "gender",
    "age", "race", "marital_status", "admission_type", "admission_location", "insurance",
    "first_careunit", "n_events",
)

# The columns the SQL reads, per table: (module directory, columns). A subset of the
# MIMIC-IV v2.2 column lists; other columns may be present or absent.
REQUIRED_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "patients": ("hosp", ("subject_id", "gender", "anchor_age", "anchor_year", "dod")),
    "admissions": ("hosp", (
        "hadm_id", "admittime", "deathtime", "admission_type", "admission_location",
        "insurance", "marital_status", "race", "hospital_expire_flag",
    )),
    "icustays": ("icu", (
        "subject_id", "hadm_id", "stay_id", "first_careunit", "intime", "outtime",
    )),
    "prescriptions": ("hosp", (
        "subject_id", "hadm_id", "starttime", "stoptime", "drug", "dose_val_rx",
        "dose_unit_rx", "route",
    )),
    "labevents": ("hosp", (
        "subject_id", "hadm_id", "itemid", "charttime", "value", "valuenum", "valueuom", "flag",
    )),
    "d_labitems": ("hosp", ("itemid", "label")),
    "microbiologyevents": ("hosp", (
        "subject_id", "hadm_id", "chartdate", "charttime", "spec_type_desc", "org_name",
        "ab_name", "interpretation",
    )),
    "procedureevents": ("icu", (
        "stay_id", "starttime", "itemid", "value", "valueuom", "ORIGINALAMOUNT",
    )),
    "ingredientevents": ("icu", ("stay_id", "starttime", "itemid", "amount", "amountuom")),
    "d_items": ("icu", ("itemid", "label")),
}

# The table each event type comes from (the event types, in output sort order).
EVENT_SOURCE_TABLES = {
    "ingredient": "ingredientevents",
    "lab": "labevents",
    "microbiology": "microbiologyevents",
    "prescription": "prescriptions",
    "procedure": "procedureevents",
}

STAY_DROP_REASONS = (
    "missing_stay_id", "missing_subject_id", "missing_intime", "unparseable_intime",
    "missing_outtime", "unparseable_outtime", "outtime_before_intime",
)
_BY_TIME_REASONS = (
    "missing_time", "unparseable_time", "missing_subject_id", "outside_stay_window",
    "after_death", "empty_text",
)
_BY_STAY_REASONS = (
    "missing_time", "unparseable_time", "missing_stay_id", "unknown_stay",
    "outside_stay_window", "after_death", "empty_text",
)
EVENT_DROP_REASONS = {
    "ingredient": _BY_STAY_REASONS,
    "lab": _BY_TIME_REASONS,
    "microbiology": _BY_TIME_REASONS,
    "prescription": _BY_TIME_REASONS,
    "procedure": _BY_STAY_REASONS,
}
# Known MIMIC-IV quirks, per source: each is a boolean column of event_candidates.
EVENT_QUIRKS = {
    "ingredient": ("missing_label",),
    "lab": (
        "empty_hadm_id", "missing_label", "placeholder_value_with_valuenum",
        "placeholder_value_without_valuenum",
    ),
    "microbiology": ("chartdate_only", "empty_hadm_id"),
    "prescription": ("empty_hadm_id", "stoptime_before_starttime"),
    "procedure": ("missing_label", "original_amount_differs"),
}

# Keys that must be unique: a duplicate would duplicate stays or events without a trace.
_UNIQUE_KEYS = {
    "icustays": "stay_id",
    "admissions": "hadm_id",
    "patients": "subject_id",
    "d_labitems": "itemid",
    "d_items": "itemid",
}
# Time columns of the stay tables; the event tables' are checked on event_candidates.
_STAY_TIME_COLUMNS = {
    "icustays": ("intime", "outtime"),
    "admissions": ("admittime", "deathtime"),
    "patients": ("dod",),
}
_FORMATS = (("parquet", ".parquet"), ("csv.gz", ".csv.gz"), ("csv", ".csv"))
_MEMORY_LIMIT = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)")
_TIMESTAMP_FORMAT = "'YYYY-MM-DD HH:MM:SS'"


class ExtractError(ValueError):
    """The MIMIC-IV input cannot be extracted as it is."""


class MissingTableError(ExtractError):
    """A table file is absent from the MIMIC-IV root."""


class MissingColumnError(ExtractError):
    """A table lacks a column the extraction reads."""


class TableReadError(ExtractError):
    """A table file exists but cannot be read in its format."""


class UnparseableColumnError(ExtractError):
    """No non-empty value of a time column parses as a timestamp."""


class DuplicateKeyError(ExtractError):
    """A key of a stay or dictionary table occurs more than once."""


@dataclass(frozen=True)
class SourceTable:
    """One resolved input table: its name, file and format ("parquet", "csv.gz", "csv")."""

    name: str
    path: Path
    format: str


def resolve_tables(root: str | os.PathLike[str]) -> dict[str, SourceTable]:
    """Find every table the extraction needs under ``root`` (parquet before csv.gz before
    csv), raising :class:`MissingTableError` naming the files looked for."""
    root = Path(root)
    tables = {}
    for name, (module, _columns) in REQUIRED_COLUMNS.items():
        candidates = [(fmt, root / module / f"{name}{suffix}") for fmt, suffix in _FORMATS]
        found = [(fmt, path) for fmt, path in candidates if path.is_file()]
        if not found:
            looked = ", ".join(str(path) for _fmt, path in candidates)
            raise MissingTableError(f"missing table {module}/{name}: none of {looked} exists")
        fmt, path = found[0]
        tables[name] = SourceTable(name=name, path=path, format=fmt)
    return tables


def _sql_string(text: str) -> str:
    """``text`` as a SQL string literal (single quotes doubled), for file paths only."""
    return "'" + text.replace("'", "''") + "'"


def _reader_sql(table: SourceTable) -> str:
    """The DuckDB table function that streams ``table``; csv columns all come as VARCHAR."""
    path = _sql_string(str(table.path))
    if table.format == "parquet":
        return f"read_parquet({path})"
    return (
        f"read_csv({path}, header = true, all_varchar = true, delim = ',', "
        "quote = '\"', escape = '\"')"
    )


def _file_columns(con: duckdb.DuckDBPyConnection, table: SourceTable) -> list[str]:
    """The column names of ``table``'s file (reads only its header or parquet schema)."""
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {_reader_sql(table)}").fetchall()
    except duckdb.Error as err:
        raise TableReadError(f"{table.path}: cannot be read as {table.format} ({err})") from err
    return [str(row[0]) for row in rows]


def _check_columns(tables: dict[str, SourceTable]) -> None:
    """Raise :class:`MissingColumnError` for the first table that lacks a needed column.

    Names are matched case-insensitively, as DuckDB binds them (procedureevents spells
    ORIGINALAMOUNT in upper case in v2.2; a lower-cased copy still binds).
    """
    with duckdb.connect(":memory:") as con:
        for name, table in tables.items():
            present = {column.lower() for column in _file_columns(con, table)}
            needed = REQUIRED_COLUMNS[name][1]
            missing = [column for column in needed if column.lower() not in present]
            if missing:
                raise MissingColumnError(
                    f"{table.path}: missing column {missing[0]!r}"
                    + (f" (and {', '.join(missing[1:])})" if len(missing) > 1 else "")
                    + f"; table {name} needs the MIMIC-IV v2.2 columns {', '.join(needed)}"
                )


def _create_views(con: duckdb.DuckDBPyConnection, tables: dict[str, SourceTable]) -> None:
    """One view per table, named like it, holding its needed columns as VARCHAR."""
    for name, table in tables.items():
        columns = ", ".join(
            f'CAST("{column}" AS VARCHAR) AS "{column}"' for column in REQUIRED_COLUMNS[name][1]
        )
        con.execute(f"CREATE VIEW {name} AS SELECT {columns} FROM {_reader_sql(table)}")


def _run_sql_file(con: duckdb.DuckDBPyConnection, filename: str) -> None:
    """Execute every statement of ``sql/<filename>``."""
    for statement in con.extract_statements((SQL_DIR / filename).read_text(encoding="utf-8")):
        con.execute(statement)


def _sql_query(filename: str) -> str:
    """The single query of ``sql/<filename>``, without a trailing semicolon."""
    return (SQL_DIR / filename).read_text(encoding="utf-8").strip().rstrip(";")


def _check_unique_keys(con: duckdb.DuckDBPyConnection, tables: dict[str, SourceTable]) -> None:
    """Raise :class:`DuplicateKeyError` naming the file, column and the smallest duplicate."""
    for name, column in _UNIQUE_KEYS.items():
        row = con.execute(
            f'SELECT k, count(*) FROM (SELECT parse_id("{column}") AS k FROM {name}) '
            "WHERE k IS NOT NULL GROUP BY k HAVING count(*) > 1 ORDER BY k LIMIT 1"
        ).fetchone()
        if row is not None:
            raise DuplicateKeyError(
                f"{tables[name].path}: column {column!r}: value {row[0]} occurs {row[1]} times "
                f"(expected one row per {column})"
            )


def _unparseable_error(table: SourceTable, column: str, present: int) -> UnparseableColumnError:
    """The error for a time column none of whose ``present`` non-empty values parses."""
    return UnparseableColumnError(
        f"{table.path}: column {column!r}: none of its {present} non-empty values parses as a "
        f"timestamp (expected {_TIMESTAMP_FORMAT})"
    )


def _check_stay_time_columns(
    con: duckdb.DuckDBPyConnection, tables: dict[str, SourceTable]
) -> None:
    """A stay-table time column with values but none parseable is an error, not drops."""
    for name, columns in _STAY_TIME_COLUMNS.items():
        for column in columns:
            present, parsed = con.execute(
                f'SELECT count(clean_text("{column}")), count(parse_time("{column}")) FROM {name}'
            ).fetchone()
            if present and not parsed:
                raise _unparseable_error(tables[name], column, present)


def _check_event_time_columns(
    con: duckdb.DuckDBPyConnection, tables: dict[str, SourceTable]
) -> None:
    """As :func:`_check_stay_time_columns`, from the counts the event pass recorded."""
    rows = con.execute(
        "SELECT event_type, time_column, "
        "count(*) FILTER (WHERE reason IS DISTINCT FROM 'missing_time'), "
        "count(*) FILTER (WHERE reason = 'unparseable_time') "
        "FROM event_candidates GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    for event_type, column, present, unparseable in rows:
        if present and present == unparseable:
            raise _unparseable_error(tables[EVENT_SOURCE_TABLES[event_type]], column, present)


def _stay_report(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Stays read, kept, dropped by reason, and the counts of the stay quirks."""
    dropped = dict.fromkeys(STAY_DROP_REASONS, 0)
    for reason, n in con.execute(
        "SELECT reason, count(*) FROM stay_candidates WHERE reason IS NOT NULL GROUP BY reason"
    ).fetchall():
        dropped[reason] = int(n)
    read, kept, died, no_admission, no_patient, early = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE reason IS NULL), "
        "count(*) FILTER (WHERE reason IS NULL AND died), "
        "count(*) FILTER (WHERE reason IS NULL AND NOT has_admission), "
        "count(*) FILTER (WHERE reason IS NULL AND NOT has_patient), "
        "count(*) FILTER (WHERE reason IS NULL AND intime_before_admittime) "
        "FROM stay_candidates"
    ).fetchone()
    (without_events,) = con.execute(
        "SELECT count(*) FROM stay_candidates AS s WHERE s.reason IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM recent_events AS e WHERE e.stay_id = s.stay_id)"
    ).fetchone()
    return {
        "read": int(read),
        "kept": int(kept),
        "dropped": dropped,
        "died": int(died),
        "without_events": int(without_events),
        "without_admission": int(no_admission),
        "without_patient": int(no_patient),
        "intime_before_admittime": int(early),
    }


def _empty_source_report(event_type: str) -> dict[str, Any]:
    """A source report with every reason and quirk at 0, so all reports share one shape."""
    return {
        "table": EVENT_SOURCE_TABLES[event_type],
        "candidates": 0,
        "attached": 0,
        "dropped": dict.fromkeys(EVENT_DROP_REASONS[event_type], 0),
        "quirks": {q: {"candidates": 0, "attached": 0} for q in EVENT_QUIRKS[event_type]},
        "written": 0,
    }


def _event_report(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Per source: candidates, attached, dropped by reason, quirk counts, rows written.

    A candidate is a source row, or a (row, stay) pair when the row falls inside two
    overlapping stays of one subject; ``attached`` counts candidates before the
    ``max_events`` cut, ``written`` the rows in events.parquet.
    """
    sources = {event_type: _empty_source_report(event_type) for event_type in EVENT_SOURCE_TABLES}
    flags = sorted({flag for quirks in EVENT_QUIRKS.values() for flag in quirks})
    flag_counts = ", ".join(
        f"count(*) FILTER (WHERE {flag}), count(*) FILTER (WHERE {flag} AND reason IS NULL)"
        for flag in flags
    )
    rows = con.execute(
        f"SELECT event_type, reason, count(*), {flag_counts} "
        "FROM event_candidates GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    for event_type, reason, n, *counts in rows:
        source = sources[event_type]
        source["candidates"] += int(n)
        if reason is None:
            source["attached"] += int(n)
        else:
            source["dropped"][reason] += int(n)
        for i, flag in enumerate(flags):
            if flag in source["quirks"]:
                source["quirks"][flag]["candidates"] += int(counts[2 * i])
                source["quirks"][flag]["attached"] += int(counts[2 * i + 1])
    for event_type, n in con.execute(
        "SELECT event_type, count(*) FROM recent_events GROUP BY event_type"
    ).fetchall():
        sources[event_type]["written"] = int(n)
    attached = sum(source["attached"] for source in sources.values())
    written = sum(source["written"] for source in sources.values())
    return {"sources": sources, "beyond_max_events": attached - written, "written": written}


def _report(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    tables: dict[str, SourceTable],
    max_events: int | None,
    death_grace_hours: float,
) -> dict[str, Any]:
    """The extraction report: inputs (relative to ``root``, so that it does not depend on
    where the data lives), settings, stay and event counts."""
    return {
        "inputs": {
            name: {"file": table.path.relative_to(root).as_posix(), "format": table.format}
            for name, table in tables.items()
        },
        "settings": {"max_events": max_events, "death_grace_hours": death_grace_hours},
        "stays": _stay_report(con),
        "events": _event_report(con),
    }


def _copy_to_parquet(con: duckdb.DuckDBPyConnection, query_file: str, path: Path) -> None:
    """Let DuckDB write the query of ``sql/<query_file>`` to ``path`` (no round trip via
    Python)."""
    con.execute(
        f"COPY ({_sql_query(query_file)}) TO {_sql_string(str(path))} "
        "(FORMAT parquet, COMPRESSION zstd)"
    )


def _validate_settings(
    max_events: int | None, death_grace_hours: float, threads: int, memory_limit: str
) -> None:
    """Reject settings DuckDB would misread (memory_limit reaches its config as text)."""
    if max_events is not None and (isinstance(max_events, bool) or int(max_events) < 1):
        raise ValueError(f"max_events must be a positive integer or None, got {max_events!r}")
    if not death_grace_hours >= 0:
        raise ValueError(f"death_grace_hours must be >= 0, got {death_grace_hours!r}")
    if isinstance(threads, bool) or int(threads) < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    if not _MEMORY_LIMIT.fullmatch(memory_limit.strip()):
        raise ValueError(f"memory_limit must look like '2GB' or '512MiB', got {memory_limit!r}")


def _connect(scratch: Path, threads: int, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """A DuckDB database file in ``scratch`` (its tables are compressed and may leave memory),
    spilling to ``scratch`` too, within ``threads`` and ``memory_limit``."""
    return duckdb.connect(
        str(scratch / "extract.duckdb"),
        config={
            "threads": int(threads),
            "memory_limit": memory_limit.strip(),
            "temp_directory": str(scratch / "spill"),
            "preserve_insertion_order": False,
        },
    )


def _build_tables(
    con: duckdb.DuckDBPyConnection,
    tables: dict[str, SourceTable],
    max_events: int | None,
    death_grace_hours: float,
) -> None:
    """Run the SQL: views, checks, stay_candidates, event_candidates, recent_events."""
    _create_views(con, tables)
    _run_sql_file(con, "macros.sql")
    _check_unique_keys(con, tables)
    _check_stay_time_columns(con, tables)
    con.execute("CREATE TABLE extract_params (max_events BIGINT, death_grace_seconds BIGINT)")
    con.execute(
        "INSERT INTO extract_params VALUES (?, ?)",
        [None if max_events is None else int(max_events), round(death_grace_hours * 3600)],
    )
    _run_sql_file(con, "stays.sql")
    _run_sql_file(con, "events.sql")
    _check_event_time_columns(con, tables)
    _run_sql_file(con, "recent_events.sql")


def extract_events(
    root: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    max_events: int | None = DEFAULT_MAX_EVENTS,
    death_grace_hours: float = DEFAULT_DEATH_GRACE_HOURS,
    threads: int = 2,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    temp_directory: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Extract the event sequences of every ICU stay under ``root`` into ``out_dir``.

    ``max_events`` keeps each stay's most recent events (None: all); ``death_grace_hours``
    widens the death window of the label (module docstring). ``threads``, ``memory_limit``
    and ``temp_directory`` (scratch database and spill files; default: next to ``out_dir``,
    removed afterwards) bound DuckDB. Returns the report also written to
    ``extract_report.json``. Missing tables or columns raise before anything is written; any
    failure leaves ``out_dir`` as it was.
    """
    _validate_settings(max_events, death_grace_hours, threads, memory_limit)
    root, out_dir = Path(root), Path(out_dir)
    tables = resolve_tables(root)
    _check_columns(tables)
    scratch_parent = Path(temp_directory) if temp_directory is not None else out_dir.parent
    scratch_parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".events-extract-", dir=scratch_parent))
    try:
        with _connect(scratch, threads, memory_limit) as con:
            try:
                _build_tables(con, tables, max_events, death_grace_hours)
            except duckdb.InvalidInputException as err:  # a malformed csv row, a bad file
                raise TableReadError(f"a table under {root} cannot be read: {err}") from err
            report = _report(con, root, tables, max_events, death_grace_hours)
            with atomic_directory(out_dir) as tmp:
                _copy_to_parquet(con, "events_output.sql", tmp / "events.parquet")
                _copy_to_parquet(con, "stays_output.sql", tmp / "stays.parquet")
                write_json(tmp / "extract_report.json", report)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log.info(
        "extracted %d events of %d stays from %s",
        report["events"]["written"], report["stays"]["kept"], root,
    )
    return report
