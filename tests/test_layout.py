"""The product's modules import each other without a circle, and the arrows run one way:
`config` (the composition root) → the apps → `vipplatform` (the kernel); `payments` never
imports `users` (a payment is announced by a signal); the background runs one way (tasks import
services, no service imports tasks: `vipplatform.background` sends them by name), and the
product never imports the devtools (the providers' fakes).
Read from the source (every import, at the top of a module or inside a function)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "payments", "users", "vipplatform", "devtools")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The product modules `name` imports (a package's name stands for its __init__)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.add(full if full in known else base)
    return {target for target in targets if target in known and target != name}


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in edges:
        if node not in index:
            visit(node)
    return found


def test_no_import_circle():
    assert circles(graph()) == []


def test_the_circle_finder_finds_one():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_product_does_not_import_the_devtools():
    importers = {
        name
        for name, targets in graph().items()
        if not name.startswith("devtools") and any(t.startswith("devtools") for t in targets)
    }
    assert importers == set()


def test_only_tasks_import_tasks():
    edges = graph()
    importers = {
        name
        for name, targets in edges.items()
        for target in targets
        if target.endswith(".tasks") and not name.endswith(".tasks")
    }
    assert importers == set()


def importers_of(prefixes: tuple[str, ...], *, among: tuple[str, ...], edges=None) -> set[str]:
    """The imports from a module of the packages `among` to a module of `prefixes`."""
    return {
        f"{name} → {target}"
        for name, targets in (edges if edges is not None else graph()).items()
        if name.split(".")[0] in among
        for target in targets
        if target.split(".")[0] in prefixes
    }


def test_the_kernel_imports_no_app_and_not_the_composition_root():
    outside = ("payments", "users", "devtools", "config")
    assert importers_of(outside, among=("vipplatform",)) == set()


def test_the_apps_do_not_import_the_composition_root():
    assert importers_of(("config",), among=("payments", "users")) == set()


def test_payments_does_not_import_users():
    assert importers_of(("users",), among=("payments",)) == set()


def test_the_layer_rule_finds_an_arrow_running_back_up():
    edges = {"vipplatform.api": {"payments.models"}, "payments.models": {"vipplatform.db"}}
    assert importers_of(("payments",), among=("vipplatform",), edges=edges) == {
        "vipplatform.api → payments.models"
    }
