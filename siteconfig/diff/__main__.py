"""python -m siteconfig.diff OLD NEW   (make diff OLD=folder-or-git-revision [NEW=folder] [EXPECT=...])

Both sides run through lint and the suite (`make test`, one chain each, side by side) and are
compared: reports/diff.md and reports/junit-diff.xml. Exit 0 when nothing changed, or only the
policy values EXPECT names ("users.existing limits.max_message_size") with no row failing on
NEW that passed on OLD; 1 when the change needs review; 2 when a side cannot be read."""

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from siteconfig.diff.compare import compare, text_only_files
from siteconfig.diff.promises import promises_of
from siteconfig.diff.report import write_junit, write_markdown
from siteconfig.diff.sides import SideError, resolve_old
from siteconfig.errors import TestbedError
from siteconfig.layout import BUILD, REPO
from siteconfig.suite import run_suite


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[0]:
        print("usage: make diff OLD=folder-or-git-revision [NEW=folder] [EXPECT='section.key ...']", file=sys.stderr)
        return 2
    new = Path(argv[1])
    if not new.is_dir():
        print(f"diff: NEW={new} is not a folder (NEW defaults to CONFIG)", file=sys.stderr)
        return 2
    try:
        old, old_name = resolve_old(argv[0], new)
        if old.resolve() == new.resolve():
            raise SideError(f"OLD and NEW are the same folder ({new}): give OLD as the configuration before the "
                            "change (a folder, or a git revision such as OLD=origin/main)")
        sides = {"old": promises_of(old, BUILD / "diff" / "old"), "new": promises_of(new, BUILD / "diff" / "new")}
    except (SideError, TestbedError, FileNotFoundError) as unreadable:
        print(f"diff: {unreadable}", file=sys.stderr)
        return 2
    expect = set(os.environ.get("DIFF_EXPECT", "").split())
    tests = os.environ.get("DIFF_TESTS", "")  # default: make test's suite without its slow rows (SLOW=0)
    shown = tests or "make test's, without the slow rows"
    print(f"diff: OLD {old_name}, NEW {new}: lint and the suite ({shown}) on each, side by side ...", flush=True)
    logs = {side: BUILD / "diff" / f"{side}.log" for side in sides}
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {side: pool.submit(run_suite, folder, f"diff-{side}", tests, logs[side], make_args=("SLOW=0",))
                for side, folder in (("old", old), ("new", new))}
        outcome = {side: run.result() for side, run in runs.items()}
    got = compare(sides["old"], sides["new"], outcome["old"], outcome["new"], expect)
    files = text_only_files(sides["old"], sides["new"])
    write_markdown(REPO / "reports" / "diff.md", (old_name, str(new)), sides["old"], sides["new"], got, files)
    write_junit(REPO / "reports" / "junit-diff.xml", got)
    for change in got.values:
        print(f"diff: {change.key}: {change.old!r} -> {change.new!r}   (NEW: {change.new_source})")
    for row in got.rows:
        print(f"diff: {row.test}: {row.old} -> {row.new}" + (f" ({row.new_why})" if row.new_why else ""))
    for side, said in got.refused.items():
        print(f"diff: {side} refused: {said}   (log: {logs[side.lower()]})")
    for why in got.undeclared:
        print(f"diff: needs review: {why}", file=sys.stderr)
    runs_seen = {side: f"{o.count('passed')} passed, {o.count('failed')} failed, {o.count('n/a')} n/a"
                 for side, o in outcome.items() if not o.refused}
    print(f"diff: {'; '.join(f'{side.upper()} {said}' for side, said in runs_seen.items())}")
    verdict = "nothing changed" if not got.changed else "changed as declared" if not got.undeclared else "changed"
    print(f"diff: {verdict}; reports/diff.md, reports/junit-diff.xml; the logs in {BUILD.relative_to(REPO)}/diff/")
    return 1 if got.undeclared else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
