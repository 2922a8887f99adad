"""Worker for tests/test_resume.py: trains the tiny model with checkpoints, then saves dynamics.

Usage: resume_worker.py MODEL_DIR CHECKPOINT_DIR OUTPUT.parquet SECONDS_PER_STEP
A positive SECONDS_PER_STEP slows every forward pass down, so that the test can kill the
process in the middle of an epoch.
"""

import sys
import time
from pathlib import Path


def main(argv):
    import logging

    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    sys.path.insert(0, str(Path(__file__).parent))
    from soi.dynamics import save_dynamics
    from soi.models import load_model_and_tokenizer
    from soi.training import fine_tune
    from test_resume import resume_config
    from test_training import LABELS, toy_dataset

    model_dir, checkpoint_dir, output, delay = argv
    model, tokenizer = load_model_and_tokenizer(model_dir, LABELS, seed=0)
    if float(delay) > 0:
        forward = model.forward

        def slow_forward(*args, **kwargs):
            time.sleep(float(delay))
            return forward(*args, **kwargs)

        model.forward = slow_forward
    result = fine_tune(
        model, tokenizer, toy_dataset(120, seed=9), resume_config(), checkpoint_dir=checkpoint_dir
    )
    save_dynamics(result.dynamics, output)


if __name__ == "__main__":
    main(sys.argv[1:])
