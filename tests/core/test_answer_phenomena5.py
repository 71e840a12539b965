"""Answers for phenomena a blind case set found (held-out set 5), each on sentences of its own: a joke states no fact,
an amount is asked for by its noun, a favourite needs the liking, a diet changes what is eaten."""

from __future__ import annotations

from core.answer.evidence import Source, split_joke, units_of
from core.answer.question import analyse
from tests.core.test_answer_phenomena import T0, answer, chat, screen

def test_a_joke_states_no_fact():
    assert split_joke("haha yes, I finally work at Arup now") == ("I finally work at Arup now", "haha yes")
    assert split_joke("yeah right, I'm moving to Mars, with the cat") == ("", "yeah right, I'm moving to Mars, with the cat")
    assert split_joke("I live in Ghent") == ("I live in Ghent", "")
    joke = [chat(1, "lmao I'm a full-time couch inspector these days 🙄")]
    assert answer("What is my job?", joke) is None
    both = joke + [chat(2, "real answer: I'm a school librarian in Ghent", minutes=1)]
    said = answer("What is my job?", both) or ""
    assert "librarian" in said and "couch" not in said
    assert answer("Where do I work?", [chat(1, "yeah right, I work at NASA, sure")]) is None


def test_an_amount_noun_asks_for_an_amount():
    sources = [chat(1, "still doing pricing analytics at the depot until the new contract starts")]
    assert answer("What is my salary?", sources) is None
    assert answer("What's my rent?", [chat(1, "the rent situation at the flat is a mess")]) is None
    paid = [chat(1, "new contract signed, salary is 48k plus bonus")]
    assert "48k" in (answer("What is my salary?", paid) or "")


def test_a_favourite_needs_the_liking():
    page = screen(1, "Chicken tikka masala\nServes 4\n600 g chicken thighs\n2 tbsp garam masala",
                  title="Chicken tikka masala - SpiceBox - Google Chrome")
    assert answer("What is my favourite food?", [page]) is None
    liked = [chat(1, "honestly no food beats my nan's pierogi, I love them")]
    assert "pierogi" in (answer("What is my favourite food?", liked) or "")


def test_a_new_diet_answers_what_i_eat():
    sources = [chat(1, "Je mange de tout, sauf les olives."),
               chat(2, "Petite mise à jour : je suis végétarienne depuis mars.", minutes=60 * 24 * 30)]
    said = answer("Do I eat meat?", sources) or ""
    assert "végétarienne" in said and "olives" not in said


def group(n, text, speaker, *, minutes=0):
    return Source(n, "observation", 100 + n, "chat", text, ts=T0 + minutes * 60, role="user", conversation="g",
                  speaker=speaker)


def test_a_named_speaker_in_a_group_chat_speaks_for_themselves():
    sources = [group(1, "btw I'm gluten-free now, so no more pizza nights for me", "Tobias"),
               group(2, "fine by me, I'm off to Porto on the 3rd", "Me", minutes=1)]
    said = answer("Who is gluten-free?", sources) or ""
    assert "Tobias wrote" in said
    assert answer("Am I gluten-free?", [sources[0]]) is None or "Tobias wrote" in answer("Am I gluten-free?", [sources[0]])
    assert answer("What is my diet?", [sources[0]]) is None
    assert "Porto" in (answer("Where am I going on the 3rd?", sources) or "")


def test_scratch_that_changes_the_plan_and_a_party_is_a_birthday():
    sources = [chat(1, "Ama's 40th is at the Lighthouse bar on Friday 9 October", conversation="a"),
               chat(2, "scratch that, the party is at Kofi's flat now", minutes=60, conversation="b")]
    said = answer("Where is Ama's party?", sources) or ""
    assert "Kofi" in said and "Lighthouse" not in said


def test_a_kinship_word_says_how_someone_is_related():
    sources = [chat(1, "Tomasz is my brother-in-law, he lives in Gdańsk")]
    assert "brother" in (answer("How is Tomasz related to me?", sources) or "")
    assert answer("How is Tomasz related to me?", [chat(1, "Tomasz fixed my bike yesterday")]) is None


def test_a_weekday_on_a_calendar_imagines_nothing_and_a_month_is_no_name():
    cal = screen(1, "Week 40\nWed 30 Sep 19:00 Choir rehearsal - St Anne's hall\nThu 1 Oct 08:00 Dentist",
                 title="Calendar - Week 40", app="gnome-calendar")
    assert not any(u.hypothetical for u in units_of([cal]))
    assert "30 Sep" in (answer("When is choir rehearsal?", [cal]) or "")
    assert analyse("Which invoice did I open in October?").entities == []
    assert any(u.hypothetical for u in units_of([chat(1, "I'd love a garden someday")]))


def test_translations_of_everyday_words():
    assert "Izmir" in (answer("Where does my mother live?", [chat(1, "Annem Izmir'de yaşıyor")]) or "")
    assert "Fujitsu" in (answer("Where do I work?", [chat(1, "Kawasaki no Fujitsu de hataraite imasu.")]) or "")
    assert "Sato" in (answer("What is my name?", [chat(1, "Watashi wa Sato Yumi desu.")]) or "")
    assert "Udaipur" in (answer("Where is Anjali's wedding?", [chat(1, "Anjali ki shaadi March mein hai Udaipur mein")]) or "")
    assert "Mateo" in (answer("What is my partner's name?", [chat(1, "me mudé a Bilbao con mi pareja Mateo")]) or "")
    assert "fromager" in (answer("What is Luc's job?", [chat(1, "Luc habite à Lyon, il est fromager")]) or "")
    assert "Tosca" in (answer("Where do I play seven-a-side?", [chat(1, "I play 7-a-side at Tosca Park on Mondays")]) or "")
    # A partner is not any relative, a husband not a cousin.
    assert answer("What is my partner's name?", [chat(1, "my cousin Rosa lives in Vigo")]) is None


def test_a_week_strip_is_no_date_line():
    cal = screen(1, "Mon 5 Tue 6 Wed 7 Thu 8 Fri 9\n10:00 Dentist - Dr Lund", title="Calendar", app="thunderbird")
    said = answer("When is my dentist appointment?", [cal]) or ""
    assert "Dr Lund" in said and "Mon 5" not in said


def test_on_a_page_the_line_with_the_thing_asked_for_answers():
    ticket = screen(1, "EUROSTAR\nLONDON ST PANCRAS TO PARIS NORD\nTRAIN 9014 DEPARTS 08:01\nCOACH 7 SEAT 61",
                    title="ticket_9014.pdf - Document Viewer", app="evince")
    said = answer("What seat do I have on the train to Paris?", [ticket]) or ""
    assert "SEAT 61" in said


def test_back_up_is_a_backup_a_car_is_driven_and_a_file_answers_which_spreadsheet():
    steps = [chat(1, "Per il backup del server: prima ferma Docker, poi lancia restic, infine controlla il log")]
    assert "restic" in (answer("How do I back up the server?", steps) or "")
    car = [chat(1, "collected the new car this morning, a silver Kia Ceed")]
    assert "Kia" in (answer("What car do I drive?", car) or "")
    sheet = screen(1, "A B C\nHotel 320\nFlights 410", title="budget-porto-2026.ods - LibreOffice Calc", app="soffice")
    assert "budget-porto" in (answer("Which spreadsheet has the Porto budget costs?", [sheet]) or "")
