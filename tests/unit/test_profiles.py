import pytest

from mockgw.errors import SettingsError
from mockgw.profiles import ALIASES, PROFILES, ErrorStyle, RagStyle, SocketAuth, resolve_profile


def test_aliases_name_the_newest_profile_of_a_generation():
    assert resolve_profile("1.x").name == "1.7"
    assert resolve_profile("2.x").name == "2.11.0" == resolve_profile("latest").name
    newest = max(PROFILES, key=lambda n: tuple(int(x) for x in n.split(".")))
    assert resolve_profile("latest").name == newest
    assert all(target in PROFILES for target in ALIASES.values())


def test_an_unknown_profile_lists_the_choices_and_suggests_the_nearest():
    with pytest.raises(SettingsError) as caught:
        resolve_profile("2.6")
    assert "Did you mean '2.6.2'?" in str(caught.value)
    assert "1.7" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "auth", "errors", "rag", "agent_key"),
    [
        ("1.7", SocketAuth.HANDSHAKE_TOKEN, ErrorStyle.BARE, RagStyle.CHUNK, "chunk_type"),
        ("1.8", SocketAuth.HANDSHAKE_TOKEN, ErrorStyle.BARE, RagStyle.RESPONSE, "chunk_type"),
        ("2.2.5", SocketAuth.HANDSHAKE_TOKEN, ErrorStyle.OBJECT, RagStyle.SESSION, "chunk_type"),
        ("2.3.1", SocketAuth.HANDSHAKE_TOKEN, ErrorStyle.OBJECT, RagStyle.SESSION, "message_type"),
        ("2.4.5", SocketAuth.FIRST_FRAME, ErrorStyle.OBJECT, RagStyle.SESSION, "message_type"),
        ("2.6.2", SocketAuth.FIRST_FRAME, ErrorStyle.OBJECT, RagStyle.SESSION, "message_type"),
    ],
)
def test_each_profile_carries_the_wire_facts_of_its_generation(name, auth, errors, rag, agent_key):
    profile = PROFILES[name]
    assert (profile.socket_auth, profile.error_style, profile.rag_style, profile.agent_kind_key) == (
        auth,
        errors,
        rag,
        agent_key,
    )


def test_services_renamed_between_generations():
    assert "objects" in PROFILES["1.7"].flow_services and "rows" not in PROFILES["1.7"].flow_services
    assert "rows" in PROFILES["2.6.2"].flow_services and "objects" not in PROFILES["2.6.2"].flow_services
    assert "iam" in PROFILES["2.4.5"].global_services and "iam" not in PROFILES["2.3.1"].global_services


def test_auth_ok_names_the_workspace_key_of_its_release():
    assert PROFILES["2.4.5"].auth_ok_workspace_key == "workspace"
    assert PROFILES["2.4.26"].auth_ok_workspace_key == "workspace"  # gateway 2.5.16 on the rig
    assert PROFILES["2.6.2"].auth_ok_workspace_key == "default_workspace"


def test_the_generations_the_reference_rig_measured() -> None:
    # 2.3.1 and 2.11.1 run on the reference rig (tests/rig, docs/FIDELITY.md); the boundaries between them
    # come from the releases' own sources.
    assert [PROFILES[n].timeout_message for n in ("2.3.1", "2.6.2", "2.8.1", "2.10.8")] == ["Timeout"] * 2 + [""] * 2
    assert PROFILES["2.8.1"].forwards_backend_errors and not PROFILES["2.10.6"].forwards_backend_errors
    assert PROFILES["2.10.6"].completion_fields_required and not PROFILES["2.10.8"].completion_fields_required
    assert not PROFILES["2.3.1"].invalid_flow_names_workspace and PROFILES["2.4.5"].invalid_flow_names_workspace
    # 2.5.16 (profile 2.4.26) takes an empty first-frame token as anonymous; 2.4.5-2.4.25 refuse it (sources).
    assert [PROFILES[n].empty_token_is_anonymous for n in ("2.4.5", "2.4.26", "2.6.2")] == [False, True, True]
    # ... and its mux answers unknown-service (2.5.16 on the rig); 2.4.26 differs from 2.4.5 by these alone.
    assert (
        "unknown-service" in PROFILES["2.4.26"].error_types and "unknown-service" not in PROFILES["2.4.5"].error_types
    )
    differs = {
        f
        for f in PROFILES["2.4.5"].__dataclass_fields__
        if getattr(PROFILES["2.4.5"], f) != getattr(PROFILES["2.4.26"], f)
    }
    assert differs == {
        "name",
        "describes",
        "empty_token_is_anonymous",
        "error_types",
        "rest_flow_workspace_checked",
        "registry_operations",
    }


def test_the_classifier_services_arrive_with_2_11_0() -> None:
    # trustgraph-flow 2.11.0's dispatch/manager.py has them; 2.10.8's has none of them.
    added = {"cloze", "decision-scoring", "field-extraction"}
    assert added <= PROFILES["2.11.0"].flow_services
    assert not added & PROFILES["2.10.8"].flow_services
    assert PROFILES["2.11.0"].flow_services - added == PROFILES["2.10.8"].flow_services


def test_iam_operations_are_checked_where_the_rig_measured_them() -> None:
    # 2.6.2 and 2.5.16 on the rig: an unregistered IAM operation is refused, as on 2.11.1 (registry.py tables).
    ops = {n: {o for o in PROFILES[n].registry_operations if o.startswith("iam:")} for n in PROFILES}
    assert "iam:create-group" in ops["2.6.2"] and "iam:mint-token" not in ops["2.6.2"]
    assert "iam:whoami" in ops["2.4.26"] and "iam:create-group" not in ops["2.4.26"]
    assert "iam:mint-token" in ops["2.11.0"] and not ops["2.4.5"] and not ops["2.8.1"]  # not read / not measured
