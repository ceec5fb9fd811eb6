# Tests of everything in extract_with_ricu.R around the ricu calls, on in-memory tables
# shaped like ricu's output (Debian R: data.table, optparse, yaml, testthat).

ricu_like <- function() {
  # what load_concepts(..., interval = hours(1L), merge_data = TRUE) returns: stay id,
  # difftime index since admission (may be negative), one column per concept
  data.table(
    stay_id = c(7L, 7L, 7L, 7L, 9L, 9L),
    charttime = as.difftime(c(-2, 0, 1, 80, 0, 5), units = "hours"),
    hr = c(90, 88, NA, 70, 101, NA),
    avpu = factor(c(NA, "A", NA, NA, "V", NA), levels = c("A", "V", "P", "U")),
    abx = c(NA, TRUE, NA, NA, NA, FALSE)
  )
}

test_that("select_concepts drops static concepts and the blocklist, or checks a request", {
  avail <- c("hr", "age", "sofa", "crea", "sex", "death")
  expect_equal(select_concepts(avail, blocklist = "sofa"), c("crea", "hr"))
  expect_equal(select_concepts(avail, requested = c("hr", "sofa")), c("hr", "sofa"))
  expect_error(select_concepts(avail, requested = "heart_rate"), "not in the ricu dictionary: heart_rate")
})

test_that("concept_info reads units and classes from the dictionary", {
  info <- concept_info(fake_env$load_dictionary("miiv"))
  expect_equal(info[concept == "crea", unit], "mg/dL")
  expect_equal(info[concept == "avpu", c(unit, kind)], c("-", "fct"))
  expect_equal(info[concept == "abx", kind], "lgl")
  expect_equal(info[concept == "hr", kind], "num")
})

test_that("to_export_table bins hours, cuts the horizon, adds masks and text factors", {
  out <- to_export_table(ricu_like(), "stay_id", "charttime", c("hr", "avpu", "abx", "lact"), 72L)
  expect_equal(names(out), c("stay_id", "hour", "hr", "avpu", "abx", "lact",
                             "hr_mask", "avpu_mask", "abx_mask", "lact_mask"))
  expect_equal(out$hour, c(-2L, 0L, 1L, 0L, 5L))  # hour 80 >= horizon is dropped
  expect_equal(out$hr_mask, !is.na(out$hr))
  expect_type(out$avpu, "character")
  expect_equal(out$avpu[out$avpu_mask], c("A", "V"))
  expect_true(all(is.na(out$lact)) && !any(out$lact_mask))  # concept without data: NA column
  expect_equal(out$abx[out$abx_mask], c(TRUE, FALSE))
})

test_that("to_export_table rejects duplicated (stay, hour) rows and missing id/index", {
  dt <- ricu_like()
  dt$charttime[3] <- as.difftime(0.5, units = "hours")  # bins into hour 0 again
  expect_error(to_export_table(dt, "stay_id", "charttime", "hr", 72L), "duplicated \\(stay_id, hour\\).*stay 7 hour 0")
  expect_error(to_export_table(ricu_like(), "icustay_id", "charttime", "hr", 72L), "id column 'icustay_id'")
})

test_that("load_in_batches retries a failing batch one concept at a time", {
  calls <- list()
  loader <- function(cn) {
    calls[[length(calls) + 1L]] <<- cn
    if ("bad" %in% cn) stop("boom")
    data.table(stay_id = 1L, charttime = as.difftime(0, units = "hours"))
  }
  res <- load_in_batches(c("a", "b", "bad", "c", "d"), loader, batch_size = 2L, log = function(...) NULL)
  expect_equal(res$failed, "bad")
  expect_length(res$tables, 3L)  # batch (a,b); c alone after its batch failed; batch (d)
  expect_equal(calls, list(c("a", "b"), c("bad", "c"), "bad", "c", "d"))
})

test_that("merge_batches is a full outer join on id and index", {
  a <- data.table(stay_id = c(1L, 1L), charttime = c(0, 1), hr = c(80, 81))
  b <- data.table(stay_id = c(1L, 2L), charttime = c(1, 0), crea = c(1.1, 0.9))
  m <- merge_batches(list(a, b), "stay_id", "charttime")
  expect_equal(nrow(m), 3L)
  expect_equal(m[stay_id == 1L & charttime == 1, c(hr, crea)], c(81, 1.1))
})

test_that("cap_windows caps the stay window at the horizon", {
  w <- data.table(stay_id = 1:2, start = as.difftime(c(0, 0), units = "hours"),
                  end = as.difftime(c(100, 10), units = "hours"))
  capped <- cap_windows(w, 72L)
  expect_equal(as.numeric(capped$end, units = "hours"), c(71, 10))
})

test_that("part_index groups consecutive stays", {
  expect_equal(part_index(c(5L, 5L, 3L, 9L, 11L), 2L), c(0L, 0L, 0L, 1L, 1L))
})

test_that("mimic stays and mortality tables have the documented columns and values", {
  be <- fake_backend()
  sm <- stays_and_mortality(be, "miiv")
  expect_equal(names(sm$stays)[1:9], c("stay_id", "patient_id", "hadm_id", "intime", "outtime",
                                        "los_days", "age", "gender", "race"))
  expect_equal(sm$stays$los_days, c(80, 50, 30, 60, 10) / 24)
  expect_equal(sm$stays$patient_id, c(1L, 1L, 2L, 3L, 4L))
  m <- sm$mortality
  expect_equal(m[stay_id == 103L, death_time_precision], "timestamp")
  expect_equal(m[stay_id == 103L, hospital_expire_flag], 1L)
  # patient 2 also has a date-only dod (patients.dod) that the exact deathtime overrides
  expect_equal(m[stay_id == 101L, death_time_precision], "unknown")
  expect_true(all(c("date_of_death", "death_date", "death_source", "dischtime",
                    "discharge_location") %in% names(m)))
})

test_that("eicu stays use uniquepid and a synthetic epoch", {
  patient <- data.table(
    patientunitstayid = c(5L, 6L), uniquepid = c("002-1", "002-2"),
    patienthealthsystemstayid = c(50L, 60L), gender = c("Male", "Female"), age = c("> 89", "54"),
    ethnicity = c("Caucasian", NA), unitdischargeoffset = c(2880, 1000),
    hospitaldischargeoffset = c(4000, 3000), hospitaldischargestatus = c("Expired", "Alive"),
    hospitaldischargelocation = c("Death", "Home"), unittype = "MICU", unitadmitsource = "ER"
  )
  st <- build_stays_eicu(patient)
  expect_equal(st$patient_id, c("002-1", "002-2"))
  expect_equal(st$age, c(90, 54))
  expect_equal(st$los_days, c(2, 1000 / 1440))
  expect_equal(st$gender, c("M", "F"))
  mo <- build_mortality_eicu(patient)
  expect_equal(mo$hospital_expire_flag, c(1L, 0L))
  expect_equal(as.numeric(difftime(mo$death_time[1], EICU_EPOCH, units = "mins")), 4000)
  expect_true(is.na(mo$death_time[2]))
})

test_that("parse_cli validates arguments and supports the deprecated alias", {
  o <- parse_cli(c("--dataset", "miiv", "--output_dir", "out", "--concepts", "hr,crea"))
  expect_equal(o$horizon, 72L)
  expect_equal(o$concepts, c("hr", "crea"))
  expect_equal(o$blocklist, character())
  expect_equal(parse_cli(c("--dataset", "eicu", "--output_dir", "o", "--seq_length_hours", "96"))$horizon, 96L)
  expect_error(parse_cli(c("--dataset", "hirid", "--output_dir", "o")), "--dataset must be one of")
  expect_error(parse_cli(c("--dataset", "miiv")), "--output_dir is required")
  expect_error(parse_cli(c("--dataset", "miiv", "--output_dir", "o", "--raw_export_horizon_hours", "24")), ">= 48")
})

test_that("run_extraction writes the export (CSV fallback without arrow)", {
  out <- file.path(tempfile("export"), "miiv")
  dir.create(dirname(out))
  opts <- parse_cli(c("--dataset", "miiv", "--output_dir", out, "--raw_export_horizon_hours", "48",
                      "--stays_per_part", "2", "--blocklist", "sofa", "--format", "csv"))
  meta <- run_extraction(opts, fake_backend(), log = function(...) NULL)
  # a concept that fails to load stays in the feature list as an all-missing column, so
  # exports of different sources keep the same features (and metadata names it)
  expect_equal(unlist(meta$feature_names), c("abx", "avpu", "broken", "crea", "hr"))
  expect_equal(unlist(meta$failed_concepts), "broken")
  parts <- sort(list.files(file.path(out, "timeseries")))
  expect_equal(parts, c("part_0000.csv.gz", "part_0001.csv.gz", "part_0002.csv.gz"))
  read_gz <- function(f) {
    con <- gzfile(f)
    on.exit(close(con))
    fread(text = readLines(con))
  }
  ts <- rbindlist(lapply(file.path(out, "timeseries", parts), read_gz))
  expect_false(any(ts$broken_mask))
  expect_equal(max(ts$hour), 47L)  # horizon cut
  expect_equal(ts[stay_id == 105L, max(hour)], 9L)  # stay window end (10 h stay)
  expect_equal(ts[stay_id == 101L & hour == 4L, hr], 85)
  expect_equal(ts[stay_id == 101L & hour == 30L, crea], 1.6)
  expect_equal(sum(ts$hr_mask), sum(!is.na(ts$hr)))
  expect_false(any(duplicated(ts, by = c("stay_id", "hour"))))
  md <- yaml::read_yaml(file.path(out, "metadata.yaml"))
  expect_equal(md$units$crea, "mg/dL")
  # a one-element list is still a YAML sequence (the Python reader expects lists)
  expect_match(paste(readLines(file.path(out, "metadata.yaml")), collapse = "\n"), "failed_concepts:\n- broken")
  expect_equal(md$format, "csv.gz")
  expect_equal(md$n_stays, 5L)
  expect_true(file.exists(file.path(out, "stays.csv.gz")))
  expect_true(file.exists(file.path(out, "mortality.csv.gz")))
  expect_false(dir.exists(paste0(out, ".tmp", Sys.getpid())))
})

test_that("MIMIC-III (mimic_demo) stays use icustay_id, ethnicity and dob", {
  t0 <- as.POSIXct("2150-06-01 12:00:00", tz = "UTC")
  icu <- data.table(icustay_id = c(201L, 202L), subject_id = c(1L, 2L), hadm_id = c(31L, 32L),
                    intime = t0, outtime = t0 + 3600 * c(30, 72), first_careunit = "MICU")
  pat <- data.table(subject_id = 1:2, gender = c("F", "M"),
                    dob = as.POSIXct(c("2090-06-01", "1850-01-01"), tz = "UTC"),
                    dod = as.Date(c(NA, "2150-06-03")))
  adm <- data.table(subject_id = 1:2, hadm_id = 31:32, ethnicity = c("WHITE", "ASIAN"),
                    admission_type = "EMERGENCY", insurance = "Medicare",
                    deathtime = as.POSIXct(c(NA, NA)), hospital_expire_flag = c(0L, 1L),
                    dischtime = t0 + 86400 * 5, discharge_location = c("HOME", "DEAD/EXPIRED"))
  st <- build_stays_mimic(icu, pat, adm, "mimic")
  expect_equal(st$stay_id, c(201L, 202L))
  expect_equal(st$race, c("WHITE", "ASIAN"))
  expect_equal(round(st$age), c(60, 91))  # ages > 89 are shifted by ~300 y in MIMIC-III: capped
  mo <- build_mortality_mimic(st, pat, adm)
  expect_equal(mo$death_time_precision, c("unknown", "date"))
  expect_equal(mo$death_source, c(NA, "patients.dod"))
  expect_equal(as.character(mo$death_date[2]), "2150-06-03")
})
