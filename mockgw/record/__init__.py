"""`mockgw record`: a proxy that captures live gateway sessions and writes them as contracts.

Sans-I/O core: events (what was captured) → sessions (per-request timelines) → contract documents, with
redaction, matcher generation, variant/scenario detection and naming. The proxy (proxy.py) is the only I/O.
"""
