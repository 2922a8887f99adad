"""Parity of soi's cartography metrics with dataset cartography's published definitions.

Each test writes per-epoch JSON Lines files in allenai/cartography's format, reads them
with soi.dynamics.import_cartography, computes soi.cartography.cartography_metrics, and
compares the result with a plain per-example reference written here from the
definitions of allenai/cartography's train_dy_filtering.py:

- gold probability: softmax of the epoch's logits at the gold label;
- prediction: the argmax of the logits, the first label on ties;
- confidence: mean gold probability over the epochs used;
- variability: np.std (ddof=0) of the gold probabilities, or with include_ci
  sqrt(var + var^2 / (E - 1)) with var = np.var (ddof=0);
- correctness: number of epochs whose prediction is the gold label;
- forgetfulness: number of times a correct prediction is followed by a wrong one,
  1000 when the example is never predicted correctly;
- threshold closeness: confidence * (1 - confidence);
- burn-out k: only the first k epochs are used; k >= E uses every epoch.
"""

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soi.cartography import CARTOGRAPHY_COLUMNS, cartography_metrics
from soi.dynamics import import_cartography

TOLERANCE = 1e-6


def write_epoch_files(folder, guids, gold, logits, line_orders):
    """Write dynamics_epoch_{e}.jsonl files, the lines of epoch e in line_orders[e]."""
    for epoch, order in enumerate(line_orders):
        lines = [
            json.dumps(
                {
                    "guid": guids[row],
                    f"logits_epoch_{epoch}": [float(value) for value in logits[row][epoch]],
                    "gold": int(gold[row]),
                }
            )
            for row in order
        ]
        (folder / f"dynamics_epoch_{epoch}.jsonl").write_text("\n".join(lines) + "\n")


def read_reference_dynamics(folder):
    """Collect each guid's gold label and its logits per epoch, file by file."""
    num_files = len(list(folder.glob("dynamics_epoch_*.jsonl")))
    dynamics = {}
    for epoch in range(num_files):
        with open(folder / f"dynamics_epoch_{epoch}.jsonl") as file:
            for line in file:
                record = json.loads(line)
                entry = dynamics.setdefault(str(record["guid"]), {"gold": record["gold"], "logits": []})
                entry["logits"].append(record[f"logits_epoch_{epoch}"])
    return dynamics


def reference_metrics(folder, include_ci=False, burn_out=None):
    """Compute the metrics of every guid one example at a time."""
    table = {}
    for guid, entry in read_reference_dynamics(folder).items():
        gold = entry["gold"]
        probabilities, correct = [], []
        for logits in entry["logits"]:
            top = max(logits)
            exponentials = [math.exp(value - top) for value in logits]
            probabilities.append(exponentials[gold] / sum(exponentials))
            correct.append(logits.index(top) == gold)
        if burn_out is not None and burn_out < len(probabilities):
            probabilities, correct = probabilities[:burn_out], correct[:burn_out]

        confidence = float(np.mean(probabilities))
        if include_ci:
            variance = float(np.var(probabilities))
            variability = math.sqrt(variance + variance * variance / (len(probabilities) - 1))
        else:
            variability = float(np.std(probabilities))

        if not any(correct):
            forgetfulness = 1000
        else:
            forgetfulness = sum(
                1 for before, after in zip(correct, correct[1:]) if before and not after
            )
        table[guid] = {
            "threshold_closeness": confidence * (1 - confidence),
            "confidence": confidence,
            "variability": variability,
            "correctness": sum(correct),
            "forgetfulness": forgetfulness,
        }
    return table


def assert_matches_reference(result, expected):
    assert sorted(result.index) == sorted(expected)
    assert tuple(result.columns) == CARTOGRAPHY_COLUMNS
    for guid, values in expected.items():
        row = result.loc[guid]
        assert int(row["correctness"]) == values["correctness"], guid
        assert int(row["forgetfulness"]) == values["forgetfulness"], guid
        for column in ("threshold_closeness", "confidence", "variability"):
            assert abs(float(row[column]) - values[column]) <= TOLERANCE, (guid, column)


@st.composite
def cartography_runs(draw):
    """Draw dynamics that allenai/cartography's reader and metrics accept."""
    num_examples = draw(st.integers(1, 12))
    num_epochs = draw(st.integers(2, 6))
    num_labels = draw(st.integers(2, 4))
    # A few repeated values make argmax ties; the rest spans large and small margins.
    value = st.one_of(
        st.sampled_from([-1.0, 0.0, 0.5, 2.0]),
        st.floats(-30.0, 30.0, allow_nan=False, allow_infinity=False),
    )
    logits = draw(
        st.lists(
            st.lists(st.lists(value, min_size=num_labels, max_size=num_labels),
                     min_size=num_epochs, max_size=num_epochs),
            min_size=num_examples, max_size=num_examples,
        )
    )
    gold = draw(st.lists(st.integers(0, num_labels - 1), min_size=num_examples, max_size=num_examples))
    if draw(st.booleans()):
        guids = draw(st.lists(st.integers(0, 10**9), min_size=num_examples, max_size=num_examples, unique=True))
    else:
        guids = draw(st.lists(st.text("abcxyz-_0123456789", min_size=1, max_size=8),
                              min_size=num_examples, max_size=num_examples, unique=True))
    line_orders = [draw(st.permutations(range(num_examples))) for _ in range(num_epochs)]
    return guids, gold, logits, line_orders


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(run=cartography_runs(), include_ci=st.booleans(), burn_out=st.one_of(st.none(), st.integers(2, 8)))
def test_metrics_match_reference(tmp_path_factory, run, include_ci, burn_out):
    folder = tmp_path_factory.mktemp("training_dynamics")
    write_epoch_files(folder, *run)

    result = cartography_metrics(import_cartography(folder), include_ci=include_ci, burn_out=burn_out)

    assert_matches_reference(result, reference_metrics(folder, include_ci, burn_out))


def test_integer_logits_match_reference(tmp_path):
    guids = [11, 12, 13]
    gold = [0, 1, 2]
    # JSON integers, ties included: example 12 ties labels 0 and 1 at epoch 0.
    logits = [
        [[3, 1, 0], [2, 2, 5], [4, 0, 0]],
        [[1, 1, 0], [0, 3, 1], [0, 0, 1]],
        [[0, 0, 0], [1, 0, 0], [0, 1, 0]],
    ]
    for epoch in range(3):
        lines = [
            json.dumps({"guid": guid, f"logits_epoch_{epoch}": logits[row][epoch], "gold": gold[row]})
            for row, guid in enumerate(guids)
        ]
        (tmp_path / f"dynamics_epoch_{epoch}.jsonl").write_text("\n".join(lines) + "\n")

    result = cartography_metrics(import_cartography(tmp_path))

    assert_matches_reference(result, reference_metrics(tmp_path))


def test_hand_computed_example(tmp_path):
    # Two labels, gold 1, logits chosen so that the gold probabilities are exact:
    # softmax([0, log 3]) gives 3/4 and softmax([log 3, 0]) gives 1/4.
    log3 = math.log(3)
    write_epoch_files(
        tmp_path,
        guids=["only"],
        gold=[1],
        logits=[[[0.0, log3], [log3, 0.0], [0.0, log3], [0.0, log3]]],
        line_orders=[[0]] * 4,
    )

    result = cartography_metrics(import_cartography(tmp_path)).loc["only"]

    # Probabilities 3/4, 1/4, 3/4, 3/4: mean 5/8, deviations 1/8, -3/8, 1/8, 1/8.
    assert result["confidence"] == pytest.approx(5 / 8, abs=TOLERANCE)
    assert result["variability"] == pytest.approx(math.sqrt(12 / 64 / 4), abs=TOLERANCE)
    assert result["threshold_closeness"] == pytest.approx(5 / 8 * 3 / 8, abs=TOLERANCE)
    assert result["correctness"] == 3
    assert result["forgetfulness"] == 1


def test_never_learned_gets_sentinel(tmp_path):
    write_epoch_files(
        tmp_path,
        guids=[1, 2],
        gold=[0, 0],
        logits=[[[0.0, 1.0], [0.0, 2.0]], [[1.0, 0.0], [0.0, 1.0]]],
        line_orders=[[0, 1], [1, 0]],
    )

    result = cartography_metrics(import_cartography(tmp_path))

    assert result.loc["1", "forgetfulness"] == 1000
    assert result.loc["2", "forgetfulness"] == 1


def test_burn_out_below_two_raises(tmp_path):
    write_epoch_files(tmp_path, [1], [0], [[[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]]], [[0]] * 3)

    with pytest.raises(ValueError, match=r"burn_out must be None or an integer of at least 2, got 1"):
        cartography_metrics(import_cartography(tmp_path), burn_out=1)
