"""One chain per test session: started once, removed at the end even when tests fail."""

from collections.abc import Iterator

import pytest

from harness import Stack
from harness.sample import LOCAL_DOMAIN, REMOTE_DOMAIN

__all__ = ["LOCAL_DOMAIN", "OUTSIDE_SENDER", "REMOTE_DOMAIN"]
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
