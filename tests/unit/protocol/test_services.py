"""What the gateway's request translators refuse (mockgw/protocol/services.py)."""

from __future__ import annotations

from mockgw.profiles import PROFILES
from mockgw.protocol.services import term_problem


def test_a_2x_triples_term_that_is_not_an_object_fails_as_the_term_translator_does() -> None:
    # trustgraph-base 2.11.1's async triples_query sends str(s); the real 2.11.1 gateway answered
    # gateway-error "'str' object has no attribute 'get'" (certify --rig, docs/FIDELITY.md).
    profile = PROFILES["2.11.0"]
    assert term_problem("triples", {"s": "http://ex/a", "limit": 5}, profile) == "'str' object has no attribute 'get'"
    assert term_problem("triples", {"o": None}, profile) == "'NoneType' object has no attribute 'get'"
    assert term_problem("triples", {"s": {"t": "i", "i": "http://ex/a"}}, profile) is None
    assert term_problem("triples", {"limit": 5}, profile) is None  # absent terms are wildcards
    assert term_problem("graph-rag", {"s": "x"}, profile) is None
    assert term_problem("triples", {"s": "x"}, PROFILES["1.7"]) is None  # {"v","e"} values: another translator
