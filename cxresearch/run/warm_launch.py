"""The kernel jupyter_client starts in a warm-kernel run: `python -m cxresearch.run.warm_launch SOCKET KERNEL_ARGV...`.

It asks the run's warm-kernel server (`run.warm`) to fork an ipykernel with this process's stdio, working
directory, environment and arguments, then stands in for it: signals are passed on, and it exits when the kernel
does (the kernel, in turn, exits when this process is gone). With no server to answer it becomes the ordinary
kernel KERNEL_ARGV. Standard library only, so that it starts in milliseconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys

#: Signals jupyter_client (or a user) may send a kernel: interrupt, terminate, hang up.
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)

#: Seconds to wait for the server's answer: it may still be importing the notebooks' modules.
ANSWER_TIMEOUT = 300.0

#: How an ipykernel is started; what follows it is passed to the forked kernel.
IPYKERNEL = ["-m", "ipykernel_launcher"]


def main(argv: list[str]) -> None:
    """Launch a forked kernel for `argv` = [socket, *kernel argv] and wait for it; else exec the kernel itself."""
    path, kernel = argv[0], argv[1:]
    launched = _request(path, kernel) if kernel[1:3] == IPYKERNEL else None
    if launched is None:
        os.execv(kernel[0], kernel)
    conn, pid = launched
    for signum in FORWARDED:
        signal.signal(signum, lambda signum, _frame: _forward(pid, signum))
    # The kernel holds the other end of the connection: it reads empty once the kernel has exited.
    with conn, contextlib.suppress(OSError):
        while conn.recv(1):
            pass


def _request(path: str, kernel: list[str]) -> tuple[socket.socket, int] | None:
    """The connection to and pid of a kernel the server at `path` forked for `kernel`, or None if it did not."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    request = {"argv": kernel[3:], "cwd": os.getcwd(), "env": dict(os.environ)}
    try:
        conn.settimeout(ANSWER_TIMEOUT)
        conn.connect(path)
        socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2])
        pid = int(conn.recv(64))
    except (OSError, ValueError):
        conn.close()
        return None
    conn.settimeout(None)
    return conn, pid


def _forward(pid: int, signum: int) -> None:
    """Pass `signum` on to the kernel (which may have just exited)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


if __name__ == "__main__":
    main(sys.argv[1:])
