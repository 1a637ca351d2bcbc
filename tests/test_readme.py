"""README.md's code blocks are real: every ```python block runs as written, every command in a ```bash block works.

- ```python blocks run as written, each in a fresh interpreter with the repository root as working directory.
- ```bash lines starting with ``graphsparse`` run in-process through ``graphsparse.cli.main(argv)`` and must exit
  with 0. To keep the suite fast, size-shrinking overrides are appended where the subcommand accepts them (found
  from its ``--help``; argparse keeps the last occurrence of an option): ``--epochs 1 --seeds 1 --rounds 1``,
  plus a temporary ``--db`` and ``--plot`` under ``tmp_path``. A line asking for ``--device cuda`` gets
  ``--device cpu`` appended when CUDA is not available on the machine running the tests. A line joining a Ray
  cluster (``--ray-address``) runs on Ray's local two-node test cluster, started for it.
- Other lines are checked, not run: ``make T`` needs a Makefile target ``T``; ``python script.py`` needs the
  script; ``-m module`` (``torchrun ... -m graphsparse.distributed``) needs the module; any other program must be
  on PATH or in the virtual environment.
- The Makefile's ``demo`` command (the README's "main job") runs too, shrunk the same way, and the README's
  Set-up text quotes that command as the Makefile has it.

Comments (whole lines, and a trailing ``# ...``) are ignored.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.integration  # the README's commands and snippets, as a user runs them

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAKEFILE = ROOT / "Makefile"

# option -> value appended when the subcommand accepts the option (argparse: the last occurrence wins)
SHRINK = {"--epochs": "1", "--seeds": "1", "--rounds": "1"}
# --augment method -> key=value items added to the command's own --gaug (later keys win): the edge predictor's
# training, which --epochs does not shorten
GAUG_SHRINK = {"gaug-m": "ep_epochs=2,ep_select_seeds=1", "gaug-o": "pretrain_ep=2,pretrain_nc=2"}


def _fenced_blocks(text: str, language: str) -> list[tuple[int, str]]:
    """(line number of the block's first line, body) of every ```language block."""
    blocks = []
    for match in re.finditer(rf"^```{language}[ \t]*\n(.*?)^```[ \t]*$", text, flags=re.M | re.S):
        blocks.append((text.count("\n", 0, match.start(1)) + 1, match.group(1)))
    return blocks


def _bash_commands(text: str) -> list[tuple[int, list[str]]]:
    """(README line number, argv) of every command in the ```bash blocks; comments stripped, ``\\`` joined."""
    commands = []
    for first_line, body in _fenced_blocks(text, "bash"):
        pending, start = "", first_line
        for offset, line in enumerate(body.splitlines()):
            if not pending:
                start = first_line + offset
            pending += line
            if pending.endswith("\\"):
                pending = pending[:-1] + " "
                continue
            argv = shlex.split(pending, comments=True)
            pending = ""
            if argv:
                commands.append((start, argv))
    return commands


def _makefile_demo_argv() -> list[str]:
    """The ``graphsparse ...`` command of the Makefile's ``demo`` recipe."""
    match = re.search(r"^demo:.*\n((?:\t.*\n?)+)", MAKEFILE.read_text(), flags=re.M)
    assert match, "Makefile has no demo target"
    for line in match.group(1).splitlines():
        argv = shlex.split(line.strip(), comments=True)
        if argv and argv[0].endswith("/graphsparse"):
            return ["graphsparse", *argv[1:]]
    raise AssertionError("the Makefile's demo recipe runs no graphsparse command")


README_TEXT = README.read_text()
COMMANDS = _bash_commands(README_TEXT)
GRAPHSPARSE = [(f"README:{n} {shlex.join(argv)}", argv) for n, argv in COMMANDS if argv[0] == "graphsparse"]
GRAPHSPARSE.append((f"Makefile demo: {shlex.join(_makefile_demo_argv())}", _makefile_demo_argv()))
OTHER = [(f"README:{n} {shlex.join(argv)}", argv) for n, argv in COMMANDS if argv[0] != "graphsparse"]
PYTHON_BLOCKS = [(f"README:{n}", body) for n, body in _fenced_blocks(README_TEXT, "python")]


def _main(argv: list[str]) -> int:
    from graphsparse.cli import main

    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse errors and --help
        code = exit_.code
    return 0 if code is None else code if isinstance(code, int) else 1


@functools.cache
def _options(subcommand: str) -> frozenset[str]:
    """Long options the subcommand's ``--help`` lists (empty if it has none or does not exist)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        _main([subcommand, "--help"])
    return frozenset(re.findall(r"(?<![\w-])--[a-z][\w-]*", out.getvalue()))


def _last_value(args: list[str], option: str) -> str | None:
    """The value of the last ``option VALUE`` or ``option=VALUE`` in ``args`` (None if absent)."""
    value = None
    for i, arg in enumerate(args):
        if arg == option and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(option + "="):
            value = arg.split("=", 1)[1]
    return value


def _shrunk(argv: list[str], tmp_path: Path) -> list[str]:
    """``argv`` (without the leading ``graphsparse``) with the overrides its subcommand accepts appended."""
    args = argv[1:]
    if not args or args[0].startswith("-"):
        return args
    accepted = _options(args[0])
    extra = []
    for option, value in SHRINK.items():
        if option in accepted:
            extra += [option, value]
    if "--db" in accepted:
        extra += ["--db", str(tmp_path / "graphsparse.db")]
    if "--plot" in accepted:
        extra += ["--plot", str(tmp_path / "plot.png")]
    if "--no-progress" in accepted:
        extra.append("--no-progress")
    method = _last_value(args, "--augment")
    if method in GAUG_SHRINK and "--gaug" in accepted:
        extra += ["--gaug", ",".join(filter(None, [_last_value(args, "--gaug"), GAUG_SHRINK[method]]))]
    wants_cuda = (_last_value(args, "--device") or "").startswith("cuda")
    if wants_cuda and not torch.cuda.is_available() and "--device" in accepted:
        extra += ["--device", "cpu"]
    return args + extra


def test_readme_has_commands_and_snippets():
    assert len(GRAPHSPARSE) > 10
    assert any(argv[0] == "make" for _, argv in OTHER)
    assert PYTHON_BLOCKS


# datasets whose commands stay slow even shrunk to one epoch (Coauthor Physics: a 5-layer Cluster-GCN over 8415
# dense feature columns, about two minutes here): run with `pytest -m slow`
HEAVY_DATASETS = ("coauthor-physics",)


def _command_param(argv: list[str]) -> object:
    heavy = _last_value(argv, "--dataset") in HEAVY_DATASETS
    return pytest.param(argv, marks=pytest.mark.slow) if heavy else argv


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    "argv", [_command_param(argv) for _, argv in GRAPHSPARSE], ids=[name for name, _ in GRAPHSPARSE]
)
def test_graphsparse_command_runs(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # anything a command writes by default (runs/...) lands in tmp_path
    monkeypatch.setenv("GRAPHSPARSE_DB", str(tmp_path / "graphsparse.db"))
    monkeypatch.setenv("GRAPHSPARSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GRAPHSPARSE_DATA", str(ROOT / "datasets"))
    args = _shrunk(argv, tmp_path)
    with _ray_cluster_if_asked(args):
        code = _main(args)
    captured = capsys.readouterr()
    assert code == 0, f"graphsparse {shlex.join(args)} exited with {code}:\n{captured.err[-3000:]}"


@contextlib.contextmanager
def _ray_cluster_if_asked(args: list[str]):
    """A command joining a Ray cluster (``--ray-address auto``) gets one: Ray's local test cluster with two
    nodes, which the command joins as it would a cluster started with ``ray start``."""
    if _last_value(args, "--ray-address") is None:
        yield
        return
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    previous = os.environ.get("RAY_ADDRESS")
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        os.environ["RAY_ADDRESS"] = cluster.address  # where `ray.init(address="auto")` looks first
        yield
    finally:
        if previous is None:
            os.environ.pop("RAY_ADDRESS", None)
        else:
            os.environ["RAY_ADDRESS"] = previous
        ray.shutdown()
        cluster.shutdown()


def _makefile_targets() -> set[str]:
    return set(re.findall(r"^([\w.-]+)\s*:(?!=)", MAKEFILE.read_text(), flags=re.M))


@pytest.mark.parametrize("argv", [argv for _, argv in OTHER], ids=[name for name, _ in OTHER])
def test_other_command_exists(argv):
    program = argv[0]
    if program == "make":
        targets = [a for a in argv[1:] if not a.startswith("-") and "=" not in a]
        assert targets, "a bare `make` in the README"
        missing = set(targets) - _makefile_targets()
        assert not missing, f"Makefile has no target {sorted(missing)}"
        return
    if "-m" in argv:
        module = argv[argv.index("-m") + 1]
        assert importlib.util.find_spec(module) is not None, f"no module {module}"
    elif program in ("python", "python3"):
        script = next((a for a in argv[1:] if not a.startswith("-")), None)
        assert script and (ROOT / script).is_file(), f"no script {script}"
    if program not in ("python", "python3"):
        venv_bin = Path(sys.executable).parent
        assert shutil.which(program) or (venv_bin / program).exists(), f"{program} is not installed"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("code", [body for _, body in PYTHON_BLOCKS], ids=[name for name, _ in PYTHON_BLOCKS])
def test_python_snippet_runs(code, tmp_path):
    env = dict(os.environ, GRAPHSPARSE_DB=str(tmp_path / "graphsparse.db"), GRAPHSPARSE_CACHE=str(tmp_path / "cache"))
    env.setdefault("OMP_NUM_THREADS", "1")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_setup_text_quotes_the_makefile_demo():
    """README's Set-up names the main job exactly as `make demo` runs it (its command and its plot)."""
    argv = _makefile_demo_argv()
    plot = argv[argv.index("--plot") + 1] if "--plot" in argv else None
    command = [a for i, a in enumerate(argv) if a != "--plot" and (i == 0 or argv[i - 1] != "--plot")]
    setup = README_TEXT.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    assert f"`{shlex.join(command)}`" in setup, f"README Set-up does not quote the demo command {shlex.join(command)}"
    if plot:
        assert f"`{plot}`" in setup
    assert {"demo", "test"} <= _makefile_targets()
