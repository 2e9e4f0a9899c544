"""make diff's verdict (siteconfig/diff/compare.py) and its reading of a folder's promises, on
the sample and copies of it. No Docker: the rows are given as a run would read them."""

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from siteconfig.diff.compare import compare, recipient_classes, text_only_files
from siteconfig.diff.promises import Promises, promises_of
from siteconfig.diff.sides import resolve_old
from siteconfig.errors import SideError
from siteconfig.layout import SAMPLE
from siteconfig.suite import Outcome

ROW = "tests/test_rejection.py::test_a_message_over_the_size_limit_without_size_is_refused_after_data_with_552"


def _unchanged(folder: Path) -> None:
    del folder


def _sides(tmp_path: Path, edit: Callable[[Path], None] = _unchanged) -> tuple[Promises, Promises]:
    new = tmp_path / "new"
    shutil.copytree(SAMPLE, new)
    edit(new)
    return promises_of(SAMPLE, tmp_path / "old-assembled"), promises_of(new, tmp_path / "new-assembled")


def _smaller(folder: Path) -> None:
    policy = folder / "policy.toml"
    policy.write_text(policy.read_text().replace("max_message_size = 10485760", "max_message_size = 5242880"))


def test_a_stated_value_is_read_with_the_line_of_the_folders_policy_that_sets_it(tmp_path: Path) -> None:
    old, new = _sides(tmp_path, _smaller)
    line = next(n for n, text in enumerate((tmp_path / "new" / "policy.toml").read_text().splitlines(), 1)
                if text.startswith("max_message_size"))
    assert new.sources["limits.max_message_size"] == f"policy.toml:{line}"
    assert old.sources["limits.max_message_size"].startswith("the sample's policy.toml:")
    assert new.values["limits.max_message_size"] == 5242880


def test_a_declared_change_with_no_row_breaking_needs_no_review(tmp_path: Path) -> None:
    old, new = _sides(tmp_path, _smaller)
    runs = Outcome(rows={ROW: "passed"}), Outcome(rows={ROW: "passed"})
    got = compare(old, new, *runs, expect={"limits.max_message_size"})
    assert [c.key for c in got.values] == ["limits.max_message_size"] and not got.undeclared


def test_an_undeclared_change_needs_review_naming_its_key(tmp_path: Path) -> None:
    old, new = _sides(tmp_path, _smaller)
    got = compare(old, new, Outcome(), Outcome(), expect={"users.existing"})
    assert got.undeclared == ["limits.max_message_size changed (10485760 -> 5242880) and EXPECT does not name it",
                              "EXPECT names users.existing, which did not change"]


def test_a_refused_old_side_compares_no_rows_and_needs_review(tmp_path: Path) -> None:
    old, new = _sides(tmp_path, _smaller)
    got = compare(old, new, Outcome(refused="lint: rx/thishost-rx.mc:3: ..."), Outcome(rows={ROW: "passed"}),
                  expect={"limits.max_message_size"})
    assert not got.rows and got.undeclared == ["OLD is refused, so no row could be compared: lint: "
                                               "rx/thishost-rx.mc:3: ..."]


def test_a_value_left_to_the_policys_default_is_no_change(tmp_path: Path) -> None:
    def unwritten(folder: Path) -> None:
        policy = folder / "policy.toml"
        policy.write_text(policy.read_text().replace('scanner_failure = "tempfail"', "", 1))

    old, new = _sides(tmp_path, unwritten)
    assert new.values["content.scanner_failure"] == "tempfail" == old.values["content.scanner_failure"]
    assert new.sources["content.scanner_failure"] == "(the policy's default)"
    assert not compare(old, new, Outcome(), Outcome(), expect=set()).values


def test_a_row_that_fails_on_new_needs_review_even_when_its_value_is_declared(tmp_path: Path) -> None:
    old, new = _sides(tmp_path, _smaller)
    broken = Outcome(rows={ROW: "failed"}, why_failed={ROW: "AssertionError: 250 where 552 was promised"})
    got = compare(old, new, Outcome(rows={ROW: "passed"}), broken, expect={"limits.max_message_size"})
    assert any(ROW in why and "552" in why for why in got.undeclared), got.undeclared


def test_rows_that_change_while_no_value_does_need_review(tmp_path: Path) -> None:
    old, new = _sides(tmp_path)
    got = compare(old, new, Outcome(rows={ROW: "passed"}), Outcome(rows={ROW: "n/a"}), expect=set())
    assert not got.values and got.undeclared == ["1 row(s) changed outcome while no policy value changed"]


def test_the_same_folder_changes_nothing(tmp_path: Path) -> None:
    old, new = _sides(tmp_path)
    runs = Outcome(rows={ROW: "passed"}), Outcome(rows={ROW: "passed"})
    got = compare(old, new, *runs, expect=set())
    assert not got.changed and not got.undeclared
    assert recipient_classes(old) == recipient_classes(new)


def test_comments_alone_are_told_from_changes_of_meaning(tmp_path: Path) -> None:
    def edit(folder: Path) -> None:
        mc = folder / "rx" / "thishost-rx.mc"
        mc.write_text(mc.read_text().replace("divert(0)dnl\n", "divert(0)dnl\ndnl reviewed\n", 1))
        tx = folder / "tx" / "thishost-tx.mc"  # m4 reads a # line of an .mc: cf.m4 turns comments off
        tx.write_text(tx.read_text().replace("divert(0)dnl\n", "divert(0)dnl\n# reviewed\n", 1))
        policy = folder / "policy.toml"
        policy.write_text(policy.read_text().replace("[limits]\n", "[limits]  # reviewed\n", 1))
        (folder / "users").write_text((folder / "users").read_text().replace("\ndave\n", "\n"))

    old, new = _sides(tmp_path, edit)
    assert text_only_files(old, new) == (["tx/thishost-tx.mc", "users"], ["policy.toml", "rx/thishost-rx.mc"])


def test_old_as_a_git_revision_is_the_folder_as_that_revision_had_it() -> None:
    folder, named = resolve_old("HEAD", SAMPLE)
    assert named.startswith("HEAD (") and named.endswith("of config/sample")
    committed = subprocess.run(["git", "-C", str(SAMPLE), "show", "HEAD:config/sample/users"], capture_output=True)
    assert (folder / "users").read_bytes() == committed.stdout


def test_old_that_is_neither_a_folder_nor_a_revision_is_refused_in_one_message() -> None:
    with pytest.raises(SideError, match="neither a folder nor a revision"):
        resolve_old("no-such-revision-here", SAMPLE)
