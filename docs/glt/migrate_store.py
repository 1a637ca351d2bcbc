"""Bring GLT results stored before schema 2 (keys without the data fingerprint) to today's key format.

Schema-1 keys named the dataset but not its content. This rewrites each such key with the fingerprint of the
dataset as shipped today (``graphsparse.data.load_dataset(name).fingerprint()``) and ``schema=2``, leaving the
payload untouched. That is only right when the stored levels were computed on the same files, which holds for the
stores shipped in this folder: every dataset file is checked against the sha256 recorded in its SOURCE.md when it
loads. A key whose configuration digest (``cfg=``) no longer matches what today's code computes is simply never
asked for again (the search recomputes that level), so the rewrite cannot serve a result to a different config.

    python docs/glt/migrate_store.py docs/glt/store.db docs/glt/store_pubmed_teddy.db
"""

from __future__ import annotations

import sqlite3
import sys
from contextlib import closing

from graphsparse.data import load_dataset
from graphsparse.graph import SCHEMA_VERSION


def migrate(path: str) -> int:
    fingerprints: dict[str, str] = {}
    changed = 0
    with closing(sqlite3.connect(path)) as con, con:
        for (key,) in con.execute("SELECT key FROM results").fetchall():
            parts = key.split("|")
            if not key.startswith("glt|") or any(p.startswith("data=") for p in parts) or len(parts) < 5:
                continue
            dataset = parts[3]
            if dataset not in fingerprints:
                fingerprints[dataset] = load_dataset(dataset).fingerprint()[:24]
            new = "|".join([*parts[:4], f"data={fingerprints[dataset]}", f"schema={SCHEMA_VERSION}", *parts[4:]])
            con.execute("UPDATE results SET key = ? WHERE key = ?", (new, key))
            changed += 1
    return changed


if __name__ == "__main__":
    for db in sys.argv[1:]:
        print(f"{db}: {migrate(db)} keys rewritten")
