"""The testbed's own errors, under one base: `except TestbedError` catches any of them, and
nothing raised by Python or a library.

They live here, in the lowest of the testbed's packages (the harness and the load generator
import siteconfig; siteconfig imports neither), so every wing can import them without an
upward or circular import. Each is also importable from the module that raises it, as before
(harness.StackError, siteconfig.policy.PolicyError, ...).

Each keeps the builtin it derived from before, beside TestbedError: a caller that catches
ValueError (loadgen's main reports a PolicyError or CountError that way), TimeoutError (an
OSError: PollTimeout) or RuntimeError still catches it.
"""

import argparse
from pathlib import Path

__all__ = [
    "BrokenChainError",
    "ChainDownError",
    "ChainSettingsError",
    "CompiledCfError",
    "CountError",
    "DkimKeyError",
    "McError",
    "PolicyError",
    "PollTimeout",
    "ShapeError",
    "SideError",
    "StackError",
    "SwitchError",
    "TestbedError",
]


class TestbedError(Exception):
    """Something the testbed itself found wrong: its configuration, its images, its chain, its
    options. The message says what, and where it can, what to do."""

    __test__ = False  # pytest: not a test class, for all its name


# The configuration (siteconfig/)


class PolicyError(TestbedError, ValueError):
    """policy.toml does not parse or does not validate: each problem with its line."""

    def __init__(self, path: Path, problems: list[tuple[int | None, str]]) -> None:
        self.path, self.problems = path, problems
        super().__init__("\n".join(f"{path}:{line}: {text}" if line else f"{path}: {text}" for line, text in problems))


class CompiledCfError(TestbedError, RuntimeError):
    """The compiled .cf could not be read from its image."""


class ShapeError(TestbedError, RuntimeError):
    """The shape is missing, or the site's files do not say something the chain needs."""


class DkimKeyError(TestbedError, RuntimeError):
    """A key could not be made or read (openssl missing or failing)."""


class McError(TestbedError, ValueError):
    """The .mc cannot be read as m4 statements (a call whose parentheses never close)."""


# The chain (harness/)


class StackError(TestbedError, RuntimeError):
    """The chain could not be brought up, or a daemon in it failed."""


class ChainDownError(StackError):
    """The chain did not come up: the message says which daemon, why, and what to do."""


class BrokenChainError(TestbedError, RuntimeError):
    """The preflight message did not pass every hop: the chain under test is broken."""


class PollTimeout(TestbedError, TimeoutError):  # noqa: N818 (named like the builtin it extends)
    """A condition did not hold before its deadline."""


# The load generator (loadgen/)


class ChainSettingsError(TestbedError, ValueError):
    """A setting no chain can have (siteconfig/run_settings.py): the message names it, its
    value and what would do."""


class SideError(TestbedError, ValueError):
    """make diff's OLD or NEW names neither a folder nor a revision of NEW's folder
    (siteconfig/diff/sides.py)."""


class SwitchError(TestbedError, ValueError):
    """make switch's NEW cannot replace OLD in place: its ports or queues differ, or its images
    are missing (loadgen/experiments/switch.py)."""


class CountError(TestbedError, argparse.ArgumentTypeError, ValueError):
    """A count that does not fit. An ArgumentTypeError, so argparse shows its message as it
    is; a ValueError, so main() reports one from an environment twin or --variants."""
