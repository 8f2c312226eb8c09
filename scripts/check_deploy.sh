#!/usr/bin/env bash
# Static checks of the container image definition and the Kubernetes manifests
# (`make check-deploy`, part of `make test`). Needs no container engine and no
# cluster, and no network once the tools are installed:
#
#   hadolint             deploy/Containerfile (any finding fails)
#   kubernetes-validate  every manifest under deploy/kubernetes/ against the
#                        Kubernetes $K8S_VERSION schemas, --strict; and, when
#                        kubectl is on PATH, what `kubectl kustomize` renders
#   checkov              the manifests and the Containerfile (any failed check fails;
#                        the few skips carry their reason in the manifests)
#
# The tools live in .venv-deploy/ (requirements/deploy-tools.txt), away from
# Rasa's pins in .venv/. The first run installs them (about a minute, 450 MB);
# later runs reuse them while the lock file is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-deploy
BIN=$VENV/bin
LOCK=requirements/deploy-tools.txt
K8S_VERSION=1.30.0

fail() { echo "check-deploy: $*" >&2; exit 1; }

# pip_install ARGS...: quiet pip, without the notices some machines' pip configs print per
# package (as in scripts/install.sh).
pip_install() {
  "$BIN/python" -m pip --disable-pip-version-check --quiet install "$@" 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory"
  return "${PIPESTATUS[0]}"
}

install_tools() {
  local stamp=$VENV/.deploy-tools.sha256 wanted python start
  wanted=$(sha256sum "$LOCK" | cut -d' ' -f1)
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && return 0
  python=${PYTHON:-python3.11}
  command -v "$python" >/dev/null 2>&1 || python=python3
  command -v "$python" >/dev/null 2>&1 || fail "Python 3 is needed to install the check tools."
  echo "==> Installing hadolint, kubernetes-validate and checkov into $VENV/ (about a minute)"
  start=$(date +%s)
  rm -rf "$VENV"
  "$python" -m venv "$VENV" || fail "Could not create $VENV/ (is the python3-venv package installed?)."
  # --no-compile: byte-compiling all of checkov's dependencies costs more than half of the
  # install; Python compiles the few modules the checks import on first use instead.
  pip_install --no-deps --no-compile -r "$LOCK" \
    || fail "Installing $LOCK failed (see the pip messages above)."
  echo "$wanted" > "$stamp"
  echo "    installed in $(( $(date +%s) - start )) s"
}

install_tools

manifests=()
while IFS= read -r file; do
  manifests+=("$file")
done < <(find deploy/kubernetes -name '*.yaml' ! -name kustomization.yaml | sort)
[ ${#manifests[@]} -gt 0 ] || fail "no manifests found under deploy/kubernetes/"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "==> hadolint deploy/Containerfile"
"$BIN/hadolint" --no-color deploy/Containerfile
echo "    no findings"

echo "==> kubernetes-validate --strict (Kubernetes $K8S_VERSION): ${#manifests[@]} files"
"$BIN/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "${manifests[@]}"
if command -v kubectl >/dev/null 2>&1; then
  for dir in deploy/kubernetes deploy/kubernetes/migrate; do
    kubectl kustomize "$dir" > "$tmp/rendered.yaml" || fail "kubectl kustomize $dir failed"
    "$BIN/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "$tmp/rendered.yaml" \
      || fail "what kubectl kustomize $dir renders is not valid"
  done
  echo "    every manifest valid, and what kustomize renders of deploy/kubernetes and migrate/"
else
  echo "    every manifest valid (kubectl not found: the kustomize rendering was not checked)"
fi

echo "==> checkov (kubernetes, dockerfile)"
# checkov recognises Dockerfiles by name only: it reads the Containerfile under that name.
mkdir "$tmp/image"
cp deploy/Containerfile "$tmp/image/Dockerfile"
export CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE
for target in "deploy/kubernetes kubernetes" "$tmp/image dockerfile"; do
  read -r dir framework <<< "$target"
  "$BIN/checkov" -d "$dir" --framework "$framework" --quiet --compact --skip-download \
    > "$tmp/checkov.txt" 2>&1 || { cat "$tmp/checkov.txt"; fail "checkov found problems in $dir"; }
  summary=$(grep -E '^Passed checks: [0-9]+, Failed checks: [0-9]+' "$tmp/checkov.txt") \
    || { cat "$tmp/checkov.txt"; fail "checkov printed no summary for $dir"; }
  echo "    $framework: $summary"
done

echo "==> The deploy checks passed"
