"""Keep a server reachable from this machine's loopback only, when it cannot bind to 127.0.0.1 itself.

Orthanc 1.10 (Debian 12) always listens on every interface: an option to choose the HTTP bind address
(``HttpBindAddresses``) arrived only in Orthanc's 2025 mainline, and ``RemoteAccessAllowed: false`` merely answers
remote clients with 403 after accepting them. So the server runs in a private network namespace (``unshare
--net``), whose only interface is its own loopback, and this module relays one host-loopback TCP port into it:
the listening socket is made on the host's 127.0.0.1 *before* ``unshare``, passed down as a file descriptor (a
socket keeps the namespace it was made in), and :func:`main` accepts on it inside the namespace and connects to
the server there. Nothing listens on a host interface other than 127.0.0.1.

``python -m xray_core.pacs.loopback FD PORT -- COMMAND...`` is that relay (run inside the namespace).
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

#: Tried in order: unprivileged (a user namespace maps us to root inside), then plain root.
UNSHARE_VARIANTS = (("--user", "--map-root-user", "--net"), ("--net",))
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
_CHUNK = 1 << 16
_PR_SET_PDEATHSIG = 1


class NamespaceUnavailable(RuntimeError):
    """No private network namespace can be made here (no ``unshare``, or namespaces are forbidden)."""


def die_with_parent() -> None:
    """In a child before exec: be sent SIGTERM when the parent dies (prctl PR_SET_PDEATHSIG), so a killed test
    run or shell never leaves a server behind in a namespace no one can reach."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def loopback_listener(port: int = 0) -> socket.socket:
    """A listening TCP socket on the host's 127.0.0.1 (``port`` 0: a free one), inheritable by a child."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    listener.set_inheritable(True)
    return listener


def unshare_prefix() -> list[str]:
    """The ``unshare`` command line that gives a child its own network namespace on this machine."""
    unshare = shutil.which("unshare")
    if unshare is None:
        raise NamespaceUnavailable("'unshare' (util-linux) is missing: apt-get install util-linux")
    errors = []
    for flags in UNSHARE_VARIANTS:
        probe = subprocess.run([unshare, *flags, "true"], capture_output=True, text=True)
        if probe.returncode == 0:
            return [unshare, *flags, "--"]
        errors.append(f"unshare {' '.join(flags)}: {probe.stderr.strip() or probe.returncode}")
    raise NamespaceUnavailable(
        "cannot make a private network namespace, so a server that binds every interface cannot be kept on "
        "loopback (" + "; ".join(errors) + "); allow unprivileged user namespaces or run as root"
    )


def relay_command(listener: socket.socket, inner_port: int, command: list[str]) -> list[str]:
    """The command that runs ``command`` in a private network namespace behind ``listener`` (pass its fd)."""
    return [*unshare_prefix(), sys.executable, "-m", __name__, str(listener.fileno()), str(inner_port), "--", *command]


def _loopback_up() -> None:
    """A new network namespace's ``lo`` is down: bring it up (SIOCSIFFLAGS; root inside the namespace)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh22x", b"lo", 0)
        flags = struct.unpack("16sh22x", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sh22x", b"lo", flags | _IFF_UP))


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(_CHUNK):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _serve(listener: socket.socket, inner_port: int) -> None:
    while True:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection(("127.0.0.1", inner_port), timeout=30)
        except OSError:
            client.close()
            continue
        upstream.settimeout(None)
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
        threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()


def main(argv: list[str]) -> int:
    """Inside the namespace: bring ``lo`` up, start the server, relay until it exits; SIGTERM/SIGINT stop it."""
    fd, inner_port, command = int(argv[0]), int(argv[1]), argv[3:]
    _loopback_up()
    listener = socket.socket(fileno=fd)
    server = subprocess.Popen(command, preexec_fn=die_with_parent)

    def stop(signum: int, frame: object) -> None:
        server.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=_serve, args=(listener, inner_port), daemon=True).start()
    while server.poll() is None:
        time.sleep(0.2)
    return server.returncode


if __name__ == "__main__":  # pragma: no cover - runs in the child process
    sys.exit(main(sys.argv[1:]))
