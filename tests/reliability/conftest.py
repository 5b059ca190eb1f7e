"""Fault injection at the command line: helpers to run `skinaug` in subprocesses and check what is left.

Every test here runs the real CLI (`python -m skinaug ...`) in a child process, kills it, starves it of
disk or feeds it damaged files, then looks at the exit status, stderr and the files on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import pytest

from ..generators.conftest import micro_config

CLI: tuple[str, ...] = (sys.executable, "-m", "skinaug")
# One thread per child: the suite must stay fast on a busy two-core machine.
CHILD_ENV: dict[str, str] = {
    **{k: v for k, v in os.environ.items() if k != "SKINAUG_DEBUG"},
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONUNBUFFERED": "1",
}
ERROR_PREFIX = "skinaug: error: "
TEMP_FILE = re.compile(r"^\..+\.tmp$")  # what skinaug.atomic leaves behind when killed mid-write


def run_cli(
    *args: str | os.PathLike[str], timeout: float = 240, preexec_fn: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `skinaug ARGS` to completion in a child process; stdout and stderr captured as text."""
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=CHILD_ENV, preexec_fn=preexec_fn
    )


def start_cli(log: Path, *args: str | os.PathLike[str]) -> subprocess.Popen[bytes]:
    """Start `skinaug ARGS` in the background, stdout+stderr to the file `log` (no pipe to fill up)."""
    handle = open(log, "wb")
    try:
        return subprocess.Popen([*CLI, *map(str, args)], stdout=handle, stderr=subprocess.STDOUT, env=CHILD_ENV)
    finally:
        handle.close()


def kill_when(
    process: subprocess.Popen[bytes],
    ready: Callable[[], bool],
    delay: float = 0.0,
    timeout: float = 240,
    log: Path | None = None,
) -> None:
    """Poll `ready()` every 5 ms while `process` runs; once true, wait `delay` s and SIGKILL it.

    Fails the test if the process ends on its own first: the kill must land in the middle of the work.
    """
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-1500:] if log else ""
            pytest.fail(f"the process ended (status {process.returncode}) before the kill point\n{tail}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("kill point not reached in time")
        time.sleep(0.005)
    time.sleep(delay)
    assert process.poll() is None, f"the process finished (status {process.returncode}) before the kill"
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


def error_lines(stderr: str) -> list[str]:
    """The `skinaug: error: ...` lines of stderr (progress bars use \\r, so split on both)."""
    return [line for line in re.split(r"[\r\n]", stderr) if line.startswith(ERROR_PREFIX)]


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    """No Python traceback and no 'internal error' (a bug) on stderr."""
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "internal error" not in result.stderr, result.stderr[-3000:]


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit status 1, no traceback, exactly one `skinaug: error:` line, last on stderr, containing `needles`."""
    assert_no_traceback(result)
    assert result.returncode == 1, f"exit {result.returncode}\nstdout: {result.stdout[-1000:]}\n{result.stderr[-3000:]}"
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr[-3000:]
    assert result.stderr.rstrip("\n").endswith(lines[0]), result.stderr[-3000:]
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert result.stdout == "", result.stdout
    return lines[0]


def snapshot(folder: Path, skip: Sequence[str] = ()) -> dict[str, str]:
    """sha256 of every file below `folder`, by relative path (paths starting with any of `skip` left out)."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.relative_to(folder).as_posix().startswith(tuple(skip))
    }


def write_micro_config(path: Path, steps: int, checkpoint_every: int) -> Path:
    """The tests' micro LF-VAR config (32 px, 4 scales, 2 blocks) as a JSON file for `--config`."""
    config = micro_config(steps=steps)
    for optim in (config.tokenizer_optim, config.transformer_optim):
        optim.checkpoint_every = checkpoint_every
    path.write_text(json.dumps(config.to_dict()))
    return path


@pytest.fixture(scope="session")
def phantom_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 56-image phantom data set (64x48, HAM10000 layout); read only."""
    from skinaug.phantoms import PhantomConfig, make_phantoms

    root = tmp_path_factory.mktemp("reliability") / "phantoms"
    make_phantoms(root, PhantomConfig(n=56, seed=4, width=64, height=48), progress=False)
    return root


@pytest.fixture(scope="session")
def measured_work(phantom_root: Path) -> Path:
    """`phantom_root` prepared and measured (in process: this is set-up, not under test); read only."""
    from skinaug.measurements import measure_workdir
    from skinaug.prepare import prepare_dataset

    work = phantom_root.parent / "work"
    prepare_dataset("ham10000", phantom_root, work, progress=False)
    measure_workdir(work, workers=1, progress=False)
    return work


@pytest.fixture(scope="session")
def micro2_config(measured_work: Path) -> Path:
    """The JSON config of `trained_generator` (2 steps per stage), for `train-generator --config`."""
    return write_micro_config(measured_work.parent / "micro2.json", steps=2, checkpoint_every=2)


@pytest.fixture(scope="session")
def trained_generator(measured_work: Path, micro2_config: Path) -> Path:
    """A micro generator trained (in process) on `measured_work` with `micro2_config`; read only, copy to damage."""
    from skinaug.generators.config import load_config
    from skinaug.generators.training import TrainOptions, train_generator

    out = measured_work.parent / "generator"
    train_generator(measured_work, out, load_config(str(micro2_config)), TrainOptions(device="cpu", progress=False))
    return out


def copy_tree(source: Path, target: Path) -> Path:
    """A full copy of a folder (for damaging it without touching the shared fixture)."""
    shutil.copytree(source, target)
    return target


@pytest.fixture
def expected(record_property: Callable[[str, object], None]) -> Callable[[str, str], None]:
    """`expected(category, behaviour)`: record both in the JUnit XML for benchmarks/reliability.py's table."""

    def record(category: str, behaviour: str) -> None:
        record_property("category", category)
        record_property("expected", behaviour)

    return record
