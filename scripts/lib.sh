# Shared by the host scripts (sourced).

# The Debian archive this host already uses (deb822 or one-line sources), else Debian's own.
debian_mirror() {
  { grep -rhsE '^[[:space:]]*(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/ || true; } |
    grep -oE 'https?://[^ ]+/debian/?' | grep -v -e security -e snapshot | head -n1 | grep . ||
    echo http://deb.debian.org/debian
}
