#!/usr/bin/env bash
# A first contract: examples/first-contract/weather.json. In another terminal, from the repository root:
# serve: python3 -m mockgw serve --contracts examples/first-contract
set -euo pipefail
URL="${MOCKGW_URL:-http://127.0.0.1:8088}"

# Check it: every problem as `file: JSON path: reason`, exit 1 if any.
python3 -m mockgw validate examples/first-contract

# A request it matches. REST answers with the final frame, at its time (0.6 s); the socket streams each frame.
curl -s -X POST "$URL/api/v1/flow/default/service/text-completion" -d '{"system": "", "prompt": "How is the weather?"}'
echo
# A request it does not match: HTTP 404 naming the nearest contract and what differed.
curl -s -w ' (HTTP %{http_code})' -X POST "$URL/api/v1/flow/default/service/text-completion" \
     -d '{"system": "", "prompt": "Tell me a joke"}'
echo
