from hypothesis import given
from hypothesis import strategies as st

from mockgw.templating import render, template_names

CONTEXT = {"request": {"question": "Who is Alice?", "limit": 3, "history": [{"thought": "hm"}]}, "id": "req-1"}


def test_a_whole_string_template_keeps_the_json_type():
    assert render({"n": "${request.limit}"}, CONTEXT) == {"n": 3}


def test_templates_inside_text_are_rendered_as_text():
    assert render("Q: ${request.question} (${request.limit}) #${id}", CONTEXT) == "Q: Who is Alice? (3) #req-1"


def test_dotted_paths_reach_into_lists():
    assert render(["${request.history.0.thought}"], CONTEXT) == ["hm"]


def test_missing_values_render_empty_and_are_reported():
    missing = []
    assert render({"a": "x${request.nope}y", "b": "${request.gone}"}, CONTEXT, missing) == {"a": "xy", "b": ""}
    assert missing == ["request.nope", "request.gone"]


def test_template_names_finds_every_use():
    assert sorted(template_names({"a": ["${id}", {"b": "${request.q} ${flow}"}]})) == ["flow", "id", "request.q"]


@given(st.text().filter(lambda s: "${" not in s))
def test_text_without_templates_is_unchanged(text):
    assert render(text, CONTEXT) == text
