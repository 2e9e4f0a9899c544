"""The document's advice, as against its musts (siteconfig/check/invariants.py): a site that
does not follow it still gets a chain and the whole suite, and each piece of advice it does
not follow is a failed row of the report (tests/test_advice.py), with its file, line and fix.

- MTA-RX stops taking mail before MTA-TX does: RX's MinFreeBlocks above TX's ("confMIN_FREE_BLOCKS
  at MTA-RX should be kept higher than the same setting at MTA-TX");
- MTA-RX drops root (RunAsUser: the SECURITY NOTE);
- MTA-TX has no resource limits, or larger ones than MTA-RX (RefuseLA, MaxDaemonChildren).
"""

from collections.abc import Callable

from siteconfig.check.context import Context, Finding
from siteconfig.compiled import CompiledCf
from siteconfig.configfiles import mc_define

__all__ = ["ADVICE", "check_advice"]

# sendmail's defaults (sendmail/conf.c) for the options compared here.
MIN_FREE_BLOCKS_DEFAULT = 100
REFUSE_LA_DEFAULT = 12  # per CPU: sendmail scales it, so only the two .cf values are compared


def _disk(ctx: Context, rx: CompiledCf, tx: CompiledCf) -> list[Finding]:
    rx_blocks = rx.number("MinFreeBlocks", MIN_FREE_BLOCKS_DEFAULT)
    tx_blocks = tx.number("MinFreeBlocks", MIN_FREE_BLOCKS_DEFAULT)
    if rx_blocks > tx_blocks:
        return []
    option = rx.options.get("MinFreeBlocks")
    where = ctx.in_cf("rx", mc_define(ctx.files.mc("rx"), "confMIN_FREE_BLOCKS"), option.line if option else None)
    return [Finding(*where, f"MTA-RX's MinFreeBlocks ({rx_blocks}) is not above MTA-TX's ({tx_blocks}): on a "
                            "full disk MTA-RX should refuse new mail while MTA-TX can still take what is in flight "
                            f"(fix: define(`confMIN_FREE_BLOCKS', `{max(tx_blocks * 10, 10000)}') in the RX .mc)")]


def _privileges(ctx: Context, rx: CompiledCf, tx: CompiledCf) -> list[Finding]:
    user = (rx.option("RunAsUser") or "").split(":", 1)[0]
    if user and user not in ("root", "0"):
        return []
    option = rx.options.get("RunAsUser")
    where = ctx.in_cf("rx", mc_define(ctx.files.mc("rx"), "confRUN_AS_USER"), option.line if option else None)
    return [Finding(*where, f"MTA-RX runs as {user or 'root (no RunAsUser)'}: the document has it drop "
                            "privileges after binding its ports (fix: define(`confRUN_AS_USER', `smmsp:smmsp') "
                            "and the RX queue owned by smmsp)")]


def _limits(ctx: Context, rx: CompiledCf, tx: CompiledCf) -> list[Finding]:
    findings = []
    for option, macro, default in (("RefuseLA", "confREFUSE_LA", REFUSE_LA_DEFAULT),
                                   ("MaxDaemonChildren", "confMAX_DAEMON_CHILDREN", 0)):
        rx_value, tx_value = rx.number(option, default), tx.number(option, default)
        # MaxDaemonChildren 0 is no limit: the largest of all.
        unlimited = option == "MaxDaemonChildren"
        if (unlimited and tx_value == 0) or ((not unlimited or rx_value != 0) and tx_value > rx_value):
            continue
        setting = tx.options.get(option)
        where = ctx.in_cf("tx", mc_define(ctx.files.mc("tx"), macro), setting.line if setting else None)
        findings.append(Finding(*where, f"MTA-TX's {option} ({tx_value}) is not above MTA-RX's ({rx_value}): the "
                                "document leaves limiting to MTA-RX (\"The MTA-TX should have none or hardly any "
                                "resource limits, or at least have them larger than MTA-RX\"; fix: "
                                f"define(`{macro}', `{999 if option == 'RefuseLA' else 0}') in the TX .mc)"))
    return findings


# name -> its check: each a row of the report (tests/test_advice.py).
ADVICE: dict[str, Callable[[Context, CompiledCf, CompiledCf], list[Finding]]] = {
    "rx_free_blocks_above_tx": _disk,
    "rx_drops_root": _privileges,
    "tx_limits_above_rx": _limits,
}


def check_advice(ctx: Context, name: str | None = None) -> list[Finding]:
    """The advice the configuration does not follow (one piece when `name` is given)."""
    rx, tx = ctx.compiled.get("rx"), ctx.compiled.get("tx")
    if rx is None or tx is None:
        return []
    return [finding for key, check in ADVICE.items() if name in (None, key) for finding in check(ctx, rx, tx)]
