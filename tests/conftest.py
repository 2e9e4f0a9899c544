"""One chain per test session: started once, removed at the end even when tests fail."""

from collections.abc import Iterator

import pytest

from harness import Stack

LOCAL_DOMAIN = "testbed.example"
REMOTE_DOMAIN = "remote.example"
OUTSIDE_SENDER = f"someone@{REMOTE_DOMAIN}"


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    with Stack() as running:
        yield running


@pytest.fixture
def amavis_restored(stack: Stack) -> Iterator[None]:
    """For tests that stop amavisd-new: it is running and healthy again afterwards."""
    yield
    container = stack.container("amavis")
    container.reload()
    if container.status != "running":
        stack.start("amavis")
