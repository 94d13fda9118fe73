#!/usr/bin/env bash
# Prepares an arm64 Node.js that runs under user-mode emulation: Debian's qemu-user-static plus
# Debian's arm64 nodejs and its libraries, unpacked (not installed) into .cache/arm64/root.
# Idempotent. Used by `npm run test:arm64` and CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=.cache/arm64/root
if [ -x "$root/usr/bin/node" ] && command -v qemu-aarch64-static >/dev/null; then exit 0; fi
export DEBIAN_FRONTEND=noninteractive
command -v qemu-aarch64-static >/dev/null || { apt-get update -qq; apt-get install -y -qq qemu-user-static >/dev/null; }
state=.cache/arm64/apt
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" .cache/arm64/debs "$root"
apt_arm64=(-oAPT::Architecture=arm64 -oAPT::Architectures=arm64 "-oDir::State::Lists=$PWD/$state/lists" "-oDir::Cache=$PWD/$state/cache" -oDebug::NoLocking=1)
apt-get "${apt_arm64[@]}" update -qq
(cd .cache/arm64/debs && apt-get "${apt_arm64[@]}" download -qq \
  nodejs libnode108 libbrotli1 libc-ares2 libc6 libicu72 libnghttp2-14 libssl3 libstdc++6 libgcc-s1 libuv1 zlib1g \
  node-acorn node-cjs-module-lexer node-undici 2>&1 | grep -v unsandboxed || true)
for deb in .cache/arm64/debs/*.deb; do dpkg -x "$deb" "$root"; done
qemu-aarch64-static -L "$root" "$root/usr/bin/node" -e 'console.log(`arm64 node ready: ${process.arch} ${process.version}`)'
