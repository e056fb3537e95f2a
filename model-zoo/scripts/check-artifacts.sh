#!/usr/bin/env bash
# Re-exports every zoo artifact from its Python source into a temporary folder and fails when a
# committed file differs: the committed TorchScript must be exactly what the sources produce.
# Needs Debian's python3-torch (torch 1.13): `apt-get install -y python3-torch`.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
committed="$here/src/main/resources/org/fusedstage/zoo"
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
/usr/bin/python3 "$here/src/main/python/export_models.py" "$fresh" > /dev/null
if diff -r "$committed" "$fresh" > /dev/null; then
  echo "zoo artifacts match their sources"
else
  echo "zoo artifacts drifted from their sources; run: python3 model-zoo/src/main/python/export_models.py" >&2
  diff -rq "$committed" "$fresh" >&2 || true
  exit 1
fi
