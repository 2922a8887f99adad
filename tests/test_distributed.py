"""soi's training loop on 2 CPU processes (gloo), started by torch.distributed.run."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from soi.dynamics import load_dynamics
from soi.models import load_model_and_tokenizer
from soi.training import TrainingConfig, fine_tune
from test_training import LABELS, toy_dataset

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("distributed_worker.py")


def run_two_processes(model_dir, output, size, batch_size, capture="train_pass", drop_last=False):
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--master_port", str(29500 + os.getpid() % 1000), str(WORKER), str(model_dir),
        str(output), str(size), str(batch_size), capture, "1" if drop_last else "0",
    ]
    env = os.environ | {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[1])}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    return load_dynamics(output)


def single_process_ids(model_dir, size, batch_size):
    model, tokenizer = load_model_and_tokenizer(str(model_dir), LABELS, seed=0)
    config = TrainingConfig(
        epochs=2, batch_size=batch_size, learning_rate=1e-3, max_length=16, precision="fp32",
        progress=False,
    )
    return fine_tune(model, tokenizer, toy_dataset(size, seed=3), config).dynamics


@pytest.mark.parametrize("capture", ["train_pass", "epoch_end"])
def test_two_processes_record_each_id_once(tiny_model_dir, tmp_path, capture):
    # 21 examples in batches of 4 give 6 batches, so the 2 processes share them evenly only
    # after the sampler pads with a repeated batch.
    gathered = run_two_processes(tiny_model_dir, tmp_path / "d.parquet", 21, 4, capture)
    single = single_process_ids(tiny_model_dir, 21, 4)
    assert gathered.metadata["num_processes"] == 2
    assert single.metadata["num_processes"] == 1
    assert sorted(gathered.example_ids) == sorted(single.example_ids)
    assert len(set(gathered.example_ids)) == 21
    assert gathered.recorded.all()
    assert not np.isnan(gathered.gold_prob).any()


def test_two_processes_drop_last_marks_missing(tiny_model_dir, tmp_path):
    gathered = run_two_processes(
        tiny_model_dir, tmp_path / "d.parquet", 21, 4, "train_pass", drop_last=True
    )
    assert gathered.metadata["num_processes"] == 2
    # 5 full batches of 4, of which the 2 processes take 4: 16 examples per epoch.
    assert (gathered.recorded.sum(axis=0) == 16).all()
    missing = ~gathered.recorded
    assert np.isnan(gathered.gold_prob[missing]).all()
    assert len(gathered.example_ids) == 21
