"""Import chat history as observations: Engram's JSONL format and ChatGPT exports.

JSONL: one JSON object per line, ``{"role", "content", "time", "conversation"}``
plus optional ``"speaker"`` (a display name) and ``"id"`` (kept as the
observation's ``source_ref``).  ChatGPT: the ``conversations.json`` of a data
export, a list of conversations whose ``mapping`` is a tree of message nodes.

Secrets in a message (passwords, PINs, cards, IBANs, keys: ``core.secrets``)
are masked before it is stored; from the user's own messages their values
travel in the observation's meta to the knowledge vault.

Imports are all-or-nothing and idempotent.  The whole file is read and
validated before anything is stored, then every message is stored in one
transaction, each with a dedupe key (conversation, time, role, content) so a
second import of the same file adds nothing.  JSONL is validated line by line
without holding the file in memory; a JSON export must be parsed whole, so it
is refused above ``MAX_JSON_EXPORT_BYTES``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from core.absorb import provenance
from core.errors import InvalidInputError
from core.store.types import check_text, to_timestamp
from core.secrets import shield_observation

MAX_JSONL_BYTES = 512 * 1024 * 1024
MAX_JSON_EXPORT_BYTES = 100 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
MAX_CONTENT_CHARS = 100_000
ROLES = ("user", "assistant", "system", "tool")
STORE_CHUNK = 500


@dataclass
class ChatMessage:
    role: str
    content: str
    ts: float
    conversation: str
    speaker: str | None = None
    source_ref: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def dedupe_key(self) -> str:
        digest = hashlib.sha256(self.content.encode("utf-8")).hexdigest()
        return json.dumps(["chat-import", self.conversation, round(self.ts, 3), self.role, self.source_ref, digest])

    def observation(self, previous: str | None = None) -> dict[str, Any]:
        """The observation to store: secrets masked; their values kept for the vault only from the user's own words.

        ``previous`` is the message before this one in its conversation: a
        reply that is only a value ("C7R2K9LX4") is a secret when it asked for
        one ("What's your passport number?").
        """
        meta = dict(self.meta)
        if self.speaker:
            meta["speaker"] = self.speaker
        item = dict(
            kind="chat",
            text=self.content,
            ts=self.ts,
            conversation=self.conversation,
            role=self.role,
            source_ref=self.source_ref,
            meta=meta or None,
            dedupe_key=self.dedupe_key(),
        )
        return shield_observation(item, keep_values=(self.role or "").lower() in provenance.USER_ROLES, previous=previous)


def observations_of(messages: Iterable[ChatMessage | None]) -> Iterator[dict[str, Any]]:
    """Each message's observation, read with the message before it in its conversation (empty messages skipped)."""
    previous: dict[str, str] = {}
    for message in messages:
        if message is None:
            continue
        yield message.observation(previous.get(message.conversation))
        previous[message.conversation] = message.content


@dataclass
class ImportReport:
    path: str
    format: str
    messages: int = 0
    added: int = 0
    already_present: int = 0
    skipped_empty: int = 0
    conversations: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _bad(message: str, fix: str) -> InvalidInputError:
    return InvalidInputError(message, fix=fix)


JSONL_FIX = (
    'Each line must be a JSON object like {"role": "user", "content": "...", '
    '"time": "2026-05-02T10:00:00", "conversation": "trip planning"}.'
)


CHATGPT_FIX = "Give the conversations.json file from a ChatGPT data export, or convert the history to JSONL."


def detect_format(path: Path) -> str:
    """``jsonl`` or ``chatgpt``, from the file's name and first bytes; refuses binary files."""
    with open(path, "rb") as handle:
        head = handle.read(8192)
    if not head.strip():
        raise _bad(f"{path} is empty.", "Choose a chat history file with at least one message.")
    if b"\x00" in head:
        raise _bad(f"{path} is a binary file, not a chat history.", "Give a JSONL file or a ChatGPT conversations.json.")
    start = head.lstrip()
    if path.suffix.lower() == ".jsonl":
        return "jsonl"
    if start[:1] == b"{" and b"\n" in start:
        try:
            first = json.loads(start.split(b"\n", 1)[0])
        except (ValueError, RecursionError):
            first = None
        if isinstance(first, dict) and "mapping" not in first:
            return "jsonl"  # a complete object on the first line: one message per line
    if start[:1] in (b"[", b"{"):
        return "chatgpt"
    raise _bad(f"{path} is neither JSONL nor a ChatGPT export.", JSONL_FIX)


def message_from_record(record: Any, where: str, default_conversation: str) -> ChatMessage | None:
    """One JSONL record checked and normalised (None for an empty message); errors name ``where``."""
    if not isinstance(record, dict):
        raise _bad(f"{where}: expected a JSON object, found {type(record).__name__}.", JSONL_FIX)
    role = record.get("role")
    if not isinstance(role, str) or role.strip().lower() not in ROLES:
        raise _bad(f"{where}: 'role' must be one of {', '.join(ROLES)}, not {role!r}.", JSONL_FIX)
    content = record.get("content")
    if not isinstance(content, str):
        raise _bad(f"{where}: 'content' must be a string, not {type(content).__name__}.", JSONL_FIX)
    _check_text(content, where, "content")
    if len(content) > MAX_CONTENT_CHARS:
        raise _bad(f"{where}: the message has {len(content):,} characters (at most {MAX_CONTENT_CHARS:,}).",
                   "Split very long messages into several lines.")
    if "time" not in record or record["time"] in (None, ""):
        raise _bad(f"{where}: 'time' is missing.", "Give each message its time, as ISO 8601 or a Unix timestamp.")
    try:
        ts = to_timestamp(record["time"], f"{where}: 'time'")
    except InvalidInputError as exc:
        raise _bad(exc.message, exc.fix or JSONL_FIX) from None
    conversation = record.get("conversation", default_conversation)
    if not isinstance(conversation, (str, int)) or isinstance(conversation, bool):
        raise _bad(f"{where}: 'conversation' must be a string.", JSONL_FIX)
    speaker = record.get("speaker")
    if speaker is not None and not isinstance(speaker, str):
        raise _bad(f"{where}: 'speaker' must be a string.", JSONL_FIX)
    ref = record.get("id")
    for name, value in (("conversation", conversation), ("speaker", speaker), ("id", ref)):
        if isinstance(value, str):
            _check_text(value, where, name)
    if ref is not None and not isinstance(ref, (str, int, float)) or isinstance(ref, bool):
        raise _bad(f"{where}: 'id' must be a string or a number, not {type(ref).__name__}.", JSONL_FIX)
    if not content.strip():
        return None
    return ChatMessage(
        role=role.strip().lower(),
        content=content,
        ts=float(ts),
        conversation=str(conversation)[:500],
        speaker=speaker[:200] if speaker else None,
        source_ref=None if ref is None else str(ref)[:500],
    )


def _check_text(value: str, where: str, name: str) -> None:
    check_text(value, f"{where}: '{name}'")


def iter_jsonl(path: Path) -> Iterator[ChatMessage | None]:
    """Messages of a JSONL file (None for an empty message), read line by line."""
    default_conversation = path.stem
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            where = f"{path.name} line {number}"
            if len(raw) > MAX_LINE_BYTES:
                raise _bad(f"{where} is {len(raw):,} bytes; a line holds at most {MAX_LINE_BYTES:,}.",
                           "Split very long messages into several lines.")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _bad(f"{where} is not valid UTF-8 (byte {exc.start + 1} of the line).",
                           "Save the file as UTF-8.") from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except RecursionError:
                raise _bad(f"{where} is nested too deeply to be a chat message.", JSONL_FIX) from None
            except ValueError as exc:
                raise _bad(f"{where} is not valid JSON: {exc}.", JSONL_FIX) from None
            yield message_from_record(record, where, default_conversation)


def _chatgpt_text(content: Any) -> str:
    if not isinstance(content, dict):
        return ""
    parts = content.get("parts")
    if isinstance(parts, list):
        # Non-text parts (images, files) are dicts; only text becomes an observation.
        return "\n".join(p for p in parts if isinstance(p, str)).strip()
    text = content.get("text")
    return text.strip() if isinstance(text, str) else ""


def _node_id(value: Any, where: str, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _bad(f"{where}: {what} must be a message id (text), not {type(value).__name__}.", CHATGPT_FIX)


def _chatgpt_path(mapping: dict, current: Any, where: str) -> list[str]:
    """Node ids from the root to the conversation's current node (the thread the user saw).

    Walks parent links iteratively: long conversations are chains thousands of
    nodes deep, too deep for recursion.  Ids that are not text, and parent
    links that loop, are malformed exports and refused.
    """
    current = _node_id(current, where, "'current_node'")
    if current not in mapping:
        roots = [key for key, node in mapping.items()
                 if isinstance(node, dict) and not _node_id(node.get("parent"), f"{where}, message {key}", "'parent'")]
        if not roots:
            return []
        current = roots[0]
        seen: set[str] = set()
        while True:  # follow the last child down to a leaf: the newest branch
            node = mapping.get(current)
            children = node.get("children") if isinstance(node, dict) else None
            if children is not None and not isinstance(children, list):
                raise _bad(f"{where}, message {current}: 'children' must be a list of message ids.", CHATGPT_FIX)
            if not children or current in seen:
                break
            seen.add(current)
            current = _node_id(children[-1], f"{where}, message {current}", "a child")
            if current is None:
                break
    path: list[str] = []
    seen = set()
    while current in mapping:
        if current in seen:
            raise _bad(f"{where}: the messages' parent links form a loop at message {current}.", CHATGPT_FIX)
        seen.add(current)
        path.append(current)
        node = mapping[current]
        current = _node_id(node.get("parent"), f"{where}, message {current}", "'parent'") if isinstance(node, dict) else None
    return list(reversed(path))


def iter_chatgpt(path: Path) -> Iterator[ChatMessage | None]:
    size = path.stat().st_size
    if size > MAX_JSON_EXPORT_BYTES:
        raise _bad(
            f"{path.name} is {size / 1e6:.0f} MB; a ChatGPT export is read whole and may be at most "
            f"{MAX_JSON_EXPORT_BYTES // (1024 * 1024)} MB.",
            "Split the list of conversations into several files, or convert it to JSONL, which has no such limit.",
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise _bad(f"{path.name} is not valid UTF-8 (line {line}).", "Save the file as UTF-8.") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise _bad(f"{path.name} is nested too deeply to be a ChatGPT export.", CHATGPT_FIX) from None
    except ValueError as exc:
        raise _bad(f"{path.name} is not valid JSON: {exc}.", CHATGPT_FIX) from None
    conversations = data if isinstance(data, list) else [data]
    for index, conv in enumerate(conversations):
        where = f"{path.name} conversation {index + 1}"
        if not isinstance(conv, dict) or not isinstance(conv.get("mapping"), dict):
            raise _bad(f"{where} has no 'mapping' of messages: this is not a ChatGPT export.",
                       "Give the conversations.json file from a ChatGPT data export, or use the JSONL format.")
        mapping = conv["mapping"]
        conv_id = str(conv.get("conversation_id") or conv.get("id") or f"{path.stem}-{index + 1}")
        title = conv.get("title") if isinstance(conv.get("title"), str) else None
        if title:
            _check_text(title, where, "title")
        fallback_time = conv.get("create_time")
        for node_id in _chatgpt_path(mapping, conv.get("current_node"), where):
            node = mapping[node_id]
            message = node.get("message") if isinstance(node, dict) else None
            if not isinstance(message, dict):
                continue
            author = message.get("author")
            role = author.get("role") if isinstance(author, dict) else None
            if role not in ("user", "assistant"):
                continue  # system prompts and tool output are not the user's conversation
            content = _chatgpt_text(message.get("content"))
            when = message.get("create_time") or fallback_time
            if when is None:
                raise _bad(f"{where}, message {node_id}: it has no create_time.",
                           "Give the conversations.json file from a ChatGPT data export.")
            record = {"role": role, "content": content, "time": when, "conversation": f"chatgpt:{conv_id}", "id": node_id}
            msg = message_from_record(record, f"{where}, message {node_id}", conv_id)
            if msg is not None and title:
                msg.meta["title"] = title[:300]
            yield msg


def read_messages(path: Path, fmt: str) -> Iterable[ChatMessage | None]:
    return iter_jsonl(path) if fmt == "jsonl" else iter_chatgpt(path)


def import_chat_file(store, path: str | Path, *, fmt: str | None = None) -> ImportReport:
    """Import a chat history file as chat observations; all or nothing, idempotent."""
    path = Path(path)
    if not path.is_file():
        raise _bad(f"There is no file {path}.", "Check the path.")
    size = path.stat().st_size
    if size > MAX_JSONL_BYTES:
        raise _bad(f"{path.name} is {size / 1e6:.0f} MB; Engram imports at most {MAX_JSONL_BYTES // (1024 * 1024)} MB at once.",
                   "Split the file into smaller parts and import each.")
    fmt = fmt or detect_format(path)
    report = ImportReport(path=str(path), format=fmt)
    conversations: set[str] = set()
    # Pass 1 validates everything, so a bad line at the end stores nothing.
    for message in read_messages(path, fmt):
        if message is None:
            report.skipped_empty += 1
            continue
        report.messages += 1
        conversations.add(message.conversation)
    report.conversations = len(conversations)
    before = store.observations.count()
    # Pass 2 stores, in one transaction.
    with store.atomic():
        chunk: list[dict] = []
        for observation in observations_of(read_messages(path, fmt)):
            chunk.append(observation)
            if len(chunk) >= STORE_CHUNK:
                store.observations.add_many(chunk)
                chunk = []
        if chunk:
            store.observations.add_many(chunk)
    report.added = store.observations.count() - before
    report.already_present = report.messages - report.added
    return report


def import_messages(store, messages: list[ChatMessage]) -> list[int]:
    """Store already-validated messages (used by the evaluation); returns observation ids."""
    ids: list[int] = []
    observations = list(observations_of(messages))
    with store.atomic():
        for start in range(0, len(observations), STORE_CHUNK):
            ids.extend(store.observations.add_many(observations[start : start + STORE_CHUNK]))
    return ids
