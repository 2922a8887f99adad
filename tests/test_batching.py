import collections

import numpy as np
import pytest

from soi.batching import TaskBatchSampler

GROUPS = ["a"] * 10 + ["b"] * 5 + ["c"] * 3


def batch_groups(sampler):
    groups = np.asarray(GROUPS)
    return [set(groups[batch]) for batch in sampler]


def test_proportional_covers_every_row_once():
    sampler = TaskBatchSampler(GROUPS, batch_size=4, seed=1)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        rows = [row for batch in sampler for row in batch]
        assert sorted(rows) == list(range(len(GROUPS)))


def test_batches_hold_one_group():
    for strategy in ("proportional", "uniform", "temperature"):
        sampler = TaskBatchSampler(GROUPS, batch_size=4, strategy=strategy, seed=2)
        assert all(len(groups) == 1 for groups in batch_groups(sampler))


def test_order_changes_between_epochs_and_replays():
    sampler = TaskBatchSampler(GROUPS, batch_size=4, seed=3)
    first = list(sampler)
    sampler.set_epoch(1)
    second = list(sampler)
    sampler.set_epoch(0)
    assert list(sampler) == first
    assert second != first


def test_number_of_batches():
    # ceil(10/4) + ceil(5/4) + ceil(3/4)
    assert len(TaskBatchSampler(GROUPS, batch_size=4)) == 3 + 2 + 1


def test_uniform_draws_groups_equally():
    groups = ["big"] * 900 + ["small"] * 100
    sampler = TaskBatchSampler(groups, batch_size=1, strategy="uniform", seed=0)
    counts = collections.Counter(groups[batch[0]] for batch in sampler)
    assert counts["small"] == pytest.approx(500, abs=60)


def test_temperature_probabilities():
    groups = ["big"] * 900 + ["small"] * 100
    sampler = TaskBatchSampler(groups, batch_size=10, strategy="temperature", temperature=2.0)
    expected = np.array([30.0, 10.0]) / 40.0  # sqrt(900), sqrt(100)
    np.testing.assert_allclose(sampler.group_probabilities(), expected)


def test_length_grouping_keeps_coverage_and_sorts_within_batches():
    lengths = np.arange(200)[::-1] % 37
    sampler = TaskBatchSampler(["x"] * 200, batch_size=8, lengths=lengths, group_by_length=True)
    batches = list(sampler)
    assert sorted(row for batch in batches for row in batch) == list(range(200))
    spread = np.mean([np.ptp(lengths[batch]) for batch in batches])
    assert spread < np.ptp(lengths) / 4


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"strategy": "round_robin"}, "sampling strategy 'round_robin' is not one of"),
        ({"temperature": 0.0}, "temperature must be positive"),
        ({"group_by_length": True}, "group_by_length needs the lengths"),
    ],
)
def test_sampler_rejects_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TaskBatchSampler(GROUPS, batch_size=2, **kwargs)


def test_tokenize_caches_per_dataset_and_length(tiny_model_dir):
    import datasets
    from transformers import AutoTokenizer

    from soi.batching import tokenize

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    data = datasets.Dataset.from_dict({"text": ["a good film", "bad"], "label": [1, 0]})
    first = tokenize(data, tokenizer, 8)
    assert tokenize(data, tokenizer, 8) is first
    shorter = tokenize(data, tokenizer, 3)
    assert shorter is not first
    assert max(len(ids) for ids in shorter["input_ids"]) == 3
    assert first["row"] == [0, 1]
    assert first["labels"] == [1, 0]


@pytest.mark.parametrize("size", [16, 17, 18, 23])
def test_replicas_cover_rows_with_padding(size):
    groups = ["x"] * size
    shards = [
        [row for batch in TaskBatchSampler(groups, 4, seed=5, num_replicas=2, rank=r) for row in batch]
        for r in range(2)
    ]
    assert len(TaskBatchSampler(groups, 4, num_replicas=2, rank=0)) == len(
        TaskBatchSampler(groups, 4, num_replicas=2, rank=1)
    )
    assert set(shards[0]) | set(shards[1]) == set(range(size))


def test_replicas_drop_last_leaves_rows_out():
    groups = ["x"] * 23
    samplers = [TaskBatchSampler(groups, 4, seed=5, drop_last=True, num_replicas=2, rank=r) for r in range(2)]
    rows = [row for sampler in samplers for batch in sampler for row in batch]
    assert len(rows) == len(set(rows)) == 16
    assert all(len(batch) == 4 for sampler in samplers for batch in sampler)


def test_drop_last_single_process():
    sampler = TaskBatchSampler(["x"] * 10, 4, drop_last=True)
    assert len(sampler) == 2
    assert sum(len(batch) for batch in sampler) == 8
