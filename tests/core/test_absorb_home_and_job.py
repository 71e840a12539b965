"""A move or a new address, and a change of job: the core memory names the town (the address stays in the vault),
and the newer home or employer replaces the older one, with the older one kept in the history."""

from __future__ import annotations

from datetime import datetime

import pytest

from core.absorb import events, facts, lookups
from core.secrets import shield_observation
from core.store.observations import Observation


def obs(id, text, *, ts="2026-04-02T09:00:00", role="user"):
    return Observation(id=id, kind="chat", ts=datetime.fromisoformat(ts).timestamp(), text=text, role=role, app=None,
                       window_title=None, url=None, conversation="c", meta={})


def core_lines(*texts):
    items = [obs(i + 1, t) for i, t in enumerate(texts)]
    return sorted((c.fields["label"], c.fields["value"]) for c in facts.core_facts(facts.statements(items)))


@pytest.mark.parametrize("text, value, places", [
    ("Send parcels to 9 Orchard Mews, Clifton, Bristol BS8 4QT from now on.", "9 Orchard Mews, Clifton, Bristol BS8 4QT",
     ("Clifton", "Bristol")),
    ("La nueva es Calle del Pez 21, 2º A, 28004 Madrid.", "Calle del Pez 21, 2º A, 28004 Madrid", ("Madrid",)),
    ("Post bitte an Schillerstraße 4 in Jena (07745).", "Schillerstraße 4 in Jena (07745)", ("Jena",)),
    ("Envoyez-le au 3 avenue Foch, 69006 Lyon, merci.", "3 avenue Foch, 69006 Lyon", ("Lyon",)),
])
def test_an_address_with_its_unit_postcode_district_and_town(text, value, places):
    [found] = lookups.find_addresses(text)
    assert (found.value, found.places) == (value, places)
    assert [(l.kind, l.value) for l in lookups.find_lookups(text)] == [("address", value)]


@pytest.mark.parametrize("text, town, street", [
    ("Big news, we moved! Our address is now 17 Quarry Lane, Didsbury, Manchester M20 2RT.", "Didsbury, Manchester",
     "Quarry Lane"),
    ("Ma nouvelle adresse : 8 rue Sainte-Catherine, 33000 Bordeaux", "Bordeaux", "Sainte-Catherine"),
    ("Neue Adresse: Hauptstraße 31, 69117 Heidelberg-Altstadt", "Heidelberg-Altstadt", "Hauptstraße"),
    ("Mi nueva dirección es Avenida de la Constitución 5, 41001 Sevilla.", "Sevilla", "Constitución"),
    ("A minha nova morada é Rua Direita 40, 3810-164 Aveiro.", "Aveiro", "Direita"),
    ("I live at 63 Kelvin Drive, Glasgow G20 8QN.", "Glasgow", "Kelvin"),
    ("Mudei-me para Braga, a morada é Rua do Souto 12, 4700-329 Braga.", "Braga", "Souto"),
])
def test_a_home_address_gives_a_core_line_that_names_the_town_and_leaves_the_street_to_the_vault(text, town, street):
    [(label, value)] = [line for line in core_lines(text) if "vault" in line[1]]  # "we moved!" is a line too
    assert label == "home"
    assert f"lives in {town} (" in value and "address in the vault" in value
    assert street not in value and not any(ch.isdigit() for ch in value)


def test_a_move_said_in_another_sentence_makes_the_address_new_and_an_address_is_no_personal_fact():
    lines = core_lines("Finally settled in! Our new address is 5 Birch Road, Harrogate HG1 2AA.")
    assert ("home", "User lives in Harrogate (new address in the vault).") in lines
    assert [label for label, _ in lines] == ["home"]
    assert core_lines("I live at 5 Birch Road.") == [("home", "User has a home address (in the vault).")]


def test_an_address_that_is_not_the_home_is_kept_out_of_the_home_line():
    lines = dict(core_lines("I live in Tampere, my office is at Hämeenkatu 10, 33100 Tampere."))
    assert lines["home"] == "User: I live in Tampere."
    assert "Hämeenkatu" not in " ".join(lines.values())


def test_events_and_conversation_topics_name_the_town_not_the_street():
    text = "We get the keys on 3 May 2026 for 22 Linden Avenue, Headingley, Leeds LS6 1AA."
    [event] = events.dated_events([obs(1, text)])
    assert "Headingley, Leeds (address in the vault)" in event.fields["summary"]
    assert "Linden" not in event.fields["summary"] and "LS6" not in event.fields["summary"]
    [summary] = events.conversation_summary([obs(1, text)])
    assert "Linden" not in summary.fields["summary"] and "Leeds" in summary.fields["summary"]


def test_the_private_parts_of_an_address_leave_its_town_readable():
    assert lookups.private_parts("Rua de Santa Catarina 300, 4000-447 Porto") == ["Rua de Santa Catarina 300", "4000-447"]
    assert lookups.private_parts("88 Mill Street, Bedford MK40 3HD") == ["88 Mill Street", "MK40 3HD"]
    assert lookups.private_parts("88 Mill Street") == ["88 Mill Street"]


@pytest.mark.parametrize("text", [
    "Depuis mardi je suis chez Kiabi, au rayon enfants.",
    "J'ai changé de boulot : maintenant je bosse chez Picard.",
    "Seit März bin ich bei der Allianz.",
    "Ich habe den Job gewechselt. Ich bin jetzt bei Zeiss.",
    "He cambiado de trabajo, ahora estoy en Mahou.",
    "Ahora curro en Glovo.",
    "Mudei de emprego, agora estou na Critical Software.",
    "Comecei a trabalhar na Farfetch em janeiro.",
    "Since March I've been at Monzo.",
])
def test_a_change_of_job_without_a_work_verb_is_a_work_fact(text):
    assert "work" in {label for label, _ in core_lines(text)}


@pytest.mark.parametrize("text", [
    "Desde el jueves estoy en Valencia.",
    "Depuis lundi je suis chez ma tante.",
    "I'm at Gatwick now, boarding soon.",
])
def test_being_somewhere_is_not_a_job(text):
    assert "work" not in {label for label, _ in core_lines(text)}


def _absorb(engine, messages):
    for text, ts in messages:
        # As chat imports store the user's words: masked, the values carried to the vault (an address is one).
        engine.observations.add_many([shield_observation(
            dict(kind="chat", text=text, ts=ts, role="user", conversation="c"), keep_values=True)])
        engine.make_absorber(use_llm=False).absorb_backlog()
    return {m.fields["label"]: m for m in engine.memories.list("core", limit=50)}


def test_a_move_to_a_new_address_replaces_the_home_and_keeps_the_old_one_in_the_history(engine):
    core = _absorb(engine, [
        ("I live in Lyon, near the Croix-Rousse market.", "2025-10-01T09:00:00"),
        ("We moved! New address: Carrer de Verdi 14, 08012 Barcelona.", "2026-03-01T09:00:00"),
    ])
    home = core["home"]
    assert "Barcelona" in home.fields["value"] and "Lyon" not in home.fields["value"]
    assert "Verdi" not in home.fields["value"]
    assert any("Lyon" in str((row.get("old_value") or {}).get("value")) for row in engine.memories.history(home.id))
    vault = [m for m in engine.memories.list("knowledge_vault", limit=50) if m.fields["entry_type"] == "address"]
    assert [m.fields["secret_value"] for m in vault] == ["Carrer de Verdi 14, 08012 Barcelona"]


@pytest.mark.parametrize("first, later, new, old", [
    ("Je travaille chez Monoprix comme caissière.", "Depuis lundi je suis chez Sephora.", "Sephora", "Monoprix"),
    ("Ich arbeite bei Lidl im Lager.", "Neuer Job! Ich bin jetzt bei Rossmann.", "Rossmann", "Lidl"),
    ("Trabajo en Zara, en la tienda de Gran Vía.", "He cambiado de curro, ahora trabajo en Mango.", "Mango", "Zara"),
    ("Trabalho na Worten como técnico.", "Mudei de emprego: agora estou na Fnac.", "Fnac", "Worten"),
])
def test_a_change_of_job_replaces_the_employer(engine, first, later, new, old):
    core = _absorb(engine, [(first, "2025-11-10T18:00:00"), (later, "2026-03-02T18:00:00")])
    assert new in core["work"].fields["value"] and old not in core["work"].fields["value"]


def test_a_street_is_no_entity_and_an_entitys_line_names_the_town_not_the_address():
    items = [obs(1, "Mi nueva dirección es Calle de Goya 7, 28001 Madrid."),
             obs(2, "My brother Tomás lives at 3 Ferry Road, Leith, Edinburgh EH6 4AA.")]
    found = {c.fields["name"]: c for c in facts.entity_facts(facts.statements(items))}
    assert "Calle de Goya" not in found
    assert "Ferry Road" not in found["Tomás"].fields["details"] and "Edinburgh" in found["Tomás"].fields["details"]


def test_model_candidates_with_an_address_or_the_users_own_home_or_job_are_refused():
    from core.absorb.absorber import only_new_and_named
    from core.absorb.candidates import Candidate
    from core.absorb.reports import BatchPlan

    plan = BatchPlan()
    made = [
        Candidate("semantic", {"name": "Ferry Road", "summary": "Ferry Road 3, Leith, Edinburgh EH6 4AA", "details": None},
                  [1], meta={"name": "Ferry Road", "content": "Ferry Road 3, Leith, Edinburgh EH6 4AA"}),
        Candidate("semantic", {"name": "Nouveau boulot", "summary": "Depuis mardi je suis chez Kiabi", "details": None},
                  [1], meta={"name": "Nouveau boulot", "content": "Depuis mardi je suis chez Kiabi"}),
        Candidate("semantic", {"name": "Tomás", "summary": "Tomás plays the cello", "details": None}, [1],
                  meta={"name": "Tomás", "content": "Tomás plays the cello"}),
    ]
    kept = only_new_and_named(made, plan)
    assert [c.fields["name"] for c in kept] == ["Tomás"]
