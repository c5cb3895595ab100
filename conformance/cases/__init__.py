"""The named cases: what each asks the driver to do, and which verdict judges it.

A case is data plus one `execute(ctx) -> Verdict` function: reset the mock's
journal, send one op to the driver, read the journal back, judge. Every case
runs alone (`mockgw certify --case NAME`). `CASES` is the catalogue, in the
order reports list it.

The stream and result groups are generated, not listed: every streaming
service × mode (sync, async) × aspect (first chunk, incremental delivery,
inter-chunk gaps, integrity) on the socket, and every service the driver
protocol names × transport (rest, socket) × mode for its non-streaming
result. `MATRIX` records the axes for `certify --list`.

One module a group: context (Case, CaseContext, the tokens), args, streams, results, mux,
gateway_errors, auth, disconnects, malformed, global_services, bulk_metrics; catalogue puts them in order.
"""

from .args import key_args
from .bulk_metrics import bulk_items
from .catalogue import BY_NAME, CASES, MATRIX, select_cases
from .context import OPEN_TOKEN, SECRET, WRONG_TOKEN, Case, CaseContext
from .global_services import global_steps

__all__ = [
    "BY_NAME",
    "CASES",
    "Case",
    "CaseContext",
    "MATRIX",
    "OPEN_TOKEN",
    "SECRET",
    "WRONG_TOKEN",
    "bulk_items",
    "global_steps",
    "key_args",
    "select_cases",
]
