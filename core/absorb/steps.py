"""Procedures by rule: step sequences the user writes, and commands read off a terminal screen.

In the user's own chat messages a procedure is

- a numbered or bulleted list of at least two items, titled by the line before it
  ("My sourdough routine, so I stop forgetting:" then "1. feed the starter ...");
- a goal, a colon and a series ("To reset the router: unplug it, wait thirty
  seconds, ..., then plug it back in"; "Para regar las orquídeas: primero ...");
- a sentence with at least two sequence words ("first ..., then ..., and
  finally ..."; "zuerst ..., dann ..., danach ..., zum Schluss ..."; "d'abord ...,
  ensuite ..., enfin ..."; "primero ..., luego ..., por último ..."; "primeiro
  ..., depois ..., por fim ..."; and in Italian, Dutch, Polish, Swedish and Turkish:
  "prima ..., poi ..., infine ...", "eerst ..., daarna ..., tot slot ...").

With two or more sequence words a step runs from one to the next (commas inside
a step stay: "bring passport, photo and the contract"); otherwise commas
separate the steps as well.  The steps are the user's words, sequence words
removed.

On a terminal screen, lines that start with a shell prompt (``user@host:~/x$``,
``[user@host ~]$``, ``$``, ``❯``, ``%``, ``PS C:\\>``) are commands; two or
more in one working directory are a procedure ("Commands run in ~/src/shop"),
without the trivial ones (ls, cd, clear ...) and without any that held a masked
secret.
"""

from __future__ import annotations

import re
from typing import Sequence

from core.absorb import provenance, text as tx
from core.absorb.candidates import Candidate
from core.secrets import MASK_CHAR

MAX_STEPS = 20
MAX_STEP_CHARS = 200

_SEQUENCE = (
    r"first(?:\s+of\s+all)?|firstly|to\s+start|then|and\s+then|next|after\s+that|afterwards|finally|lastly|at\s+the\s+end|"
    r"zuerst|erst|zunächst|dann|danach|anschließend|daraufhin|zum\s+schluss|schließlich|zuletzt|am\s+ende|"
    r"d['’]abord|tout\s+d['’]abord|premièrement|ensuite|puis|après|après\s+ça|enfin|finalement|pour\s+finir|"
    r"primero|luego|después|entonces|a\s+continuación|por\s+último|finalmente|al\s+final|"
    r"primeiro|depois|em\s+seguida|então|por\s+fim|no\s+fim|"
    # Italian, Dutch, Polish, Swedish, Turkish; lower case only where the word is also a name or a noun ("Dan",
    # "la prima", "a sedan").
    r"(?-i:prima)|poi|dopo|quindi|infine|alla\s+fine|per\s+finire|"
    r"eerst|(?-i:dan)|daarna|vervolgens|tot\s+slot|ten\s+slotte|als\s+laatste|"
    r"najpierw|potem|następnie|na\s+koniec|w\s+końcu|"
    r"först|(?-i:sedan)|därefter|till\s+sist|slutligen|"
    r"önce|sonra|daha\s+sonra|ardından|en\s+son|son\s+olarak"
)
_AND = r"(?:and|und|et|y|e|en|i|och|ve)\s+"
_SEQUENCE_WORD = re.compile(rf"(?i)(?:^|(?<=[\s,;:]))(?:{_AND})?(?:{_SEQUENCE})\b[,:]?\s*")
_SPLIT_AT_MARKER = re.compile(rf"(?i)\s*(?:[,;]\s*)?(?:{_AND})?(?<![\w'’])(?:{_SEQUENCE})\b[,:]?\s*")
_GOAL = re.compile(
    r"(?i)^\W*(?:(?:here['’]s\s+)?how\s+(?:to|i|we|do\s+i)\b|to\s+\w+|in\s+order\s+to\b|steps?\s+(?:to|for)\b|"
    r"(?:my|our|the)\s+[\w\s-]{0,30}(?:routine|procedure|process|recipe|workflow|checklist|steps)\b|"
    r"um\s+.+\s+zu\s+\w+|so\s+\w+\s+(?:ich|man|wir)\b|zum\s+\w+|anleitung|"
    r"pour\s+\w+|comment\s+\w+|para\s+\w+|cómo\s+\w+|como\s+\w+|receta|receita|recette|rezept|"
    r"per\s+\w+|come\s+\w+|om\s+\w+|hoe\s+\w+|aby\s+\w+|jak\s+\w+|för\s+att\s+\w+|så\s+här\b|nasıl\b|tarif|ricetta|recept|przepis)"
)
_ITEM = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•·▪]|\(\d{1,2}\))\s+(?P<item>\S.*)$")
_STEP_LEAD = re.compile(rf"(?i)^\W*(?:{_AND})?(?:{_SEQUENCE})\b[,:]?\s*")

# Shell prompts as terminals print them; the command follows.
_PROMPTS = [
    re.compile(r"^\s*[\w.-]+@[\w.-]+:(?P<cwd>[^$#\n]*?)\s*[$#]\s+(?P<cmd>\S.*)$"),
    re.compile(r"^\s*\[[\w.-]+@[\w.-]+\s+(?P<cwd>[^\]]*)\]\s*[$#]\s+(?P<cmd>\S.*)$"),
    re.compile(r"^\s*(?P<cwd>~?/?[\w./~-]*(?:\s+[\w./-]+)?)\s+[❯➜»]\s+(?P<cmd>\S.*)$"),
    re.compile(r"^\s*[❯➜»]\s+(?P<cmd>\S.*)$"),
    re.compile(r"^\s*PS\s+(?P<cwd>[A-Za-z]:\\[^>]*)>\s*(?P<cmd>\S.*)$"),
    re.compile(r"^\s*[$%#]\s+(?P<cmd>\S.*)$"),
]
_TRIVIAL = frozenset("ls ll la l cd clear pwd exit logout history whoami top htop date cal reset true false".split())
TERMINALS = ("terminal", "konsole", "xterm", "alacritty", "kitty", "tilix", "terminator", "iterm", "wezterm", "foot",
             "urxvt", "rxvt", "guake", "yakuake", "powershell", "cmd.exe", "windows terminal", "warp", "ghostty")


def _clean_step(step: str) -> str:
    step = _STEP_LEAD.sub("", step.strip()).strip(" ,;.")
    return " ".join(step.split())[:MAX_STEP_CHARS]


def split_steps(series: str) -> list[str]:
    """The steps of a series: at sequence words when it has two or more, else at commas and sequence words."""
    markers = len(_SEQUENCE_WORD.findall(series))
    if markers >= 2:
        parts = _SPLIT_AT_MARKER.split(series)
    else:
        parts = re.split(r"\s*[,;]\s*", series)
        parts = [p for part in parts for p in _SPLIT_AT_MARKER.split(part)]
    steps = [_clean_step(p) for p in parts]
    return [s for s in steps if len(s.split()) >= 1 and re.search(r"[^\W\d_]", s)][:MAX_STEPS]


_TITLE_LEAD = re.compile(r"(?i)^\W*(?:(?:oh\s+)?(?:and|also|ok(?:ay)?|btw|by\s+the\s+way|anyway|for\s+the\s+record|"
                         r"for\s+future\s+me|note\s+to\s+self|reminder)\b[\s,:.-]*)+")


def _title(goal: str) -> str:
    goal = _TITLE_LEAD.sub("", goal.strip()).strip(" :,-–—")
    return " ".join(goal.split())[:200]


def chat_procedures(observations: Sequence) -> list[Candidate]:
    """Procedures in the user's own chat messages (see the module docstring)."""
    out: list[Candidate] = []
    for obs in observations:
        if obs.kind != "chat" or not provenance.is_users_own(obs):
            continue
        text = obs.text or ""
        for title, steps in _listed(text) + _sentenced(text):
            if len(steps) < 2 or not title:
                continue
            summary = title
            out.append(Candidate(
                "procedural", {"entry_type": "guide", "summary": summary, "steps": steps}, [obs.id],
                key=("procedure", tx.normalised(summary)), text=f"{summary}: " + "; ".join(steps),
                meta={"order": (obs.ts, obs.id, 0)},
            ))
    return out


def _listed(text: str) -> list[tuple[str, list[str]]]:
    lines = text.splitlines()
    found: list[tuple[str, list[str]]] = []
    index = 0
    while index < len(lines):
        if not _ITEM.match(lines[index]):
            index += 1
            continue
        start = index
        items = []
        while index < len(lines) and (_ITEM.match(lines[index]) or not lines[index].strip() and index + 1 < len(lines)
                                      and _ITEM.match(lines[index + 1])):
            match = _ITEM.match(lines[index])
            if match:
                items.append(_clean_step(match.group("item")))
            index += 1
        heading = next((l for l in reversed(lines[:start]) if l.strip()), "")
        if len(items) >= 2:
            found.append((_title(heading) if heading else items[0], [i for i in items if i][:MAX_STEPS]))
    return found


def _sentenced(text: str) -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for sentence in tx.sentences(text):
        line = sentence.text
        if _ITEM.match(line) or tx.is_question(line):
            continue
        colon = re.search(r":\s+", line)
        if colon and colon.start() <= 120:
            goal, series = line[: colon.start()], line[colon.end() :]
            goal_clean = _title(goal)
            steps = split_steps(series)
            markers = len(_SEQUENCE_WORD.findall(series))
            if (_GOAL.match(goal_clean) or markers) and (len(steps) >= 3 or len(steps) >= 2 and markers):
                found.append((goal_clean, steps))
                continue
        if len(_SEQUENCE_WORD.findall(line)) >= 2:
            first = _SEQUENCE_WORD.search(line)
            goal = _title(line[: first.start()]) if first and first.start() > 0 else ""
            steps = split_steps(line[first.start() :] if first else line)
            if len(steps) >= 2:
                found.append((goal or f"Steps: {steps[0]}", steps))
    return found


# -- terminal screens ------------------------------------------------------------------------------------------


def is_terminal(obs) -> bool:
    where = f"{obs.app or ''} {obs.window_title or ''}".lower()
    return any(name in where for name in TERMINALS)


def commands(text: str) -> list[tuple[str, str]]:
    """``(working directory, command)`` for every prompt line of a terminal's text."""
    out = []
    for line in (text or "").splitlines():
        for pattern in _PROMPTS:
            match = pattern.match(line)
            if not match:
                continue
            command = re.sub(r"[\s_▌█▍|]+$", "", match.group("cmd")).strip()
            cwd = (match.groupdict().get("cwd") or "").strip()
            if command:
                out.append((cwd, command))
            break
    return out


def terminal_procedures(observations: Sequence) -> list[Candidate]:
    """One procedure per working directory: the commands typed there, in order, on terminal screens."""
    groups: dict[str, tuple[list[str], list[int], tuple]] = {}
    for obs in sorted((o for o in observations if o.kind == "screen"), key=lambda o: (o.ts, o.id)):
        found = commands(obs.text or "")
        if len(found) < 1 or not (is_terminal(obs) or len(found) >= 2):
            continue
        for cwd, command in found:
            word = command.split()[0] if command.split() else ""
            if MASK_CHAR in command or word in _TRIVIAL or not re.search(r"[A-Za-z]", word):
                continue
            place = cwd or (obs.window_title or obs.app or "the terminal")
            steps, sources, order = groups.setdefault(place, ([], [], (obs.ts, obs.id, 0)))
            if command not in steps:
                steps.append(command[:MAX_STEP_CHARS])
            if obs.id not in sources:
                sources.append(obs.id)
    out = []
    for place, (steps, sources, order) in groups.items():
        if len(steps) < 2:
            continue
        summary = f"Commands run in {place}"
        out.append(Candidate(
            "procedural", {"entry_type": "script", "summary": summary, "steps": steps[:MAX_STEPS]}, sources,
            key=("procedure", tx.normalised(summary)), text=f"{summary}: " + "; ".join(steps[:MAX_STEPS]),
            meta={"order": order},
        ))
    return out
