"""Executing one notebook: papermill on a kernel of this very interpreter, its stderr kept in a log file."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import zmq
from ipykernel.kernelspec import RESOURCES, get_kernel_dict
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from traitlets import default


class ThisInterpreterKernel(AsyncKernelManager):
    """Start kernels with the running interpreter, whatever `python3` kernelspec a user has installed."""

    #: A warm-kernel server's socket (`run.warm`): kernels are then forked from it rather than started cold.
    warm_socket = ""

    @default("transport_encryption")
    def _encrypt_when_possible(self) -> str:
        """CurveZMQ when libzmq has it: otherwise every kernel warns on stderr about plain-text TCP."""
        return "auto" if zmq.has("curve") else "disabled"

    @property
    def kernel_spec(self) -> KernelSpec:
        """ipykernel's own spec: argv is `sys.executable -m ipykernel_launcher`, behind the warm launcher if any."""
        if self._kernel_spec is None:
            spec = get_kernel_dict()
            if self.warm_socket:
                spec["argv"] = [sys.executable, "-m", "cxresearch.run.warm_launch", self.warm_socket, *spec["argv"]]
            self._kernel_spec = KernelSpec(resource_dir=RESOURCES, **spec)
        return self._kernel_spec


@contextlib.contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Send this process's stderr, and so its kernel's, to `path`: kernel chatter stays out of the terminal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def kernel_manager(warm_socket: str = "") -> type[ThisInterpreterKernel]:
    """The kernel manager class papermill or nbclient should use: forking from `warm_socket` when given."""
    if not warm_socket:
        return ThisInterpreterKernel
    return type("WarmKernel", (ThisInterpreterKernel,), {"warm_socket": warm_socket})


def execute_notebook(
    source: Path, output: Path, parameters: dict[str, Any], cwd: Path, warm_socket: str = ""
) -> None:
    """Execute `source` into `output` with papermill, working directory `cwd`, its kernel forked from
    `warm_socket` if given; retry once if the kernel failed to start (port races under a process pool)."""
    import papermill

    for attempt in (1, 2):
        try:
            papermill.execute_notebook(
                str(source),
                str(output),
                parameters=parameters,
                kernel_name="python3",
                kernel_manager_class=kernel_manager(warm_socket),
                cwd=str(cwd),
                progress_bar=False,
            )
            return
        except (RuntimeError, TimeoutError):
            # DeadKernelError and cell timeouts are RuntimeError/TimeoutError too: only retry if no cell ran.
            if attempt == 2 or any_cell_started(output):
                raise


def any_cell_started(executed: Path) -> bool:
    """Whether papermill began executing any cell of this (partially) executed notebook."""
    import nbformat

    if not executed.exists():
        return False
    nb = nbformat.read(executed, as_version=4)
    return any(cell.metadata.get("papermill", {}).get("start_time") for cell in nb.cells)
