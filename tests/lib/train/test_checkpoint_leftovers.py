"""A checkpoint save cut short by SIGKILL leaves a temporary sibling; the next load removes it."""

from __future__ import annotations

from clinssl.train.checkpoint import load_checkpoint, save_checkpoint
from clinssl.utils.atomic import stale_temporaries


def test_load_removes_temporaries_of_an_interrupted_save(tmp_path) -> None:
    path = tmp_path / "checkpoints" / "job.ckpt"
    path.parent.mkdir()
    leftover = path.parent / ".job.ckpt.ab12cd.tmp.ckpt"
    leftover.write_bytes(b"half a checkpoint")
    other = path.parent / ".other.ckpt.ab12cd.tmp.ckpt"  # another job's: untouched
    other.write_bytes(b"x")
    assert stale_temporaries(path) == [leftover]
    assert load_checkpoint(path) is None
    assert not leftover.exists() and other.exists()
    save_checkpoint(path, {"epoch": 1})
    assert load_checkpoint(path)["epoch"] == 1 and stale_temporaries(path) == []
