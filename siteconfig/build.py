"""make build: build the chain's images from the assembled configuration, and say in the
configuration's own terms what went wrong or what the testbed adapted.

The install scripts in the images (images/common/install-sendmail-config) mark a tool's
refusal with "testbed-config-error<TAB>tool<TAB>file<TAB>message" lines and list what they
adapted in /etc/testbed/adapted. This reads both and prints them against the user's file
and line, with the fix where the cause is known. Docker's own output goes to a log file
(shown with V=1).

python -m siteconfig.build   uses $TESTBED_CONFIG, $TESTBED_SOURCE_CONFIG, $TESTBED_TAG.
"""

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from siteconfig.compiled import chain_cfs
from siteconfig.configfiles import ConfigFiles
from siteconfig.layout import REPO, SAMPLE

__all__ = ["Refusal", "adaptations", "explain", "refusals"]

MARKER = "testbed-config-error"
# BuildKit's plain progress prefixes each line of a step's output with "#12 0.345 ".
_STEP_PREFIX = re.compile(r"^#\d+ \d+\.\d+ ")
# A tool's message -> the fix, where the cause is known.
FIXES = [
    (r"cannot open `([^']*cf\.m4)'", "cf.m4 is at /usr/share/sendmail/cf/m4/cf.m4 here (Debian; Fedora's "
     "/usr/share/sendmail-cf and FreeBSD's paths lead there too): include it by one of those paths, or drop the "
     "include line, since the testbed puts cf.m4 first when the .mc does not include it"),
    (r"cannot open `[^']*/(mailer|hack|feature|ostype|domain)/[^']*'", "that file is not part of sendmail-cf: a "
     "mailer, hack or feature of a site's own cannot come in a config folder, so the testbed cannot run this line; "
     "remove it (and what depends on it) to test the rest"),
    (r"cannot open `([^']*)'", "the file named there is not in the image: bring it in the config folder, or "
     "include it by the path sendmail-cf has on Debian (/usr/share/sendmail/cf/...)"),
    (r"end of file in (string|argument list)", "a quote opened with ` on that line is never closed with ': m4 "
     "read the rest of the file as one string"),
    (r"FEATURE\(\) should be before MAILER\(\)", "move the FEATURE() lines above the first MAILER() line"),
    (r"duplicate OSTYPE|missing argument for FEATURE", "sendmail's cf.m4 turns m4's # comments off (changecom): a "
     "macro named in a # line runs like any other; write that comment with dnl, or without the macro's name"),
    (r"no RHS for LHS", "each line of a map is a key and a value separated by white space; this one has no value"),
    (r"Permission denied", "sendmail and makemap trust only root and confTRUSTED_USER with /etc/mail; Debian's "
     "belongs to smmta: define(`confTRUSTED_USER', `smmta') in the .mc"),
    (r"unknown configuration line", "a macro m4 did not know is left as it is in the .cf: check its spelling"),
]
# Where a tool's message names the line of the file ("m4:/etc/mail/thishost-rx.mc:12:",
# "makemap: ...: line 3:"); m4's line of another file (cf.m4, an ostype) is not the user's.
_MAKEMAP_LINE = re.compile(r": line (\d+):")


@dataclass(frozen=True)
class Refusal:
    tool: str
    file: str  # as in the config folder, e.g. rx/thishost-rx.mc
    messages: tuple[str, ...]

    @property
    def line(self) -> int | None:
        own = re.compile(rf"^m4:(?:[^:]*/)?{re.escape(Path(self.file).name)}:(\d+):")
        for message in self.messages:
            if match := own.search(message) or (_MAKEMAP_LINE.search(message) if self.tool == "makemap" else None):
                return int(match.group(1))
        return None

    @property
    def fix(self) -> str | None:
        text = "\n".join(self.messages)
        return next((fix for pattern, fix in FIXES if re.search(pattern, text)), None)


def refusals(log: str) -> list[Refusal]:
    """The configuration refusals marked in a build log, grouped by tool and file."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for raw in log.splitlines():
        line = _STEP_PREFIX.sub("", raw)
        if line.startswith(MARKER + "\t"):
            _, tool, file, message = [*line.split("\t", 3), ""][:4]
            if message.strip() and not message.startswith("WARNING: World writable"):
                grouped.setdefault((tool, file), []).append(message.strip())
    return [Refusal(tool, file, tuple(messages)) for (tool, file), messages in grouped.items()]


def _line_of(files: ConfigFiles, rel: str, says: str) -> int | None:
    """The first line (comments aside) that names `says`, else its last path component
    (the .mc may build the path from a macro: `CERT_DIR/sendmail.pem')."""
    lines = [(n, line) for n, line in enumerate((files.text(rel) or "").splitlines(), start=1)
             if not line.lstrip().startswith(("#", "dnl"))]
    for needle in (says, says.rsplit("/", 1)[-1]):
        found = next((number for number, line in lines if needle and needle in line), None)
        if found is not None:
            return found
    return None


def _feature_after_mailer(files: ConfigFiles, rel: str) -> int | None:
    """cf.m4 names no line for "FEATURE() should be before MAILER()": the first FEATURE
    after a MAILER."""
    seen_mailer = False
    for number, line in enumerate((files.text(rel) or "").splitlines(), start=1):
        seen_mailer = seen_mailer or line.lstrip().startswith("MAILER(")
        if seen_mailer and line.lstrip().startswith("FEATURE("):
            return number
    return None


def _unclosed_quote(text: str) -> int | None:
    """The line with a ` it does not close (m4 names only the end of the file, where it
    ran out): .mc lines keep their quotes balanced, even a value spread over lines."""
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.split("dnl", 1)[0]
        if not line.lstrip().startswith("#") and code.count("`") > code.count("'"):
            return number
    return None


def _named_in_a_comment(files: ConfigFiles, refusal: Refusal) -> int | None:
    """The # line that names a macro cf.m4 complains about ("duplicate OSTYPE(x)", "missing
    argument for FEATURE(`x')"): m4 expands it there, since cf.m4 turns # comments off."""
    text = " ".join(refusal.messages)
    names = [f"OSTYPE({name}" for name in re.findall(r"duplicate OSTYPE\(`?([\w.-]+)", text)]
    names += [f"FEATURE({name}" for name in re.findall(r"FEATURE\(`([\w.-]+)'\)", text)]
    for number, line in enumerate((files.text(refusal.file) or "").splitlines(), start=1):
        plain = line.replace("`", "").replace("'", "")
        if line.lstrip().startswith("#") and any(name in plain for name in names):
            return number
    return None


def explain(refusal: Refusal, files: ConfigFiles) -> str:
    line = refusal.line
    if line is None and any("should be before MAILER" in message for message in refusal.messages):
        line = _feature_after_mailer(files, refusal.file)
    if line is None:
        line = _named_in_a_comment(files, refusal)
    if any("end of file in" in message for message in refusal.messages):
        line = _unclosed_quote(files.text(refusal.file) or "") or line
    where = f"{files.shown(refusal.file)}:{line}" if line else files.shown(refusal.file)
    text = f"{where}: {refusal.tool} refused it:\n" + "\n".join(f"    {m}" for m in refusal.messages)
    return text + (f"\n  fix: {refusal.fix}" if refusal.fix else "")


def adaptations(files: ConfigFiles, tag: str) -> list[str]:
    """What the images' install adapted, each against the user's file and line."""
    shown = []
    for service, (image, _) in chain_cfs().items():
        out = subprocess.run(["docker", "run", "--rm", "--network", "none", "--entrypoint", "cat", f"{image}:{tag}",
                              "/etc/testbed/adapted"], capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            shown.append(f"{image}:{tag}: cannot read what was adapted: {out.stderr.strip()[:300]}")
            continue
        for entry in dict.fromkeys(out.stdout.splitlines()):  # each once, in order
            rel, says, what = [*entry.split("\t", 2), "", ""][:3]
            line = _line_of(files, rel, says)
            shown.append(f"{files.shown(rel)}{f':{line}' if line else ''}: {service}: {what}")
    return shown


def main() -> int:
    assembled = REPO / os.environ.get("TESTBED_CONFIG", "config/sample")
    files = ConfigFiles(assembled, Path(os.environ.get("TESTBED_SOURCE_CONFIG", SAMPLE)))
    tag = os.environ.get("TESTBED_TAG", "latest")
    log_path = REPO / ".build" / f"build-{assembled.name}.log"
    verbose = os.environ.get("V", "") not in ("", "0")
    command = ["docker", "compose", "--progress", "plain", "build"]
    with log_path.open("w") as log, subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                                                     stderr=subprocess.STDOUT, text=True) as build:
        for line in build.stdout or []:  # into the log, and with V=1 onto the terminal too
            log.write(line)
            if verbose:
                sys.stdout.write(line)
    if build.returncode == 0:
        for line in adaptations(files, tag):
            print(f"adapted: {line}")
        return 0
    found = refusals(log_path.read_text(errors="replace"))
    for refusal in found:
        print(f"build: {explain(refusal, files)}", file=sys.stderr)
    if found:
        print(f"build: the configuration {files.source} does not build; fix the line above and run again "
              f"(Docker's output: {log_path.relative_to(REPO)}, or V=1)", file=sys.stderr)
    else:
        tail = [_STEP_PREFIX.sub("", line) for line in log_path.read_text(errors="replace").splitlines()[-25:]]
        print("build: the images did not build, and no configuration file was refused; the end of Docker's "
              f"output ({log_path.relative_to(REPO)}):\n" + "\n".join(f"    {line}" for line in tail), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
