"""A small Markdown renderer for chat answers that cannot inject HTML.

Answers are written by a model from memory text, and memory text comes from
the screen and from chats: anything in it must show as text, never as markup.
So every line is HTML-escaped first and only then are the few constructs a
chat answer uses turned into tags: paragraphs, line breaks, ``#`` headings,
``-``/``*``/``1.`` lists, fenced and inline code, ``**bold**`` and
``*italic*``.  Links and images are not rendered (a model-written link could
point anywhere); citation markers are left to the caller, which links them.
"""

from __future__ import annotations

import html
import re

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*(\d{1,3})[.)]\s+(.*)$")
_CODE_SPAN = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")


def inline(text: str) -> str:
    """One line of escaped text with code spans, bold and italic as tags."""
    out = []
    # Code spans first: nothing inside them is Markdown.
    position = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_emphasis(html.escape(text[position : match.start()], quote=False)))
        out.append(f"<code>{html.escape(match.group(1), quote=False)}</code>")
        position = match.end()
    out.append(_emphasis(html.escape(text[position:], quote=False)))
    return "".join(out)


def _emphasis(escaped: str) -> str:
    escaped = _BOLD.sub(lambda m: f"<b>{m.group(2)}</b>", escaped)
    return _ITALIC.sub(lambda m: f"<i>{m.group(2)}</i>", escaped)


def render_markdown(text: str) -> str:
    """``text`` (Markdown as a chat model writes it) as safe HTML for a QTextBrowser."""
    blocks: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    list_tag = ""
    code: list[str] | None = None

    def close_paragraph() -> None:
        if paragraph:
            blocks.append("<p>" + "<br>".join(paragraph) + "</p>")
            paragraph.clear()

    def close_list() -> None:
        nonlocal list_tag
        if items:
            blocks.append(f"<{list_tag}>" + "".join(f"<li>{i}</li>" for i in items) + f"</{list_tag}>")
            items.clear()
        list_tag = ""

    for line in (text or "").replace("\r\n", "\n").split("\n"):
        if code is not None:
            if _FENCE.match(line):
                blocks.append("<pre>" + html.escape("\n".join(code), quote=False) + "</pre>")
                code = None
            else:
                code.append(line)
            continue
        if _FENCE.match(line):
            close_paragraph()
            close_list()
            code = []
            continue
        if not line.strip():
            close_paragraph()
            close_list()
            continue
        heading = _HEADING.match(line)
        bullet = _BULLET.match(line)
        numbered = _NUMBERED.match(line)
        if heading:
            close_paragraph()
            close_list()
            level = min(6, len(heading.group(1)) + 2)  # answer headings stay small beside the page's own
            blocks.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
        elif bullet or numbered:
            close_paragraph()
            tag = "ul" if bullet else "ol"
            if list_tag and list_tag != tag:
                close_list()
            list_tag = tag
            items.append(inline(bullet.group(1) if bullet else numbered.group(2)))
        else:
            close_list()
            paragraph.append(inline(line.strip()))
    if code is not None:  # an unclosed fence while the answer is still streaming
        blocks.append("<pre>" + html.escape("\n".join(code), quote=False) + "</pre>")
    close_paragraph()
    close_list()
    return "".join(blocks)
