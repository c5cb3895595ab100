#!/usr/bin/env bash
# Make a virtualenv holding one trustgraph-base client version plus only what
# trustgraph.api imports, for the conformance driver (driver.py) to run in.
#
#   make_venv.sh VERSION [DIR]      DIR defaults to <repo>/.venvs/tg-VERSION
#
# Idempotent: a DIR whose client imports and reports VERSION is left alone.
# Prints the venv's python path as its last line of stdout.
# Needs python3 >= 3.10 (PYTHON=... picks another); works without the
# python3-venv/ensurepip package too, by falling back to `pip --python`.
# TG_WEBSOCKETS overrides the websockets requirement (e.g. "websockets==13.1").
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || "$1" == -h || "$1" == --help ]]; then
    echo "usage: $0 VERSION [DIR]" >&2
    exit 2
fi
version="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
dir="${2:-$repo/.venvs/tg-$version}"
python="${PYTHON:-python3}"

# trustgraph-base is installed with --no-deps: its declared dependencies pull
# the server side (pulsar-client, kafka, pika ...), while trustgraph.api needs:
#   1.6.x     requests
#   1.7 - 2.x requests, websockets, aiohttp (imported eagerly by
#             trustgraph/api/__init__.py although 1.7.x does not declare them)
# prometheus-client and pyyaml are imported by other trustgraph subpackages.
# websockets: checked with 13.1 (legacy implementation) and 17.4 (new asyncio
# implementation) for 1.7.9, 2.6.2 and 2.11.1; exception class names differ
# between the two (InvalidStatusCode vs InvalidStatus).
deps=(
    "requests>=2.28,<3"
    "${TG_WEBSOCKETS:-websockets>=13,<18}"
    "aiohttp>=3.9,<4"
    "prometheus-client>=0.17,<1"
    "pyyaml>=6,<7"
)

check() {
    "$dir/bin/python" - "$version" <<'PY'
import sys
from importlib.metadata import version
want = sys.argv[1]
got = version("trustgraph-base")
if got != want:
    sys.exit(f"trustgraph-base {got} installed, {want} wanted")
import requests, websockets, aiohttp  # noqa: F401
from trustgraph.api import Api  # noqa: F401
PY
}

if [[ -x "$dir/bin/python" ]] && check 2>/dev/null; then
    echo "make_venv: $dir already has trustgraph-base $version" >&2
    echo "$dir/bin/python"
    exit 0
fi

echo "make_venv: creating $dir for trustgraph-base $version" >&2
if [[ -z "${MAKE_VENV_WITHOUT_PIP:-}" ]] && "$python" -m venv "$dir" 2>/dev/null \
        && "$dir/bin/python" -m pip --version >/dev/null 2>&1; then
    pip=("$dir/bin/python" -m pip)
else
    # No ensurepip (Debian without python3-venv): a pip-less venv, filled by
    # the interpreter's own pip (pip >= 22.3 understands --python).
    rm -rf "$dir"
    "$python" -m venv --without-pip "$dir"
    pip=("$python" -m pip --python "$dir/bin/python")
fi
"${pip[@]}" install --quiet --disable-pip-version-check "${deps[@]}"
"${pip[@]}" install --quiet --disable-pip-version-check --no-deps "trustgraph-base==$version"
check
echo "make_venv: ready" >&2
echo "$dir/bin/python"
