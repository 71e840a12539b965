"""Secrets in memories the user writes, and in what is shown of a memory's past.

``engram add`` and the app's edits are the user's own words: a secret in the
text of a core, episodic, semantic, procedural or resource memory is masked
there and kept in the knowledge vault instead (``add_from_user``,
``update_from_user``).  ``keep_in_vault`` is the one place that decides
whether a secret adds a vault entry, updates one or was already kept; the
absorber uses it too.  ``history_rows`` masks vault values in a memory's
history unless the user asked to reveal them, and writes times as ISO 8601.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Sequence

from core.errors import EngramError
from core.store.types import iso, type_spec
from core.secrets import LABEL_KEYED_KINDS, MASK_CHAR, Secret, mask, mask_text
from core.store.search import MEMORY_INDEX

MASKED_FIELDS = ("secret_value",)
log = logging.getLogger(__name__)

EMBED_AFTER_ADD = 32  # vectors for the memories just added; the background job does any others


def protect_fields(type_name: str, data: Any) -> tuple[Any, list[Secret]]:
    """``data`` with secrets masked in every text field, and the secrets found.

    A vault entry's own value is left alone (it is the secret); a copy of it in
    its caption or source is masked and not returned (the entry keeps it), while
    another secret there is masked and returned like any other.
    """
    spec = type_spec(type_name)
    if not isinstance(data, dict):
        return data, []
    out = dict(data)
    found: list[Secret] = []
    own_value = str(out.get("secret_value") or "") if spec.name == "knowledge_vault" else ""
    for field in spec.fields:
        value = out.get(field.name)
        if field.name == "secret_value" or value is None:
            continue
        if field.kind == "text" and isinstance(value, str):
            if own_value and own_value in value:
                value = value.replace(own_value, mask(own_value))
            masked = mask_text(value)
            out[field.name] = masked.text
            found += masked.secrets
        elif field.kind == "list" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            items = []
            for item in value:
                masked = mask_text(item)
                items.append(masked.text)
                found += masked.secrets
            out[field.name] = items
    return out, [s for s in found if s.value != own_value]


def vault_fields(kind: str, label: str, value: str, source: str) -> dict[str, Any]:
    """A knowledge-vault entry for a secret: its label is the caption, always highly sensitive."""
    return {"entry_type": kind, "caption": label[:300], "secret_value": value, "sensitivity": "high", "source": source[:300]}


def keep_in_vault(memories, fields: dict[str, Any], *, sources: Sequence[int] = (), actor: str, reason: str,
                  embed: bool = True) -> tuple[Any, str]:
    """Store a secret in the vault: ``(memory, "added" | "updated" | "seen")``.

    The same value already kept is only linked to the new sources.  A password,
    PIN or access code whose label already has an entry replaces that entry's
    value (the old one stays in its history); a card, IBAN or key with a new
    value is a new entry.
    """
    value = str(fields.get("secret_value") or "")
    existing = memories.find_vault_entry(value)
    if existing is not None:
        if any(s not in existing.sources for s in sources):
            existing = memories.update(existing.id, {}, sources=sources, actor=actor, reason="value seen again")
        return existing, "seen"
    kind, caption = fields.get("entry_type"), fields.get("caption")
    if kind in LABEL_KEYED_KINDS:
        existing = memories.find_vault_entry(kind=kind, caption=caption)
        if existing is not None:
            updated = memories.update(existing.id, {"secret_value": value}, sources=sources, actor=actor,
                                      reason=f"a new value for the {caption}")
            return updated, "updated"
    return memories.add("knowledge_vault", fields, sources=sources, actor=actor, reason=reason, embed=embed), "added"


def _unique(secrets: Iterable[Secret]) -> list[Secret]:
    out: list[Secret] = []
    for secret in secrets:
        if all((s.kind, s.label, s.value) != (secret.kind, secret.label, secret.value) for s in out):
            out.append(secret)
    return out


def _keep_all(memories, secrets: list[Secret], memory, what: str) -> list:
    source = f"{what} ({memory.spec.label.lower()} memory #{memory.id})"
    kept = []
    for secret in _unique(secrets):
        entry, _ = keep_in_vault(memories, vault_fields(secret.kind, secret.label, secret.kept, source), actor="user",
                                 reason=f"{secret.label} written in memory #{memory.id}", embed=False)
        kept.append(entry)
    return kept


def add_from_user(memories, type_name: str, data: Any, *, reason: str | None = None, what: str = "engram add") -> tuple[Any, list]:
    """Add a memory the user wrote; its secrets are masked in it and kept in the vault, in one transaction.

    Returns ``(memory, vault entries)``.
    """
    fields, secrets = protect_fields(type_name, data)
    if not secrets:
        return memories.add(type_name, fields, actor="user", reason=reason), []
    with memories.db.transaction():
        memory = memories.add(type_name, fields, actor="user", reason=reason, embed=False)
        kept = _keep_all(memories, secrets, memory, what)
    _embed_soon(memories)
    return memories.get(memory.id), kept


def update_from_user(memories, memory_id: int, changes: dict[str, Any], *, reason: str | None = None,
                     what: str = "edited in the app") -> tuple[Any, list]:
    """Change a memory as the user asked; secrets in the new text are masked and kept in the vault."""
    current = memories.get(memory_id)
    fields, secrets = protect_fields(current.type, changes)
    if not secrets:
        return memories.update(memory_id, fields, actor="user", reason=reason), []
    with memories.db.transaction():
        memory = memories.update(memory_id, fields, actor="user", reason=reason)
        kept = _keep_all(memories, secrets, memory, what)
    _embed_soon(memories)
    return memories.get(memory_id), kept


def _embed_soon(memories) -> None:
    try:
        memories.indexer.index_pending([MEMORY_INDEX], max_rows=EMBED_AFTER_ADD)
    except EngramError as exc:  # the memory is stored; the background embed job computes its vector later
        log.warning("embedding the new memory failed, left for later: %s", exc.message)


def _masked_values(values: dict | None, reveal: bool) -> dict | None:
    if not values or reveal:
        return values
    out = dict(values)
    for name in MASKED_FIELDS:
        if out.get(name) and MASK_CHAR not in str(out[name]):
            out[name] = mask(str(out[name]))
    return out


def history_rows(rows: Iterable[dict], *, reveal: bool = False) -> list[dict]:
    """A memory's history as shown to the user: vault values masked unless ``reveal``, times in ISO 8601.

    Each row also lists the fields an update ``changed`` (compared before masking).
    """
    out = []
    for row in rows:
        shown = dict(row)
        before, after = row.get("old_value") or {}, row.get("new_value") or {}
        shown["changed"] = sorted(k for k in after if before and before.get(k) != after.get(k))
        shown["old_value"] = _masked_values(row.get("old_value"), reveal)
        shown["new_value"] = _masked_values(row.get("new_value"), reveal)
        shown["at"] = iso(row.get("at")) if isinstance(row.get("at"), (int, float)) else row.get("at")
        for values in (shown["old_value"], shown["new_value"]):
            for key in ("occurred_at", "occurred_until"):
                if values and isinstance(values.get(key), (int, float)):
                    values[key] = iso(values[key])
        out.append(shown)
    return out
