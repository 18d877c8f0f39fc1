#!/bin/bash
# On the GPU machine, in one call: PyTorch (bench/torch_bench.py), then the Node + Dawn bench of a
# build after and a build before (the after build first: a call cut short keeps it), on the same
# card, the after record merging PyTorch's.
#
#   bash CARRY/gpu_side_by_side.sh CARRY OUT [BEFORE_LABEL AFTER_LABEL]
#
# CARRY holds setup.sh, a Node 20 binary, dawn.node and the Vulkan loader's debs,
# torch_bench.py, and the bundles before/bench-gpu.mjs and after/bench-gpu.mjs (node
# bench/build.mjs DIR in each checkout). OUT receives gpu.txt, torch.json, run.log and
# before/node-dawn.json, after/node-dawn.json. AFTER_ARGS adds options to the after run (e.g.
# '--shapes=8x64x64x32 --no-blocks' for a short call); SKIP_BEFORE=1 leaves the before run out.
set -uo pipefail
carry=${1:?usage: gpu_side_by_side.sh CARRY OUT [BEFORE_LABEL AFTER_LABEL]}
out=${2:?usage: gpu_side_by_side.sh CARRY OUT [BEFORE_LABEL AFTER_LABEL]}
before=${3:-before}
after=${4:-after}
mkdir -p "$out"
exec > >(tee "$out/run.log") 2>&1
bash "$carry/setup.sh" || exit 1
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=/tmp
export DAWN_NODE=/tmp/g/dawn.node PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$out/gpu.txt"
echo "== PyTorch $(date -u +%T)"
python3 "$carry/torch_bench.py" --out "$out/torch.json"
echo "== $after $(date -u +%T)"
torch=()
[ -s "$out/torch.json" ] && torch=(--torch "$out/torch.json")
BENCH_LABEL=$after /tmp/g/node "$carry/after/bench-gpu.mjs" --gpu "${torch[@]}" ${AFTER_ARGS:-} \
  --out "$out/after"
if [ "${SKIP_BEFORE:-0}" != 1 ]; then
  echo "== $before $(date -u +%T)"
  BENCH_LABEL=$before /tmp/g/node "$carry/before/bench-gpu.mjs" --gpu --out "$out/before"
fi
echo "== done $(date -u +%T)"
