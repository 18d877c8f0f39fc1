#!/bin/bash
# On the GPU machine, the call after gpu_side_by_side.sh (while the machine is warm: Node is in
# /tmp/g, the first part of Chromium's binary in /tmp/c1.xz): Chromium's bench with the GPU flags
# for a build before and a build after, then the after build's wasm rows.
#
#   bash WEB/chrome_side_by_side.sh CHR WEB OUT
#
# CHR holds chromium-1.xz.part-ab, chromium-2.tar.xz and chromium-setup.sh
# (a headless Chromium build and its libraries, the binary split in two); WEB holds before/ and after/, each
# bench-chromium.mjs and page/ (node bench/build.mjs DIR in each checkout). OUT receives
# chrome.log and before/, after/, wasm/ chrome.json.
set -uo pipefail
chr=${1:?usage: chrome_side_by_side.sh CHR WEB OUT}
web=${2:?usage: chrome_side_by_side.sh CHR WEB OUT}
out=${3:?usage: chrome_side_by_side.sh CHR WEB OUT}
mkdir -p "$out"
exec > >(tee "$out/chrome.log") 2>&1
[ -x /tmp/g/node ] && [ -s /tmp/c1.xz ] || { echo 'no /tmp/g/node or /tmp/c1.xz: not the warm machine'; exit 1; }
cat "$chr/chromium-1.xz.part-ab" >> /tmp/c1.xz && mkdir -p /tmp/chr &&
  xz -dc /tmp/c1.xz > /tmp/chr/chromium-headless-shell && chmod +x /tmp/chr/chromium-headless-shell || exit 1
eval "$(bash "$chr/chromium-setup.sh" | tail -1)"
echo "== before $(date -u +%T)"
timeout 150 /tmp/g/node "$web/before/bench-chromium.mjs" --gpu --out "$out/before"
echo "== after $(date -u +%T)"
timeout 300 /tmp/g/node "$web/after/bench-chromium.mjs" --gpu --out "$out/after"
echo "== after, wasm $(date -u +%T)"
timeout 100 /tmp/g/node "$web/after/bench-chromium.mjs" --gpu --backends=wasm --shapes=1x32x32x8 \
  --no-training --out "$out/wasm"
echo "== done $(date -u +%T)"
