"""What docker compose runs with for a Stack, built from its ChainSettings: the same as the
settings dict harness/stack.py wrote itself before (at 5453667). No Docker: the client and the
site's shape are stand-ins."""

import os
from types import SimpleNamespace

import pytest

from harness import stack as stack_module
from harness.stack import Stack
from harness.topology import DUAL, MILTER
from siteconfig.run_settings import ChainSettings

SHAPE_ENV = {"TESTBED_RX_SMTP": "25", "TESTBED_AMAVIS_MAX_SERVERS": ""}
# The old dict: the shape, the project, the four host ports empty, then the caller's `env`.
PORTS_EMPTY = {"RX_SMTP_PORT": "", "RX_SUBMISSION_PORT": "", "OFFICE_SMTP_PORT": "", "SINK_API_PORT": ""}


@pytest.fixture(autouse=True)
def _no_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    shape = SimpleNamespace(compose_env=lambda: dict(SHAPE_ENV), rx=SimpleNamespace(queue_dirs=["/q/rx"]),
                            tx=SimpleNamespace(queue_dirs=["/q/tx"]))
    monkeypatch.setattr(stack_module, "current_shape", lambda topology: shape)
    monkeypatch.setattr("harness.containers.docker.from_env", lambda: None)
    monkeypatch.setenv("COMPOSE_FILE", "compose.yaml:compose.site.yaml")  # make's, not the stack's
    monkeypatch.setenv("AMAVIS_MAX_SERVERS", "9")  # e.g. make test AMAVIS_MAX_SERVERS=9


def ours(stack: Stack) -> dict[str, str]:
    """The stack's compose environment without what it took from the caller unchanged."""
    return {k: v for k, v in stack.compose.environment.items() if os.environ.get(k) != v}


@pytest.mark.parametrize(("settings", "topology", "old_env", "old_files"), [
    (None, DUAL, {}, ["compose.yaml"]),
    (ChainSettings(workers=4), DUAL, {"RX_QUEUE_RUNNERS": "4", "AMAVIS_MAX_SERVERS": "4"}, ["compose.yaml"]),
    (ChainSettings(workers=2), MILTER, {"AMAVIS_MAX_SERVERS": "2", "RX_QUEUE_RUNNERS": "2"},
     ["compose.yaml", "compose.milter.yaml"]),
    (ChainSettings(tmpfs=True, workers=3, runners_per_worker=2), DUAL,
     {"AMAVIS_MAX_SERVERS": "3", "RX_QUEUE_RUNNERS": "6"}, ["compose.yaml", "compose.tmpfs.yaml"]),
    (ChainSettings(rx_docker_dns=True), DUAL, {}, ["compose.yaml", "compose.docker-dns.yaml"]),
])
def test_a_stack_runs_compose_with_what_it_set_before(settings: ChainSettings | None, topology: object,
                                                       old_env: dict[str, str], old_files: list[str]) -> None:
    stack = Stack(project="testbed-unit", settings=settings, topology=topology)  # type: ignore[arg-type]
    before = {**SHAPE_ENV, "COMPOSE_PROJECT_NAME": "testbed-unit", **PORTS_EMPTY, **old_env,
              "COMPOSE_FILE": ":".join(old_files)}
    assert ours(stack) == before
    assert stack.compose.compose_file_name == old_files


def test_a_stack_that_sets_no_workers_leaves_the_callers() -> None:
    assert Stack(project="p", topology=DUAL).compose.environment["AMAVIS_MAX_SERVERS"] == "9"
    assert Stack(project="p", settings=ChainSettings(workers=4), topology=DUAL).compose.environment[
        "AMAVIS_MAX_SERVERS"] == "4"
