# Source the extraction script (its main() does not run when sourced) and the fake ricu API.
script_dir <- normalizePath(file.path(testthat::test_path(), "..", ".."))
source(file.path(script_dir, "extract_with_ricu.R"))
fake_env <- new.env()
sys.source(file.path(script_dir, "tests", "fake_ricu", "R", "fake_ricu.R"), envir = fake_env)

fake_backend <- function() {
  list(
    version = function() "fake",
    dictionary = function(src) fake_env$load_dictionary(src),
    stay_windows = function(src) fake_env$stay_windows(src),
    load_concepts = function(cnames, src, dict) fake_env$load_concepts(dict[cnames], src),
    fill_gaps = function(ts, wins, id_col, index_col) fake_env$fill_gaps(ts, wins),
    id_var = function(x) "stay_id",
    index_var = function(x) "charttime",
    load_table = function(src, table) fake_env$load_src(table, src)
  )
}
