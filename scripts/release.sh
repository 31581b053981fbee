#!/usr/bin/env bash
# Release binaries of hookrunner and versioncheck: the Swift standard library and Foundation
# linked in statically, stripped, then checked (--version runs) and described (size, what they
# still load). Output: DIR/hookrunner, DIR/versioncheck and DIR/deployverify-<os>-<arch>.tar.gz.
#
# usage: scripts/release.sh [DIR, default dist]
# On Linux, installs libcurl4-openssl-dev with apt-get when missing (static Foundation's link
# line names libcurl; at run time https loads the system's libcurl.so.4, plain http needs nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}
scratch=.build-release-static

flags=(-c release)
if [ "$(uname -s)" = Linux ]; then
  flags+=(--static-swift-stdlib)
  if ! dpkg -s libcurl4-openssl-dev >/dev/null 2>&1; then
    echo "installing libcurl4-openssl-dev …" >&2
    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libcurl4-openssl-dev >/dev/null; } \
      || echo "could not install libcurl4-openssl-dev; building without it" >&2
  fi
fi

for product in hookrunner versioncheck; do
  echo "building $product (${flags[*]}) …" >&2
  # (static Foundation's own link warns about mktemp; that line is not ours and is left out)
  swift build "${flags[@]}" --scratch-path "$scratch" --product "$product" 2>&1 \
    | grep -E 'error|warning: ' | grep -v "use of .mktemp' is dangerous" >&2 || true
done
bin=$(swift build "${flags[@]}" --scratch-path "$scratch" --show-bin-path)

mkdir -p "$out"
for product in hookrunner versioncheck; do
  cp "$bin/$product" "$out/$product"
  strip "$out/$product" 2>/dev/null || strip -x "$out/$product"
done

os=$(uname -s | tr '[:upper:]' '[:lower:]')
arch=$(uname -m)
tar -czf "$out/deployverify-$os-$arch.tar.gz" -C "$out" hookrunner versioncheck

echo
for product in hookrunner versioncheck; do
  version=$("$out/$product" --version) || { echo "$out/$product --version failed" >&2; exit 1; }
  size=$(du -k "$out/$product" | cut -f1)
  echo "$out/$product  $((size / 1024)).$(( (size % 1024) * 10 / 1024 )) MiB  ($version)"
  if command -v ldd >/dev/null; then
    ldd "$out/$product" | sed 's/ (0x[0-9a-f]*)//; s/^/    /'
  else
    otool -L "$out/$product" | tail -n +2
  fi
done
echo "$out/deployverify-$os-$arch.tar.gz  $(( $(du -k "$out/deployverify-$os-$arch.tar.gz" | cut -f1) / 1024 )) MiB"
