"""A training process killed with SIGKILL mid-epoch resumes to the same dynamics."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from soi.checkpoints import CHECKPOINT_FILE, load_checkpoint
from soi.dynamics import load_dynamics
from soi.models import load_model_and_tokenizer
from soi.training import TrainingConfig, fine_tune
from test_training import LABELS, toy_dataset

WORKER = Path(__file__).with_name("resume_worker.py")


def resume_config():
    return TrainingConfig(
        epochs=3, batch_size=4, learning_rate=1e-3, max_length=16, precision="fp32",
        progress=False, checkpoint_every_steps=5,
    )


def worker(model_dir, checkpoint_dir, output, delay):
    command = [sys.executable, str(WORKER), str(model_dir), str(checkpoint_dir), str(output), str(delay)]
    env = os.environ | {"PYTHONPATH": str(Path(__file__).parents[1])}
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume(tiny_model_dir, tmp_path):
    checkpoints, output = tmp_path / "checkpoints", tmp_path / "resumed.parquet"
    process = worker(tiny_model_dir, checkpoints, output, delay=0.05)
    deadline = time.monotonic() + 120
    killed_at = None
    while time.monotonic() < deadline and process.poll() is None:
        if (checkpoints / CHECKPOINT_FILE).is_file():
            state = load_checkpoint(checkpoints)
            if state["epoch"] == 1 and state["step"] >= 10:
                process.send_signal(signal.SIGKILL)
                killed_at = (state["epoch"], state["step"])
                break
        time.sleep(0.05)
    process.wait(timeout=30)
    process.stderr.close()
    assert killed_at is not None, "the worker finished or timed out before the second epoch"
    assert process.returncode == -signal.SIGKILL
    assert not output.exists()

    resumed = worker(tiny_model_dir, checkpoints, output, delay=0)
    _, stderr = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, stderr.decode()[-2000:]
    assert "Resuming at epoch 2" in stderr.decode()

    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS, seed=0)
    reference = fine_tune(model, tokenizer, toy_dataset(120, seed=9), resume_config()).dynamics
    dynamics = load_dynamics(output)
    assert dynamics.example_ids.tolist() == reference.example_ids.tolist()
    np.testing.assert_array_equal(dynamics.predicted, reference.predicted)
    np.testing.assert_array_equal(dynamics.gold_prob, reference.gold_prob)


def test_checkpoint_of_other_settings_is_rejected(tiny_model_dir, tmp_path):
    train = toy_dataset(8)
    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS, seed=0)
    config = TrainingConfig(epochs=2, batch_size=4, max_length=16, precision="fp32", progress=False)
    fine_tune(model, tokenizer, train, config, checkpoint_dir=tmp_path)
    other = TrainingConfig(epochs=3, batch_size=4, max_length=16, precision="fp32", progress=False)
    with pytest.raises(ValueError, match=r"made with other settings \(\['epochs'\]\)"):
        fine_tune(model, tokenizer, train, other, checkpoint_dir=tmp_path)


def test_finished_checkpoint_resumes_to_same_result(tiny_model_dir, tmp_path):
    train = toy_dataset(8)
    config = TrainingConfig(epochs=2, batch_size=4, max_length=16, precision="fp32", progress=False)
    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS, seed=0)
    first = fine_tune(model, tokenizer, train, config, checkpoint_dir=tmp_path).dynamics
    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS, seed=0)
    again = fine_tune(model, tokenizer, train, config, checkpoint_dir=tmp_path).dynamics
    np.testing.assert_array_equal(first.gold_prob, again.gold_prob)


def test_unreadable_checkpoint_names_fix(tmp_path):
    (tmp_path / CHECKPOINT_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="(?s)could not be read.*delete it"):
        load_checkpoint(tmp_path)


def test_checkpoint_loads_without_pickled_code(tmp_path):
    torch.save({"version": 1, "payload": object()}, tmp_path / CHECKPOINT_FILE)
    with pytest.raises(ValueError, match="(?s)could not be read"):
        load_checkpoint(tmp_path)
