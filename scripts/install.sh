#!/usr/bin/env bash
# Installs Opastin's Python environment into .venv/ from the lock file.
# Idempotent: when .venv/ already matches requirements/lock.txt it returns at once.
#
# Rasa 3.6.21 declares Python < 3.11 but runs on 3.11. Its requirements are
# locked in requirements/lock.txt (resolved from requirements/*.in under
# requirements/constraints.txt by scripts/lock.sh); Rasa and rasa-sdk themselves
# are then installed with --no-deps --ignore-requires-python.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "install: $*" >&2; exit 1; }

# The resident page's JavaScript packages (the socket.io client, served from the
# project at run time; axe-core for the browser tests).
install_webchat_packages() {
  local stamp=webchat/node_modules/.opastin-lock.sha256 wanted
  wanted=$(sha256sum webchat/package-lock.json | cut -d' ' -f1)
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && return 0
  command -v npm >/dev/null 2>&1 || fail "Node.js with npm is needed for the chat page (apt-get install nodejs npm)."
  echo "==> Installing the chat page's JavaScript packages (a few seconds)"
  npm ci --prefix webchat --no-audit --no-fund --loglevel=error >/dev/null \
    || fail "npm could not install webchat/package-lock.json (see the messages above)."
  echo "$wanted" > "$stamp"
}

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null 2>&1 || python=python3
command -v "$python" >/dev/null 2>&1 || fail "Python 3.11 is needed and no python3 was found."
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[ "$version" = "3.11" ] || fail "Python 3.11 is needed, but $python is Python $version (set PYTHON=/path/to/python3.11)."

scripts/system_packages.sh runtime
install_webchat_packages

stamp_file=.venv/.opastin-lock.sha256
lock_stamp=$(cat requirements/lock.txt requirements/rasa-core.txt | sha256sum | cut -d' ' -f1)
if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$lock_stamp" ]; then
  exit 0
fi

free_kb=$(df -Pk . | awk 'NR==2 {print $4}')
[ "$free_kb" -gt $((4 * 1024 * 1024)) ] || fail "At least 4 GB of free disk space is needed for .venv/ (about 2.5 GB)."

echo "==> Installing Python packages into .venv/ (about 2.5 GB; 2-5 minutes on a first install)"
start=$(date +%s)
[ -x .venv/bin/python ] || "$python" -m venv .venv || fail "Could not create .venv/ (is the python3-venv package installed?)."
# pip_install ARGS...: quiet pip, without the notices some machines' pip configs print per package.
pip_install() {
  .venv/bin/python -m pip --disable-pip-version-check --quiet install "$@" 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory"
  return "${PIPESTATUS[0]}"
}
pip_install --no-deps -r requirements/lock.txt || fail "Installing requirements/lock.txt failed (see the pip messages above)."
pip_install --no-deps --ignore-requires-python -r requirements/rasa-core.txt \
  || fail "Installing Rasa failed (see the pip messages above)."
echo "$lock_stamp" > "$stamp_file"
echo "==> Python packages installed in $(( $(date +%s) - start )) s"
