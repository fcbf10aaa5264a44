"""The safety policy: blocklist files, matching rules and classifiers given as module paths."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import kino.service
from kino.service.safety import SafetyError, SafetyPolicy, SafetyVerdict

EXAMPLE = Path(kino.service.__file__).parent / "blocklist.example.txt"


def policy_from(tmp_path: Path, text: str, classifier: str | None = None) -> SafetyPolicy:
    path = tmp_path / "blocklist.txt"
    path.write_text(text, encoding="utf-8")
    return SafetyPolicy.load(path, classifier)


def test_latin_terms_match_whole_words_in_any_case(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, "kill\nblood bath\n")

    assert not policy.check("a knight goes to KILL the dragon").allowed
    assert not policy.check("kill").allowed
    assert not policy.check("(kill), then leave").allowed
    assert not policy.check("a  Blood\n\tBath in the arena").allowed
    assert policy.check("a skilled knight", "killing floor", "skill-kill3r").allowed
    assert policy.check("a bloodbath").allowed


def test_a_refusal_says_which_term(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, "kill\n")

    verdict = policy.check("kill the lights")

    assert verdict == SafetyVerdict(False, "matched blocked term 'kill'", "keywords")
    assert verdict.to_dict() == {
        "allowed": False,
        "reason": "matched blocked term 'kill'",
        "source": "keywords",
    }


def test_chinese_terms_match_as_substrings(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, "血腥\n")

    verdict = policy.check("一个非常血腥的场景")

    assert verdict == SafetyVerdict(False, "matched blocked term '血腥'", "keywords")
    assert policy.check("一只猫在阳光下睡觉").allowed


def test_latin_terms_match_next_to_chinese_text(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, "kill\n")

    assert not policy.check("我要kill他").allowed


def test_full_width_and_hidden_characters_are_normalised(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, "xyz\n")

    assert not policy.check("ｘｙｚ").allowed
    assert not policy.check("ＸＹＺ scene").allowed
    assert not policy.check("x\u200by\u200dz").allowed


def test_full_width_entries_in_the_file_are_normalised(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, "ＧＯＲＥ\n")

    assert not policy.check("gore").allowed


def test_regex_lines_match_case_insensitively(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, r"re:\bbehead(s|ed|ing)?\b" + "\n")

    verdict = policy.check("The BEHEADING scene")

    assert not verdict.allowed
    assert verdict.source == "keywords"
    assert verdict.reason == r"matched blocked pattern '\bbehead(s|ed|ing)?\b'"
    assert policy.patterns[0].flags & re.IGNORECASE
    assert policy.check("a head of lettuce").allowed


def test_comments_and_blank_lines_are_ignored(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, "\ufeff# a comment\n\n   \n  # indented comment\nkill\n")

    assert policy.terms == ("kill",)
    assert policy.patterns == ()
    assert policy.check("a comment", "indented comment").allowed


def test_the_negative_prompt_is_checked_too(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, "kill\n")

    assert not policy.check("a quiet meadow", "kill").allowed


def test_no_blocklist_and_no_classifier_allows_everything() -> None:
    policy = SafetyPolicy.load(None, None)

    assert policy.check("anything at all", "") == SafetyVerdict(True, None, "none")


def test_the_example_blocklist_loads_and_blocks_its_examples() -> None:
    policy = SafetyPolicy.load(EXAMPLE, None)

    assert policy.terms == ("gore", "血腥")
    assert len(policy.patterns) == 1
    assert not policy.check("ＧＯＲＥ everywhere").allowed
    assert not policy.check("血腥的画面").allowed
    assert not policy.check("he was beheaded").allowed
    assert policy.check("a gorgeous sunset over the sea").allowed


CLASSIFIER_MODULE = """
from kino.service.safety import SafetyVerdict

def no_dragons(text):
    return "dragon" not in text

def verdict_for_knights(text):
    if "knight" in text:
        return SafetyVerdict(False, "knights are not allowed", "anything")
    return SafetyVerdict(True, None, "anything")

def wrong_type(text):
    return "yes"

not_a_function = 3
"""


@pytest.fixture
def classifiers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "kino_test_classifiers.py").write_text(CLASSIFIER_MODULE)
    monkeypatch.syspath_prepend(str(folder))
    return "kino_test_classifiers"


def test_a_classifier_returning_false_refuses(tmp_path: Path, classifiers: str) -> None:
    policy = policy_from(tmp_path, "kill\n", f"{classifiers}:no_dragons")

    verdict = policy.check("a red dragon")

    assert verdict == SafetyVerdict(False, "refused by classifier", "classifier")
    assert policy.check("a red fox").allowed
    assert policy.check("kill the dragon").source == "keywords"


def test_a_classifier_verdict_is_kept_with_classifier_as_source(classifiers: str) -> None:
    policy = SafetyPolicy.load(None, f"{classifiers}:verdict_for_knights")

    assert policy.check("a quiet meadow", "a knight") == SafetyVerdict(
        False, "knights are not allowed", "classifier"
    )
    assert policy.check("a quiet meadow") == SafetyVerdict(True, None, "none")


def test_a_classifier_returning_something_else_is_an_error(classifiers: str) -> None:
    policy = SafetyPolicy.load(None, f"{classifiers}:wrong_type")

    with pytest.raises(SafetyError, match="returned str"):
        policy.check("a red fox")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("kino_no_such_module:check", "cannot import safety classifier module"),
        ("kino_test_classifiers:missing", "has no function 'missing'"),
        ("kino_test_classifiers:not_a_function", "has no function 'not_a_function'"),
        ("kino_test_classifiers", "must be given as 'package.module:function'"),
    ],
)
def test_a_classifier_that_cannot_be_imported_is_an_error(
    classifiers: str, spec: str, message: str
) -> None:
    with pytest.raises(SafetyError, match=re.escape(message)):
        SafetyPolicy.load(None, spec)


def test_a_bad_regex_is_an_error_naming_the_line(tmp_path: Path) -> None:
    with pytest.raises(
        SafetyError, match=r"blocklist\.txt:3: invalid regular expression '\(unclosed'"
    ):
        policy_from(tmp_path, "# list\nkill\nre:(unclosed\n")


def test_a_regex_matching_empty_text_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SafetyError, match="matches empty text"):
        policy_from(tmp_path, "re:\n")
    with pytest.raises(SafetyError, match="matches empty text"):
        policy_from(tmp_path, "re:(gore)?\n")


def test_a_missing_or_undecodable_blocklist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SafetyError, match="cannot read the safety blocklist"):
        SafetyPolicy.load(tmp_path / "missing.txt", None)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("d\xe9fense\n".encode("latin-1"))
    with pytest.raises(SafetyError, match="cannot read the safety blocklist"):
        SafetyPolicy.load(latin1, None)
