"""Step sequences in Italian, Dutch, Polish, Swedish and Turkish ("prima ... poi ... infine", "eerst ... daarna ...")."""

from __future__ import annotations

import pytest

from core.absorb import steps


@pytest.mark.parametrize("text, expected", [
    ("Per la pizza: prima impasta la farina, poi lascia lievitare, infine cuoci a 250 gradi",
     ["impasta la farina", "lascia lievitare", "cuoci a 250 gradi"]),
    ("Eerst de planten water geven, daarna de vissen voeren en tot slot de deur op slot doen.",
     ["de planten water geven", "de vissen voeren", "de deur op slot doen"]),
    ("Najpierw wyłącz prąd, potem odkręć lampę, na koniec wkręć nową żarówkę.",
     ["wyłącz prąd", "odkręć lampę", "wkręć nową żarówkę"]),
    ("Först diskar jag, sedan dammsuger jag och till sist tar jag ut soporna.",
     ["diskar jag", "dammsuger jag", "tar jag ut soporna"]),
    ("Önce suyu kaynat, sonra makarnayı ekle, en son tuz at.",
     ["suyu kaynat", "makarnayı ekle", "tuz at"]),
])
def test_step_sequences_in_more_languages(text, expected):
    found = steps._sentenced(text)
    assert found and found[0][1] == expected


def test_a_name_that_is_also_a_sequence_word_is_no_step_marker():
    assert steps._sentenced("I had lunch with Dan and then went back to the office.") == []
