#!/usr/bin/env bash
# Validates k8s-examples/ offline: every manifest against the vendored
# Kubernetes JSON Schemas, hook annotations, RBAC, pod hardening, the initkit
# flags used (against the built binaries' --help when build/bin has them), the
# compose stack (docker-compose config + ordering rules), and that each broken
# fixture in k8s-examples/validate/testdata is rejected.
# Needs the Debian packages python3-yaml python3-jsonschema docker-compose
# (scripts/deps.sh installs them). Usage: scripts/validate-examples.sh [BIN_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's python3 has the packages deps.sh installs; a pyenv shim may not.
py=/usr/bin/python3
[ -x "$py" ] || py=python3

bin_dir="${1:-${INITKIT_BIN_DIR:-build/bin}}"
args=()
if [ -x "$bin_dir/initkit-migrate" ]; then
  args=(--bin-dir "$bin_dir")
fi
exec "$py" k8s-examples/validate/validate.py "${args[@]}"
