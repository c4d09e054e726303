#!/bin/sh
# Issue 17's acceptance run: torchvision's resnet18 (random weights) over a
# folder of 300 96 x 96 JPEG photos, through nerve run with the ImageNet
# preset, then the study's figures and per-image throughput. Needs Python
# with torch and torchvision (bench/own_resnet18.py makes the inputs).
#   bench/own_resnet18.sh [NERVE] [OUT]
set -eu
nerve=${1:-build/nerve}
out=${2:-build/own-resnet18}
[ -f "$out/resnet18.onnx" ] || /usr/bin/python3 "$(dirname "$0")/own_resnet18.py" "$out"
rm -rf "$out/study"
start=$(date +%s.%N)
"$nerve" run -m "$out/resnet18.onnx" -d "$out/photos" --preset imagenet -n 300 -o "$out/study"
end=$(date +%s.%N)
echo "nerve run, 300 photos, resnet18 at 224 x 224: $(echo "$end - $start" | bc) s in all"
grep -o '"extract", *"seconds": *[0-9.]*\|"seconds": [0-9.]*, "output": "manifest.json"' "$out/study/manifest.json" || true
