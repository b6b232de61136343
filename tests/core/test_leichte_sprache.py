"""The Leichte Sprache catalogue keeps the rules of the Netzwerk Leichte Sprache that a program can check: the
word "Link" is explained wherever it is used, no line speaks in the passive voice or hides a relative clause, and the
bus's visit has one word, "Halte-Stelle" (the city bus's stop is said in other words, never "Bus-Halte-Stelle").

The checks read every translated line (each plural form too) and name the lines that break a rule. They are
patterns, not a grammar: each pattern's own test shows what it finds and what it lets be."""
from __future__ import annotations

import re

import pytest

from busapp.core.translations import load

LINK_EXPLAINED = "Ein Link ist eine Adresse im Internet."
# A form of "werden" with a past participle in one sentence: "wird geschickt", "wurde gelöscht". "Ein Platz wird
# frei" (werden with an adjective) is no passive and passes.
WERDEN = re.compile(r"\b(wird|werden|wirst|werde|wurde|wurden|worden)\b")
PARTICIPLE = re.compile(r"\b(ge\w+(t|en)|\w+iert)\b")
# A relative clause after a comma ("Menschen, die ...", "Menschen, denen ..."), an indirect question hung on a
# sentence ("Dort steht, wo ..."), or a sentence that starts "Wer ..., ..." (who is first, is first).
RELATIVE = re.compile(r", (der|die|das|dem|den|denen|deren|dessen|welche\w*|wo|was|wie|wer|woran|womit|worauf|wobei)\b"
                      r"|(^|[.?!:] )Wer\b[^.?!]*,")
# Other words for the bus's visit, and the city bus's stop said with the same word.
OTHER_WORDS = re.compile(r"Besuch|\bHalt\b|Haltestelle|Bus-Halte-Stelle|Stopp")


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.?!:])\s+", text) if s]


def is_passive(sentence: str) -> bool:
    return bool(WERDEN.search(sentence) and PARTICIPLE.search(sentence))


def messages() -> list[tuple[str, str, list[tuple[str, int]]]]:
    """(msgid, translated line, where it is used) of every translated line of the Leichte Sprache catalogue."""
    found = []
    for message in load("de-x-ls"):
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
        found += [(key, s, list(message.locations)) for s in strings if s]
    return found


def lines() -> list[tuple[str, str]]:
    return [(key, s) for key, s, _where in messages()]


def test_the_catalogue_is_read():
    assert len(lines()) > 500  # the resident lines at least


def test_link_is_explained_wherever_it_is_used():
    """A line that says "Link" explains it, or comes after a line of the same page (template) that does."""
    explained_at = [place for _key, s, where in messages() if LINK_EXPLAINED in s for place in where]

    def explained_before(where) -> bool:
        return any(path == e_path and e_line <= line for path, line in where for e_path, e_line in explained_at)

    unexplained = [(key, s) for key, s, where in messages()
                   if re.search(r"\bLinks?\b", s) and LINK_EXPLAINED not in s and not explained_before(where)]
    assert unexplained == []
    assert sum(LINK_EXPLAINED in s for _key, s in lines()) >= 8  # the ticket, the mails, privacy and accessibility
    # The ticket's warning leans on the explanation just above it on the same page.
    texts = dict(lines())
    assert LINK_EXPLAINED not in texts["Anyone who has this link can see and cancel your booking. Only share it "
                                       "with people you trust."]


def test_no_line_speaks_in_the_passive_voice():
    assert [(key, s) for key, s in lines() for sentence in sentences(s) if is_passive(sentence)] == []


def test_no_line_has_a_relative_clause():
    assert [(key, s) for key, s in lines() if RELATIVE.search(s)] == []


def test_the_bus_s_visit_is_always_a_halte_stelle():
    assert [(key, s) for key, s in lines() if OTHER_WORDS.search(s)] == []
    texts = dict(lines())
    assert texts["Bus stop: %(stop)s"] == "Hier hält der Stadt-Bus: %(stop)s"
    assert texts["This visit is cancelled."] == "Wir haben diese Halte-Stelle abgesagt."


def unsplit_compounds(texts: list[str]) -> list[tuple[str, str]]:
    """Words written whole in one line that another line splits with a hyphen ("Datenschutz" beside
    "Daten-Schutz"). An official name in brackets after the split form ("(Schlichtungsstelle nach dem BGG)") is
    left as it is: it names the thing as people find it written elsewhere."""
    split = {w.replace("-", "").lower(): w for t in texts for w in re.findall(r"\b[A-ZÄÖÜ]\w+(?:-[A-ZÄÖÜa-zäöüß]\w*)+", t)}
    found = []
    for text in texts:
        for word in re.findall(r"\b\w+\b", re.sub(r"\([^)]*\)", "", text)):
            if word.lower() in split:
                found.append((word, split[word.lower()]))
    return found


def test_a_word_split_in_one_line_is_split_in_every_line():
    assert unsplit_compounds([s for _key, s in lines()]) == []
    assert unsplit_compounds(["Die Regeln zum Daten-Schutz.", "Datenschutz bei Mitreden"]) == [
        ("Datenschutz", "Daten-Schutz")]
    assert unsplit_compounds(["Die Schlichtungs-Stelle (Schlichtungsstelle nach dem BGG)"]) == []


@pytest.mark.parametrize("sentence, passive", [
    ("Sie wird geschickt, wenn Sie Internet haben.", True),
    ("Dieses Formular wurde schon von einem anderen Browser geschickt.", True),
    ("Ihre Daten werden gelöscht.", True),
    ("Vielleicht wird ein Platz frei.", False),
    ("Was soll in Ihrem Stadtteil digital werden?", False),
    ("Ein anderer Browser hat dieses Formular schon geschickt.", False),
])
def test_the_passive_pattern_finds_the_passive_and_lets_werden_with_an_adjective_be(sentence, passive):
    assert is_passive(sentence) is passive


@pytest.mark.parametrize("line, relative", [
    ("Geben Sie den Link nur Menschen, denen Sie vertrauen.", True),
    ("Und die Menschen, die die Fahrten planen.", True),
    ("Dort steht, wo genau der Bus steht.", True),
    ("Wer zuerst auf der Liste steht, ist zuerst dran.", True),
    ("Dort steht: Wo genau steht der Bus?", False),
    ("Die erste Person auf der Liste ist zuerst dran.", False),
    ("Wer kann kommen?", False),
])
def test_the_relative_clause_pattern(line, relative):
    assert bool(RELATIVE.search(line)) is relative
