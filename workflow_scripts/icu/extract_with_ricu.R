#!/usr/bin/env Rscript
# Extract an ICU database with ricu into a "ricu export" that clinssl ingests
# (lib/clinssl/io/ricu.py documents the layout):
#
#   <output_dir>/timeseries/part_XXXX.parquet   stay_id, hour, <concept>..., <concept>_mask...
#   <output_dir>/stays.parquet                   stay_id, patient_id, hadm_id, intime, outtime,
#                                                los_days, age, gender, race, admission_type, ...
#   <output_dir>/mortality.parquet               death time + precision, hospital_expire_flag,
#                                                dischtime, discharge_location
#   <output_dir>/metadata.yaml                   dataset, feature_names, units, concept_classes,
#                                                raw_export_horizon_hours, n_stays, ricu_version
#
# Without the R package arrow, tables are written as gzipped CSV (data.table::fwrite) instead.
#
# Structure: every call into ricu lives in ricu_backend() (a list of functions); everything
# else (concept selection, batching with per-concept retry, reshaping, masks, horizon cut,
# stays/mortality tables, writing, CLI) is plain data.table code that the testthat tests in
# workflow_scripts/icu/tests/testthat/ exercise with Debian's R on in-memory tables shaped
# like ricu's output and a fake backend.
#
# Usage: Rscript extract_with_ricu.R --dataset miiv --output_dir results/raw/ricu/miiv

suppressPackageStartupMessages({
  library(data.table)
  library(optparse)
  library(yaml)
})

VALID_DATASETS <- c("miiv", "eicu", "mimic_demo", "eicu_demo")
# ricu dictionary concepts that are static or outcomes (never time series; SLICES)
STATIC_CONCEPTS <- c("age", "sex", "height", "weight", "bmi", "death", "adm")
EICU_EPOCH <- as.POSIXct("2000-01-01 00:00:00", tz = "UTC")

dataset_family <- function(dataset) {
  switch(dataset, miiv = "miiv", mimic_demo = "mimic", eicu = "eicu", eicu_demo = "eicu",
         stop(sprintf("unknown dataset '%s'; expected one of %s", dataset,
                      paste(VALID_DATASETS, collapse = ", "))))
}

# ---- the only code that calls ricu ------------------------------------------------------

ricu_backend <- function() {
  if (!requireNamespace("ricu", quietly = TRUE)) {
    stop("R package 'ricu' is not installed: run this rule with --use-conda (envs/ricu.yaml, ",
         "conda-forge r-ricu) or install.packages('ricu')")
  }
  list(
    version = function() as.character(utils::packageVersion("ricu")),
    dictionary = function(src) ricu::load_dictionary(src = src),
    stay_windows = function(src) {
      ricu::stay_windows(src, id_type = "icustay", interval = ricu::hours(1L))
    },
    load_concepts = function(cnames, src, dict) {
      ricu::load_concepts(dict[cnames], src = src, interval = ricu::hours(1L),
                          merge_data = TRUE, verbose = FALSE)
    },
    # merge_batches()/cap_windows() return plain data.tables: restore ricu's table classes
    fill_gaps = function(ts, wins, id_col, index_col) {
      ts <- ricu::as_ts_tbl(ts, id_vars = id_col, index_var = index_col, interval = ricu::hours(1L))
      ricu::fill_gaps(ts, limits = ricu::as_id_tbl(wins, id_vars = id_col))
    },
    id_var = function(x) ricu::id_vars(x)[1],
    index_var = function(x) ricu::index_var(x),
    load_table = function(src, table) as.data.table(ricu::load_src(table, src = src))
  )
}

# ---- concepts ---------------------------------------------------------------------------

# Unit (first listed spelling, "-" for none) and class (num, lgl, fct) of every concept.
concept_info <- function(dict) {
  nm <- names(dict)
  unit <- vapply(nm, function(n) {
    u <- dict[[n]][["unit"]]
    if (is.null(u) || length(u) == 0L || is.na(u[[1]]) || !nzchar(u[[1]])) "-" else as.character(u[[1]])
  }, character(1))
  kind <- vapply(nm, function(n) {
    cls <- class(dict[[n]])
    if ("lgl_cncpt" %in% cls) "lgl" else if ("fct_cncpt" %in% cls) "fct" else "num"
  }, character(1))
  data.table(concept = nm, unit = unname(unit), kind = unname(kind))
}

# Every dictionary concept except static/outcome ones and the blocklist, or the requested
# ones (which must exist in the dictionary).
select_concepts <- function(available, requested = character(), blocklist = character()) {
  if (length(requested) > 0L) {
    unknown <- setdiff(requested, available)
    if (length(unknown) > 0L) {
      stop(sprintf("concept(s) not in the ricu dictionary: %s", paste(unknown, collapse = ", ")))
    }
    return(requested)
  }
  sort(setdiff(available, c(STATIC_CONCEPTS, blocklist)))
}

# Load concepts in batches; a failing batch is retried one concept at a time and concepts
# that still fail are skipped (reported in `failed`). `loader(cnames)` returns one table.
load_in_batches <- function(cnames, loader, batch_size = 4L, log = message) {
  batches <- split(cnames, ceiling(seq_along(cnames) / batch_size))
  tables <- list()
  failed <- character()
  for (batch in batches) {
    res <- tryCatch(loader(batch), error = function(e) e)
    if (!inherits(res, "error")) {
      tables[[length(tables) + 1L]] <- res
      next
    }
    log(sprintf("batch %s failed (%s); retrying one concept at a time",
                paste(batch, collapse = ","), conditionMessage(res)))
    for (cn in batch) {
      one <- tryCatch(loader(cn), error = function(e) e)
      if (inherits(one, "error")) {
        log(sprintf("concept %s skipped: %s", cn, conditionMessage(one)))
        failed <- c(failed, cn)
      } else {
        tables[[length(tables) + 1L]] <- one
      }
    }
  }
  list(tables = tables, failed = failed)
}

# Full outer join of the batch tables on (id, index).
merge_batches <- function(tables, id_col, index_col) {
  if (length(tables) == 0L) stop("no concept could be loaded")
  out <- as.data.table(tables[[1]])
  for (tb in tables[-1]) {
    out <- merge(out, as.data.table(tb), by = c(id_col, index_col), all = TRUE, sort = FALSE)
  }
  out
}

# ---- reshaping --------------------------------------------------------------------------

# A ricu-shaped hourly table (id column, difftime index, one column per concept) as the
# export's timeseries: stay_id, hour (integer hours since admission, < horizon), every
# concept in `concepts` (missing ones as NA columns), factors as text, and <concept>_mask.
to_export_table <- function(ts, id_col, index_col, concepts, horizon) {
  dt <- as.data.table(ts)
  if (!id_col %in% names(dt)) stop(sprintf("id column '%s' not in the loaded table", id_col))
  if (!index_col %in% names(dt)) stop(sprintf("index column '%s' not in the loaded table", index_col))
  idx <- dt[[index_col]]
  hours <- if (inherits(idx, "difftime")) as.numeric(idx, units = "hours") else as.numeric(idx)
  out <- data.table(stay_id = as.integer(dt[[id_col]]), hour = as.integer(floor(hours)))
  for (cn in concepts) {
    v <- if (cn %in% names(dt)) dt[[cn]] else NA_real_
    if (is.factor(v)) v <- as.character(v)
    if (inherits(v, "difftime")) v <- as.numeric(v, units = "hours")
    if (inherits(v, "units")) v <- as.numeric(v)
    set(out, j = cn, value = if (length(v) == 1L) rep(v, nrow(out)) else v)
  }
  out <- out[hour < horizon]
  for (cn in concepts) set(out, j = paste0(cn, "_mask"), value = !is.na(out[[cn]]))
  dup <- duplicated(out, by = c("stay_id", "hour"))
  if (any(dup)) {
    stop(sprintf("duplicated (stay_id, hour) rows after binning, e.g. stay %s hour %s",
                 out$stay_id[dup][1], out$hour[dup][1]))
  }
  setorderv(out, c("stay_id", "hour"))
  out[]
}

# Cap the stay windows at the horizon (ricu's stay_windows gives start/end per stay).
cap_windows <- function(wins, horizon) {
  w <- copy(as.data.table(wins))
  end <- w[["end"]]
  cap <- if (inherits(end, "difftime")) as.difftime(horizon - 1, units = "hours") else horizon - 1
  if (inherits(end, "difftime")) units(end) <- "hours"
  set(w, j = "end", value = pmin(end, cap))
  w
}

# Part index of every row: `stays_per_part` consecutive stays (by stay_id) per part.
part_index <- function(stay_id, stays_per_part) {
  ids <- sort(unique(stay_id))
  rank <- match(stay_id, ids)
  as.integer((rank - 1L) %/% stays_per_part)
}

# ---- stays and mortality ----------------------------------------------------------------

hours_between <- function(a, b) as.numeric(difftime(b, a, units = "hours"))

build_stays_mimic <- function(icustays, patients, admissions, family) {
  icu <- copy(as.data.table(icustays))
  if (family == "mimic") setnames(icu, "icustay_id", "stay_id", skip_absent = TRUE)
  pat <- as.data.table(patients)
  adm <- as.data.table(admissions)
  race_col <- if ("race" %in% names(adm)) "race" else "ethnicity"
  d <- merge(icu, pat, by = "subject_id", all.x = TRUE, sort = FALSE)
  d <- merge(d, adm, by = c("subject_id", "hadm_id"), all.x = TRUE, sort = FALSE)
  age <- if (family == "miiv") {
    d$anchor_age + (as.integer(format(d$intime, "%Y", tz = "UTC")) - d$anchor_year)
  } else {
    pmin(hours_between(d$dob, d$intime) / (24 * 365.25), 91.4)  # MIMIC-III shifts > 89 to ~300
  }
  out <- data.table(
    stay_id = as.integer(d$stay_id), patient_id = as.integer(d$subject_id),
    hadm_id = as.integer(d$hadm_id), intime = d$intime, outtime = d$outtime,
    los_days = hours_between(d$intime, d$outtime) / 24, age = as.numeric(age),
    gender = as.character(d$gender), race = as.character(d[[race_col]]),
    admission_type = as.character(d$admission_type),
    insurance = as.character(d$insurance), first_careunit = as.character(d$first_careunit)
  )
  setorderv(out, "stay_id")
  out[]
}

build_mortality_mimic <- function(stays, patients, admissions) {
  d <- merge(stays[, .(stay_id, patient_id, hadm_id)], as.data.table(admissions),
             by = "hadm_id", all.x = TRUE, sort = FALSE)
  pat <- as.data.table(patients)[, .(patient_id = as.integer(subject_id), dod)]
  d <- merge(d, pat, by = "patient_id", all.x = TRUE, sort = FALSE)
  exact <- !is.na(d$deathtime)
  dod <- as.Date(d$dod, tz = "UTC")
  death_date <- as.Date(ifelse(exact, as.Date(d$deathtime, tz = "UTC"), dod), origin = "1970-01-01")
  out <- data.table(
    stay_id = d$stay_id,
    date_of_death = death_date,
    death_time = d$deathtime,
    death_date = death_date,
    death_time_precision = ifelse(exact, "timestamp", ifelse(is.na(dod), "unknown", "date")),
    death_source = ifelse(exact, "admissions.deathtime", ifelse(is.na(dod), NA, "patients.dod")),
    hospital_expire_flag = as.integer(d$hospital_expire_flag),
    dischtime = d$dischtime,
    discharge_location = as.character(d$discharge_location)
  )
  setorderv(out, "stay_id")
  out[]
}

build_stays_eicu <- function(patient) {
  p <- as.data.table(patient)
  age <- suppressWarnings(as.numeric(ifelse(p$age == "> 89", "90", p$age)))
  out <- data.table(
    stay_id = as.integer(p$patientunitstayid), patient_id = as.character(p$uniquepid),
    hadm_id = as.integer(p$patienthealthsystemstayid),
    intime = EICU_EPOCH, outtime = EICU_EPOCH + 60 * p$unitdischargeoffset,
    los_days = p$unitdischargeoffset / 1440, age = age,
    gender = ifelse(p$gender == "Male", "M", ifelse(p$gender == "Female", "F", NA_character_)),
    race = as.character(p$ethnicity), admission_type = as.character(p$unitadmitsource),
    first_careunit = as.character(p$unittype)
  )
  setorderv(out, "stay_id")
  out[]
}

build_mortality_eicu <- function(patient) {
  p <- as.data.table(patient)
  status <- tolower(as.character(p$hospitaldischargestatus))
  flag <- ifelse(status == "expired", 1L, ifelse(status == "alive", 0L, NA_integer_))
  disch <- EICU_EPOCH + 60 * p$hospitaldischargeoffset
  death_time <- disch
  death_time[is.na(flag) | flag != 1L] <- NA
  out <- data.table(
    stay_id = as.integer(p$patientunitstayid),
    date_of_death = as.Date(death_time, tz = "UTC"),
    death_time = death_time,
    death_date = as.Date(death_time, tz = "UTC"),
    death_time_precision = ifelse(is.na(death_time), "unknown", "timestamp"),
    death_source = ifelse(is.na(death_time), NA, "patient.hospitaldischargeoffset"),
    hospital_expire_flag = flag,
    dischtime = disch,
    discharge_location = as.character(p$hospitaldischargelocation)
  )
  setorderv(out, "stay_id")
  out[]
}

stays_and_mortality <- function(backend, dataset) {
  family <- dataset_family(dataset)
  if (family == "eicu") {
    patient <- backend$load_table(dataset, "patient")
    return(list(stays = build_stays_eicu(patient), mortality = build_mortality_eicu(patient)))
  }
  icu <- backend$load_table(dataset, "icustays")
  pat <- backend$load_table(dataset, "patients")
  adm <- backend$load_table(dataset, "admissions")
  stays <- build_stays_mimic(icu, pat, adm, family)
  list(stays = stays, mortality = build_mortality_mimic(stays, pat, adm))
}

# ---- writing ----------------------------------------------------------------------------

has_arrow <- function() requireNamespace("arrow", quietly = TRUE)

# Write `dt` as <stem>.parquet (arrow) or <stem>.csv.gz (fwrite); return the file name.
write_table <- function(dt, stem, use_arrow = has_arrow()) {
  if (use_arrow) {
    path <- paste0(stem, ".parquet")
    arrow::write_parquet(dt, path)
  } else {
    path <- paste0(stem, ".csv.gz")
    fwrite(dt, path, dateTimeAs = "ISO")
  }
  path
}

write_export <- function(out_dir, export, stays, mortality, metadata, stays_per_part,
                         use_arrow = has_arrow()) {
  tmp <- paste0(out_dir, ".tmp", Sys.getpid())
  unlink(tmp, recursive = TRUE)
  dir.create(file.path(tmp, "timeseries"), recursive = TRUE)
  on.exit(unlink(tmp, recursive = TRUE), add = TRUE)
  part <- part_index(export$stay_id, stays_per_part)
  for (k in sort(unique(part))) {
    write_table(export[part == k], file.path(tmp, "timeseries", sprintf("part_%04d", k)), use_arrow)
  }
  write_table(stays, file.path(tmp, "stays"), use_arrow)
  write_table(mortality, file.path(tmp, "mortality"), use_arrow)
  metadata$format <- if (use_arrow) "parquet" else "csv.gz"
  write_yaml(metadata, file.path(tmp, "metadata.yaml"))
  unlink(out_dir, recursive = TRUE)
  if (!file.rename(tmp, out_dir)) stop(sprintf("could not move %s to %s", tmp, out_dir))
  invisible(out_dir)
}

# ---- the extraction ---------------------------------------------------------------------

run_extraction <- function(opts, backend = ricu_backend(), log = message) {
  src <- opts$dataset
  dict <- backend$dictionary(src)
  info <- concept_info(dict)
  concepts <- select_concepts(info$concept, opts$concepts, opts$blocklist)
  log(sprintf("%s: %d concepts, horizon %d h", src, length(concepts), opts$horizon))
  loaded <- load_in_batches(concepts, function(cn) backend$load_concepts(cn, src, dict),
                            opts$batch_size, log)
  first <- loaded$tables[[1]]
  id_col <- backend$id_var(first)
  index_col <- backend$index_var(first)
  merged <- merge_batches(loaded$tables, id_col, index_col)
  wins <- cap_windows(backend$stay_windows(src), opts$horizon)
  filled <- backend$fill_gaps(merged, wins, id_col, index_col)
  export <- to_export_table(filled, id_col, index_col, concepts, opts$horizon)
  sm <- stays_and_mortality(backend, src)
  export <- export[stay_id %in% sm$stays$stay_id]
  info <- info[match(concepts, info$concept)]
  metadata <- list(
    # lists, so that yaml writes sequences even for a single element
    dataset = src, feature_names = as.list(concepts), n_features = length(concepts),
    units = as.list(setNames(info$unit, concepts)),
    concept_classes = as.list(setNames(info$kind, concepts)),
    failed_concepts = as.list(loaded$failed),
    raw_export_horizon_hours = opts$horizon, seq_length_hours = opts$horizon,
    stays_per_part = opts$stays_per_part, n_stays = nrow(sm$stays),
    ricu_version = backend$version()
  )
  write_export(opts$output_dir, export, sm$stays, sm$mortality, metadata, opts$stays_per_part,
               opts$use_arrow)
  log(sprintf("wrote %d rows of %d stays to %s", nrow(export), nrow(sm$stays), opts$output_dir))
  invisible(metadata)
}

# ---- CLI --------------------------------------------------------------------------------

split_list <- function(x) {
  if (is.null(x) || !nzchar(x) || x == "default") return(character())
  trimws(strsplit(x, ",", fixed = TRUE)[[1]])
}

parse_cli <- function(argv) {
  spec <- list(
    make_option("--dataset", type = "character", help = "ricu source: miiv, eicu, mimic_demo, eicu_demo"),
    make_option("--output_dir", type = "character", help = "directory of the export (replaced)"),
    make_option("--raw_export_horizon_hours", type = "integer", default = 72L,
                help = "hours exported per stay [default %default]"),
    make_option("--seq_length_hours", type = "integer", default = NA_integer_,
                help = "deprecated alias of --raw_export_horizon_hours"),
    make_option("--concept_batch_size", type = "integer", default = 4L),
    make_option("--stays_per_part", type = "integer", default = 10000L),
    make_option("--concepts", type = "character", default = "default",
                help = "comma-separated concepts; 'default' = dictionary minus static and blocklist"),
    make_option("--blocklist", type = "character", default = "default",
                help = "comma-separated concepts never extracted"),
    make_option("--raw_data_dir", type = "character", default = "default",
                help = "ricu data directory (RICU_DATA_PATH); 'default' = ricu's"),
    make_option("--format", type = "character", default = "auto",
                help = "parquet, csv or auto (parquet when the arrow package is installed)")
  )
  o <- parse_args(OptionParser(option_list = spec), args = argv)
  if (is.null(o$dataset) || !o$dataset %in% VALID_DATASETS) {
    stop(sprintf("--dataset must be one of %s", paste(VALID_DATASETS, collapse = ", ")))
  }
  if (is.null(o$output_dir) || !nzchar(o$output_dir)) stop("--output_dir is required")
  horizon <- if (!is.na(o$seq_length_hours)) o$seq_length_hours else o$raw_export_horizon_hours
  if (horizon < 48L) stop("--raw_export_horizon_hours must be >= 48 (aki_kdigo needs hours 0-48)")
  if (o$concept_batch_size < 1L || o$stays_per_part < 1L) {
    stop("--concept_batch_size and --stays_per_part must be >= 1")
  }
  if (!o$format %in% c("auto", "parquet", "csv")) stop("--format must be parquet, csv or auto")
  list(
    dataset = o$dataset, output_dir = o$output_dir, horizon = as.integer(horizon),
    batch_size = o$concept_batch_size, stays_per_part = o$stays_per_part,
    concepts = split_list(o$concepts), blocklist = split_list(o$blocklist),
    raw_data_dir = if (o$raw_data_dir == "default") NA_character_ else o$raw_data_dir,
    use_arrow = switch(o$format, auto = has_arrow(), parquet = TRUE, csv = FALSE)
  )
}

main <- function(argv = commandArgs(trailingOnly = TRUE)) {
  opts <- parse_cli(argv)
  if (!is.na(opts$raw_data_dir)) Sys.setenv(RICU_DATA_PATH = opts$raw_data_dir)
  run_extraction(opts)
}

if (sys.nframe() == 0L) main()
