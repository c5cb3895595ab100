"""MockGateway: refusals in the gateway's order, matching, and the one plan a shared contract keeps."""

from mockgw.gateway import MockGateway, Refusal, Unmatched
from mockgw.matching import IncomingRequest
from mockgw.settings import Settings
from mockgw.timeline.plan import Replay

from ..conftest import contracts_from


def gateway(profile="2.6.2", **settings):
    contracts = contracts_from(
        {"id": "plain", "match": {"service": "agent"}, "response": {"frames": [{"at_s": 0, "response": {"a": 1}}]}},
        {
            "id": "templated",
            "match": {"service": "prompt"},
            "response": {"frames": [{"at_s": 0, "response": {"echo": "${request.id}"}}]},
        },
    )
    return MockGateway(Settings(profile=profile, **settings), contracts)


def ask(service="agent", flow="default", **body):
    return IncomingRequest("socket", service, body or {"question": "q"}, flow)


def test_a_shared_contract_is_planned_once_and_a_templated_one_per_request():
    gw = gateway()
    first, second = gw.resolve(ask()), gw.resolve(ask())
    assert isinstance(first, Replay) and first.contract_id == "plain"
    assert first is second  # planned once for every request
    one, two = gw.resolve(ask("prompt", id="x")), gw.resolve(ask("prompt", id="y"))
    assert one.steps[0].payload == {"echo": "x"} and two.steps[0].payload == {"echo": "y"}


def test_replacing_the_contracts_forgets_their_plans():
    gw = gateway()
    before = gw.resolve(ask())
    gw.replace_contracts(
        contracts_from(
            {"id": "plain", "match": {"service": "agent"}, "response": {"frames": [{"at_s": 0, "response": {"a": 2}}]}}
        )
    )
    after = gw.resolve(ask())
    assert after is not before and after.steps[0].payload == {"a": 2}


def test_refusals_come_before_matching_in_the_gateways_order():
    gw = gateway()
    unknown = gw.resolve(ask("no-such-service"))
    assert isinstance(unknown, Refusal) and unknown.error_type == "unknown-service" and unknown.rest_status == 404
    bad_flow = gw.resolve(ask(flow="nope"))
    assert isinstance(bad_flow, Refusal) and bad_flow.message == "Invalid flow default/nope"
    workspace = gw.resolve(ask(), workspace="elsewhere")
    assert isinstance(workspace, Refusal) and workspace.error_type == "workspace-not-found"


def test_an_older_profile_refuses_as_it_did():
    gw = gateway(profile="2.2.5")
    refused = gw.resolve(ask("no-such-service"))
    assert isinstance(refused, Refusal) and refused.message == "This kind not supported by flow"
    assert refused.rest_status == 200
    # No workspace in the message before workspaces (2.4.5): 2.2.5's dispatch/manager.py, the real 2.3.1 on the rig.
    assert gw.resolve(ask(flow="nope")).message == "Invalid flow"
    assert gateway(profile="1.7").resolve(ask(flow="nope")).message == "Invalid flow"


def test_a_request_no_contract_matches_is_unmatched_with_the_nearest_reason():
    gw = gateway()
    result = gw.resolve(ask("graph-rag", query="q"))
    assert isinstance(result, Unmatched)


def test_a_socket_request_for_an_operation_the_registry_lacks_is_an_unknown_service_from_2_6_2():
    request = IncomingRequest("socket", "config", {"operation": "no-such-operation"})
    refused = MockGateway(Settings(profile="2.11.0"), []).resolve(request)
    assert isinstance(refused, Refusal)
    assert (refused.message, refused.error_type) == ("unknown service", "unknown-service")
    known = MockGateway(Settings(profile="2.11.0"), []).resolve(
        IncomingRequest("socket", "config", {"operation": "list"})
    )
    assert isinstance(known, Replay)
    assert isinstance(MockGateway(Settings(profile="2.4.5"), []).resolve(request), Replay)  # no mux lookup there


def test_a_socket_iam_request_for_an_unregistered_operation_is_an_unknown_service_in_2_11():
    request = IncomingRequest("socket", "iam", {"operation": "no-such-operation"})
    refused = MockGateway(Settings(profile="2.11.0"), []).resolve(request)
    assert isinstance(refused, Refusal) and refused.error_type == "unknown-service"
    whoami = MockGateway(Settings(profile="2.11.0"), []).resolve(
        IncomingRequest("socket", "iam", {"operation": "whoami"})
    )
    assert not isinstance(whoami, Refusal)  # registered: on to the IAM service (here: no contract)
