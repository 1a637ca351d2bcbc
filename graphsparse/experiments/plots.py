"""The GLT plot: test score against graph and weight sparsity, one line per method.

Nothing here changes global state at import: matplotlib is imported inside :func:`plot_glt` only, and its backend
is left to the caller (the ``graphsparse`` command selects a non-interactive one at start-up).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..sparsify.records import LevelResult

__all__ = ["plot_glt"]


def plot_glt(
    dense: LevelResult,
    rows: Sequence[LevelResult],
    path: str | Path,
    title: str = "",
    metric: str = "acc",
    labels: dict[str, str] | None = None,
) -> Path:
    """Two panels, test score vs graph sparsity and vs weight sparsity; dense baseline as a mean ± std band.

    Uses matplotlib's current backend (set ``MPLBACKEND=Agg`` or ``matplotlib.use('Agg')`` on a headless
    machine; the ``graphsparse`` command does).

    Args:
        dense: the dense baseline.
        rows: the levels of every method.
        path: the image to write (folders are created).
        title: the figure's title.
        metric: the score's name (``acc``, ``auc``).
        labels: legend names by method (default: each level's ``label``, else its method).

    Returns:
        ``path``.
    """
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    methods = list(dict.fromkeys(r.method for r in rows))
    names = {r.method: r.label or r.method for r in rows}
    names.update(labels or {})
    mean, std = 100 * dense.test_mean, 100 * dense.test_std
    for ax, key, label in ((axes[0], "graph_sparsity", "graph"), (axes[1], "weight_sparsity", "weight")):
        ax.axhspan(mean - std, mean + std, color="grey", alpha=0.25, label=f"dense {mean:.1f} ± {std:.1f}")
        ax.axhline(mean, color="grey", lw=1)
        for method in methods:
            mine = sorted((r for r in rows if r.method == method), key=lambda r: getattr(r, key))
            xs = [100 * getattr(r, key) for r in mine]
            ys = [100 * r.test_mean for r in mine]
            es = [100 * r.test_std for r in mine]
            ax.errorbar(xs, ys, yerr=es, marker="o", ms=3, capsize=2, label=names[method])
        ax.set_xlabel(f"{label} sparsity (%)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy (%)" if metric == "acc" else f"test {metric.upper()} (%)")
    axes[1].legend(loc="lower left", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
