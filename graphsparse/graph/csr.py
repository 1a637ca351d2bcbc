"""torch's one-time "Sparse CSR tensor support is in beta state" warning, silenced where graphsparse builds CSR.

It is silenced locally (:func:`quiet_csr`, a ``warnings.catch_warnings`` block), never by a global filter, so a
user's own warning filters and every other warning stay as they are.

torch warns once per process, at the first CSR tensor it makes; graphsparse builds CSR tensors as an
implementation detail (normalised adjacencies, sparse features), so the Python API keeps that notice to itself,
as the ``graphsparse`` command does.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

__all__ = ["CSR_BETA_WARNING", "quiet_csr"]

CSR_BETA_WARNING = "Sparse CSR tensor support is in beta"
"""The start of torch's warning (a regular expression matched at the start of the message)."""


@contextlib.contextmanager
def quiet_csr() -> Iterator[None]:
    """A block (or, as ``@quiet_csr()``, a function) in which torch's CSR beta warning is ignored.

    Every other warning, and the caller's filters, are untouched (restored on exit by ``warnings.catch_warnings``).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=CSR_BETA_WARNING, category=UserWarning)
        yield
