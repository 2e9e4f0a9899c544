"""The testbed's DNS from a test's side: lookups timed inside the chain's namespace, the
address MTA-RX sees a client at, and DNSBL entries listed and delisted while the chain runs.

Lookups run in amavisd-new's container (Perl and the chain's resolver, as every daemon
there uses it); updates go to BIND with `nsupdate -l` in the dns container.
"""

import ipaddress
import re
from dataclasses import dataclass

from harness.stack import Stack
from siteconfig.dnsworld import DNSBL_ZONE

__all__ = ["HOST_NOT_FOUND", "Lookup", "client_address", "delist", "forward_lookup", "list_in_dnsbl", "reverse_lookups"]

# Resolves each argument (an address: PTR; a name: A) through the C library, as sendmail
# does, and prints: argument, milliseconds, answer (empty: none), h_errno (Perl's $?).
_TIMED_LOOKUPS = r"""
use Socket; use Time::HiRes qw(time);
for my $q (@ARGV) {
  my $t = time; my $answer; $? = 0;
  if ($q =~ /^\d+\.\d+\.\d+\.\d+$/) { $answer = gethostbyaddr(inet_aton($q), AF_INET); }
  else { my $packed = gethostbyname($q); $answer = $packed ? inet_ntoa($packed) : undef; }
  printf "%s\t%.1f\t%s\t%d\n", $q, (time - $t) * 1000, $answer // "", defined $answer ? 0 : $?;
}
"""
HOST_NOT_FOUND = 1  # h_errno: the name does not exist (NXDOMAIN), as opposed to 2, TRY_AGAIN (SERVFAIL, timeout)
# sendmail's EHLO reply names the client as it saw it: "... Hello name [address], pleased ..."
_HELLO = re.compile(r"Hello (\S+) \[(\d+\.\d+\.\d+\.\d+)\]")


@dataclass(frozen=True)
class Lookup:
    query: str
    ms: float
    answer: str  # "" when the name or address has none
    error: int  # h_errno when there is no answer: HOST_NOT_FOUND (1) for NXDOMAIN


def _lookups(stack: Stack, queries: list[str]) -> list[Lookup]:
    out = stack.exec("amavis", ["perl", "-e", _TIMED_LOOKUPS, *queries])
    rows = [line.split("\t") for line in out.splitlines() if line.count("\t") == 3]
    return [Lookup(query, float(ms), answer, int(error)) for query, ms, answer, error in rows]


def reverse_lookups(stack: Stack, addresses: list[str]) -> list[Lookup]:
    return _lookups(stack, addresses)


def forward_lookup(stack: Stack, name: str) -> Lookup:
    return _lookups(stack, [name])[0]


def client_address(ehlo_reply: str) -> tuple[str, str]:
    """(name, address) MTA-RX saw the client at, from its reply to EHLO."""
    match = _HELLO.search(ehlo_reply)
    if not match:
        raise ValueError(f"no 'Hello name [address]' in the EHLO reply: {ehlo_reply!r}")
    return match.group(1), match.group(2)


def _dnsbl_name(address: str, zone: str) -> str:
    return ipaddress.IPv4Address(address).reverse_pointer.removesuffix(".in-addr.arpa") + f".{zone.rstrip('.')}."


def _update(stack: Stack, commands: list[str]) -> None:
    script = "\n".join([*commands, "send", ""])
    stack.exec("dns", ["sh", "-c", 'printf "%s" "$1" | nsupdate -l', "sh", script])


def list_in_dnsbl(stack: Stack, address: str, zone: str = DNSBL_ZONE, reason: str = "listed by a test") -> None:
    name = _dnsbl_name(address, zone)
    _update(stack, [f"update add {name} 5 A 127.0.0.2", f'update add {name} 5 TXT "{reason}"'])


def delist(stack: Stack, address: str, zone: str = DNSBL_ZONE) -> None:
    _update(stack, [f"update delete {_dnsbl_name(address, zone)}"])
