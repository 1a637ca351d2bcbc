"""Input checks shared by every config and command: check once at the boundary, name the bad value.

Each helper returns the checked value (converted where that is lossless) or raises :class:`ValueError` with a
message naming the option, the value and what is allowed — the scikit-learn ``check_scalar`` style. Non-finite
numbers fail every check: ``nan <= 0`` is False, so a plain comparison would let them through.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

__all__ = [
    "check_int",
    "check_float",
    "check_probability",
    "check_choice",
    "FileProblem",
    "load_torch_file",
    "load_json_file",
    "confined_path",
]


def check_int(name: str, value: Any, minimum: int | None = 1, maximum: int | None = None) -> int:
    """``value`` as an int within ``[minimum, maximum]`` (booleans and non-integral numbers refused)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        if isinstance(value, Real) and math.isfinite(value) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_float(
    name: str,
    value: Any,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    include_minimum: bool = True,
    include_maximum: bool = True,
) -> float:
    """``value`` as a finite float within the given bounds (open or closed at each end)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if minimum is not None and (value < minimum or (not include_minimum and value == minimum)):
        raise ValueError(f"{name} must be {'>=' if include_minimum else '>'} {minimum}, got {value}")
    if maximum is not None and (value > maximum or (not include_maximum and value == maximum)):
        raise ValueError(f"{name} must be {'<=' if include_maximum else '<'} {maximum}, got {value}")
    return value


def check_probability(name: str, value: Any, *, include_one: bool = False) -> float:
    """A finite float in ``[0, 1)`` (or ``[0, 1]`` with ``include_one``): dropout rates, pruning fractions."""
    return check_float(name, value, 0.0, 1.0, include_maximum=include_one)


def check_choice(name: str, value: Any, choices: tuple[str, ...] | list[str]) -> str:
    """``value`` if it is one of ``choices``; the error lists them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value


# ---------------------------------------------------------------------------------------------- untrusted files
class FileProblem(ValueError):
    """A file given to a command cannot be used; the message names the file, the problem and what to do."""


_ZIP_MAGIC = b"PK\x03\x04"
_MAX_FILE_BYTES = 1 << 34  # 16 GiB: larger than any ticket, model or space this package writes


def _sniff(path: str, head: bytes) -> str:
    """What a file that is not the expected one looks like, in words."""
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        return "a JSON or text file"
    if head[:1] == b"\x80":
        return "a plain pickle (not written by torch.save: refused, it could run code)"
    if head[:4] == b"\x7fELF" or head[:2] == b"MZ":
        return "a program"
    if head[:6] == b"\x93NUMPY":
        return "a NumPy .npy file"
    if head[:16] == b"SQLite format 3\x00":
        return "a SQLite database"
    try:
        head.decode("utf-8")
        return "a text file"
    except UnicodeDecodeError:
        return "a binary file of another kind"


def load_torch_file(path: Any, what: str, hint: str = "") -> Any:
    """Read a file written by ``torch.save`` with ``torch.load(weights_only=True)`` (no code runs).

    Every way it can fail is named: missing, a folder, empty, too large, truncated or damaged, another kind of
    file (JSON, a pickle, a database), or holding objects ``weights_only`` refuses.

    Args:
        path: the file.
        what: what the file should be, for messages (``"ticket file"``, ``"trained weights"``).
        hint: what to do, appended to every message (e.g. which command writes such a file).

    Returns:
        What the file holds (tensors, dicts, lists, strings, numbers), on the CPU.

    Raises:
        FileProblem: naming the file and the problem.
    """
    import os

    import torch

    name = os.fspath(path)
    tail = f"; {hint}" if hint else ""

    def fail(problem: str) -> FileProblem:
        return FileProblem(f"{what} {name} {problem}{tail}")

    try:
        info = os.stat(name)
    except FileNotFoundError:
        raise fail("does not exist") from None
    except OSError as err:
        raise fail(f"cannot be read ({err.strerror or err})") from None
    import stat as stat_module

    if stat_module.S_ISDIR(info.st_mode):
        raise fail("is a folder, not a file")
    if info.st_size == 0:
        raise fail("is empty (0 bytes): it was cut off while being written")
    if info.st_size > _MAX_FILE_BYTES:
        raise fail(f"is {info.st_size} bytes, more than any such file can hold")
    try:
        with open(name, "rb") as handle:
            head = handle.read(64)
    except OSError as err:
        raise fail(f"cannot be read ({err.strerror or err})") from None
    if head[:4] != _ZIP_MAGIC:
        raise fail(f"is not a file written by torch.save: it looks like {_sniff(name, head)}")
    try:
        return torch.load(name, weights_only=True, map_location="cpu")
    except Exception as err:  # torch's, zipfile's and pickle's errors alike: a crafted or damaged archive
        text = str(err).splitlines()[0] if str(err) else type(err).__name__
        low = str(err).lower()
        if any(word in low for word in ("weights only", "weights_only", "unsupported global", "unpickler")):
            raise fail(
                "holds objects other than tensors, numbers, strings, lists and dicts (refused: loading them could "
                f"run code): {text}"
            ) from None
        if any(word in low for word in ("zip", "central directory", "stream", "eof", "truncat", "corrupt")):
            raise fail(f"is truncated or damaged: {text}") from None
        raise fail(f"cannot be loaded ({type(err).__name__}: {text})") from None


def load_json_file(path: Any, what: str, hint: str = "", max_bytes: int = 1 << 24) -> Any:
    """Read a JSON file, every way it can fail named.

    The failures named: missing, a folder, empty, too large, not UTF-8 text, not JSON, NaN or infinite numbers,
    nesting deeper than any such file needs.

    Args:
        path: the file.
        what: what the file should be, for messages (``"--space"``).
        hint: what to do, appended to every message.
        max_bytes: the largest file accepted (read no further).

    Returns:
        The parsed JSON value.

    Raises:
        FileProblem: naming the file and the problem.
    """
    import json
    import os

    name = os.fspath(path)
    tail = f"; {hint}" if hint else ""

    def fail(problem: str) -> FileProblem:
        return FileProblem(f"{what} {name}: {problem}{tail}")

    try:
        with open(name, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except IsADirectoryError:
        raise fail("is a folder, not a file") from None
    except OSError as err:
        raise fail(f"cannot be read ({err.strerror or err})") from None
    if len(raw) > max_bytes:
        raise fail(f"is larger than {max_bytes} bytes: not such a file")
    if not raw.strip():
        raise fail("is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise fail(f"is not UTF-8 text (byte {err.start}): it looks like {_sniff(name, raw[:64])}") from None

    def no_constant(token: str) -> Any:
        raise ValueError(f"{token} is not a number JSON allows")

    try:
        return json.loads(text, parse_constant=no_constant)
    except json.JSONDecodeError as err:
        raise fail(f"not valid JSON ({err.msg} at line {err.lineno})") from None
    except RecursionError:
        raise fail("is nested too deeply") from None
    except ValueError as err:
        raise fail(f"not valid JSON ({err})") from None


def confined_path(folder: Any, name: Any, what: str) -> Any:
    """Return ``folder / name`` when ``name`` is a plain relative path that stays inside ``folder``.

    Symbolic links are followed before the check; a path from a file's contents is never followed elsewhere.

    Args:
        folder: the folder the name is relative to.
        name: the path read from a file.
        what: what the name is, for messages.

    Returns:
        The :class:`pathlib.Path` inside ``folder``.

    Raises:
        FileProblem: the name is not a string, is absolute, or leads outside ``folder``.
    """
    from pathlib import Path, PurePosixPath, PureWindowsPath

    if not isinstance(name, str) or not name or "\x00" in name:
        raise FileProblem(f"{what} must be a file name inside {folder}, got {name!r}")
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
        raise FileProblem(f"{what} {name!r} is an absolute path: only a file inside {folder} is read")
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        raise FileProblem(f"{what} {name!r} leads out of {folder}: only a file inside it is read")
    base = Path(folder).resolve()
    target = (base / name).resolve()
    if target != base and base not in target.parents:
        raise FileProblem(f"{what} {name!r} leads to {target}, outside {folder}: only a file inside it is read")
    return Path(folder) / name
