#!/usr/bin/env bash
# Parity check against PyTorch: the same initial weights and the same batches, 300 steps of the shakespeare-char-cpu
# recipe in both, losses compared step by step. Needs Debian's python3-torch. Usage: scripts/torch-parity/run.sh DATA
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="$(realpath "${1:-$here/../../../shared/data/tinyshakespeare.txt}")"
work="$(mktemp -d)"
cd "$work"
/usr/bin/python3 "$here/torch_side.py" "$data" > /dev/null
"$here/../../node_modules/.bin/tsx" "$here/ours.ts"
rm -rf "$work"
