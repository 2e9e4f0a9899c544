"""OLD and NEW as folders. OLD may be a folder or a git revision (origin/main, HEAD~1, a tag),
as a CI job of a configuration repository has it: then NEW's folder as that revision had it
is taken out of git (git archive) into .build/diff/, and nothing in the working tree moves."""

import io
import re
import subprocess
import tarfile
from pathlib import Path

from siteconfig.errors import SideError
from siteconfig.layout import BUILD

__all__ = ["SideError", "resolve_old"]


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    # Read only; safe.directory: make runs as root (sudo) in a checkout another user owns.
    return subprocess.run(["git", "-c", "safe.directory=*", "-C", str(folder), *args], capture_output=True)


def resolve_old(old: str, new: Path) -> tuple[Path, str]:
    """OLD as a folder, and how the report names it."""
    if Path(old).is_dir():
        return Path(old), old
    top = _git(new, "rev-parse", "--show-toplevel")
    if top.returncode:
        raise SideError(f"OLD={old} is not a folder, and NEW={new} is not in a git repository whose revision it "
                        "could be: give OLD as a folder, or NEW inside the repository that has the revision")
    root = Path(top.stdout.decode().strip())
    commit = _git(root, "rev-parse", "--verify", "--quiet", f"{old}^{{commit}}")
    if commit.returncode:
        raise SideError(f"OLD={old} is neither a folder nor a revision of {root} (git rev-parse found none)")
    sha = commit.stdout.decode().strip()
    rel = new.resolve().relative_to(root.resolve()).as_posix()
    archive = _git(root, "archive", "--format=tar", sha, rel)
    if archive.returncode:
        raise SideError(f"{rel} is not in {old} ({sha[:12]}): {archive.stderr.decode().strip()}")
    into = BUILD / "diff" / f"old-{re.sub(r'[^A-Za-z0-9_.-]', '_', old)}-{sha[:8]}"
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / rel, f"{old} ({sha[:12]}) of {rel}"
