#!/usr/bin/env bash
# Packs what bench/gpu.sh needs into .gpu/ for a GPU machine that has no Node, no npm registry and no internet
# (this project's lent H200): the benchmark child bundled by esbuild, onnxruntime-node's Linux x64 binaries,
# this machine's node binary (both xz-compressed: the copy that travels is limited to 64 MiB), and Debian's
# Vulkan/GL loader packages (the NVIDIA Vulkan ICD needs libglvnd). On the GPU machine:
#   cd .gpu && xz -d node.xz node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1.xz && cd ..
#   for f in .gpu/gl/*.deb; do dpkg -x $f /; done; ldconfig
#   export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json PATH=$PWD/.gpu:$PATH
#   BENCH_CHILD="$PWD/.gpu/node --expose-gc $PWD/.gpu/child.mjs" bash bench/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .gpu && mkdir -p .gpu/node_modules/onnxruntime-node/bin/napi-v6/linux .gpu/gl
npx esbuild bench/child.ts --bundle --platform=node --format=esm --external:onnxruntime-node --outfile=.gpu/child.mjs \
  --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
cp -r node_modules/onnxruntime-common .gpu/node_modules/
(cd node_modules/onnxruntime-node && cp -r package.json dist lib ../../.gpu/node_modules/onnxruntime-node/ && cp -r bin/napi-v6/linux/x64 ../../.gpu/node_modules/onnxruntime-node/bin/napi-v6/linux/)
cp "$(command -v node)" .gpu/node
xz -T0 -6 .gpu/node .gpu/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
mkdir -p /tmp/amd64/partial && apt-get $o update -qq
(cd .gpu/gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
du -sh .gpu
