"""The rings of the package, read from its imports: every import points inward (or stays in its ring).

A failure names the importing module, what it imports and both rings: move the code, or invert the
dependency (the inner ring defines an interface, the outer one implements it -- transports/frame_io.py and
server/ws_extensions.py do this).
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

import mockgw

PACKAGE = Path(mockgw.__file__).resolve().parent

# Inner rings first. A module may import its own ring and the rings inside it, never one outside.
RINGS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("errors", "bundled", "profiles", "templating", "protocol")),
    ("contract", ("contract", "matching", "settings")),
    ("time and records", ("timeline", "journal")),
    ("provider dialects", ("llm",)),  # pure LLM-provider shapes over the timeline's steps (transports/sse.py)
    ("state", ("state",)),
    ("gateway", ("gateway",)),
    ("transports", ("transports",)),
    ("routes", ("admin", "admin_broadcast", "openapi", "ui")),
    ("server", ("server",)),
    ("recorder", ("record",)),  # mockgw record: a proxy beside the mock, built on its core and server
    ("entry", ("app", "serve", "cli", "__main__", "__init__")),  # serve/: `mockgw serve` behind cli.py
]
# Third-party packages the pure core may use (encoding only, no I/O); everything else there is stdlib.
CORE_MAY_USE = {"orjson"}
NEVER = ("conformance", "loadtests", "tests")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"


def _ring(module: str) -> int:
    top = module.split(".")[0]
    for index, (_, tops) in enumerate(RINGS):
        if top in tops:
            return index
    raise AssertionError(f"mockgw.{module} belongs to no ring: add it to RINGS in {__file__}")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(), str(path))
    package = ["mockgw", *path.relative_to(PACKAGE).parts[:-1]]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:  # from . import a, b: each name may be a module
                    found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
                    continue
            else:
                module = node.module or ""
            found.append((node.lineno, module))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def outward_imports(here: str, imports: list[tuple[int, str]]) -> list[str]:
    """The imports of module `here` (mockgw-relative) that reach a ring outside its own, described."""
    ring = _ring(here)
    outward = []
    for line, module in imports:
        top = module.split(".")[0]
        if top in NEVER:
            outward.append(f"line {line}: {module}: mockgw never imports {top}")
        if top != "mockgw" or module == "mockgw":
            continue
        other = _ring(module.removeprefix("mockgw."))
        if other > ring:
            outward.append(f"line {line}: {module} ({RINGS[other][0]} ring) from the {RINGS[ring][0]} ring")
    return outward


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_import_points_inward(path):
    here = _module_name(path)
    outward = outward_imports(here, _imports(path))
    assert not outward, f"mockgw.{here} imports outward:\n" + "\n".join(outward)


def test_an_outward_import_is_reported(tmp_path):
    """The control: a protocol module importing the server, or anything importing conformance, is caught."""
    module = tmp_path / "fake.py"
    module.write_text(
        "from mockgw.server.listen import bind_socket\nimport conformance.cli\nfrom mockgw import errors\n"
    )
    imports = [
        (n.lineno, n.names[0].name if isinstance(n, ast.Import) else n.module or "")
        for n in ast.walk(ast.parse(module.read_text()))
        if isinstance(n, (ast.Import, ast.ImportFrom))
    ]
    found = outward_imports("protocol.fake", sorted(imports))
    assert found == [
        "line 1: mockgw.server.listen (server ring) from the core ring",
        "line 2: conformance.cli: mockgw never imports conformance",
    ]
    assert outward_imports("server.fake", [(1, "mockgw.transports.frame_io")]) == []


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "protocol").rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_the_wire_protocol_is_pure(path):
    """protocol/ imports the standard library, its own ring and encoders only: no asyncio, no server, no I/O."""
    stdlib = sys.stdlib_module_names
    for line, module in _imports(path):
        top = module.split(".")[0]
        if top == "mockgw":
            assert _ring(module.removeprefix("mockgw.")) == 0, f"{path.name}:{line} imports {module}"
            continue
        assert top in CORE_MAY_USE or top in stdlib, f"{path.name}:{line} imports {module}"
        assert top not in {"asyncio", "socket", "selectors", "threading"}, f"{path.name}:{line} imports {module}"


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "timeline").rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_time_is_owned_without_a_web_framework(path):
    for line, module in _imports(path):
        top = module.split(".")[0]
        assert top not in {"starlette", "uvicorn", "websockets"}, f"{path.name}:{line} imports {module}"


def test_public_api_is_exactly_all():
    expected = {
        "ContractError",
        "ContractsInvalid",
        "MockgwError",
        "MuxLimits",
        "Settings",
        "SettingsError",
        "create_app",
        "load_contracts",
    }
    assert set(mockgw.__all__) == expected
    for name in mockgw.__all__:
        assert getattr(mockgw, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'app_factory'"):
        mockgw.app_factory  # noqa: B018


def test_importing_a_pure_module_loads_no_web_stack():
    """`import mockgw.profiles` (or the protocol) must not pull in starlette or uvicorn: checked in a clean process."""
    import subprocess

    code = (
        "import sys, mockgw.profiles, mockgw.protocol.mux, mockgw.timeline.plan; "
        "print(sorted(m for m in ('starlette', 'uvicorn', 'jsonschema') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
    assert importlib.util.find_spec("mockgw.app") is not None
