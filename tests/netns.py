"""Loopback-only network namespaces for every process the tests start.

The socket guard in conftest only sees the pytest process. Every other process a test starts (the
CLI, Streamlit, a Chroma server, pip, Chromium) runs in a Linux network namespace whose only
interface is `lo`: a connection off the machine fails there with "Network is unreachable", and the
kernel counts each such attempt in that namespace's own statistics (`OutNoRoutes` in
/proc/net/snmp and snmp6, also for DNS lookups). `OfflineNamespace.assert_offline()` checks those
counters, so a process that *tries* the network fails the test loudly even when the library that
tried swallows the error.

Creating a namespace needs util-linux `unshare -n` and root (CI runs the tests as root); without
root, `unshare -r -n` is tried (a user namespace, where the kernel allows it). Where neither works,
`OfflineNamespace()` raises `NamespaceUnavailable` with the reason, and tests fail with it: they
never skip.

Run as a script, this module is the small launcher the namespace uses:
    python tests/netns.py hold                  bring `lo` up, print "ready", live until stdin closes
    python tests/netns.py join NS -- CMD ...    enter the namespace of process NS, then exec CMD
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve()
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
# Kernel counters of attempts to reach an address no route leads to (TCP connect, UDP send, DNS).
LEAVE_COUNTERS = ("Ip:OutNoRoutes", "Ip6OutNoRoutes")


class NamespaceUnavailable(RuntimeError):
    """No loopback-only network namespace can be made here (the message says why)."""


def _setns(path: str, nstype: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, nstype) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


def _loopback_up() -> None:
    """`ip link set lo up` without needing iproute2: SIOCGIFFLAGS / SIOCSIFFLAGS on `lo`."""
    import fcntl
    import socket
    import struct

    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(s, siocgifflags, request))[1]
        fcntl.ioctl(s, siocsifflags, struct.pack("16sh", b"lo", flags | iff_up))


def read_counters(pid: int | str = "self") -> dict[str, int]:
    """The network statistics of the namespace process `pid` lives in."""
    counters: dict[str, int] = {}
    lines = Path(f"/proc/{pid}/net/snmp").read_text().splitlines()
    for header, values in zip(lines[::2], lines[1::2]):
        names, numbers = header.split(), values.split()
        prefix = names[0]
        counters.update({prefix + name: int(n) for name, n in zip(names[1:], numbers[1:])})
    snmp6 = Path(f"/proc/{pid}/net/snmp6")
    if snmp6.exists():
        for line in snmp6.read_text().splitlines():
            name, value = line.split()
            counters[name] = int(value)
    return counters


def _unshare_candidates() -> list[list[str]]:
    candidates = [["unshare", "-n"]] if os.geteuid() == 0 else []
    candidates.append(["unshare", "-r", "-n"])
    return candidates


class OfflineNamespace:
    """A network namespace with only `lo`, kept alive by a small holder process.

    `wrap(argv)` / `run()` / `popen()` start processes inside it; `entered()` moves the calling
    thread in (for an in-process client of a server running inside, and for everything that thread
    starts); `assert_offline()` fails when any process in it tried to reach another machine."""

    def __init__(self):
        if not shutil.which("unshare"):
            raise NamespaceUnavailable(
                "`unshare` (util-linux) fehlt: ohne Netz-Namensraum lässt sich nicht prüfen, dass die gestarteten "
                "Prozesse offline bleiben. Installieren mit: apt-get install util-linux"
            )
        problems = []
        for prefix in _unshare_candidates():
            proc = subprocess.Popen(
                [*prefix, sys.executable, "-I", str(HERE), "hold"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            line = proc.stdout.readline().strip()
            if line == "ready":
                self.holder = proc
                break
            proc.kill()
            _, err = proc.communicate(timeout=10)
            problems.append(f"{' '.join(prefix)}: {err.strip()[-300:] or line or proc.returncode}")
        else:
            raise NamespaceUnavailable(
                "Kein Netz-Namensraum möglich (die Tests laufen in CI als root): " + " | ".join(problems)
            )
        self.pid = self.holder.pid
        self.path = f"/proc/{self.pid}/ns/net"
        own_user = os.stat("/proc/self/ns/user").st_ino
        self.user_path = f"/proc/{self.pid}/ns/user" if os.stat(f"/proc/{self.pid}/ns/user").st_ino != own_user else None
        self.baseline = self.leave_attempts(absolute=True)

    # -- starting processes inside ---------------------------------------------------------------

    def wrap(self, argv: list[str]) -> list[str]:
        """The command line that runs `argv` inside this namespace."""
        joins = [self.path] if self.user_path is None else [self.user_path, self.path]
        return [sys.executable, "-I", str(HERE), "join", *joins, "--", *map(str, argv)]

    def run(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(self.wrap(argv), **kwargs)

    def popen(self, argv: list[str], **kwargs) -> subprocess.Popen:
        return subprocess.Popen(self.wrap(argv), **kwargs)

    @contextlib.contextmanager
    def entered(self):
        """Run the block with the calling thread inside the namespace: sockets it opens and
        processes (and threads) it starts live there. Needs root (CI)."""
        if self.user_path is not None:
            raise NamespaceUnavailable("Einen Netz-Namensraum im Testprozess selbst zu betreten braucht root.")
        back = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(self.path, CLONE_NEWNET)
            try:
                yield self
            finally:
                libc = ctypes.CDLL(None, use_errno=True)
                if libc.setns(back, CLONE_NEWNET) != 0:  # cannot happen as root; never stay inside silently
                    print(f"could not leave the test network namespace: {os.strerror(ctypes.get_errno())}", file=sys.stderr)
                    os._exit(70)
        finally:
            os.close(back)

    # -- the check -------------------------------------------------------------------------------

    def leave_attempts(self, absolute: bool = False) -> dict[str, int]:
        """Attempts to reach another machine since the namespace was made, by counter."""
        counters = read_counters(self.pid)
        found = {name: counters.get(name, 0) for name in LEAVE_COUNTERS}
        if absolute:
            return found
        return {name: value - self.baseline[name] for name, value in found.items() if value - self.baseline[name]}

    def assert_offline(self, what: str = "a process in the test's network namespace") -> None:
        attempts = self.leave_attempts()
        assert not attempts, (
            f"{what} tried to reach another machine (kernel counters of the loopback-only namespace: {attempts}); "
            "the offline guarantee is broken"
        )

    def close(self) -> None:
        if self.holder.poll() is None:
            self.holder.stdin.close()
            try:
                self.holder.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.holder.kill()
                self.holder.wait(timeout=10)
        for stream in (self.holder.stdout, self.holder.stderr):
            stream.close()

    def __enter__(self) -> "OfflineNamespace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Bridge:
    """Forwards TCP connections to 127.0.0.1:`port` in namespace `front` to the same address in
    namespace `back`: the browser lives in one namespace, the app in another, so the strict check
    of the app's namespace is not muddied by the browser's own habits (Chromium probes IPv6
    reachability by connecting a UDP socket to 2001:4860:4860::8888 on every new host, with no flag
    to turn that off)."""

    def __init__(self, front: OfflineNamespace, back: OfflineNamespace, port: int):
        import socket
        import threading

        self.back, self.port = back, port
        with front.entered():
            self.listener = socket.create_server(("127.0.0.1", port))
        self.listener.settimeout(0.5)
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True, name=f"bridge-{port}")
        self.thread.start()

    def _accept(self) -> None:
        import socket
        import threading

        with self.back.entered():  # this thread opens every upstream connection inside `back`
            while not self.closed.is_set():
                try:
                    client, _ = self.listener.accept()
                except (TimeoutError, socket.timeout):
                    continue
                except OSError:
                    return
                try:
                    upstream = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                except OSError:
                    client.close()
                    continue
                upstream.settimeout(None)
                client.settimeout(None)
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink) -> None:
        import socket

        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:  # one side is done: end both directions; each socket is closed by the pump reading it
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            source.close()

    def close(self) -> None:
        self.closed.set()
        self.thread.join(timeout=5)
        self.listener.close()


def run_offline(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run one command in a fresh loopback-only namespace and check it did not try to leave."""
    with OfflineNamespace() as ns:
        proc = ns.run(argv, **kwargs)
        ns.assert_offline(f"`{' '.join(map(str, argv))[:120]}`")
    return proc


def _main(argv: list[str]) -> int:
    if argv[:1] == ["hold"]:
        _loopback_up()
        print("ready", flush=True)
        sys.stdin.read()  # until the test closes our stdin (or dies)
        return 0
    if argv[:1] == ["join"] and "--" in argv:
        split = argv.index("--")
        paths, command = argv[1:split], argv[split + 1:]
        for path in paths:
            _setns(path, CLONE_NEWUSER if path.endswith("/user") else CLONE_NEWNET)
        try:
            os.execvp(command[0], command)
        except OSError as exc:
            print(f"netns join: cannot run {command[0]}: {exc}", file=sys.stderr)
            return 127 if exc.errno == errno.ENOENT else 126
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
