"""Postfix's smtp-source and smtp-sink, unpacked by scripts/postfix-tools.sh: the reference
sender of the generator's benchmark (bench) and the one-message-per-connection client of the
accept-rate experiment (acceptrate). Apart from both, so neither imports the other for them."""

import os
import subprocess
from pathlib import Path

from siteconfig.layout import REPO

__all__ = ["postfix_env", "postfix_tools"]


def postfix_tools() -> Path:
    """The directory the tools are unpacked in (usr/sbin/smtp-source, usr/sbin/smtp-sink)."""
    out = subprocess.run(["bash", str(REPO / "scripts" / "postfix-tools.sh")], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"cannot get Postfix's smtp-source/smtp-sink: {out.stderr.strip()}")
    return Path(out.stdout.strip())


def postfix_env(tools: Path) -> dict[str, str]:
    """The environment the unpacked Postfix tools run in: their shared libraries."""
    return {**os.environ, "LD_LIBRARY_PATH": str(tools / "usr/lib/postfix")}
