#!/usr/bin/env bash
# Certify the real client (trustgraph-base 2.11.1) through its reference driver, from the repository root.
# certify starts its own mocks (one per profile, on free ports) and stops them. Drop the --case options to
# run all 39 cases; `python3 -m mockgw certify --list` names them.
set -euo pipefail
REPORTS="${REPORTS:-reports/tg-2.11.1}"

conformance/drivers/trustgraph_base/make_venv.sh 2.11.1          # -> .venvs/tg-2.11.1/bin/python (idempotent)
python3 -m mockgw certify \
    --driver ".venvs/tg-2.11.1/bin/python conformance/drivers/trustgraph_base/driver.py" \
    --case stream/first-chunk/agent --case mux/concurrent-15 \
    --report "$REPORTS"
ls "$REPORTS"                                                        # junit.xml  report.html  report.json
