"""The apps' imports run one way: consumers -> chat -> {rag, llm} -> accounts -> core.

The graph is computed from the source (every import, lazy ones inside functions included) between Django apps,
each app being the package that holds an `apps.py`.
"""

import ast
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path

from django.apps import apps
from django.utils.module_loading import module_has_submodule

from realtime_chat.core.schedules import JOBS_MODULE, periodic_jobs

ROOT = Path(__file__).resolve().parent.parent

# What each app may import. Anything else is a new dependency: add it here only if it runs downward.
ALLOWED = {
    "realtime_chat.core": set(),
    "realtime_chat.accounts": {"realtime_chat.core"},
    "realtime_chat.local_model": {"realtime_chat.core"},
    "realtime_chat.llm": {"realtime_chat.core", "realtime_chat.local_model"},
    "rag": {"realtime_chat.core", "realtime_chat.accounts"},
    "realtime_chat.personas": {"realtime_chat.core", "realtime_chat.accounts", "realtime_chat.llm"},
    "realtime_chat.memory": {"realtime_chat.core", "realtime_chat.accounts", "rag"},
    "realtime_chat.attachments": {"realtime_chat.core", "realtime_chat.accounts", "rag"},
    "realtime_chat.chat": {
        "realtime_chat.core",
        "realtime_chat.accounts",
        "realtime_chat.llm",
        "rag",
        "realtime_chat.attachments",
        "realtime_chat.personas",
        "realtime_chat.memory",
    },
    # Above chat: reads what chat and rag recorded (the budget the turn checks lives in chat itself).
    "realtime_chat.analytics": {
        "realtime_chat.core",
        "realtime_chat.accounts",
        "realtime_chat.llm",
        "rag",
        "realtime_chat.chat",
    },
    "consumers": {"realtime_chat.core", "realtime_chat.accounts", "realtime_chat.chat"},
    "frontend": set(),
}


def first_party_apps() -> list[str]:
    found = []
    for apps_py in ROOT.rglob("apps.py"):
        relative = apps_py.parent.relative_to(ROOT)
        if relative.parts[0] not in {".venv", "tests", "var", "bench"} and not relative.parts[0].startswith("."):
            found.append(".".join(relative.parts))
    return sorted(found)


def owner(module: str, app_names: list[str]) -> str | None:
    matches = [app for app in app_names if module == app or module.startswith(app + ".")]
    return max(matches, key=len, default=None)


def imported_modules(path: Path, module: str) -> Iterator[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def app_graph() -> dict[str, set[str]]:
    app_names = first_party_apps()
    graph: dict[str, set[str]] = {app: set() for app in app_names}
    for app in app_names:
        for path in (ROOT / app.replace(".", "/")).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            if owner(module, app_names) != app:
                continue  # a nested app's file
            for target in imported_modules(path, module):
                dependency = owner(target, app_names)
                if dependency and dependency != app:
                    graph[app].add(dependency)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for successor in sorted(graph[node]):
            if state.get(successor) == "open":
                return [*path[path.index(successor) :], successor]
            if successor not in state and (cycle := visit(successor)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_every_first_party_app_is_installed_and_known_here() -> None:
    installed = {config.name for config in apps.get_app_configs()}
    assert set(first_party_apps()) == set(ALLOWED)
    assert set(ALLOWED) <= installed


def test_no_import_cycle_between_apps() -> None:
    assert find_cycle(app_graph()) is None


def test_each_app_imports_only_the_apps_below_it() -> None:
    unexpected = {app: sorted(deps - ALLOWED[app]) for app, deps in app_graph().items() if deps - ALLOWED[app]}
    assert unexpected == {}


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_each_periodic_job_runs_a_function_of_the_app_that_declares_it() -> None:
    declared = []
    for config in apps.get_app_configs():
        if module_has_submodule(config.module, JOBS_MODULE):
            for job in import_module(f"{config.name}.{JOBS_MODULE}").PERIODIC_JOBS:
                assert job.func.startswith(config.name + "."), (config.name, job)
                declared.append(job)
    assert declared == periodic_jobs()
    assert len(declared) >= 4
