"""Secrets on every road in: chat import, the chat page, `engram add`, and out again through ask, search and recall.

A spy model records every prompt and parrots its input back, the worst a model
could do with what it is shown; no secret value may appear in any prompt, any
answer, any citation, any index or any search result.
"""

from __future__ import annotations

import json

import pytest


from evaluation.absorb import regrounding_failures
from core.absorb.ingest import import_chat_file
from core.cli import main
from core.engine import Engine
from core.store.protect import add_from_user, history_rows
from core.models.base import FakeChatModel, FakeEmbedder

SECRETS = {
    "Hunter2Zq9x": "password",
    "DE89370400440532013000": "iban",
    "4321": "pin",
    "4821#": "access_code",
    "Zebra42!x": "password",
    "4111 1111 1111 1111": "card",
    "C01X00T47": "passport",
    "sk-proj-abcdefghijklmnopqrstuv12": "api_key",
}
USER_LINES = [
    "my password is Hunter2Zq9x and my IBAN is DE89370400440532013000",
    "the PIN is 4321, and the door code is 4821#.",
    "The office wifi password is Zebra42!x.",
    "Pay with 4111 1111 1111 1111, my passport number is C01X00T47",
]
ASSISTANT_LINE = "Noted. Your OpenAI key sk-proj-abcdefghijklmnopqrstuv12 is safe with me."


def _contains_secret(text: str) -> list[str]:
    compact = "".join(str(text).split())
    return [s for s in SECRETS if s in text or "".join(s.split()) in compact and len(s) >= 8]


def _spy(calls: list):
    def reply(messages, schema):
        calls.append(messages)
        source = messages[-1]["content"]
        if schema is None:  # ask: repeat the whole context back
            return "From memory: " + source + " [1]"
        if "memories" in schema.get("properties", {}):
            line = next((l for l in source.splitlines() if ":" in l and not l.startswith("[")), source)[:230]
            return {"memories": [{"type": "semantic", "name": "User", "content": line}]}
        return {"decisions": []}

    return reply


@pytest.fixture
def spy_engine(paths):
    calls: list = []
    engine = Engine(paths, embedder=FakeEmbedder(64), chat_model=FakeChatModel(_spy(calls)))
    engine.calls = calls
    yield engine
    engine.close()


def _write_chat(tmp_path):
    path = tmp_path / "secrets.jsonl"
    lines = [{"role": "user", "content": text, "time": f"2026-05-02T10:0{i}:00Z", "conversation": "bank"}
             for i, text in enumerate(USER_LINES)]
    lines.append({"role": "assistant", "content": ASSISTANT_LINE, "time": "2026-05-02T10:09:00Z", "conversation": "bank"})
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    return path


def test_a_chat_full_of_secrets_reaches_the_vault_and_nothing_else(spy_engine, tmp_path):
    engine = spy_engine
    import_chat_file(engine.store, _write_chat(tmp_path))
    # Imported observations hold only masks.
    for obs in engine.observations.list_between("2026-05-01", "2026-05-03"):
        assert _contains_secret(obs.text) == [], obs.text
        assert _contains_secret(json.dumps(obs.to_dict())) == []
    engine.make_absorber(use_llm=True).absorb_backlog()
    answer = engine.ask("What are my passwords, PIN, IBAN and door code?")

    prompts = "\n".join(m["content"] for call in engine.calls for m in call)
    assert engine.calls and "Hunter" not in prompts and _contains_secret(prompts) == []
    shown = json.dumps(answer.to_dict(), ensure_ascii=False)
    assert _contains_secret(shown) == [] and _contains_secret(answer.text) == []

    vault = {m.fields["caption"]: m for m in engine.memories.list("knowledge_vault")}
    assert {c: m.fields["secret_value"] for c, m in vault.items()} == {
        "password": "Hunter2Zq9x", "IBAN": "DE89370400440532013000", "PIN": "4321", "door code": "4821#",
        "office wifi password": "Zebra42!x", "Visa card": "4111 1111 1111 1111", "passport number": "C01X00T47",
    }  # the assistant's key made no entry: an assistant's words are not the user's
    for memory in vault.values():
        assert memory.sources and engine.observations.get(memory.sources[0]).role == "user"
        assert _contains_secret(json.dumps(memory.to_dict())) == []
    # Checked again later against its (now masked) sources, each entry still stands.
    assert regrounding_failures(engine) == []
    # Once the vault has them, no observation carries the values any more.
    assert all("secrets" not in o.meta for o in engine.observations.list_between("2026-05-01", "2026-05-03"))
    for memory in engine.memories.list(limit=1000):
        if memory.type != "knowledge_vault":
            assert _contains_secret(json.dumps(memory.to_dict(reveal=True))) == [], memory.text

    for secret in SECRETS:
        assert engine.memories.search(secret, include_archived=True, semantic=False) == []
        assert engine.quick_recall(secret) == [] or _contains_secret(json.dumps(engine.quick_recall(secret))) == []
        assert engine.observations.search(secret, semantic=False) == []
    # Every full-text index (the store's and recall's), and every text column of every table but the vault's.
    fts = [r["name"] for r in engine.store.db.query("SELECT name FROM sqlite_master WHERE sql LIKE '%USING fts5%'")]
    assert {"memory_fts", "observation_fts", "recall_fts"} <= set(fts)
    for table in fts + ["observations", "memories", "memory_episodic", "memory_semantic", "memory_core", "memory_history",
                        "absorb_rejections"]:
        rows = engine.store.db.query(f"SELECT * FROM {table}")
        rows = [r for r in rows if not (table == "memory_history" and r.get("memory_type") == "knowledge_vault")]
        assert _contains_secret(json.dumps(rows, default=str)) == [], table


def test_search_and_recall_from_the_command_line_find_no_secret(tmp_path, capsys):
    path = _write_chat(tmp_path)
    assert main(["ingest", "chat", str(path)]) == 0
    assert main(["absorb", "--now", "--no-llm"]) == 0
    capsys.readouterr()
    for secret in ("Hunter2Zq9x", "DE89370400440532013000", "Zebra42", "C01X00T47"):
        assert main(["search", secret, "--json"]) == 0
        out = capsys.readouterr().out
        # With an embedding model, search by meaning always has neighbours; no word of the store matches.
        assert _contains_secret(out) == [] and all(r["lexical"] == 0 for r in json.loads(out))
        assert main(["recall", secret, "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == []
    assert main(["search", "IBAN", "--type", "vault", "--json"]) == 0
    entry = json.loads(capsys.readouterr().out)[0]
    assert entry["caption"] == "IBAN" and entry["secret_value"] == "••••••••00"


def test_the_chat_page_masks_a_secret_in_the_question_and_keeps_it_for_the_vault(spy_engine):
    engine = spy_engine
    engine.memories.add("semantic", {"name": "router", "summary": "The router is in the hall cupboard"})
    answer = engine.ask("the router password is Qz81mmTr4 - where is the router?")
    prompts = "\n".join(m["content"] for call in engine.calls for m in call)
    assert "Qz81mmTr4" not in prompts and "Qz81mmTr4" not in answer.text and answer.question.count("••••••••") == 1
    [question] = engine.observations.unabsorbed()  # the user's words; the answer is no observation
    assert "Qz81mmTr4" not in question.text and question.meta["secrets"][0]["value"] == "Qz81mmTr4"
    assert "Qz81mmTr4" not in engine.chat_history()[-1]["question"]
    engine.make_absorber(use_llm=False).absorb_backlog()
    [entry] = engine.memories.list("knowledge_vault")
    assert (entry.fields["caption"], entry.fields["secret_value"]) == ("router password", "Qz81mmTr4")


def test_tool_and_system_secrets_are_masked_but_make_no_vault_entry(engine):
    for role in ("assistant", "tool", "system"):
        from core.secrets import shield_observation

        item = shield_observation(dict(kind="chat", text=f"{role} says IBAN GB82 WEST 1234 5698 7654 32 and PIN 9911",
                                       role=role, conversation="c"), keep_values=False)
        engine.observations.add(**item)
    # A road that forgot to mask is caught by the store itself.
    engine.observations.add("chat", "the gate code is 7731", role="tool", conversation="c")
    engine.make_absorber(use_llm=False).absorb_backlog()
    assert engine.memories.count("knowledge_vault") == 0
    texts = " ".join(o.text for o in engine.observations.list_between(0, 4e9))
    assert "7731" not in texts and "9911" not in texts and "5698" not in texts


def test_a_new_value_for_the_same_label_updates_the_vault_entry(engine):
    from core.secrets import shield_observation

    for text in ("the wifi password is Alpha123x", "the wifi password is now Beta456yy", "my IBAN is DE89370400440532013000",
                 "and my other IBAN is GB82 WEST 1234 5698 7654 32"):
        engine.observations.add(**shield_observation(dict(kind="chat", text=text, role="user", conversation="c"), keep_values=True))
        engine.make_absorber(use_llm=False).absorb_backlog()
    vault = engine.memories.list("knowledge_vault")
    assert sorted(m.fields["caption"] for m in vault) == ["IBAN", "IBAN", "wifi password"]
    wifi = next(m for m in vault if m.fields["caption"] == "wifi password")
    assert wifi.fields["secret_value"] == "Beta456yy" and len(wifi.sources) == 2
    rows = history_rows(engine.memories.history(wifi.id))
    assert [r["action"] for r in rows] == ["ADD", "UPDATE"]
    assert "Alpha123x" not in json.dumps(rows) and rows[1]["old_value"]["secret_value"] == "••••••••"


def test_engram_add_masks_a_secret_in_a_memory_and_keeps_it_in_the_vault(engine):
    memory, vault = add_from_user(engine.memories, "semantic",
                                  {"name": "Office", "summary": "The office wifi password is Zebra42!x, ask Ada"})
    assert memory.fields["summary"] == "The office wifi password is ••••••••, ask Ada"
    [entry] = vault
    assert (entry.fields["caption"], entry.fields["secret_value"], entry.fields["entry_type"]) == ("office wifi password", "Zebra42!x", "password")
    assert f"#{memory.id}" in entry.fields["source"]
    assert engine.memories.search("Zebra42", semantic=False) == []
    # Steps of a procedure and a vault entry's own caption are covered too.
    proc, [pin] = add_from_user(engine.memories, "procedural", {"summary": "Bank", "steps": ["open app", "enter PIN 5566"]})
    assert proc.fields["steps"] == ["open app", "enter PIN ••••••••"] and pin.fields["secret_value"] == "5566"
    entry2, extra = add_from_user(engine.memories, "knowledge_vault",
                                  {"entry_type": "password", "caption": "router password Qq11ww22ee", "secret_value": "Qq11ww22ee"})
    assert extra == [] and "Qq11ww22ee" not in entry2.fields["caption"]


def test_cli_add_reports_the_vault_entry_and_get_history_masks_it(capsys):
    assert main(["add", "core", "--json", json.dumps({"label": "human", "value": "Sam. My bank PIN is 8642."})]) == 0
    captured = capsys.readouterr()
    memory_id = int(captured.out.strip())
    assert "knowledge vault" in captured.err and "8642" not in captured.err
    assert main(["search", "bank PIN", "--type", "vault", "--json"]) == 0
    entry = json.loads(capsys.readouterr().out)[0]
    assert entry["caption"] == "bank PIN" and entry["secret_value"] == "••••••••"
    assert main(["get", str(memory_id)]) == 0
    assert "8642" not in capsys.readouterr().out
    # A changed vault value: history rows are masked without --reveal, in JSON and as text, with ISO times.
    engine_args = ["get", str(entry["id"]), "--history"]
    from core.engine import Engine as RealEngine
    from core.paths import Paths

    with RealEngine(Paths.from_env()) as engine:
        engine.memories.update(entry["id"], {"secret_value": "1357"})
    assert main([*engine_args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "8642" not in json.dumps(data) and "1357" not in json.dumps(data)
    assert [h["action"] for h in data["history"]] == ["ADD", "UPDATE"]
    assert data["history"][1]["old_value"]["secret_value"] == "••••••••"
    assert data["history"][0]["at"].endswith("Z") and "T" in data["history"][0]["at"]
    assert main(engine_args) == 0
    text = capsys.readouterr().out
    assert "8642" not in text and "1357" not in text and "secret_value: •••••••• -> ••••••••" in text
    assert main([*engine_args, "--json", "--reveal"]) == 0
    revealed = capsys.readouterr().out
    assert "8642" in revealed and "1357" in revealed


def test_a_phone_number_and_an_address_said_in_a_chat_reach_no_memory_but_the_vault(engine, tmp_path):
    chat = tmp_path / "contacts.jsonl"
    chat.write_text("\n".join(json.dumps(m) for m in [
        {"role": "user", "content": "The notary Ms. Okafor can be reached on +44 (0)161 496 0732, mornings only.",
         "time": "2026-05-04T09:00:00Z", "conversation": "notary"},
        {"role": "user", "content": "Her office moved to 12 Quay Street, Manchester.", "time": "2026-05-04T09:01:00Z",
         "conversation": "notary"},
    ]), encoding="utf-8")
    import_chat_file(engine.store, chat)
    engine.make_absorber(use_llm=False).absorb_backlog()
    values = {m.fields["entry_type"]: m.fields["secret_value"] for m in engine.memories.list("knowledge_vault")}
    assert values == {"phone": "+44 (0)161 496 0732", "address": "12 Quay Street, Manchester"}
    for memory in engine.memories.list(limit=1000):
        if memory.type != "knowledge_vault":
            shown = json.dumps(memory.to_dict(reveal=True), ensure_ascii=False)
            assert "496 0732" not in shown and "Quay Street" not in shown, shown
    for words in ("Okafor", "reached", "office moved", "Manchester"):
        shown = json.dumps(engine.quick_recall(words), ensure_ascii=False)
        assert "496 0732" not in shown and "Quay Street" not in shown, shown


def test_a_bare_reply_to_a_question_about_a_secret_reaches_only_the_vault(engine, tmp_path):
    chat = tmp_path / "visa.jsonl"
    chat.write_text("\n".join(json.dumps(m) for m in [
        {"role": "assistant", "content": "To book the ferry I need your passport number.", "time": "2026-07-01T08:00:00Z",
         "conversation": "ferry"},
        # Another conversation between the question and its reply: the reply is read with its own conversation's turn.
        {"role": "user", "content": "what's for dinner?", "time": "2026-07-01T08:00:30Z", "conversation": "home"},
        {"role": "user", "content": "RT5520193, expires 2031", "time": "2026-07-01T08:01:00Z", "conversation": "ferry"},
        {"role": "user", "content": "88120447", "time": "2026-07-01T08:02:00Z", "conversation": "home"},
    ]), encoding="utf-8")
    import_chat_file(engine.store, chat)
    stored = {o.text for o in engine.observations.unabsorbed()}
    assert "••••••••, expires 2031" in stored and "88120447" in stored  # "what's for dinner?" asked for no secret
    engine.make_absorber(use_llm=False).absorb_backlog()
    [entry] = engine.memories.list("knowledge_vault")
    assert (entry.fields["caption"], entry.fields["secret_value"]) == ("passport number", "RT5520193")
    for memory in engine.memories.list(limit=1000):
        if memory.type != "knowledge_vault":
            assert "RT5520193" not in json.dumps(memory.to_dict(reveal=True), ensure_ascii=False)
    assert "RT5520193" not in json.dumps(engine.quick_recall("ferry passport"), ensure_ascii=False)


def test_the_chat_page_reads_a_bare_value_with_the_message_before_it(spy_engine):
    engine = spy_engine
    engine.ask("what was my new bike lock combination?")
    answer = engine.ask("5391")
    prompts = "\n".join(m["content"] for call in engine.calls for m in call)
    assert "5391" not in prompts and "5391" not in answer.question
    assert all("5391" not in o.text for o in engine.observations.unabsorbed())
    engine.make_absorber(use_llm=False).absorb_backlog()
    assert [m.fields["secret_value"] for m in engine.memories.list("knowledge_vault")] == ["5391"]
