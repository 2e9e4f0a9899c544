"""adopt.md: every decision `make adopt` took, a person's reading of the adopted pair."""

from pathlib import Path

from siteconfig.adopt.pair import Adopted

__all__ = ["write_report"]


def _first_line(text: str, width: int = 70) -> str:
    line = text.strip().split("\n")[0]
    line = line if len(line) <= width else line[: width - 3] + "..."
    return line.replace("|", "\\|")


def write_report(path: Path, adopted: Adopted, source: str, digest: str, copied: list[str]) -> None:
    decisions = adopted.decisions
    lines = [
        "# Adopted pair", "",
        f"From `{source}` (sha256 {digest[:16]}...), by the document's rules (README.sendmail-dual: receiving "
        "settings and resource limits to thishost-rx.mc, delivering settings to thishost-tx.mc, general ones to "
        "both; MTA-TX with none or hardly any limits).", "",
        f"MTA-RX's queue runners: R={adopted.runners} (amavisd-new's `$max_servers` is matched to it by the testbed).",
        "",
        "| line | the site's statement | goes to | rule | why |", "|---:|---|---|---|---|",
    ]
    for d in decisions:
        why = d.placement.why + (f"; {d.instead}" if d.instead else "") + (f" (from {d.origin})" if d.origin else "")
        lines.append(f"| {d.line} | `{_first_line(d.text)}` | {d.where} | {d.placement.rule} | {why} |")
    not_adopted = [d for d in decisions if d.kept_as_note]
    unknown = [d for d in decisions if not d.placement.understood]
    lines += ["", "## Not adopted as written", ""]
    lines += [f"- line {d.line}: `{_first_line(d.text)}`: {d.placement.why}; instead: {d.instead}"
              for d in not_adopted] or ["- none"]
    lines += ["", "## Not understood (kept where they were, in both files)", ""]
    lines += [f"- line {d.line}: `{_first_line(d.text)}`: {d.placement.why}" for d in unknown] or ["- none"]
    for role in ("rx", "tx"):
        lines += ["", f"## The document's own lines in MTA-{role.upper()}", ""]
        lines += [f"- `{text}`: {why}" for text, why in adopted.document[role]]
    lines += ["", "## Files beside the .mc", ""] + ([f"- {c}" for c in copied] or ["- none found"])
    lines += ["", "Next: `make test CONFIG=" + path.parent.as_posix() + "`", ""]
    path.write_text("\n".join(lines))
