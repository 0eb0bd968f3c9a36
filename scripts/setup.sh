#!/usr/bin/env bash
# Installs what building and testing Bulwark needs on a fresh machine of
# this kind (Debian 12, Go 1.26 at /usr/local/go): Debian packages via
# apt-get when root, Go modules via the module proxy. Idempotent and quiet
# when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="/usr/local/go/bin:$PATH"
if ! command -v go >/dev/null; then
  echo "setup: Go is not installed (expected at /usr/local/go)" >&2
  exit 1
fi

# Debian packages the tests and benchmarks use, as package:command. The
# OpenStack CLIs are what internal/e2e drives against a live server (it
# skips without them, and fails in CI).
need=()
for pkg_cmd in curl:curl keepalived:keepalived postgresql:pg_ctlcluster python3-openstackclient:openstack python3-neutronclient:neutron iptables:iptables ipset:ipset netcat-openbsd:nc iputils-ping:ping iproute2:ip kmod:modprobe conntrack:conntrack nftables:nft; do
  pkg=${pkg_cmd%%:*} cmd=${pkg_cmd##*:}
  if command -v dpkg-query >/dev/null; then
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -qx 'install ok installed' && continue
  else
    command -v "$cmd" >/dev/null && continue
  fi
  need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "setup: missing ${need[*]} (run as root to install)" >&2
  fi
fi

# The dataplane tests filter bridged traffic, which needs br_netfilter
# (a module load; nothing in the root namespace's firewall is touched).
if [ "$(id -u)" = 0 ] && [ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
  modprobe br_netfilter 2>/dev/null || echo "setup: br_netfilter could not be loaded; the dataplane packet tests will skip" >&2
fi

go mod download
