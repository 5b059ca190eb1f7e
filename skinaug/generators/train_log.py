"""Training logs that grow linearly: an append-only CSV per stage, and TensorBoard events when it is installed.

OUT/<stage>_log.csv gets one row every `log_every` steps (and at every validation and the last step). Rows
are appended when the checkpoint that covers them is published (each checkpoint also carries the rows
logged since the previous one, a bounded number), so the CSV never runs ahead of the checkpoints: a run that
fails to write a checkpoint leaves the CSV as it was, and a resumed run appends whatever a kill between
checkpoint and CSV left out; nothing is rewritten at checkpoints. A row that brings a new column (validation
values, the adversarial losses once they start) rewrites the file once with the wider header. TensorBoard
event files go to OUT/tensorboard/<stage>/ live when `tensorboard` is importable; on resume TensorBoard is
told to discard the events after the checkpoint (`purge_step`).
"""

from __future__ import annotations

import csv
import io
import math
import sys
from pathlib import Path
from typing import Any, Protocol

from ..atomic import write_text
from ..errors import SkinaugError, os_problem


class ScalarWriter(Protocol):
    """What the log needs of a TensorBoard SummaryWriter."""

    def add_scalar(self, tag: str, scalar_value: float, global_step: int) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


def open_tensorboard(folder: Path, purge_step: int | None) -> ScalarWriter | None:
    """A torch SummaryWriter on `folder`, or None when tensorboard is not installed or does not work here (one
    line on stderr: a broken install, e.g. a protobuf it does not fit, must not stop training; the CSV log has
    every value)."""
    try:
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter(log_dir=str(folder), purge_step=purge_step)
    except ImportError:
        return None
    except Exception as exc:  # noqa: BLE001 - whatever a broken tensorboard raises, training goes on without it
        print(f"skinaug: tensorboard unusable here ({type(exc).__name__}: {exc}); logging to CSV only", file=sys.stderr)
        return None


def _csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


class CsvLog:
    """An append-only CSV whose first column is `step`."""

    def __init__(self, path: Path, resume_after: int | None) -> None:
        self.path = path
        self.columns: list[str] = []
        if resume_after is None:
            path.unlink(missing_ok=True)
            return
        self._keep_until(resume_after)

    def _keep_until(self, step: int) -> None:
        """Drop rows after `step` and any half-written last line (one rewrite, at resume)."""
        if not self.path.exists():
            return
        lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
        if not lines:
            return
        header = next(csv.reader([lines[0]]))
        kept = [lines[0]]
        for line in lines[1:]:
            fields = next(csv.reader([line]), [])
            if not line.endswith("\n") or len(fields) != len(header):
                continue
            try:
                if int(float(fields[0])) <= step:
                    kept.append(line)
            except ValueError:
                continue
        self.columns = header
        write_text(self.path, "".join(kept))

    def last_step(self) -> int:
        """The step of the last row (0 when there is none)."""
        if not self.path.exists():
            return 0
        lines = self.path.read_text(encoding="utf-8").splitlines()
        try:
            return int(float(next(csv.reader([lines[-1]]))[0])) if len(lines) > 1 else 0
        except (ValueError, IndexError):
            return 0

    def _rewrite_with(self, columns: list[str]) -> None:
        rows = []
        if self.path.exists():
            with open(self.path, encoding="utf-8", newline="") as handle:
                rows = list(csv.DictReader(handle))
        write_text(
            self.path, "".join([_csv_line(columns)] + [_csv_line([r.get(c, "") for c in columns]) for r in rows])
        )
        self.columns = columns

    def write(self, row: dict[str, Any]) -> None:
        """Append one row (the file is rewritten only when the row has a column the header lacks)."""
        new = [k for k in row if k not in self.columns]
        if new or not self.path.exists():
            self._rewrite_with(self.columns + new)
        try:
            with open(self.path, "a", encoding="utf-8", newline="") as handle:
                handle.write(_csv_line([row.get(c, "") for c in self.columns]))
        except OSError as exc:
            raise SkinaugError(f"{self.path}: could not append a log row ({os_problem(exc)})") from exc


class TrainingLog:
    """The rows of one stage, to the CSV and (when installed) TensorBoard; only the main process writes."""

    def __init__(self, out: Path, stage: str, log_every: int, resume_after: int | None, main: bool = True) -> None:
        self.log_every, self.main = max(1, int(log_every)), main
        self.csv = CsvLog(out / f"{stage}_log.csv", resume_after) if main else None
        self.tensorboard = open_tensorboard(out / "tensorboard" / stage, resume_after) if main else None
        self.pending: list[dict[str, Any]] = []  # rows logged since the last checkpoint

    def due(self, step: int, last_step: int) -> bool:
        """Whether step `step` (1-based) is logged: every `log_every` steps and the last one."""
        return step % self.log_every == 0 or step == last_step

    def write(self, row: dict[str, Any]) -> None:
        """Log one row ({"step": n, name: value, ...}): to TensorBoard now, to the CSV at the next checkpoint."""
        if not self.main:
            return
        self.pending.append(row)
        if self.tensorboard is not None:
            for name, value in row.items():
                if name != "step" and isinstance(value, (int, float)) and math.isfinite(value):
                    self.tensorboard.add_scalar(name, float(value), int(row["step"]))

    def flush(self) -> None:
        """Append the pending rows to the CSV (call once the checkpoint that carries them is published)."""
        if self.csv is not None:
            for row in self.pending:
                self.csv.write(row)
        self.pending = []

    def catch_up(self, rows: list[dict[str, Any]]) -> None:
        """On resume: append the checkpoint's rows that the CSV lacks (a kill between checkpoint and CSV)."""
        if self.csv is None:
            return
        last = self.csv.last_step()
        for row in rows:
            if int(row.get("step", 0)) > last:
                self.csv.write(row)

    def close(self) -> None:
        """Flush and close TensorBoard's event file."""
        if self.tensorboard is not None:
            self.tensorboard.flush()
            self.tensorboard.close()
