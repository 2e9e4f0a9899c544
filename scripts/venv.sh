#!/usr/bin/env bash
# The suite's virtualenv, linked as $1 (.venv): one per Python version and set of pinned
# dependencies, kept in the user's cache, so a fresh clone (a CI checkout, a second worktree)
# links it in a second instead of installing 460 MB again (about a minute here).
# The project itself is not installed into it: pytest (pyproject's pythonpath) and
# `python -m ...` run from the repository root find harness/, loadgen/ and siteconfig/.
set -euo pipefail
cd "$(dirname "$0")/.."
link=${1:?usage: venv.sh <path of the link, e.g. .venv>}
python=${PYTHON:-python3}

# What the environment is made of: the interpreter, pyproject's dependencies (with the test
# extra) and the lock they are installed under.
requirements=$("$python" -c '
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["test"]))')
key=$({ "$python" --version; echo "$requirements"; cat constraints.txt; } | sha256sum | cut -c1-16)
cache=${XDG_CACHE_HOME:-${HOME:+$HOME/.cache}}
cache=${cache:+$cache/mailchain-testbed}
if [ -z "$cache" ] || ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
  # No usable cache directory (no HOME, a read-only one): the environment stays in the clone.
  cache=$PWD/.build/venvs
  mkdir -p "$cache"
fi
venv=$cache/venv-$key

# One installer at a time (two clones' `make test` at once); a half-made environment (an
# install interrupted) has no .complete and is made again.
exec 9>"$cache/venv.lock"
flock 9
if [ ! -e "$venv/.complete" ]; then
  echo "venv: installing the suite's dependencies into $venv (once per set of pins)"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  # shellcheck disable=SC2086 # one requirement per line, none with spaces
  "$venv/bin/pip" install --quiet --disable-pip-version-check -c constraints.txt $requirements
  touch "$venv/.complete"
fi
flock -u 9

# An environment made here before (a directory, not a link) gives way to the shared one.
if [ -d "$link" ] && [ ! -L "$link" ]; then
  rm -rf "$link"
fi
ln -sfn "$venv" "$link"
touch "$link/.installed"
