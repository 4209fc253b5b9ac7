"""Suggested edits that turn sentence A into a minimal pair B: a negation, an antonym, a gender swap.

Deterministic string rules, no model: the same A always gives the same B, and the result says which
rule applied and where. The rules are tried in a fixed order (negation, antonym, gender) unless one is
asked for:

- **negation**: a negation after a copula or auxiliary is removed ("was not good" → "was good",
  "isn't" → "is", SST's "is n't" → "is"); otherwise, in a sentence without a negation, "not" is
  inserted after the first copula (is, was, are, were, am; 's / 're after a pronoun) that is followed
  by an adjective, possibly behind an intensifier ("was very good" → "was not very good"). An
  adjective is a word of the built-in lists or one with an adjective ending (-ful, -ous, -ive, -able,
  ...), never a function word;
- **antonym**: the first word of a small built-in list swapped for its opposite (good/bad, great/terrible,
  love/hate, ...); words that are often something else ("like" a preposition, "as well") are not listed;
- **gender**: *every* gendered word and listed name swapped (he/she, his/her, man/woman, John/Mary, ...),
  so the sentence stays consistent ("he lost his keys" → "she lost her keys"). "her" becomes "his"
  when a word follows it in the same clause (a possessive: "her keys") and "him" otherwise ("left her.").

Words keep their case and the punctuation attached to them ("Good." → "Bad."), and an antonym fixes the
article before it ("a charming" → "an irritating").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from explain.errors import InputError


class EditRule(StrEnum):
    NEGATION = "negation"
    ANTONYM = "antonym"
    GENDER = "gender"


@dataclass(frozen=True)
class Edit:
    """A suggested sentence B and how it was made from A."""

    text: str  # the edited text
    rule: EditRule
    detail: str  # what changed, e.g. "inserted 'not' after 'was'"


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


#: Opposites, pairs separated by ';': each word swaps for the other.
_PAIRS = """
good bad; great terrible; love hate; loved hated; loves hates; best worst; better worse; wonderful awful;
excellent poor; beautiful ugly; happy sad; interesting boring; smart stupid; brilliant dull; strong weak;
fresh stale; clever dumb; pleasant unpleasant; success failure; enjoyable tedious; funny unfunny; warm cold;
easy hard; positive negative; perfect flawed; masterpiece mess; charming irritating;
gripping tiresome
"""
ANTONYMS = {a: b for pair in _PAIRS.split(";") for a, b in (pair.split(), pair.split()[::-1])}
_GENDERED = """
he she; his her; him her; himself herself; man woman; men women; boy girl; boys girls; father mother;
son daughter; brother sister; husband wife; king queen; actor actress; mr ms; john mary; james linda;
michael sarah; david susan; tom anna
"""
_GENDER_PAIRS = [pair.split() for pair in _GENDERED.split(";")]
#: "her" maps back to "his" here (the first pair listed for it wins); an object "her" becomes "him" (_gender).
GENDER_SWAPS = {b: a for a, b in reversed(_GENDER_PAIRS)} | {a: b for a, b in _GENDER_PAIRS}
COPULAS = frozenset({"is", "was", "are", "were", "am"})
_PRONOUNS = _set("it that this he she there here what who you we they")
_AUXILIARIES = COPULAS | {"do", "does", "did", "can", "could", "will", "would", "should", "has", "have", "had"}
_NEGATED = {"isn't": "is", "wasn't": "was", "aren't": "are", "weren't": "were", "don't": "do", "doesn't": "does",
            "didn't": "did", "can't": "can", "won't": "will", "couldn't": "could", "wouldn't": "would"}  # fmt: skip
_INTENSIFIERS = _set("very really so too quite pretty rather truly extremely genuinely remarkably fairly totally")
_ADJECTIVES = frozenset(ANTONYMS) | _set(
    "fun bland slow long short silly original moving flat sweet thin entertaining predictable worth hilarious"
)
_ADJ_ENDINGS = ("ful", "ous", "ive", "able", "ible", "less", "ic", "ical", "ish", "ent", "ant", "ing", "y")
#: Words that follow a copula without being adjectives ("was a", "is not", "was nothing").
_FUNCTION = _set("""
a an the not n't no never to in on at of for by with as that this there here being been also just about all any
many only nothing something anything everything everyone anyone thing one why way day story company country family
history
""")
_PREPOSITIONS = frozenset({"and", "or", "but", "from", "into", "up", "down", "out", "off", "over", "again", "because"})
_PUNCT = "\"'.,!?;:()[]{}…“”‘’-–—"
_SPLIT = re.compile(r"(\s+)")


def suggest_edit(text: str, rule: EditRule | str | None = None) -> Edit:
    """The edit of the first rule (or of ``rule``) that applies to ``text``; raises :class:`InputError` if none."""
    rules = tuple(EditRule) if rule is None else (_rule(rule),)
    parts = _SPLIT.split(text)  # words at even positions, the whitespace between them at odd ones
    for r in rules:
        edit = {EditRule.NEGATION: _negation, EditRule.ANTONYM: _antonym, EditRule.GENDER: _gender}[r](parts)
        if edit is not None:
            return edit
    raise InputError(
        f"No {'edit rule' if rule is None else repr(str(rule)) + ' edit'} applies to this text: it has "
        + "; ".join(_WHAT_EACH_NEEDS[r] for r in rules)
        + ". Type sentence B yourself."
    )


_WHAT_EACH_NEEDS = {
    EditRule.NEGATION: "no negation after a verb to remove ('was not', 'isn't') and, in a sentence without one, "
    "no 'is/was/are/were' + adjective",
    EditRule.ANTONYM: f"no word from the antonym list ({', '.join(list(ANTONYMS)[:8])}, ...)",
    EditRule.GENDER: "no gendered word or listed name (he, she, his, her, man, woman, John, Mary, ...)",
}


def _rule(rule: EditRule | str) -> EditRule:
    try:
        return EditRule(str(rule).lower())
    except ValueError:
        raise InputError(f"Unknown edit rule '{rule}'. Available: {', '.join(r.value for r in EditRule)}.") from None


def _core(word: str) -> str:
    return word.strip(_PUNCT.replace("'", "").replace("’", "")).lower().replace("’", "'")


def _words(parts: list[str]) -> list[int]:
    return [i for i in range(0, len(parts), 2) if parts[i]]


def _negation(parts: list[str]) -> Edit | None:
    return _remove_negation(parts) or _insert_not(parts)


def _remove_negation(parts: list[str]) -> Edit | None:
    words = _words(parts)
    for k, i in enumerate(words):
        core = _core(parts[i])
        if core in _NEGATED:
            out = parts.copy()
            out[i] = _replaced(parts[i], core, _NEGATED[core])
            return Edit("".join(out), EditRule.NEGATION, f"removed the negation: '{parts[i]}' → '{out[i]}'")
        if core in {"not", "n't"} and k > 0 and _core(parts[words[k - 1]]) in _AUXILIARIES:
            out = parts[: i - 1] + parts[i + 1 :]  # the word and the space before it
            return Edit("".join(out), EditRule.NEGATION, f"removed '{parts[i]}' after '{parts[words[k - 1]]}'")
    return None


def _insert_not(parts: list[str]) -> Edit | None:
    words = _words(parts)
    if any(_core(parts[i]) in _NEGATED or _core(parts[i]) in {"not", "n't"} for i in words):
        return None  # a negation this rule cannot remove ("likely not find"): a second one reads as nonsense
    for k, i in enumerate(words[:-1]):
        if not _is_copula(parts, words, k):
            continue
        following = [_core(parts[j]) for j in words[k + 1 : k + 3]]
        if _is_adjective(following[0]) or (
            following[0] in _INTENSIFIERS and len(following) > 1 and _is_adjective(following[1])
        ):
            out = parts.copy()
            out[i] = parts[i] + " not"
            return Edit("".join(out), EditRule.NEGATION, f"inserted 'not' after '{parts[i]}'")
    return None


def _is_copula(parts: list[str], words: list[int], k: int) -> bool:
    word = parts[words[k]]
    if word != word.rstrip(_PUNCT.replace("'", "")):  # "was," ends a clause: nothing follows it
        return False
    core = _core(word)
    if core in {"'s", "'re"}:  # SST splits "it's" into "it 's"; after a noun "'s" is a possessive
        return k > 0 and _core(parts[words[k - 1]]) in _PRONOUNS
    return core in COPULAS


def _is_adjective(core: str) -> bool:
    if core in _FUNCTION or not core.isalpha() or core.endswith("ly"):
        return False
    return core in _ADJECTIVES or (len(core) > 4 and core.endswith(_ADJ_ENDINGS))


def _antonym(parts: list[str]) -> Edit | None:
    words = _words(parts)
    for k, i in enumerate(words):
        core = _core(parts[i])
        if core in ANTONYMS:
            out = parts.copy()
            out[i] = _replaced(parts[i], core, ANTONYMS[core])
            if k > 0 and _core(parts[words[k - 1]]) in {"a", "an"}:  # "a charming" -> "an irritating"
                article = "an" if ANTONYMS[core][0] in "aeiou" else "a"
                out[words[k - 1]] = _replaced(parts[words[k - 1]], _core(parts[words[k - 1]]), article)
            return Edit("".join(out), EditRule.ANTONYM, f"swapped '{parts[i]}' → '{out[i]}'")
    return None


def _gender(parts: list[str]) -> Edit | None:
    out, changed = parts.copy(), []
    words = _words(parts)
    for k, i in enumerate(words):
        core = _core(parts[i])
        if core in GENDER_SWAPS:
            new = "him" if core == "her" and not _followed_by_noun(parts, words, k) else GENDER_SWAPS[core]
            out[i] = _replaced(parts[i], core, new)
            changed.append(f"'{parts[i]}' → '{out[i]}'")
    if not changed:
        return None
    return Edit("".join(out), EditRule.GENDER, "swapped " + ", ".join(changed))


def _followed_by_noun(parts: list[str], words: list[int], k: int) -> bool:
    """Whether "her" at ``words[k]`` is a possessive ("her keys" -> "his keys") rather than an object
    ("left her." -> "left him."): a word follows in the same clause and is not a function word."""
    if k + 1 >= len(words) or parts[words[k]] != parts[words[k]].rstrip(_PUNCT):
        return False
    return _core(parts[words[k + 1]]) not in _FUNCTION | _PREPOSITIONS


def _replaced(word: str, core: str, new: str) -> str:
    """``word`` with its core (lower-cased ``core``) replaced by ``new``, keeping case and punctuation."""
    start = word.lower().replace("’", "'").find(core)  # the same length: positions carry over
    return word[:start] + _cased(new, word[start : start + len(core)]) + word[start + len(core) :]


def _cased(new: str, like: str) -> str:
    letters = [c for c in like if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return new.upper()
    return new[:1].upper() + new[1:] if letters and letters[0].isupper() else new
