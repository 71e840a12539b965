"""Property-based fuzzing (Hypothesis): the secret detector, chat import, `add`, search and quick recall.

The properties: a secret hidden in random text is always found and masked;
masking twice changes nothing; no long secret value survives its mask; and
whatever a chat file, an `add` payload or a query holds, Engram answers with
a result or an ``EngramError`` (never another exception), and a refused
import or add stores nothing.  Example counts keep the whole set under 30 s.
"""

from __future__ import annotations

import json
import string

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is in the test extras: pip install -e '.[test]'")
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from core.absorb.ingest import ROLES, import_chat_file  # noqa: E402
from core.errors import EngramError  # noqa: E402
from core.store.protect import add_from_user  # noqa: E402
from core.store.types import MEMORY_TYPES  # noqa: E402
from core.secrets import find_secrets, mask_text  # noqa: E402

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
STORE = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# -- secrets ------------------------------------------------------------------------------------------


def _luhn_complete(body: str) -> str:
    for check in "0123456789":
        digits = body + check
        total = sum(int(c) * 2 - 9 * (int(c) * 2 > 9) if i % 2 else int(c) for i, c in enumerate(reversed(digits)))
        if total % 10 == 0:
            return digits
    raise AssertionError("no check digit")


def _iban(bban: str) -> str:
    check = 98 - int("".join(str(int(c, 36)) for c in bban + "DE00")) % 97
    return f"DE{check:02d}{bban}"


DIGITS = st.text("0123456789", min_size=1, max_size=1)
_card_digits = st.text("0123456789", min_size=14, max_size=14).map(lambda b: _luhn_complete("4" + b)).filter(lambda d: len(set(d)) > 1)
CARDS = st.tuples(_card_digits, st.booleans()).map(lambda t: " ".join(t[0][i : i + 4] for i in range(0, 16, 4)) if t[1] else t[0])
IBANS = st.tuples(st.text("0123456789", min_size=18, max_size=18).map(_iban), st.booleans()).map(
    lambda t: " ".join(t[0][i : i + 4] for i in range(0, len(t[0]), 4)) if t[1] else t[0]
)
PASSWORDS = st.tuples(
    st.sampled_from(string.ascii_letters), st.sampled_from(string.digits),
    st.text(string.ascii_letters + string.digits + "!#$%&*+-=@^_~", min_size=4, max_size=22),
).map(lambda t: t[0] + t[1] + t[2])
PINS = st.text("0123456789", min_size=4, max_size=8)
CODES = st.tuples(st.text("0123456789", min_size=4, max_size=6), st.sampled_from(["", "#", "*"])).map("".join)
KEYS = st.one_of(
    st.text(string.ascii_letters + string.digits, min_size=24, max_size=30).map(lambda s: "sk-proj-" + s),
    st.text(string.ascii_letters + string.digits, min_size=36, max_size=36).map(lambda s: "ghp_" + s),
    st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=16).map(lambda s: "AKIA" + s),
)
TEMPLATES = {
    "password": ["my password is {}", "password: {}", "the office wifi password is {}", "mein Passwort ist {}",
                 "das Passwort lautet {}", "le mot de passe est {}", "la contraseña es {}", "a senha do wifi é {}", "pw {}"],
    "pin": ["PIN {}", "the PIN is {}", "my bank PIN is {}", "meine PIN ist {}", "mon code PIN est {}", "o meu PIN é {}"],
    "code": ["the door code is {}", "gate code: {}", "le code de la porte est {}", "el código de acceso es {}",
             "o código do portão é {}"],
    "plain": ["{}", "card {}", "IBAN {}", "key {}"],
}
SECRETS = st.one_of(
    st.tuples(st.sampled_from(TEMPLATES["password"]), PASSWORDS),
    st.tuples(st.sampled_from(TEMPLATES["pin"]), PINS),
    st.tuples(st.sampled_from(TEMPLATES["code"]), CODES),
    st.tuples(st.sampled_from(TEMPLATES["plain"]), st.one_of(CARDS, IBANS, KEYS)),
)
WORDS = st.text(string.ascii_letters + string.digits + "äéñçß.,;:!?'()-", min_size=1, max_size=12)
FILLER = st.lists(WORDS, max_size=8).map(" ".join)
SEPARATORS = st.sampled_from([" ", ". ", ", ", "\n", " - ", "; "])


@FAST
@given(before=FILLER, after=FILLER, secret=SECRETS, left=SEPARATORS, right=SEPARATORS)
def test_a_secret_in_random_text_is_always_found_and_masked(before, after, secret, left, right):
    template, value = secret
    rendered = template.format(value)
    text = before + left + rendered + right + after
    start = len(before + left) + template.index("{}")
    end = start + len(value)
    covered = [s for s in find_secrets(text) if s.start <= start and end <= s.end]
    assert covered, (text, value)
    masked = mask_text(text).text
    assert value not in masked and "".join(value.split()) not in "".join(masked.split())


TEXT_WITH_SECRETS = st.lists(st.one_of(WORDS, SECRETS.map(lambda s: s[0].format(s[1])), st.text(max_size=20)), max_size=10).map(" ".join)


@FAST
@given(text=st.one_of(st.text(max_size=200), TEXT_WITH_SECRETS))
@example(text="sk-000000000000000000PW 0000")  # the key's mask made "PW 0000" a labelled value on a second pass
def test_masking_is_idempotent(text):
    once = mask_text(text).text
    assert mask_text(once).text == once


@FAST
@given(text=TEXT_WITH_SECRETS)
def test_no_secret_value_survives_its_mask(text):
    masked = mask_text(text)
    for secret in masked.secrets:
        assert text[secret.start : secret.end] == secret.value
        if len(secret.value) >= 8:
            assert secret.value not in masked.text


# -- hostile values ------------------------------------------------------------------------------------

# Text as hostile input has it: any character, with a good share of lone surrogates, NUL, direction marks and emoji.
SPECIAL = st.sampled_from(["\ud800", "\udfff", "\x00", "\u202e", "\ufeff", "\U0001f600", "\n", "é", "\\", '"'])
ANY_TEXT = st.lists(st.one_of(st.text(max_size=10), SPECIAL), max_size=6).map("".join)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True), ANY_TEXT,
)
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                           max_leaves=6)
TIMES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=0, max_value=4_102_444_800),
    st.datetimes().map(lambda d: d.isoformat()), st.sampled_from(["2026-05-02T10:00:00Z", "yesterday", "", "1e300"]),
    JSON_VALUES,
)


def _dumps(value) -> str:
    # allow_nan writes NaN and Infinity literals, which Python's json reads back, as a hostile file would have them.
    return json.dumps(value, allow_nan=True)


RECORDS = st.fixed_dictionaries(
    {"role": st.one_of(st.sampled_from(ROLES), st.sampled_from(ROLES), st.sampled_from(ROLES + ("robot", "")), JSON_VALUES),
     "content": st.one_of(ANY_TEXT, TEXT_WITH_SECRETS, TEXT_WITH_SECRETS, JSON_VALUES),
     "time": st.one_of(TIMES, st.integers(0, 4_102_444_800))},
    optional={"conversation": st.one_of(ANY_TEXT, JSON_VALUES), "speaker": st.one_of(ANY_TEXT, JSON_VALUES),
              "id": JSON_VALUES, "extra": JSON_VALUES},
)
LINES = st.one_of(RECORDS.map(_dumps), RECORDS.map(_dumps), RECORDS.map(_dumps), JSON_VALUES.map(_dumps),
                  st.binary(max_size=30).map(lambda b: b.decode("latin-1")), st.just(""))


def _imports_all_or_nothing(engine, path, fmt=None) -> None:
    before = engine.observations.count()
    try:
        report = import_chat_file(engine.store, path, fmt=fmt)
    except EngramError as exc:
        hypothesis.event("refused")
        assert exc.message and exc.fix
        assert engine.observations.count() == before
        return
    hypothesis.event("imported")
    assert engine.observations.count() - before == report.added
    for obs in engine.observations.unabsorbed(limit=50):
        assert 0 <= obs.ts <= 4_102_444_800


@STORE
@given(lines=st.lists(LINES, min_size=1, max_size=6))
def test_any_jsonl_file_imports_whole_or_not_at_all(engine, tmp_path, lines):
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass"))
    _imports_all_or_nothing(engine, path, "jsonl")


NODE_IDS = st.text(string.ascii_lowercase, min_size=1, max_size=2)
NODES = st.fixed_dictionaries(
    {},
    optional={
        "parent": st.one_of(NODE_IDS, st.none(), JSON_VALUES),
        "children": st.one_of(st.lists(NODE_IDS, max_size=3), JSON_VALUES),
        "message": st.one_of(
            st.fixed_dictionaries({
                "author": st.one_of(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "tool"])}), JSON_VALUES),
                "content": st.one_of(st.fixed_dictionaries({"parts": st.lists(st.one_of(ANY_TEXT, JSON_VALUES), max_size=2)}), JSON_VALUES),
                "create_time": TIMES,
            }),
            JSON_VALUES,
        ),
    },
)
CONVERSATIONS = st.fixed_dictionaries(
    {"mapping": st.one_of(st.dictionaries(NODE_IDS, st.one_of(NODES, JSON_VALUES), max_size=5), JSON_VALUES)},
    optional={"current_node": st.one_of(NODE_IDS, JSON_VALUES), "title": st.one_of(ANY_TEXT, JSON_VALUES),
              "id": JSON_VALUES, "create_time": TIMES},
)


@STORE
@given(conversations=st.one_of(st.lists(CONVERSATIONS, min_size=1, max_size=3), CONVERSATIONS, JSON_VALUES))
def test_any_chatgpt_export_imports_whole_or_not_at_all(engine, tmp_path, conversations):
    path = tmp_path / "conversations.json"
    path.write_bytes(_dumps(conversations).encode("utf-8", "surrogatepass"))
    _imports_all_or_nothing(engine, path, "chatgpt")


@st.composite
def _payloads(draw, memory_type: str):
    """Mostly a valid memory of ``memory_type`` (text that may hold secrets), with some fields made hostile."""
    spec = MEMORY_TYPES.get(memory_type)
    if spec is None or draw(st.integers(0, 9)) == 0:
        return draw(JSON_VALUES)
    data = {}
    for field in spec.fields:
        if field.kind == "time":
            data[field.name] = draw(st.one_of(st.integers(0, 4_102_444_800), st.sampled_from(["2026-05-02T10:00"])))
        elif field.kind == "list":
            data[field.name] = draw(st.lists(TEXT_WITH_SECRETS.filter(str.strip), min_size=1, max_size=3))
        elif field.kind == "choice":
            data[field.name] = draw(st.sampled_from(field.choices))
        elif field.kind == "int":
            data[field.name] = draw(st.integers(2000, 5000))
        else:
            data[field.name] = draw(TEXT_WITH_SECRETS.filter(str.strip)) or "x"
    hostile = st.one_of(JSON_VALUES, TIMES, ANY_TEXT)
    names = [f.name for f in spec.fields] + ["importance", "pinned", "unknown"]
    if draw(st.booleans()):
        data[draw(st.sampled_from(names))] = draw(hostile)
    return data


@STORE
@given(st.one_of(*[st.sampled_from(sorted(MEMORY_TYPES))] * 4, st.sampled_from(["vault", "nonsense"]), ANY_TEXT).flatmap(
    lambda memory_type: st.tuples(st.just(memory_type), _payloads(memory_type))))
def test_add_with_any_fields_stores_one_memory_or_nothing(engine, case):
    memory_type, data = case
    before = engine.memories.count()
    try:
        memory, vault = add_from_user(engine.memories, memory_type, data)
    except EngramError as exc:
        hypothesis.event("refused")
        assert exc.message and exc.fix
        assert engine.memories.count() == before
        return
    hypothesis.event("added")
    assert before + 1 <= engine.memories.count() <= before + 1 + len(vault)
    if memory.type != "knowledge_vault":
        for value in data.values():
            for secret in find_secrets(value if isinstance(value, str) else ""):
                if len(secret.value) >= 8:
                    assert secret.value not in json.dumps(memory.to_dict(reveal=True), ensure_ascii=False)


QUERIES = st.one_of(
    ANY_TEXT,
    st.text(alphabet='"*^():-+ NEARORANDNOTabc0123é\u0000', max_size=30),
    st.lists(st.sampled_from(['"', "*", "NEAR(", "AND", "OR", "NOT", "^", "ada", "lisbon", "-", ":", "(", ")", "{", "}"]),
             max_size=8).map(" ".join),
)


@STORE
@given(query=QUERIES)
def test_search_and_quick_recall_give_results_or_an_engram_error(engine, query):
    if engine.memories.count() == 0:
        engine.memories.add("semantic", {"name": "Ada", "summary": "Ada is my sister, she lives in Lisbon"})
        engine.observations.add("chat", "Ada said the Lisbon flat has a view", role="user", conversation="c")
    for attempt in (
        lambda: engine.memories.search(query),
        lambda: engine.memories.search(query, semantic=False),
        lambda: engine.quick_recall(query),
        lambda: engine.observations.search(query),
        lambda: engine.recall.retrieve(query),
        lambda: engine.ask(query, record=False),
    ):
        try:
            result = attempt()
        except EngramError as exc:
            assert exc.message and exc.fix
            continue
        assert result is not None
