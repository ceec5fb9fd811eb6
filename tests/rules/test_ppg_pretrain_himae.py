"""Rule ppg_pretrain_himae: resumable training (SIGKILL after the first epoch, rerun picks up
the checkpoint, which is not an output), then a loadable model file and its history."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import numpy as np
import torch

from clinssl.ppg.himae import load_himae
from snakerunner import snakemake_command

OUT = "results/ppg/synthetic"


def _start_and_kill_after_first_checkpoint(runner, targets: list[str]) -> str:
    cmd = snakemake_command("--directory", runner.workdir, "--configfile", runner.configfile,
                            "--cores", "2", *targets, "--allowed-rules", "ppg_pretrain_himae")  # fmt: skip
    log = open(runner.path("killed_run.log"), "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, cwd=runner.workdir, start_new_session=True, stdout=log,
                            stderr=subprocess.STDOUT)  # fmt: skip
    ckpt = runner.path(f"{OUT}/checkpoints/himae.ckpt")
    deadline = time.monotonic() + 600
    try:
        while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the whole job: Snakemake and its script
        proc.wait()
        log.close()
    return runner.path("killed_run.log").read_text()


def test_ppg_pretrain_himae(runner, built_branch) -> None:
    runner.config["ppg"]["himae"]["epochs"] = 3
    runner.write_config(runner.config)
    runner.stage(built_branch("ppg").workdir, [f"{OUT}/windows.npy", f"{OUT}/windows.parquet"])
    targets = [f"{OUT}/himae/model.pt", f"{OUT}/himae/history.json"]
    ckpt = runner.path(f"{OUT}/checkpoints/himae.ckpt")

    output = _start_and_kill_after_first_checkpoint(runner, targets)
    assert ckpt.exists(), f"no checkpoint was written before the kill:\n{output[-3000:]}"
    assert not runner.path(targets[0]).exists()  # no partial output
    runner.run(["--unlock"])  # the killed Snakemake left its lock behind
    model_path, history_path = runner.run_rule("ppg_pretrain_himae", targets, "--rerun-incomplete")

    history = json.loads(history_path.read_text())
    settings = runner.config["ppg"]["himae"]
    assert history["resumed_from_epoch"] >= 1  # continued, did not start over
    assert not ckpt.exists()  # removed after success
    assert history["config"]["seq_len"] == round(10 * settings["input_fs"])
    assert history["config"]["depth"] == settings["depth"]
    assert history["n_train_windows"] == settings["max_train_windows"]
    assert len(history["epochs"]) == 3
    # it learns: masked MSE on train and on the fixed-mask val windows both fall
    first, last = history["epochs"][0], history["epochs"][-1]
    assert last["train_loss"] < first["train_loss"]
    assert last["val_metric"] < first["val_metric"]
    assert history["best_val_masked_mse"] == min(e["val_metric"] for e in history["epochs"])

    encoder = load_himae(model_path, torch.device("cpu"))
    windows = np.load(runner.path(f"{OUT}/windows.npy"), mmap_mode="r")
    z = encoder.encode(np.asarray(windows[:5]))
    assert z.shape == (5, settings["base_channels"] * 2 ** (settings["depth"] - 1))
    assert np.isfinite(z).all()
