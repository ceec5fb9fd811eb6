# A fake of the ricu API used by extract_with_ricu.R, on five MIMIC-IV-shaped stays.
# Shapes follow ricu 0.6.3: load_concepts() returns an hourly table keyed by the ICU stay id
# with a difftime index relative to admission; stay_windows() gives start/end per stay;
# fill_gaps() makes the grid dense. Concept 'broken' always fails to load (tests the
# per-concept retry). Values are simple functions of stay and hour so tests can check them.

hours <- function(x) as.difftime(as.numeric(x), units = "hours")

.cncpt <- function(kind, unit = NULL) structure(list(unit = unit), class = c(paste0(kind, "_cncpt"), "cncpt"))

load_dictionary <- function(src = NULL, ...) {
  list(
    abx = .cncpt("lgl"), age = .cncpt("num", "years"), avpu = .cncpt("fct"),
    broken = .cncpt("num", "mg/dL"), crea = .cncpt("num", c("mg/dL", "mg/dl")),
    hr = .cncpt("num", "bpm"), sofa = .cncpt("num")
  )
}

.stays <- function() {
  t0 <- as.POSIXct("2150-01-01 08:00:00", tz = "UTC")
  data.table::data.table(
    stay_id = 101:105, subject_id = c(1L, 1L, 2L, 3L, 4L), hadm_id = c(11L, 12L, 13L, 14L, 15L),
    intime = t0 + 86400 * (0:4), los_hours = c(80, 50, 30, 60, 10),
    first_careunit = "Medical Intensive Care Unit (MICU)"
  )
}

stay_windows <- function(src, id_type = "icustay", interval = hours(1L), ...) {
  s <- .stays()
  data.table::data.table(stay_id = s$stay_id, start = hours(0), end = hours(ceiling(s$los_hours) - 1))
}

.raw <- function() {
  s <- .stays()
  grid <- s[, list(h = -1:(ceiling(los_hours) - 1)), by = stay_id]
  grid[, hr := ifelse(h %% 2 == 0, 80 + (stay_id - 100) + h, NA_real_)]
  grid[, crea := NA_real_]
  grid[h == 2, crea := 1.0]
  grid[stay_id == 101L & h == 30, crea := 1.6]
  grid[stay_id == 102L & h == 30, crea := 1.1]
  grid[, avpu := factor(ifelse(h == 3, ifelse(stay_id == 103L, "V", "A"), NA), levels = c("A", "V", "P", "U"))]
  grid[, abx := ifelse(h == 5, TRUE, NA)]
  grid[, charttime := hours(h)]
  grid[, h := NULL]
  grid[]
}

load_concepts <- function(x, src = NULL, interval = hours(1L), merge_data = TRUE, verbose = TRUE, ...) {
  names <- if (is.character(x)) x else names(x)
  if ("broken" %in% names) stop("concept 'broken' has no items for this source")
  raw <- .raw()
  keep <- c("stay_id", "charttime", names)
  out <- raw[, keep, with = FALSE]
  # ricu returns only rows with at least one value
  has <- Reduce(`|`, lapply(names, function(n) !is.na(out[[n]])))
  out <- out[has]
  data.table::setattr(out, "ricu_id", "stay_id")
  data.table::setattr(out, "ricu_index", "charttime")
  out[]
}

# the real ones set ricu's id/index metadata; tables here carry no class beyond data.table
as_ts_tbl <- function(x, id_vars = NULL, index_var = NULL, interval = NULL, ...) {
  stopifnot(id_vars %in% names(x), index_var %in% names(x))
  data.table::as.data.table(x)
}
as_id_tbl <- function(x, id_vars = NULL, ...) {
  stopifnot(id_vars %in% names(x))
  data.table::as.data.table(x)
}

id_vars <- function(x) "stay_id"
index_var <- function(x) "charttime"

fill_gaps <- function(x, limits = NULL, ...) {
  x <- data.table::copy(data.table::as.data.table(x))
  x[, charttime := as.numeric(charttime, units = "hours")]
  w <- data.table::as.data.table(limits)
  grid <- w[, list(charttime = seq(as.numeric(start, units = "hours"), as.numeric(end, units = "hours"))), by = stay_id]
  out <- merge(grid, x, by = c("stay_id", "charttime"), all = TRUE)
  out[, charttime := hours(charttime)]
  out[]
}

load_src <- function(x, src = NULL, ...) {
  s <- .stays()
  switch(x,
    icustays = s[, list(stay_id, subject_id, hadm_id, intime, outtime = intime + 3600 * los_hours, first_careunit)],
    patients = data.table::data.table(
      subject_id = 1:4, gender = c("M", "F", "M", "F"), anchor_age = c(60L, 70L, 45L, 85L),
      anchor_year = 2150L, dod = as.Date(c(NA, "2150-01-05", NA, NA))
    ),
    admissions = data.table::data.table(
      subject_id = c(1L, 1L, 2L, 3L, 4L), hadm_id = 11:15,
      race = c("WHITE", "WHITE", "BLACK/AFRICAN AMERICAN", "ASIAN", "WHITE"),
      admission_type = "EW EMER.", insurance = "Medicare",
      deathtime = as.POSIXct(c(NA, NA, "2150-01-04 20:00:00", NA, NA), tz = "UTC"),
      hospital_expire_flag = c(0L, 0L, 1L, 0L, 0L),
      dischtime = s$intime + 3600 * (s$los_hours + 48),
      discharge_location = c("HOME", "HOME", "DIED", "HOME", "HOME")
    ),
    stop(sprintf("fake ricu: no table %s", x))
  )
}
