"""What is run against a chain, from send and measure: one load run (runner), its steady
window (steady), the capacity sweep (sweep, variants, counts, points), load beside a fault
test (background), the burst (burst), the generator's own speed (bench) and MTA-RX's accept
rate (acceptrate), both against Postfix's tools (postfix_tools). No rendering here."""
