"""Worker for tests/test_distributed.py, started once per process by torch.distributed.run.

Usage: distributed_worker.py MODEL_DIR OUTPUT.parquet NUM_EXAMPLES BATCH_SIZE CAPTURE DROP_LAST
"""

import sys
from pathlib import Path


def main(argv):
    sys.path.insert(0, str(Path(__file__).parent))
    import torch.distributed

    from soi.dynamics import save_dynamics
    from soi.models import load_model_and_tokenizer
    from soi.training import TrainingConfig, fine_tune
    from test_training import LABELS, toy_dataset

    model_dir, output, size, batch_size, capture, drop_last = argv
    train = toy_dataset(int(size), seed=3)
    model, tokenizer = load_model_and_tokenizer(model_dir, LABELS, seed=0)
    config = TrainingConfig(
        epochs=2, batch_size=int(batch_size), learning_rate=1e-3, max_length=16,
        precision="fp32", progress=False, capture=capture, drop_last=drop_last == "1",
    )
    result = fine_tune(model, tokenizer, train, config)
    if torch.distributed.get_rank() == 0:
        save_dynamics(result.dynamics, output)
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1:])
