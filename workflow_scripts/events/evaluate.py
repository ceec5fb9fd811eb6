"""Test (and validation) mortality metrics with patient-cluster bootstrap CIs, predictions,
calibration curve."""

from clinssl.events.dataset import EventTensors
from clinssl.events.evaluation import evaluation_tables
from clinssl.events.files import EvaluationFiles
from clinssl.events.training import load_event_model
from clinssl.utils import setup_logging

log = setup_logging(snakemake.log[0])
p = snakemake.params
tensors = EventTensors.load(snakemake.input.tensors)
model = load_event_model(snakemake.input.model)
metrics = evaluation_tables(model, tensors, EvaluationFiles.pick(snakemake.output),
                            n_bootstrap=p.n_bootstrap, seed=p.seed, n_bins=p.calibration_bins)  # fmt: skip
test = metrics[metrics["split"] == "test"].set_index("metric")
log.info("test AUROC %.3f [%.3f, %.3f], AUPRC %.3f, Brier %.3f", test.loc["auroc", "value"],
         test.loc["auroc", "ci_low"], test.loc["auroc", "ci_high"], test.loc["auprc", "value"],
         test.loc["brier", "value"])  # fmt: skip
