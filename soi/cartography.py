"""Metrics in the conventions and layout of dataset cartography's reference code.

allenai/cartography (``cartography/selection/train_dy_filtering.py``) computes, for each
training example, the mean and the standard deviation of the gold-label probability,
the number of epochs predicted correctly, a forgetting count and the threshold
closeness. :func:`cartography_metrics` computes the same table from soi dynamics, for
example dynamics read from its per-epoch JSON Lines files with
:func:`soi.dynamics.import_cartography`. The conventions themselves are
:data:`soi.metrics.CARTOGRAPHY_CONVENTIONS`.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from soi.dynamics import Dynamics
from soi.metrics import CARTOGRAPHY_CONVENTIONS, metrics_from_dynamics

__all__ = ["CARTOGRAPHY_COLUMNS", "cartography_metrics"]

#: Columns of :func:`cartography_metrics`, in the order of the reference code's
#: ``td_metrics`` table after its ``guid`` and ``index`` columns.
CARTOGRAPHY_COLUMNS = (
    "threshold_closeness",
    "confidence",
    "variability",
    "correctness",
    "forgetfulness",
)


def cartography_metrics(
    dynamics: Dynamics, *, include_ci: bool = False, burn_out: int | None = None
) -> pd.DataFrame:
    """Compute the per-example metrics of allenai/cartography's reference code.

    Parameters
    ----------
    dynamics : Dynamics
        Training dynamics with no missing cells.
    include_ci : bool
        The reference code's ``--include_ci`` flag: variability becomes
        sqrt(var + var^2 / (E - 1)) instead of the standard deviation.
    burn_out : int or None
        The reference code's ``--burn_out``: use only the first ``burn_out`` epochs.
        As in the reference code, a value of E or more uses every epoch. None uses
        every epoch.

    Returns
    -------
    pd.DataFrame
        Indexed by example id (named ``guid``), with the columns
        ``CARTOGRAPHY_COLUMNS``: ``threshold_closeness``, ``confidence`` and
        ``variability`` (float32), ``correctness`` (int64, the number of correct epochs)
        and ``forgetfulness`` (int64, 1000 for an example never predicted correctly).

    Raises
    ------
    ValueError
        If the dynamics have missing cells or fewer than two epochs, or ``burn_out``
        is below 2.

    Examples
    --------
    >>> dyn = Dynamics(
    ...     example_ids=["7", "8"], epochs=[1, 2, 3], gold=[0, 1],
    ...     gold_prob=[[0.4, 0.7, 0.9], [0.2, 0.3, 0.1]],
    ...     predicted=[[1, 0, 0], [0, 0, 0]],
    ... )
    >>> table = cartography_metrics(dyn)
    >>> table[["correctness", "forgetfulness"]].to_dict("index")
    {'7': {'correctness': 2, 'forgetfulness': 0}, '8': {'correctness': 0, 'forgetfulness': 1000}}
    >>> cartography_metrics(dyn, burn_out=2)["correctness"].tolist()
    [1, 0]
    """
    if burn_out is not None and burn_out >= dynamics.num_epochs:
        burn_out = None
    conventions = dataclasses.replace(
        CARTOGRAPHY_CONVENTIONS,
        variability="ci" if include_ci else "std",
        burn_out=burn_out,
    )
    table = metrics_from_dynamics(dynamics, conventions=conventions)
    table = table.rename(columns={"forgetting_events": "forgetfulness"}).rename_axis("guid")
    return table[list(CARTOGRAPHY_COLUMNS)]
