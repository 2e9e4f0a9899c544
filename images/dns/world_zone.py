#!/usr/bin/env python3
"""Write the testbed's root zone: the world the policy implies (world.json, made by
siteconfig/dnsworld.py), the addresses Docker gave this run, and the site's own records.

    world_zone.py CONFIG_DIR ZONE_FILE

Every address of the compose networks (the first 1022 of each) gets a PTR and a matching A
record, so MTA-RX's reverse and forward-confirming lookups of any client, including the host
side of published ports (the network's gateway), answer at once. The compose services also
get single-label names (internet, office, mx): resolv.conf has no search list, which would
double every failed lookup (and every DNS_LATENCY) of a name with dots.
"""

import ipaddress
import json
import socket
import subprocess
import sys
from pathlib import Path

INFRA = "testbed.test"  # the testbed's own names; never a site's domain
HOSTS_PER_NETWORK = 1022


def interfaces() -> list[ipaddress.IPv4Interface]:
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                         capture_output=True, text=True, check=True).stdout
    return [ipaddress.IPv4Interface(line.split()[3]) for line in out.splitlines()]


def address_of(name: str) -> ipaddress.IPv4Address:
    # Docker's embedded DNS knows the compose services (this container keeps its resolver).
    return ipaddress.IPv4Address(socket.gethostbyname(name))


def reverse(address: ipaddress.IPv4Address) -> str:
    return address.reverse_pointer + "."


def generic(address: ipaddress.IPv4Address, network: str) -> str:
    return f"h-{str(address).replace('.', '-')}.{network}.{INFRA}."


def zone(world: dict, own: list[ipaddress.IPv4Interface], sink: ipaddress.IPv4Address,
         office: ipaddress.IPv4Address, includes: list[Path]) -> str:
    chain = f"{world['chain_host']}."
    lines = [
        "$TTL 60",
        f". IN SOA ns.{INFRA}. hostmaster.{INFRA}. 1 3600 600 86400 5",
        f". IN NS ns.{INFRA}.",
        f"ns.{INFRA}. IN A 127.0.0.1",
        "localhost. IN A 127.0.0.1",
        f"{reverse(ipaddress.IPv4Address('127.0.0.1'))} IN PTR localhost.",
        f"internet.{INFRA}. IN A {sink}",
        f"office.{INFRA}. IN A {office}",
        f"internet. IN A {sink}",
        f"office. IN A {office}",
    ]
    special: dict[ipaddress.IPv4Address, str] = {sink: f"internet.{INFRA}.", office: f"office.{INFRA}."}
    for interface in own:
        net = interface.network
        name = "internet" if sink in net else "lan" if office in net else f"net{len(special)}"
        # Docker's gateway, the host side of published ports: the network's first address
        # (compose.yaml sets no IPAM of its own).
        gateway = next(net.hosts())
        special[gateway] = f"gateway.{name}.{INFRA}."
        lines.append(f"gateway.{name}.{INFRA}. IN A {gateway}")
        special[interface.ip] = chain
        lines += [f"{chain} IN A {interface.ip}", f"mx.{name}.{INFRA}. IN A {interface.ip}", f"mx. IN A {interface.ip}"]
        for count, address in enumerate(net.hosts()):
            if count >= HOSTS_PER_NETWORK:
                break
            if address not in special:
                lines.append(f"{generic(address, name)} IN A {address}")
            lines.append(f"{reverse(address)} IN PTR {special.get(address) or generic(address, name)}")
    for domain in world["local_domains"]:
        lines += [f"{domain}. IN MX 10 {chain}", f'{domain}. IN TXT "v=spf1 mx -all"']
    for domain in world["remote_domains"]:
        lines += [f"{domain}. IN MX 10 mx.{domain}.", f"mx.{domain}. IN A {sink}",
                  f'{domain}. IN TXT "v=spf1 mx -all"']
    # RFC 5782 test entries: 127.0.0.2 / TEST listed, 127.0.0.1 / INVALID not.
    dnsbl, uribl = world["dnsbl_zone"], world["uribl_zone"]
    for address in ["127.0.0.2", *world["dnsbl_listed"]]:
        name = f"{ipaddress.IPv4Address(address).reverse_pointer.removesuffix('.in-addr.arpa')}.{dnsbl}."
        lines += [f"{name} IN A 127.0.0.2", f'{name} IN TXT "listed by the testbed: {address}"']
    for domain in ["test", *world["uribl_listed"]]:
        lines += [f"{domain}.{uribl}. IN A 127.0.0.2", f'{domain}.{uribl}. IN TXT "listed by the testbed: {domain}"']
    # DKIM keys (siteconfig/dkimkeys.py): a TXT string holds at most 255 characters.
    for record in world.get("dkim_records", []):
        value = record["value"]
        strings = " ".join(f'"{value[i:i + 255]}"' for i in range(0, len(value), 255))
        lines.append(f"{record['name']}. IN TXT {strings}")
    lines += [f"$INCLUDE {path}" for path in includes]
    return "\n".join(lines) + "\n"


def main(config: Path, out: Path) -> None:
    world = json.loads((config / "world.json").read_text())
    text = zone(world, interfaces(), address_of("internet"), address_of("office"), sorted(config.glob("*.zone")))
    out.write_text(text)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
