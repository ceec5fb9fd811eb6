"""The 84 ricu time-series concepts SLICES extracts, with ricu's units, ranges and classes.

Why a table here: the ingestion checks every concept's unit in an export's ``metadata.yaml``
against ricu's dictionary (a wrong unit, e.g. creatinine in µmol/L, silently ruins labels and
normalization), categorical concepts need a documented numeric encoding, and the synthetic
generator draws plausible values from the same ranges. The list is ricu 0.6.3's
``concept-dict`` minus the 7 static/outcome concepts and the 30 blocklisted names of
SLICES' ``FEATURE_BLOCKLIST``.

Columns of ``_TABLE``: name, class (num | lgl | fct), unit (``-`` = none), min, max, then
synthetic-generator parameters: typical mean and sd, observation probability per hour, and
the effect of one unit of latent severity in sds.
"""

from __future__ import annotations

from dataclasses import dataclass

# name class unit min max | mean sd rate severity
_TABLE = """
abx        lgl -          nan  nan   | nan   nan   0.08  0.3
adh_rate   num units/min  0    1     | 0.03  0.01  0.01  0.3
alb        num g/dL       0    6     | 3.0   0.6   0.03 -0.3
alp        num IU/L       0    5000  | 100   40    0.03  0.2
alt        num IU/L       0    10000 | 40    25    0.03  0.3
ast        num IU/L       0    10000 | 45    30    0.03  0.3
avpu       fct -          nan  nan   | nan   nan   0.05  0.5
basos      num %          0    100   | 0.4   0.2   0.02  0.0
be         num mEq/L      -25  25    | 0.0   3.0   0.08 -0.4
bicar      num mEq/L      5    50    | 24    3.5   0.12 -0.4
bili       num mg/dL      0    100   | 0.9   0.6   0.04  0.3
bili_dir   num mg/dL      0    50    | 0.3   0.2   0.01  0.3
bnd        num %          0    100   | 3.0   2.0   0.01  0.2
bun        num mg/dL      0    200   | 20    9     0.12  0.4
ca         num mg/dL      4    20    | 8.5   0.6   0.10 -0.2
cai        num mmol/L     0.5  2     | 1.12  0.08  0.08 -0.2
ck         num IU/L       0    100000| 150   120   0.02  0.2
ckmb       num ng/mL      0    500   | 4     3     0.01  0.2
cl         num mEq/L      80   130   | 104   4     0.12  0.0
cort       lgl -          nan  nan   | nan   nan   0.01  0.2
crea       num mg/dL      0    15    | 1.0   0.3   0.13  0.0
crp        num mg/L       0    500   | 40    30    0.01  0.3
dbp        num mmHg       0    200   | 62    11    0.90 -0.4
dex        num mL/hr      0    1000  | 50    20    0.01  0.1
dobu_rate  num mcg/kg/min 0    50    | 5     2     0.01  0.3
dopa_rate  num mcg/kg/min 0    50    | 5     2     0.01  0.3
egcs       num -          1    4     | 3.6   0.5   0.33 -0.5
eos        num %          0    100   | 1.0   0.8   0.02  0.0
epi_rate   num mcg/kg/min 0    1     | 0.05  0.03  0.01  0.3
esr        num mm/hr      0    200   | 30    20    0.005 0.2
etco2      num mmHg       10   60    | 35    5     0.05  0.0
ett_gcs    lgl -          nan  nan   | nan   nan   0.05  0.4
fgn        num mg/dL      0    1500  | 300   100   0.02 -0.2
fio2       num %          21   100   | 40    12    0.40  0.4
glu        num mg/dL      0    1000  | 130   35    0.15  0.2
hba1c      num %          0    20    | 6.0   1.0   0.005 0.0
hbco       num %          0    100   | 1.5   0.7   0.005 0.0
hct        num %          0    100   | 30    5     0.10 -0.2
hgb        num g/dL       0    25    | 10    1.8   0.10 -0.2
hr         num bpm        0    300   | 86    15    0.92  0.6
inr_pt     num -          0    15    | 1.3   0.3   0.06  0.3
ins        num units/hr   0    100   | 4     2     0.03  0.1
k          num mEq/L      0    10    | 4.1   0.5   0.14  0.2
lact       num mmol/L     0    50    | 1.8   0.9   0.08  0.7
lymph      num %          0    100   | 12    7     0.02 -0.2
map        num mmHg       0    250   | 78    12    0.90 -0.5
mch        num pg         0    100   | 30    2     0.08  0.0
mchc       num %          20   50    | 33    1.2   0.08  0.0
mcv        num fL         50   150   | 90    6     0.08  0.0
mech_vent  fct -          nan  nan   | nan   nan   0.30  0.6
methb      num %          0    100   | 0.8   0.3   0.03  0.0
mg         num mg/dL      0.5  5     | 2.0   0.3   0.10  0.0
mgcs       num -          1    6     | 5.5   0.9   0.33 -0.5
na         num mEq/L      110  165   | 139   4     0.14  0.1
neut       num %          0    100   | 78    9     0.02  0.2
norepi_rate num mcg/kg/min 0   3     | 0.12  0.08  0.06  0.6
o2sat      num %          50   100   | 97    2     0.88 -0.4
pco2       num mmHg       10   150   | 41    7     0.08  0.2
ph         num -          6.8  8     | 7.38  0.06  0.08 -0.4
phn_rate   num mcg/kg/min 0   15     | 1.0   0.6   0.02  0.3
phos       num mg/dL      0    40    | 3.4   0.9   0.09  0.2
plt        num K/uL       5    1200  | 200   80    0.10 -0.3
po2        num mmHg       40   600   | 110   40    0.08 -0.2
pt         num sec        0    100   | 14    3     0.06  0.3
ptt        num sec        0    200   | 32    8     0.06  0.2
rass       num -          -5   4     | -1    1.5   0.33 -0.4
rbc        num m/uL       0    10    | 3.4   0.6   0.08 -0.2
rdw        num %          0    50    | 15    1.8   0.08  0.1
resp       num insp/min   0    120   | 19    5     0.90  0.5
samp       lgl -          nan  nan   | nan   nan   0.03  0.2
sao2       num %          50   100   | 96    2.5   0.08 -0.3
sbp        num mmHg       0    300   | 120   19    0.90 -0.5
spo2       num %          50   100   | 97    2     0.85 -0.4
supp_o2    lgl -          nan  nan   | nan   nan   0.35  0.5
tco2       num mEq/L      5    60    | 25    4     0.08 -0.3
temp       num C          32   42    | 37.0  0.6   0.45  0.3
tgcs       num -          3    15    | 13    2.5   0.02 -0.5
tnt        num ng/mL      0    50    | 0.1   0.08  0.02  0.3
tri        num mg/dL      0    5000  | 140   70    0.005 0.0
urine      num mL         0    2000  | 110   60    0.80 -0.5
vent_end   lgl -          nan  nan   | nan   nan   0.01  0.0
vent_start lgl -          nan  nan   | nan   nan   0.01  0.4
vgcs       num -          1    5     | 4.2   1.1   0.33 -0.5
wbc        num K/uL       0    500   | 10    4     0.10  0.4
"""

#: Encodings of categorical concepts (SLICES' ordinal mapping; logical concepts are 0/1).
CATEGORY_CODES: dict[str, dict[str, float]] = {
    "avpu": {"A": 0.0, "V": 1.0, "P": 2.0, "U": 3.0},
    "mech_vent": {"noninvasive": 1.0, "invasive": 2.0},
}

#: Accepted spellings of each unit (ricu lists several per concept for some sources).
UNIT_SYNONYMS: dict[str, set[str]] = {
    "C": {"C", "°C", "degC", "Celsius"},
    "bpm": {"bpm", "beats/min", "/min"},
    "insp/min": {"insp/min", "breaths/min", "/min"},
    "K/uL": {"K/uL", "10^3/uL", "x10^3/uL", "G/l", "G/L", "K/mcL"},
    "m/uL": {"m/uL", "10^6/uL", "x10^6/uL", "T/l", "T/L"},
    "mEq/L": {"mEq/L", "mmol/L"},
    "IU/L": {"IU/L", "U/L", "units/L"},
    "mL": {"mL", "ml"},
    "mL/hr": {"mL/hr", "ml/hr", "mL/h", "ml/h"},
    "units/hr": {"units/hr", "units/h", "U/hr", "U/h"},
    "units/min": {"units/min", "U/min"},
    "sec": {"sec", "s"},
    "-": {"-", "", "none"},
}

#: Static / outcome concepts SLICES excludes from the time series (ricu dictionary names).
STATIC_CONCEPTS = ("age", "sex", "height", "weight", "bmi", "death", "adm")

#: SLICES ``FEATURE_BLOCKLIST``: leakage, future-derived and derived-summary concepts.
FEATURE_BLOCKLIST = (
    "los_hosp", "los_icu", "dur_var",
    "dobu_dur", "dopa_dur", "epi_dur", "norepi_dur", "dobu60", "dopa60", "epi60", "norepi60",
    "vaso_ind", "sofa_cardio", "sofa", "susp_inf", "sep3",
    "pafi", "safi", "norepi_equiv", "vent_ind", "gcs", "urine24", "sofa_resp", "sofa_coag",
    "sofa_liver", "sofa_cns", "sofa_renal", "qsofa", "sirs", "news", "mews",
)  # fmt: skip


@dataclass(frozen=True)
class Concept:
    """One ricu concept: class, unit and plausible range, plus synthetic-generator knobs."""

    name: str
    kind: str  # "num" | "lgl" | "fct"
    unit: str
    lo: float
    hi: float
    mean: float
    sd: float
    rate: float
    severity: float

    @property
    def levels(self) -> tuple[str, ...]:
        """Levels of a categorical concept, in code order (empty for others)."""
        return tuple(CATEGORY_CODES.get(self.name, {}))


def _parse(line: str) -> Concept:
    left, right = line.split("|")
    name, kind, unit, lo, hi = left.split()
    mean, sd, rate, severity = (float(v) for v in right.split())
    return Concept(name, kind, unit, float(lo), float(hi), mean, sd, rate, severity)


def _load() -> dict[str, Concept]:
    concepts = {}
    for raw in _TABLE.strip().splitlines():
        concept = _parse(raw)
        concepts[concept.name] = concept
    return concepts


#: ricu concept name -> :class:`Concept`, in the alphabetical order SLICES uses.
RICU_CONCEPTS: dict[str, Concept] = _load()

#: The 84 default time-series concepts (dictionary minus static minus blocklist).
DEFAULT_CONCEPTS: tuple[str, ...] = tuple(RICU_CONCEPTS)

#: YAIB's 48 dynamic variables (``PredictionTaskVariables.gin``), a subset of the above.
YAIB_CONCEPTS: tuple[str, ...] = (
    "alb", "alp", "alt", "ast", "be", "bicar", "bili", "bili_dir", "bnd", "bun", "ca", "cai",
    "ck", "ckmb", "cl", "crea", "crp", "dbp", "fgn", "fio2", "glu", "hgb", "hr", "inr_pt", "k",
    "lact", "lymph", "map", "mch", "mchc", "mcv", "methb", "mg", "na", "neut", "o2sat", "pco2",
    "ph", "phos", "plt", "po2", "ptt", "resp", "sbp", "temp", "tnt", "urine", "wbc",
)  # fmt: skip


def unit_matches(concept: str, unit: str | None) -> bool:
    """Whether ``unit`` is an accepted spelling of ``concept``'s ricu unit.

    Concepts not in the table (a user's custom concept) accept any unit: there is nothing
    to check them against.
    """
    known = RICU_CONCEPTS.get(concept)
    if known is None:
        return True
    unit = "-" if unit is None else str(unit).strip()
    return unit == known.unit or unit in UNIT_SYNONYMS.get(known.unit, set())
