#!/usr/bin/env bash
# The one install step of nfvgw, run by `npm run demo`, `npm test` and
# `npm run bench`. Idempotent, and silent when nothing is missing:
#   1. installs the Debian packages that are missing (as root, after
#      apt-get update),
#   2. mounts bpffs if it is not mounted (libxdp keeps its multi-program
#      dispatcher state there),
#   3. npm ci when node_modules does not match package-lock.json,
#   4. builds the native addon and the XDP programs (cmake-js) and the
#      TypeScript control plane, incrementally.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "bootstrap: $*" >&2; }

# Build tools and the C++ formatter `npm run lint` checks with, the XDP
# libraries, and what the lab and tests drive: the kernel's own tools, real
# clients and servers, tcpdump and tshark reading what the gateway captured
# and sent, openssl making the API tests' certificates; the font of the
# benchmark report's chart (bench/report.ts).
PACKAGES=(
  build-essential cmake pkg-config clang clang-format llvm libxdp-dev libbpf-dev xdp-tools bpftool
  iproute2 ethtool procps iputils-ping traceroute curl iperf3 wrk python3 tcpdump tshark openssl
  nftables conntrack fonts-dejavu-core
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $EUID -ne 0 ]]; then
    say "these Debian packages are missing and installing them needs root: ${missing[*]}"
    exit 1
  fi
  say "installing ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ $EUID -eq 0 ]] && ! mountpoint -q /sys/fs/bpf; then
  mount -t bpf bpf /sys/fs/bpf
fi

stamp=node_modules/.nfvgw-lock
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$lock_sum" ]]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$lock_sum" > "$stamp"
fi

# Builds run quietly; on failure their whole output is shown.
quiet() {
  local log
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    say "failed: $*"
    exit 1
  fi
  rm -f "$log"
}
quiet npx --no-install cmake-js build --out build --log-level error
quiet npx --no-install tsc -p tsconfig.build.json
