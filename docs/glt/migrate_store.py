"""Bring GLT levels stored before the method plug-ins (0.2.0) to today's payload format, in place.

What changed (see CHANGELOG.md): a level's payload names its task and metric (``task``, ``metric``), its score keys
carry the metric's name (``test_auc_mean`` for link prediction, where they used to read ``test_acc_mean``), and an
iterative method's per-seed state is ``method_state`` (it was ``ugs_state``). Store keys are unchanged.

    python docs/glt/migrate_store.py runs/graphsparse.db            # a store of node-classification searches
    python docs/glt/migrate_store.py --link my_link_store.db   # a store of `glt --task link` levels
"""

from __future__ import annotations

import json
import sqlite3
import sys
from contextlib import closing
from typing import Any


def migrate_payload(key: str, payload: dict[str, Any], task: str = "node") -> dict[str, Any]:
    """One stored GLT level or seed part in today's format (already migrated ones are returned unchanged);
    ``task`` is the task of the store's levels (``link``: their scores were ROC-AUC stored under ``acc``)."""
    out = dict(payload)
    if "ugs_state" in out:
        out["method_state"] = out.pop("ugs_state")
    if "run" in out or "method" not in out:  # a seed's part: only its state was renamed
        return out
    task = out.get("task", task)
    metric = out.get("metric", "auc" if task == "link" else "acc")
    if metric != "acc":
        for old in ("test_acc_mean", "test_acc_std", "val_acc_mean", "val_acc_std", "test_accs"):
            if old in out:
                out[old.replace("acc", metric)] = out.pop(old)
    out["task"], out["metric"] = task, metric
    return out


def migrate(path: str, task: str = "node") -> int:
    """Rewrite every GLT payload of the store at ``path`` (levels of ``task``); returns how many changed."""
    changed = 0
    with closing(sqlite3.connect(path)) as con, con:
        for key, text in con.execute("SELECT key, payload FROM results").fetchall():
            if not (key.startswith("glt|") or key.startswith("part|glt|")):
                continue
            payload = json.loads(text)
            new = migrate_payload(key, payload, task)
            if new != payload:
                con.execute("UPDATE results SET payload = ? WHERE key = ?", (json.dumps(new), key))
                changed += 1
    return changed


if __name__ == "__main__":
    link = "--link" in sys.argv[1:]
    for name in (a for a in sys.argv[1:] if a != "--link"):
        print(f"{name}: {migrate(name, 'link' if link else 'node')} GLT payloads migrated")
