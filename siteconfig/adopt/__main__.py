"""python -m siteconfig.adopt MC [OUT]   (make adopt MC=... [OUT=...])

Writes OUT (default adopted/<the .mc's name>): rx/thishost-rx.mc and tx/thishost-tx.mc split
from the site's one .mc by the document's rules, milter/thishost-milter.mc (the same site as
the milter topology's one sendmail, for TOPOLOGY=milter), the site's maps, aliases and local-host-names
found beside the .mc, and adopt.md, the report of every decision. Then `make test CONFIG=OUT`
runs the suite on the pair, with the policy derived from the site's own settings."""

import hashlib
import os
import shutil
import sys
from pathlib import Path

from siteconfig.adopt.mc import McError
from siteconfig.adopt.milter import milter_mc
from siteconfig.adopt.pair import adopt_mc
from siteconfig.adopt.report import write_report
from siteconfig.layout import REPO

# Files a site keeps beside its .mc, and where the testbed's folder format has them: a map
# goes to the instance that reads it (the access map at SMTP time, mailertable on delivery).
BESIDE = {"access": ["rx/access"], "mailertable": ["tx/mailertable"],
          "virtusertable": ["rx/virtusertable", "tx/virtusertable"], "genericstable": ["tx/genericstable"],
          "domaintable": ["rx/domaintable", "tx/domaintable"], "authinfo": ["tx/authinfo"], "aliases": ["aliases"],
          "local-host-names": ["local-host-names"], "sendmail.cw": ["local-host-names"]}


def _cf_tree() -> Path | None:
    """sendmail-cf's tree, where Berkeley's domain files are read to inline them: ADOPT_CF_TREE,
    or this host's own."""
    for tree in (os.environ.get("ADOPT_CF_TREE"), "/usr/share/sendmail/cf"):
        if tree and (Path(tree) / "domain").is_dir():
            return Path(tree)
    return None


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 2:
        print("usage: make adopt MC=path/to/sendmail.mc [OUT=folder]", file=sys.stderr)
        return 64
    mc = Path(argv[0])
    if not mc.is_file():
        print(f"adopt: {mc}: no such file (MC= names the site's one .mc)", file=sys.stderr)
        return 66
    out = Path(argv[1]) if len(argv) > 1 and argv[1] else REPO / "adopted" / mc.stem
    raw = mc.read_bytes()
    try:
        adopted = adopt_mc(raw.decode("latin-1"), _cf_tree())  # byte for byte: old files are not UTF-8
    except McError as unreadable:
        print(f"adopt: {mc}:{unreadable}; nothing written", file=sys.stderr)
        return 65
    if out.exists():
        shutil.rmtree(out)
    milter = milter_mc(raw.decode("latin-1"), _cf_tree())
    for role, text in (("rx", adopted.rx), ("tx", adopted.tx), ("milter", milter)):
        path = out / role / f"thishost-{role}.mc"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("latin-1"))
    copied = []
    for name, targets in BESIDE.items():
        if (mc.parent / name).is_file():
            for target in targets:
                (out / target).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(mc.parent / name, out / target)
                copied.append(f"{name} -> {target}")
    source = os.environ.get("ADOPT_SOURCE") or str(mc)
    write_report(out / "adopt.md", adopted, source, hashlib.sha256(raw).hexdigest(), copied)
    unplaced = [d for d in adopted.decisions if not d.placement.understood]
    print(f"adopt: {out}: rx/thishost-rx.mc, tx/thishost-tx.mc and adopt.md from {source} "
          f"({len(adopted.decisions)} statements placed, {len(unplaced)} not understood and kept in both"
          f"{', ' + ', '.join(copied) if copied else ''})")
    for decision in unplaced:
        print(f"adopt: {mc}:{decision.line}: {decision.placement.why}")
    print(f"adopt: next: make test CONFIG={out}   (the same site as one sendmail with amavisd-milter: "
          f"make test CONFIG={out} TOPOLOGY=milter)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
