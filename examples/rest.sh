#!/usr/bin/env bash
# REST with curl. In another terminal, from the repository root:
# serve: python3 -m mockgw serve
set -euo pipefail
URL="${MOCKGW_URL:-http://127.0.0.1:8088}"

# A flow service: the recorded session's final message, at its recorded time (~1.2 s here).
curl -s -X POST "$URL/api/v1/flow/default/service/text-completion" \
     -H 'Content-Type: application/json' \
     -d '{"system": "", "prompt": "What is 2+2?"}'
echo
# A global service: the flows the mock knows.
curl -s -X POST "$URL/api/v1/flow" -d '{"operation": "list-flows"}'
echo
# The mock itself: its profile, contracts, speed and flows (more under /__admin, docs/ADMIN.md).
curl -s "$URL/__admin"
echo
