"""The layers, checked by reading the source with ``ast`` (nothing here imports the modules it
checks, so a cycle or a forbidden import cannot hide behind import order or a lazy import):

- ``scoring/`` and ``reports/`` are pure: nothing from ``app/``, no web framework, no database;
- no import cycle among ``app/`` modules;
- domain errors (``app/errors.py``) carry no HTTP: status codes and headers are
  ``app/http_errors.py``'s;
- the Spanish labels of statuses, modes, round states, roles, legal types, cooperative states and
  regions are written once, next to their domain model.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(package: str) -> dict[str, Path]:
    return {_module_name(path): path for path in sorted((ROOT / package).rglob("*.py"))}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imported_names(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """Every module name an import statement of ``path`` names, with its line: statements at
    module level, inside functions and classes, and under ``if TYPE_CHECKING:`` alike (a
    function-level import is a dependency that merely runs later, and a type-only one is still a
    dependency of the design: neither may close a cycle). ``from a import b`` names ``a.b``
    as well as ``a``; the caller keeps whichever is a module."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            yield prefix, node.lineno
            for alias in node.names:
                yield f"{prefix}.{alias.name}", node.lineno


def _top(name: str) -> str:
    return name.split(".", 1)[0]


# --------------------------------------------------------------------------- pure packages

FORBIDDEN_IN_PURE = {"app", "fastapi", "starlette", "sqlalchemy", "alembic", "uvicorn"}


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("scoring", FORBIDDEN_IN_PURE | {"reports"}),  # the method knows nothing of how it is shown
        ("reports", FORBIDDEN_IN_PURE),
    ],
)
def test_pure_packages_import_nothing_from_the_app_nor_the_web_or_the_database(package, forbidden):
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for module, path in _modules(package).items()
        for name, line in _imported_names(module, path)
        if _top(name) in forbidden
    ]
    assert not offending, "\n".join(offending)


# --------------------------------------------------------------------------- no import cycle


def _app_graph() -> dict[str, dict[str, int]]:
    modules = _modules("app")
    graph: dict[str, dict[str, int]] = {module: {} for module in modules}
    for module, path in modules.items():
        for name, line in _imported_names(module, path):
            while name and name not in modules:  # `from app.x import Thing`: the module is app.x
                name = name.rpartition(".")[0]
            if name and name != module:
                graph[module].setdefault(name, line)
    return graph


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(graph[target])))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_import_cycle_among_app_modules():
    graph = _app_graph()
    described = []
    for component in _cycles(graph):
        edges = [f"  {a} (line {graph[a][b]}) -> {b}" for a in component for b in graph[a] if b in component]
        described.append(" <-> ".join(component) + "\n" + "\n".join(edges))
    assert not described, "import cycles:\n" + "\n".join(described)


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1, "d": 1}, "d": {}, "e": {"e": 1}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_packages_init_modules_import_nothing_from_the_app():
    """Importing ``app.x.y`` runs ``app/__init__.py`` and ``app/x/__init__.py`` first: edges the
    graph above does not draw, so they must not exist."""
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for module, path in _modules("app").items()
        if path.name == "__init__.py"
        for name, line in _imported_names(module, path)
        if _top(name) == "app"
    ]
    assert not offending, "\n".join(offending)


# --------------------------------------------------------------------------- errors without HTTP

ERRORS = ROOT / "app" / "errors.py"
HTTP_ONLY = {"fastapi", "starlette", "httpx", "http"}


def _error_classes() -> set[str]:
    """``ApiError`` and every class deriving from it anywhere in app/ (by base name)."""
    classes = {"ApiError"}
    trees = [_tree(path) for path in _modules("app").values()]
    grew = True
    while grew:
        grew = False
        for tree in trees:
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.ClassDef)
                    and node.name not in classes
                    and any(
                        (base.id if isinstance(base, ast.Name) else getattr(base, "attr", None)) in classes
                        for base in node.bases
                    )
                ):
                    classes.add(node.name)
                    grew = True
    return classes


def test_domain_errors_import_nothing_from_the_web_nor_the_app():
    names = [name for name, _ in _imported_names("app.errors", ERRORS)]
    assert not [name for name in names if _top(name) in HTTP_ONLY | {"app"}], names


def test_no_error_class_carries_a_status_code_or_headers():
    classes = _error_classes()
    offending = []
    for path in _modules("app").values():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ClassDef) and node.name in classes:
                for statement in node.body:
                    targets = (
                        statement.targets
                        if isinstance(statement, ast.Assign)
                        else [statement.target]
                        if isinstance(statement, ast.AnnAssign)
                        else []
                    )
                    for target in targets:
                        if isinstance(target, ast.Name) and target.id in ("status_code", "headers"):
                            offending.append(f"{path.relative_to(ROOT)}:{statement.lineno} {node.name}.{target.id}")
    assert not offending, "map statuses and headers in app/http_errors.py:\n" + "\n".join(offending)


#: Modules still passing ``status_code=``/``headers=`` to a domain error while they are being
#: rewritten; ``ApiError._accept_legacy`` turns those into plain data. Remove a module from here
#: once it passes ``current_version=``/``retry_after=`` instead (and the shim once this is empty).
LEGACY_HTTP_CALLERS: set[str] = set()


def test_errors_are_raised_without_http_status_or_headers():
    classes = _error_classes()
    callers: dict[str, list[str]] = {}
    for path in _modules("app").values():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                if name in classes and any(k.arg in ("status_code", "headers") for k in node.keywords):
                    callers.setdefault(path.relative_to(ROOT).as_posix(), []).append(f"line {node.lineno}")
    unexpected = {path: lines for path, lines in callers.items() if path not in LEGACY_HTTP_CALLERS}
    assert not unexpected, f"pass retry_after=/current_version= (app/http_errors.py makes the headers): {unexpected}"
    stale = LEGACY_HTTP_CALLERS - set(callers)
    assert not stale, f"{sorted(stale)} no longer pass status_code=/headers=: remove them from LEGACY_HTTP_CALLERS"


# --------------------------------------------------------------------------- labels live once

#: Each enumeration's labels, and the one module that writes them.
LABEL_HOMES = {
    "ResponseStatus": "app/responses/models.py",
    "ResponseMode": "app/responses/models.py",
    "RoundState": "app/rounds/models.py",
    "Role": "app/auth/models.py",
    "LegalType": "app/cooperatives/models.py",
    "CooperativeState": "app/cooperatives/models.py",
}
REGIONS_HOME = "app/settings.py"


def _enum_values() -> dict[str, dict[str, str]]:
    """Each enumeration's members and values, read from its home module."""
    values: dict[str, dict[str, str]] = {}
    for enum, home in LABEL_HOMES.items():
        for node in ast.walk(_tree(ROOT / home)):
            if isinstance(node, ast.ClassDef) and node.name == enum:
                values[enum] = {
                    statement.targets[0].id: statement.value.value
                    for statement in node.body
                    if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant)
                }
    assert set(values) == set(LABEL_HOMES), values
    return values


def _is_text(node: ast.expr) -> bool:
    """A text people read (not a number, not a path such as ``"/terreno"``)."""
    if isinstance(node, ast.JoinedStr):
        return True
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and not node.value.startswith("/")


def _label_dicts(path: Path, enums: dict[str, dict[str, str]]) -> Iterator[tuple[str, int, ast.Dict]]:
    """Dictionary literals of ``path`` that map texts to two or more members of one enumeration
    (written ``Enum.MEMBER.value``, ``Enum.MEMBER`` or as the plain value) making at least half
    of their keys (so that the sectors' ``"forestal"`` or the events' ``"submitted"`` are not
    taken for a legal type or a status)."""
    for node in ast.walk(_tree(path)):
        if not isinstance(node, ast.Dict) or len(node.keys) < 2 or not all(map(_is_text, node.values)):
            continue
        hits: dict[str, set[str]] = {}
        for key in node.keys:
            if key is None:
                continue
            attribute = key.value if isinstance(key, ast.Attribute) and key.attr == "value" else key
            if isinstance(attribute, ast.Attribute) and isinstance(attribute.value, ast.Name):
                if attribute.value.id in enums and attribute.attr in enums[attribute.value.id]:
                    hits.setdefault(attribute.value.id, set()).add(attribute.attr)
            elif isinstance(key, ast.Constant) and isinstance(key.value, str):
                for enum, members in enums.items():
                    for member, value in members.items():
                        if value == key.value:
                            hits.setdefault(enum, set()).add(member)
        for enum, members in hits.items():
            if len(members) >= 2 and 2 * len(members) >= len(node.keys):
                yield enum, node.lineno, node


def _label_copies() -> dict[tuple[str, str], list[int]]:
    enums = _enum_values()
    copies: dict[tuple[str, str], list[int]] = {}
    for path in _modules("app").values():
        where = path.relative_to(ROOT).as_posix()
        for enum, line, _ in _label_dicts(path, enums):
            if where != LABEL_HOMES[enum]:
                copies.setdefault((where, enum), []).append(line)
    return copies


def test_labels_are_written_once_next_to_their_model():
    copies = _label_copies()
    assert not copies, (
        "labels written outside their home (import them from "
        + ", ".join(sorted(set(LABEL_HOMES.values())))
        + f"): {copies}"
    )


def test_every_home_writes_its_labels():
    enums = _enum_values()
    for enum, home in LABEL_HOMES.items():
        found = [node for name, _, node in _label_dicts(ROOT / home, enums) if name == enum]
        assert len(found) == 1, (enum, home, len(found))


def test_templates_write_no_status_role_or_state_labels():
    words = {value for members in _enum_values().values() for value in members.values()}
    alternatives = "|".join(map(re.escape, sorted(words)))
    inline = re.compile(r"""\{\s*["'](""" + alternatives + r""")["']\s*:""")
    offending = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in sorted((ROOT / "app" / "templates").rglob("*.html"))
        for match in inline.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not offending, "pass the labels from the models in the page's context:\n" + "\n".join(offending)


def test_region_names_are_written_once():
    """No second table (dictionary, list, tuple, set) of Chile's regions anywhere."""
    names: set[str] = set()
    for node in ast.walk(_tree(ROOT / REGIONS_HOME)):
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "REGIONS":
            names = {value.value for value in node.value.values}
    assert len(names) == 16
    offending = []
    for package in ("app", "reports", "scoring"):
        for path in _modules(package).values():
            if path.relative_to(ROOT).as_posix() == REGIONS_HOME:
                continue
            for node in ast.walk(_tree(path)):
                if (
                    isinstance(node, (ast.Dict, ast.List, ast.Tuple, ast.Set))
                    and sum(
                        isinstance(v, ast.Constant) and v.value in names
                        for v in (node.values if isinstance(node, ast.Dict) else node.elts)
                    )
                    >= 2
                ):
                    offending.append(f"{path.relative_to(ROOT)}:{node.lineno} a table of regions")
    assert not offending, f"import REGIONS from {REGIONS_HOME}:\n" + "\n".join(offending)


# --------------------------------------------------------------------------- one commit convention

#: The only module that commits a transaction (``UnitOfWork``); every other writer works inside
#: the unit of work its caller (a view, a command, an import run, the demo loader) opened.
COMMIT_HOME = "app/unit_of_work.py"


def _commit_calls(path: Path) -> Iterator[int]:
    for node in ast.walk(_tree(path)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "commit"
            and not node.args
            and not node.keywords
        ):
            yield node.lineno


def test_only_the_unit_of_work_commits():
    offending = [
        f"{path.relative_to(ROOT).as_posix()}:{line}"
        for path in _modules("app").values()
        if path.relative_to(ROOT).as_posix() != COMMIT_HOME
        for line in _commit_calls(path)
    ]
    assert not offending, "commit through app.unit_of_work.UnitOfWork, not here: " + ", ".join(offending)


def test_services_and_the_aggregate_never_roll_back_the_callers_work():
    """A domain error rolls back in the unit of work; a service may undo only its own failed
    first write (create_response's race, documented there)."""
    allowed = {("app/responses/service.py", "create_response")}
    offending = []
    for path in [*(ROOT / "app").glob("*/service.py"), ROOT / "app/responses/lifecycle.py"]:
        where = path.relative_to(ROOT).as_posix()
        for function in ast.walk(_tree(path)):
            if not isinstance(function, ast.FunctionDef):
                continue
            for node in ast.walk(function):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "rollback"
                    and (where, function.name) not in allowed
                ):
                    offending.append(f"{where}:{node.lineno} ({function.name})")
    assert not offending, offending
