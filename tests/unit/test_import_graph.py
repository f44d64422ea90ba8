"""The import structure of the custapp package (issue 15, item 2; DESIGN.md "Data flows one way").

Every module under custapp/ is parsed with `ast` (nothing is imported). The graph counts every
import statement, including those inside functions and methods: a function-level import only
hides a cycle until the function runs. Imports under `if TYPE_CHECKING:` are left out: they are
for the type checker only and never run.

Edges: `import custapp.a.b` and `from custapp.a import b` point at the module custapp.a.b when
b is a module, else (b a name defined in custapp.a) at custapp.a; relative imports are resolved
the same way. The parent packages Python initialises on the way (custapp.a for custapp.a.b) are
not edges: a package's modules importing each other through their own __init__ is the normal
package pattern, not a layering problem.

The rules:
- no import cycles (each cycle is reported with the lines that make it);
- custapp.settings imports no custapp module; custapp.db imports only custapp.settings,
  custapp.clock and custapp.security (nothing above the database layer);
- services and models never import reflex, custapp.pages, custapp.states, custapp.components
  or custapp.demo (demo data sits above the services, as the command line does);
- components and shared states never import a page (else a page could reach another page
  through them);
- no page imports another page: a module of custapp.pages.X imports custapp.pages.Y only when
  Y is X (a page package's own modules may import each other);
- no module under custapp/pages over 500 lines;
- no class in custapp/pages or custapp/states (states, their mixins, the rows they hold) has a
  variable annotated dict[str, str], list[dict[str, str]] or list[list[str]]: rows are typed.
  Two exceptions, maps that are no rows and stay dict[str, str]: a form's errors (`errors`,
  `*_errors`), the field -> message-key map a service's ValidationFailed carries, and the shell's
  message catalogue `msgs` (key -> text in the tab's language).
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "custapp"
MAX_PAGE_LINES = 500
UNTYPED_ANNOTATIONS = ("dict[str,str]", "list[list[str]]")  # list[dict[str,str]] holds the first
DB_MAY_IMPORT = ("custapp.settings", "custapp.clock", "custapp.security")
NEVER_BELOW_SERVICES = ("custapp.pages", "custapp.states", "custapp.components", "custapp.demo")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (custapp.* or the top of a third-party name)
    line: int

    def __str__(self) -> str:
        return f"{_path(self.source)}:{self.line} imports {self.target}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def _path(module: str) -> str:
    return str(modules()[module].relative_to(PACKAGE_DIR.parent))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: anywhere in the module, inside functions too, but
    not in the body of `if TYPE_CHECKING:` (its else branch does run)."""
    found: list[ast.Import | ast.ImportFrom] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return sorted(found, key=lambda node: (node.lineno, node.col_offset))


def _resolve_base(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module if modules()[module].name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


@cache
def imports_of(module: str) -> tuple[Import, ...]:
    tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
    found: list[Import] = []
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = _resolve_base(module, node)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules() else base
                for alias in node.names
            ]
        for target in targets:
            if target != "custapp" and not target.startswith("custapp."):
                target = target.partition(".")[0]
            found.append(Import(module, target, node.lineno))
    return tuple(found)


@cache
def graph() -> dict[str, dict[str, Import]]:
    """custapp module -> {custapp module it imports: the first import statement doing so}."""
    edges: dict[str, dict[str, Import]] = {}
    for module in modules():
        edges[module] = {}
        for item in imports_of(module):
            if item.target in modules() and item.target != module:
                edges[module].setdefault(item.target, item)
    return edges


def _strongly_connected(edges: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the graph is a few hundred modules deep at most)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
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
                    components.append(sorted(component))
    return components


def _shortest_cycle(start: str, members: set[str], edges: dict[str, dict[str, Import]]) -> list:
    """The import statements of one shortest cycle through `start` inside its component."""
    came_from: dict[str, Import] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target, item in sorted(edges[node].items()):
            if target not in members:
                continue
            if target == start:
                path = [item]
                while path[0].source != start:
                    path.insert(0, came_from[path[0].source])
                return path
            if target not in came_from:
                came_from[target] = item
                queue.append(target)
    raise AssertionError(f"{start} is in a cycle without one")


def _cycles_report() -> list[str]:
    edges = graph()
    report = []
    for component in _strongly_connected(edges):
        members = set(component)
        lines = [f"cycle among {len(component)} modules: {', '.join(component)}"]
        shown: set[tuple[str, str]] = set()
        for start in component:
            cycle = _shortest_cycle(start, members, edges)
            key = tuple(sorted((item.source, item.target) for item in cycle))
            if key in shown:
                continue
            shown.add(key)
            lines.append("  " + " -> ".join([cycle[0].source, *(i.target for i in cycle)]))
            lines += [f"      {item}" for item in cycle]
        report.append("\n".join(lines))
    return report


def _page_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["custapp", "pages"] else None


def _untyped_annotation(node: ast.expr) -> bool:
    text = ast.unparse(node).replace(" ", "").replace("typing.", "")
    text = text.replace("Dict[", "dict[").replace("List[", "list[").strip("'\"")
    return any(form in text for form in UNTYPED_ANNOTATIONS)


def _is_form_errors(node: ast.AnnAssign) -> bool:
    """A form's field errors or the message catalogue: maps, not rows."""
    name = ast.unparse(node.target)
    is_map = ast.unparse(node.annotation).replace(" ", "") == "dict[str,str]"
    return is_map and (name.endswith("errors") or name == "msgs")


# --- the tests -----------------------------------------------------------------------------------


def test_the_walk_sees_function_level_imports_and_resolves_names() -> None:
    """The graph is only as good as its parsing: a few edges known to exist must be found."""
    assert len(modules()) > 100
    assert "custapp.settings" in graph()["custapp.db"]
    assert "custapp.settings" in graph()["custapp.clock"]
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import custapp.pages\n"
        "def f():\n    from custapp.services import audit\n"
    )
    assert [ast.unparse(node) for node in _import_nodes(tree)] == [
        "from typing import TYPE_CHECKING",
        "from custapp.services import audit",
    ]


def test_the_cycle_finder_finds_each_cycle() -> None:
    def edge(a: str, b: str) -> Import:
        return Import(a, b, 1)

    edges = {
        "a": {"b": edge("a", "b")},
        "b": {"c": edge("b", "c"), "a": edge("b", "a")},
        "c": {"a": edge("c", "a")},
        "d": {"a": edge("d", "a"), "e": edge("d", "e")},
        "e": {"d": edge("e", "d")},
        "f": {},
    }
    assert _strongly_connected(edges) == [["a", "b", "c"], ["d", "e"]]
    cycle = _shortest_cycle("a", {"a", "b", "c"}, edges)
    assert [(i.source, i.target) for i in cycle] == [("a", "b"), ("b", "a")]


def test_there_are_no_import_cycles() -> None:
    report = _cycles_report()
    assert not report, "import cycles (function-level imports count):\n" + "\n".join(report)


def test_settings_and_db_import_nothing_above_them() -> None:
    bad = [str(item) for item in imports_of("custapp.settings") if item.target in modules()]
    bad += [
        str(item)
        for item in imports_of("custapp.db")
        if item.target in modules()
        and not any(
            item.target == allowed or item.target.startswith(f"{allowed}.")
            for allowed in DB_MAY_IMPORT
        )
    ]
    assert not bad, (
        "settings imports no custapp module; db only settings, clock, security:\n" + "\n".join(bad)
    )


def test_services_and_models_never_import_reflex_or_the_ui() -> None:
    bad = [
        str(item)
        for module in modules()
        if module.startswith(("custapp.services", "custapp.models"))
        for item in imports_of(module)
        if item.target == "reflex"
        or any(item.target == ui or item.target.startswith(f"{ui}.") for ui in NEVER_BELOW_SERVICES)
    ]
    assert not bad, "the domain layer knows nothing of the UI:\n" + "\n".join(bad)


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def test_shared_ui_never_imports_a_page() -> None:
    bad = [
        str(item)
        for module in modules()
        if _within(module, "custapp.components") or _within(module, "custapp.states")
        for item in imports_of(module)
        if _within(item.target, "custapp.pages")
    ]
    assert not bad, "components and shared states serve every page, and know none:\n" + "\n".join(
        bad
    )


def test_no_page_imports_another_page() -> None:
    bad = [
        str(item)
        for module in modules()
        if _page_of(module)
        for item in imports_of(module)
        if _page_of(item.target) not in (None, _page_of(module))
    ]
    assert not bad, (
        "a page never imports another page (shared widgets go to custapp/components, shared "
        f"state to custapp/states): {len(bad)} imports\n" + "\n".join(bad)
    )


def test_no_page_module_is_over_500_lines() -> None:
    sizes = {
        _path(module): len(path.read_text(encoding="utf-8").splitlines())
        for module, path in modules().items()
        if module.startswith("custapp.pages.")
    }
    big = [
        f"{path}: {lines} lines" for path, lines in sorted(sizes.items()) if lines > MAX_PAGE_LINES
    ]
    assert not big, f"page modules over {MAX_PAGE_LINES} lines:\n" + "\n".join(big)


def test_state_vars_are_typed_rows() -> None:
    bad = []
    for module, path in modules().items():
        if not module.startswith(("custapp.pages", "custapp.states")):
            continue
        for cls in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(cls, ast.ClassDef):
                continue
            bad += [
                f"{_path(module)}:{node.lineno} {cls.name}.{ast.unparse(node.target)}: "
                f"{ast.unparse(node.annotation)}"
                for node in cls.body
                if isinstance(node, ast.AnnAssign)
                and _untyped_annotation(node.annotation)
                and not _is_form_errors(node)
            ]
    assert not bad, (
        "state vars hold typed rows (dataclasses, bools as bool), not dict[str, str], "
        f"list[dict[str, str]] or list[list[str]]: {len(bad)} vars\n" + "\n".join(bad)
    )
