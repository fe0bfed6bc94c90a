"""Warm kernels: one process per suite run imports what the notebooks import, then forks a kernel per notebook.

Starting a kernel and importing pandas, matplotlib, lifelines, statsmodels and scikit-learn cost every notebook
2-4 s of CPU, more than the analysis itself on a few thousand customers. The server pays that once per run;
each kernel is a fork of it, so a notebook's import cell finds its modules loaded. Kernels are started through
`cxresearch.run.warm_launch`, a small process that jupyter_client manages as the kernel (signals, kill, wait)
and that starts an ordinary kernel instead when no server answers.

The server is started as `python -m cxresearch.run.warm SOCKET MODULE...`; it binds SOCKET first, so launchers
that connect while it still imports wait in the listen queue, and exits when the process that started it does.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn

#: Environment variables that size numpy's BLAS and scikit-learn's OpenMP thread pools in a kernel.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

#: Imported whatever the notebooks import: every kernel needs them.
KERNEL_MODULES = ("ipykernel.kernelapp", "IPython.display")

#: The inline backend configures the kernel's shell when it is imported, so it must be imported in the kernel.
NOT_PRELOADED = ("matplotlib_inline",)

#: Largest launch request (argv, working directory and environment as JSON), in bytes.
MAX_REQUEST = 1 << 20

#: Seconds a suite waits for a starting server to bind its socket.
BIND_TIMEOUT = 30.0


def notebook_imports(notebooks: Iterable[Path]) -> list[str]:
    """Modules the notebooks' code cells import (`from a import b` gives `a` and `a.b`, which may be a module)."""
    import nbformat

    modules: set[str] = set()
    for path in notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
            with contextlib.suppress(SyntaxError):
                modules.update(_imported(ast.parse(source)))
    return sorted(modules)


def _imported(tree: ast.AST) -> set[str]:
    """Module names an import statement anywhere in `tree` may load."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


@contextlib.contextmanager
def warm_kernels(notebooks: list[Path], threads: int, log: Path | None = None) -> Iterator[str]:
    """Run a warm-kernel server for `notebooks` while in the block; yields its socket ('' if it did not start).

    `threads` sizes the BLAS/OpenMP pools the server's imports create, as in a cold kernel of the same run; what
    the server prints on stderr while importing goes to `log` (nowhere if None).
    """
    directory = tempfile.mkdtemp(prefix="cx-warm-")
    path = os.path.join(directory, "kernels.sock")
    env = dict(os.environ)
    for variable in THREAD_VARIABLES:
        env.setdefault(variable, str(threads))
    # What ipykernel sets before a notebook imports matplotlib; the server imports it first.
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    modules = [*KERNEL_MODULES, *notebook_imports(notebooks)]
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
    with open(log or os.devnull, "ab") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "cxresearch.run.warm", path, *modules], env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
        )
    try:
        deadline = time.monotonic() + BIND_TIMEOUT
        while not os.path.exists(path) and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        yield path if os.path.exists(path) else ""
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        with contextlib.suppress(OSError):
            os.remove(path)
        with contextlib.suppress(OSError):
            os.rmdir(directory)


def serve(path: str, modules: list[str]) -> None:
    """Bind `path`, import `modules`, then fork a kernel for each launcher that connects, until our parent exits."""
    parent = os.getppid()
    # As `python -m ipykernel_launcher` does: the directory the server started in is no import location.
    if sys.path and sys.path[0] == os.getcwd():
        del sys.path[0]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(64)
    preload(modules)
    # Objects that exist now are shared by every kernel: keep the collector from touching (and copying) them.
    gc.freeze()
    signal.signal(signal.SIGCHLD, _reap)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    listener.settimeout(1.0)
    while os.getppid() == parent:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        with conn:
            _fork_kernel(conn, listener)


def _reap(_signum: int, _frame: Any) -> None:
    """Collect exited kernels (so that their CPU time counts in the server's, and in its starter's)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def preload(modules: list[str]) -> None:
    """Import each of `modules` that exists; one that fails is left to the kernel, which will report it."""
    for name in modules:
        if name.split(".")[0] in NOT_PRELOADED:
            continue
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    # A module that imported the inline backend here would leave kernels without inline figures.
    for name in [name for name in sys.modules if name.split(".")[0] in NOT_PRELOADED]:
        del sys.modules[name]
    sys.stdout.flush()
    sys.stderr.flush()


def _fork_kernel(conn: socket.socket, listener: socket.socket) -> None:
    """Read one launch request from `conn`, fork the kernel it asks for and answer with the kernel's pid."""
    conn.settimeout(10.0)
    try:
        data, fds, _flags, _address = socket.recv_fds(conn, MAX_REQUEST, 3)
    except OSError:
        return
    try:
        request = json.loads(data)
        if len(fds) != 3:
            return
        pid = os.fork()
        if pid == 0:
            listener.close()
            _become_kernel(conn, fds, request)
        conn.sendall(str(pid).encode())
    except (OSError, ValueError):
        return
    finally:
        for fd in fds:
            os.close(fd)


def _become_kernel(conn: socket.socket, fds: list[int], request: dict[str, Any]) -> NoReturn:
    """In the forked child: take the launcher's stdio, directory, environment and argv, and run ipykernel."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in set(fds) - {0, 1, 2}:
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # ipykernel read JPY_PARENT_PID when the server imported it; without it a kernel prints its ports.
        parent = request["env"].get("JPY_PARENT_PID")
        sys.argv = ["ipykernel_launcher", *request["argv"], *([f"--IPKernelApp.parent_handle={parent}"] if parent else [])]
        conn.settimeout(None)
        threading.Thread(target=_exit_with_launcher, args=(conn,), daemon=True).start()
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _exit_with_launcher(conn: socket.socket) -> None:
    """Kernel thread: end the kernel when its launcher is gone, however it ended (even killed)."""
    with contextlib.suppress(OSError):
        while conn.recv(1):
            pass
    os._exit(1)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])
