"""Training-lab runs kept across a reload (ui.lab_store): the saved run continues bit for bit, belongs to its
settings, and the folder stays bounded."""
import os
import time

import numpy as np
import pytest
from test_training_lab import button, lab, open_lab

from explorer import tasks
from explorer.training import TrainConfig, Trainer
from ui import lab_store


@pytest.fixture(autouse=True)
def run_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(lab_store, "RUN_DIR", tmp_path / "runs")
    return tmp_path / "runs"


def test_a_kept_run_continues_exactly_as_if_it_had_never_stopped():
    task = tasks.CopyTask(lag=5)
    cfg = TrainConfig(cell="gru", hidden_size=8, batch_size=4, snapshot_every=2)
    a = Trainer(task, cfg)
    records = [a.step() for _ in range(5)]
    key = ("copy", 5, None, cfg)
    lab_store.save("r" + "0" * 16, key, a, records)
    b, back = lab_store.restore(lab_store.load("r" + "0" * 16), key, task)
    assert [r.as_row() for r in back] == [r.as_row() for r in records]
    assert [r.delta_norms is None for r in back] == [r.delta_norms is None for r in records]
    for r, s in zip(back, records):
        if s.delta_norms is not None:
            np.testing.assert_array_equal(r.delta_norms, s.delta_norms)
    for _ in range(3):                                           # same next updates, bit for bit
        ra, rb = a.step(), b.step()
        assert ra.loss == rb.loss and ra.grad_norm == rb.grad_norm
    with pytest.raises(ValueError, match="other lab settings"):
        lab_store.restore(lab_store.load("r" + "0" * 16), ("copy", 6, None, cfg), task)


def test_ids_are_checked_and_the_folder_is_bounded(run_dir, monkeypatch):
    assert lab_store.load("../../etc/passwd") is None and lab_store.load("r123") is None
    with pytest.raises(ValueError, match="not a run id"):
        lab_store.save("../x", (), None, [])
    run_dir.mkdir()
    for i in range(5):
        p = run_dir / f"r{i:016x}.npz"
        p.write_bytes(b"x" * 1000)
        os.utime(p, (time.time() - 10 * (5 - i),) * 2)           # r0 oldest … r4 newest
    monkeypatch.setattr(lab_store, "MAX_BYTES", 3500)
    lab_store.prune()
    assert sorted(p.name for p in run_dir.iterdir()) == [f"r{i:016x}.npz" for i in (2, 3, 4)]
    lab_store.prune(now=time.time() + lab_store.MAX_AGE_S + 100)
    assert not list(run_dir.iterdir())


def test_stepping_keeps_the_run_under_the_id_in_the_address_and_reopen_continues_it():
    """(The reload itself, a new browser session on the lab's address, is tested in Chromium.)"""
    from ui.training_lab import reopen
    at = open_lab()
    for _ in range(3):
        button(at, "▶| step").click().run()
    run_id = at.session_state["cfg_run"]
    assert lab_store.valid_id(run_id) and at.query_params["run"] == run_id
    old = lab(at)
    again, note = reopen(run_id, old.key, old.trainer.task)
    assert "3 updates so far" in note and len(again.records) == 3
    assert again.run_id != run_id                                 # its own copy from now on
    np.testing.assert_array_equal(again.trainer.model.params["W_hh"], old.trainer.model.params["W_hh"])
    gone, note = reopen("r" + "f" * 16, old.key, old.trainer.task)
    assert gone is None and "no longer on this server" in note
    other, note = reopen(run_id, ("adding",) + old.key[1:], old.trainer.task)
    assert other is None and "other lab settings" in note
    button(at, "↺ reset").click().run()
    assert at.session_state["cfg_run"] == "" and "run" not in at.query_params     # nothing kept for a new run
