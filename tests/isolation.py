"""Run a shell script in a private mount namespace (util-linux `unshare`), so a test can mount a
folder read-only or put an index on a tiny tmpfs without touching the rest of the machine.

As root, permission bits do not stop writes; a read-only bind mount or a full tmpfs does. Without
root, `unshare -r` maps the user to root inside a user namespace (where the kernel allows it).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess


@functools.lru_cache(maxsize=None)
def unshare_prefix() -> list[str] | None:
    """The `unshare` command line that works here, or None (the caller fails with a reason)."""
    if not shutil.which("unshare"):
        return None
    candidates = [["unshare", "-m", "--propagation", "private"]] if os.geteuid() == 0 else []
    candidates.append(["unshare", "-r", "-m", "--propagation", "private"])
    for prefix in candidates:
        try:
            probe = subprocess.run([*prefix, "sh", "-c", "mount -t tmpfs tmpfs /mnt 2>/dev/null || mount -t tmpfs tmpfs /tmp"],
                                   capture_output=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return prefix
    return None


def run_in_namespace(script: str, env: dict, timeout: float = 600, wrap=lambda argv: argv) -> subprocess.CompletedProcess:
    """`script` in a private mount namespace; `wrap` puts the whole command into another namespace
    first (the tests pass `OfflineNamespace.wrap`, so the script also runs without network)."""
    prefix = unshare_prefix()
    assert prefix is not None
    return subprocess.run(wrap([*prefix, "sh", "-c", script]), env=env, capture_output=True, text=True, timeout=timeout)
