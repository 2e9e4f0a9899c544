"""The testbed's own errors share one base (siteconfig/errors.py), keep the builtin each
derived from, and are importable from the modules that raise them, as before."""

import ast
import builtins
from pathlib import Path

import pytest

import harness
from harness.containers import StackError
from harness.poll import PollTimeout
from harness.preflight import BrokenChainError
from harness.startup import ChainDownError
from loadgen.experiments.counts import CountError
from siteconfig import errors
from siteconfig.adopt.mc import McError
from siteconfig.compiled import CompiledCfError
from siteconfig.dkimkeys import DkimKeyError
from siteconfig.errors import TestbedError
from siteconfig.policy import PolicyError
from siteconfig.shape import ShapeError

REPO = Path(__file__).resolve().parents[2]

# Each error, as its raisers import it, with the builtin its callers may still catch it as.
ERRORS = [
    (StackError, RuntimeError),
    (ChainDownError, StackError),
    (BrokenChainError, RuntimeError),
    (PollTimeout, TimeoutError),
    (ShapeError, RuntimeError),
    (PolicyError, ValueError),
    (McError, ValueError),
    (DkimKeyError, RuntimeError),
    (CompiledCfError, RuntimeError),
    (CountError, ValueError),
]


@pytest.mark.parametrize(("error", "builtin"), ERRORS, ids=[error.__name__ for error, _ in ERRORS])
def test_every_error_is_a_testbed_error_and_still_what_it_was(error: type[Exception], builtin: type) -> None:
    assert issubclass(error, TestbedError) and issubclass(error, builtin)
    assert getattr(errors, error.__name__) is error


def test_the_harness_exports_the_same_classes() -> None:
    assert (harness.StackError, harness.ChainDownError, harness.PollTimeout) == (StackError, ChainDownError,
                                                                                 PollTimeout)


def test_one_except_catches_any_of_them_and_nothing_of_pythons() -> None:
    raised = [StackError("down"), PollTimeout("late"), PolicyError(Path("policy.toml"), [(3, "bad")]),
              CountError("too many")]
    assert all(isinstance(error, TestbedError) for error in raised)
    assert str(raised[2]) == "policy.toml:3: bad"
    for builtin in (ValueError("x"), RuntimeError("x"), TimeoutError("x"), OSError("x")):
        assert not isinstance(builtin, TestbedError)


def _exception_bases(node: ast.ClassDef) -> list[str]:
    names = [base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else ""
             for base in node.bases]
    return [name for name in names
            if name.endswith(("Error", "Exception")) or name in errors.__all__
            or (isinstance(getattr(builtins, name, None), type) and issubclass(getattr(builtins, name), BaseException))]


def test_no_error_class_is_defined_outside_the_errors_module() -> None:
    """A new error of the testbed's goes into siteconfig/errors.py, under TestbedError."""
    elsewhere = []
    for wing in ("harness", "siteconfig", "loadgen", "tests"):
        for path in sorted((REPO / wing).rglob("*.py")):
            if path == REPO / "siteconfig" / "errors.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ClassDef) and _exception_bases(node):
                    elsewhere.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.name}")
    assert not elsewhere, elsewhere
