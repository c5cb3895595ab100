"""Which profiles are a client's own: declared in its hello (a list or a version map), or set per driver."""

from __future__ import annotations

import pytest

from conformance.driver import Hello
from conformance.errors import DriverError
from conformance.runner import native_override, native_profiles


def hello(client: str = "acme-client", version: str = "3.1.4", **extra: object) -> Hello:
    raw = {"event": "hello", "client": client, "version": version, **extra}
    return Hello(client, version, "go", frozenset({"rest"}), raw)


def test_a_declared_list_is_the_native_set_with_aliases_resolved():
    assert native_profiles(hello(native_profiles=["2.4.5", "latest"])) == {"2.4.5", "2.11.0"}


def test_a_version_map_picks_the_longest_matching_version_prefix():
    table = {"3": "2.3.1", "3.1": "2.4.5", "3.1.4": "2.6.2", "1": "1.7"}
    assert native_profiles(hello(version="3.1.4", native_profiles=table)) == {"2.6.2"}
    assert native_profiles(hello(version="3.1.9", native_profiles=table)) == {"2.4.5"}
    assert native_profiles(hello(version="3.2.0", native_profiles=table)) == {"2.3.1"}
    with pytest.raises(DriverError, match="none of which is the client's version '4.0'"):
        native_profiles(hello(version="4.0", native_profiles=table))


def test_without_a_declaration_only_trustgraph_base_versions_are_known():
    assert native_profiles(hello()) is None
    assert native_profiles(hello("trustgraph-base", "1.7.9")) == {"1.7"}
    assert native_profiles(hello("trustgraph-base", "2.11.1")) == {"2.6.2"}


def test_native_profile_entries_apply_per_client_or_to_all():
    entries = ["acme-client=1.8", "trustgraph-base 2.11.1=2.4.5", "2.2.5"]
    assert native_override(entries, hello()) == {"1.8"}
    assert native_override(entries, hello("trustgraph-base", "2.11.1")) == {"2.4.5"}
    assert native_override(entries, hello("trustgraph-base", "1.7.9")) == {"2.2.5"}  # named by no entry
    assert native_override([], hello()) == set()
