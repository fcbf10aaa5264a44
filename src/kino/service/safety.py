"""Content safety before generation: an operator's blocklist of terms and regexes, then an
optional classifier.

kino ships no blocklist content; blocklist.example.txt next to this module shows the format.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kino.errors import KinoError

# Scripts written without spaces between words, where a term can only be matched as a substring:
# Hangul Jamo, CJK radicals, kana, Bopomofo, Hangul compatibility Jamo, CJK ideographs
# (extension A, unified, compatibility, extensions B and later), Hangul syllables.
_CJK = (
    "\u1100-\u11ff\u2e80-\u2fdf\u3040-\u30ff\u3100-\u318f\u31a0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff"
)
_HAS_CJK = re.compile(f"[{_CJK}]")
# A word boundary that CJK characters do not break, so "kill" is found in "我要kill他".
_WORD_CHAR = f"[^\\W{_CJK}]"


@dataclass(frozen=True)
class SafetyVerdict:
    """Whether a request may run; reason and source say what refused it."""

    allowed: bool
    reason: str | None
    source: str  # "keywords" | "classifier" | "none"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ALLOWED = SafetyVerdict(allowed=True, reason=None, source="none")


class SafetyError(KinoError):
    """A safety configuration that cannot be used: unreadable blocklist, bad regex, classifier
    that cannot be imported or returns something other than a verdict."""

    code = "config_error"


def _normalise(text: str) -> str:
    """NFKC (full-width letters become ASCII), no invisible format characters, single spaces."""
    text = unicodedata.normalize("NFKC", text)
    # Zero-width spaces and joiners (category Cf) would otherwise split a term unseen.
    text = "".join(char for char in text if unicodedata.category(char) != "Cf")
    return " ".join(text.split())


@dataclass(frozen=True)
class SafetyPolicy:
    """Terms match case-insensitively after normalisation (NFKC, single spaces): whole words, or
    substrings for terms in CJK scripts. Patterns are searched in the normalised text. The
    classifier takes a text and returns a SafetyVerdict or a bool (True = allowed)."""

    terms: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    classifier: Callable[[str], SafetyVerdict | bool] | None
    _term_regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _term_by_key: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        term_by_key = {_term_key(term): term for term in self.terms}
        term_by_key.pop("", None)
        # Longest first, so that of two terms matching at one place the reported one is whole.
        alternatives = [
            re.escape(key)
            if _HAS_CJK.search(key)
            else rf"(?<!{_WORD_CHAR}){re.escape(key)}(?!{_WORD_CHAR})"
            for key in sorted(term_by_key, key=len, reverse=True)
        ]
        regex = re.compile("|".join(alternatives)) if alternatives else None
        object.__setattr__(self, "_term_regex", regex)
        object.__setattr__(self, "_term_by_key", term_by_key)

    @classmethod
    def load(cls, blocklist_path: Path | None, classifier: str | None) -> SafetyPolicy:
        """A blocklist file (UTF-8, one entry per line, '#' comments, 're:<regex>' for a regex)
        and a classifier given as 'package.module:function'; either may be None."""
        terms: list[str] = []
        patterns: list[re.Pattern[str]] = []
        if blocklist_path is not None:
            for number, entry in _entries(blocklist_path):
                if entry.startswith("re:"):
                    patterns.append(_compile(entry[3:], f"{blocklist_path}:{number}"))
                else:
                    terms.append(entry)
        return cls(
            terms=tuple(terms),
            patterns=tuple(patterns),
            classifier=None if classifier is None else _import_classifier(classifier),
        )

    def check(self, *texts: str) -> SafetyVerdict:
        """Check a prompt and its negative prompt: blocklist first, then the classifier."""
        for text in map(_normalise, texts):
            if self._term_regex is not None:
                match = self._term_regex.search(text.casefold())
                if match:
                    term = self._term_by_key[match.group(0)]
                    return SafetyVerdict(False, f"matched blocked term {term!r}", "keywords")
            for pattern in self.patterns:
                if pattern.search(text):
                    reason = f"matched blocked pattern '{pattern.pattern}'"
                    return SafetyVerdict(False, reason, "keywords")
        if self.classifier is not None:
            for text in texts:
                if text.strip():
                    verdict = _classify(self.classifier, text)
                    if not verdict.allowed:
                        return verdict
        return ALLOWED


def _classify(classifier: Callable[[str], SafetyVerdict | bool], text: str) -> SafetyVerdict:
    result = classifier(text)
    if isinstance(result, bool):
        return ALLOWED if result else SafetyVerdict(False, "refused by classifier", "classifier")
    if isinstance(result, SafetyVerdict):
        if result.allowed:
            return ALLOWED
        return SafetyVerdict(False, result.reason or "refused by classifier", "classifier")
    raise SafetyError(
        f"the safety classifier returned {type(result).__name__}, "
        "expected a SafetyVerdict or a bool"
    )


def _term_key(term: str) -> str:
    return _normalise(term).casefold()


def _entries(path: Path) -> list[tuple[int, str]]:
    """(line number, entry) for every line that is not blank or a comment."""
    try:
        # utf-8-sig: editors on Windows start UTF-8 files with a byte order mark.
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SafetyError(f"cannot read the safety blocklist {path}: {exc}") from exc
    entries = []
    for number, line in enumerate(lines, start=1):
        entry = line.strip()
        if entry and not entry.startswith("#"):
            entries.append((number, entry))
    return entries


def _compile(source: str, where: str) -> re.Pattern[str]:
    try:
        pattern = re.compile(source, re.IGNORECASE)
    except re.error as exc:
        raise SafetyError(f"{where}: invalid regular expression {source!r}: {exc}") from exc
    if pattern.search(""):
        raise SafetyError(
            f"{where}: regular expression {source!r} matches empty text, so it would block "
            "prompts that contain nothing it is meant to catch"
        )
    return pattern


def _import_classifier(spec: str) -> Callable[[str], SafetyVerdict | bool]:
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise SafetyError(f"safety classifier {spec!r} must be given as 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SafetyError(f"cannot import safety classifier module {module_name!r}: {exc}") from exc
    function = getattr(module, function_name, None)
    if not callable(function):
        raise SafetyError(
            f"safety classifier {spec!r}: {module_name} has no function {function_name!r}"
        )
    return function
