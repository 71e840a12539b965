"""Every window on the screen, and blanking the ones capture must not read.

The focused window decides whether a frame is grabbed at all; this module
handles the others.  A source lists the mapped top-level windows bottom to top
(``ScreenSource.windows()``, a list of ``ScreenWindow``); ``hidden_windows``
finds the visible parts of those that must not be read (an excluded app or
title, or Engram itself), each part a rectangle on the screen; ``blank`` fills
them in a frame before anything else looks at it.  The last two are pure
functions.

``X11WindowList`` lists the windows of an X display.  It reads the stacking
order from ``QueryTree`` of the root window, the X server's own order, with or
without a window manager; unlike the window manager's
``_NET_CLIENT_LIST_STACKING`` it includes menus and pop-ups (override-redirect
windows) and, with a reparenting window manager, the frame with its title bar,
where an excluded window's title is printed.  The list is kept between frames
and read again only after the server reports a change (a window created,
mapped, moved, restacked or retitled), so an unchanged desktop costs no request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from core.capture.changes import Rect
from core.capture.screen import Monitor, WindowContext, url_from_title

# Opaque black as a packed BGRA pixel: what a hidden window's pixels become.
BLANK = 0xFF000000
# A full listing at least this often, in case the server's notices miss something.
REFRESH_SECONDS = 30.0
# How deep below a top-level window (a window manager's frame) to look for the client.
CLIENT_DEPTH = 3
TITLE_LONGS = 256  # read at most 1 KB of a title


@dataclass(frozen=True)
class ScreenWindow:
    """One mapped top-level window where it stands on the screen.

    ``rect`` is in root (screen) coordinates, window manager decorations
    included.  ``covers`` is the part that hides the windows below it (``rect``
    without client-side shadows), or None for a translucent window, which
    hides nothing.  ``context`` describes the application inside.
    """

    window_id: int
    rect: Rect
    context: WindowContext
    covers: Rect | None = None


@dataclass(frozen=True)
class HiddenWindow:
    """A window capture must not read, with the parts of it that can be seen."""

    label: str
    rule: str
    regions: tuple[Rect, ...]


def subtract(rect: Rect, cover: Rect) -> list[Rect]:
    """The parts of ``rect`` outside ``cover``: at most four rectangles."""
    if not rect.intersects(cover):
        return [rect] if rect.area else []
    parts = [
        Rect(rect.x0, rect.y0, rect.x1, cover.y0),  # above
        Rect(rect.x0, cover.y1, rect.x1, rect.y1),  # below
        Rect(rect.x0, max(rect.y0, cover.y0), cover.x0, min(rect.y1, cover.y1)),  # left
        Rect(cover.x1, max(rect.y0, cover.y0), rect.x1, min(rect.y1, cover.y1)),  # right
    ]
    return [p for p in parts if p.width > 0 and p.height > 0]


def visible_parts(rect: Rect, covers: Iterable[Rect]) -> list[Rect]:
    """What remains of ``rect`` once every rectangle in ``covers`` is laid over it."""
    parts = [rect] if rect.area else []
    for cover in covers:
        parts = [piece for part in parts for piece in subtract(part, cover)]
        if not parts:
            break
    return parts


def hidden_windows(
    stack: Sequence[ScreenWindow] | None, excluded: Callable[[WindowContext], object | None]
) -> list[HiddenWindow]:
    """The windows of ``stack`` (bottom to top) that ``excluded`` names, with their visible parts, top-most first.

    ``excluded(context)`` returns the rule that hides a window (anything with
    a ``rule`` attribute, as ``ExclusionRules.match`` does) or None.  A window
    wholly covered by windows above it is left out: there is nothing to blank.
    """
    if not stack:
        return []
    found = []
    for index in range(len(stack) - 1, -1, -1):
        window = stack[index]
        rule = excluded(window.context)
        if rule is None:
            continue
        covers = [above.covers for above in stack[index + 1 :] if above.covers is not None]
        parts = visible_parts(window.rect, covers)
        if parts:
            found.append(HiddenWindow(window_label(window.context, rule), str(getattr(rule, "rule", rule)), tuple(parts)))
    return found


def window_label(context: WindowContext, rule: object) -> str:
    """What the status says was hidden: the application, never the title (it may be the secret)."""
    if getattr(rule, "rule", None) == "self":
        return "Engram"
    return context.app or context.instance or "an unnamed window"


def on_monitor(regions: Iterable[Rect], monitor: Monitor) -> list[Rect]:
    """``regions`` (screen coordinates) in ``monitor``'s pixel coordinates, clipped to it."""
    out = []
    for region in regions:
        moved = Rect(region.x0 - monitor.left, region.y0 - monitor.top, region.x1 - monitor.left, region.y1 - monitor.top)
        clipped = moved.clip(monitor.width, monitor.height)
        if clipped.width > 0 and clipped.height > 0:
            out.append(clipped)
    return out


def blank(frame: np.ndarray, rects: Sequence[Rect], value: int = BLANK) -> np.ndarray:
    """``frame`` with every rectangle in ``rects`` filled with ``value``; ``frame`` itself is not changed.

    Rectangles are in the frame's pixel coordinates and are clipped to it.
    Without rectangles the same array is returned (no copy).
    """
    height, width = frame.shape[:2]
    boxes = [r.clip(width, height) for r in rects]
    boxes = [b for b in boxes if b.width > 0 and b.height > 0]
    if not boxes:
        return frame
    out = frame.copy()
    for box in boxes:
        out[box.y0 : box.y1, box.x0 : box.x1] = value
    return out


def describe_hidden(labels: Sequence[str], count: int | None = None) -> str | None:
    """'2 windows hidden from capture: KeePassXC, Engram', or None when nothing was hidden."""
    count = len(labels) if count is None else count
    if not count:
        return None
    names = list(dict.fromkeys(labels))
    return f"{count} window{'s' if count != 1 else ''} hidden from capture: {', '.join(names)}"


class X11WindowList:
    """The mapped top-level windows of an X display, bottom to top (see the module doc).

    ``call(func, *args)`` runs an Xlib call and turns a lost connection into
    CaptureError (``X11Screen._call``).  The connection must be used from one
    thread only, and its events belong to this list.
    """

    def __init__(self, display, call: Callable):
        from Xlib import X, error
        from Xlib.protocol import request

        self._X = X
        self._request = request
        self._xerror = error
        self._display = display
        self._proto = display.display  # the protocol-level connection, for pipelined requests
        self._root = display.screen().root
        self._call = call
        names = ("WM_NAME", "_NET_WM_NAME", "WM_CLASS", "_NET_WM_PID", "_GTK_FRAME_EXTENTS", "_NET_WM_WINDOW_OPACITY")
        self._atoms = {name: display.intern_atom(name) for name in names}
        self._utf8 = display.intern_atom("UTF8_STRING")
        self._watched_atoms = set(self._atoms.values())
        self._stack: list[ScreenWindow] | None = None
        self._dirty = True
        self._listed_at = 0.0
        self._clients: dict[int, tuple[int, bool]] = {}  # top-level -> (client, found a WM_CLASS)
        self._classes: dict[int, tuple[str | None, str | None]] = {}  # client -> (instance, class)
        self._pids: dict[int, int | None] = {}
        self._watched: set[int] = set()  # clients whose property changes we are told about
        self.listings = 0
        # Told about every child of the root being created, mapped, moved, restacked or destroyed.
        call(lambda: self._root.change_attributes(event_mask=X.SubstructureNotifyMask))

    # -- public ------------------------------------------------------------------------------

    def windows(self) -> list[ScreenWindow]:
        """The windows now, bottom to top; asks the server only when something changed."""
        self.drain()
        if self._dirty or self._stack is None or time.monotonic() - self._listed_at > REFRESH_SECONDS:
            self._dirty = False  # before listing: a change reported while we list makes the next call list again
            self._stack = self._call(self._list)
            self._listed_at = time.monotonic()
            self.listings += 1
        return self._stack

    def drain(self) -> None:
        """Take the server's notices read so far (every round trip reads them), so they never pile up."""
        if self._drain_events():
            self._dirty = True

    def pid_of(self, client_id: int) -> int | None:
        """The process id a client window declares (_NET_WM_PID), cached per window."""
        if client_id not in self._pids:
            reply = self._get_property(client_id, "_NET_WM_PID", self._X.AnyPropertyType, 1, defer=False)
            self._pids[client_id] = _first_int(reply)
        return self._pids[client_id]

    # -- events ------------------------------------------------------------------------------

    def _drain_events(self) -> bool:
        X = self._X
        structure = (X.CreateNotify, X.DestroyNotify, X.MapNotify, X.UnmapNotify, X.ConfigureNotify,
                     X.ReparentNotify, X.CirculateNotify, X.GravityNotify)
        changed = False
        while self._call(self._display.pending_events):
            event = self._call(self._display.next_event)
            if event.type == X.PropertyNotify:
                if event.atom in self._watched_atoms:
                    changed = True
                    self._classes.pop(event.window.id, None)
                    self._pids.pop(event.window.id, None)
            elif event.type in structure:
                changed = True
                if event.type == X.ReparentNotify:
                    # A client moved into (or out of) a frame: look for clients again where none was found.
                    self._clients = {top: found for top, found in self._clients.items() if found[1]}
        return changed

    # -- listing -----------------------------------------------------------------------------

    def _list(self) -> list[ScreenWindow]:
        X = self._X
        children = [child.id for child in self._root.query_tree().children]  # bottom to top
        attributes = [self._request.GetWindowAttributes(display=self._proto, defer=True, window=c) for c in children]
        viewable = []
        for child, reply in zip(children, attributes):
            attrs = self._reply(reply)
            if attrs is not None and attrs.map_state == X.IsViewable and attrs.win_class == X.InputOutput:
                viewable.append(child)
        live = set(children)
        self._clients = {top: found for top, found in self._clients.items() if top in live}
        geometries = [self._request.GetGeometry(display=self._proto, defer=True, drawable=c) for c in viewable]
        self._find_clients([c for c in viewable if c not in self._clients])
        clients = {top: self._clients.get(top, (top, False))[0] for top in viewable}
        self._watch(clients.values())
        props = {}
        for top in viewable:
            client = clients[top]
            props[top] = {
                "net_name": self._get_property(client, "_NET_WM_NAME", self._utf8, TITLE_LONGS),
                "name": self._get_property(client, "WM_NAME", X.AnyPropertyType, TITLE_LONGS),
                "gtk_extents": self._get_property(client, "_GTK_FRAME_EXTENTS", X.AnyPropertyType, 4),
                "opacity": self._get_property(top, "_NET_WM_WINDOW_OPACITY", X.AnyPropertyType, 1),
                "client_opacity": self._get_property(client, "_NET_WM_WINDOW_OPACITY", X.AnyPropertyType, 1)
                if client != top else None,
                "class": self._get_property(client, "WM_CLASS", X.AnyPropertyType, 64)
                if client not in self._classes else None,
                "pid": self._get_property(client, "_NET_WM_PID", X.AnyPropertyType, 1) if client not in self._pids else None,
            }
        stack = []
        for top, geometry in zip(viewable, geometries):
            geo = self._reply(geometry)
            if geo is None:
                continue  # closed while we looked
            border = 2 * geo.border_width
            rect = Rect(geo.x, geo.y, geo.x + geo.width + border, geo.y + geo.height + border)
            client = clients[top]
            got = {key: self._reply(value) if value is not None else None for key, value in props[top].items()}
            if client not in self._classes:
                self._classes[client] = _wm_class(got["class"])
            if client not in self._pids:
                self._pids[client] = _first_int(got["pid"])
            instance, app_class = self._classes[client]
            title = _text(got["net_name"], "utf-8") or _text(got["name"], "latin-1")
            app = app_class or instance
            context = WindowContext(app=app, title=title, url=url_from_title(title, app), window_id=client,
                                    pid=self._pids[client], instance=instance)
            stack.append(ScreenWindow(top, rect, context, _covers(rect, got)))
        known = set(clients.values())
        self._classes = {k: v for k, v in self._classes.items() if k in known}
        self._pids = {k: v for k, v in self._pids.items() if k in known}
        self._watched &= known
        return stack

    def _find_clients(self, tops: list[int]) -> None:
        """For each top-level window, the window inside it that has a WM_CLASS (itself, or under a frame)."""
        X = self._X
        level = {top: [top] for top in tops}  # top -> candidates at this depth
        for _depth in range(CLIENT_DEPTH + 1):
            if not level:
                break
            asked = {top: [(w, self._get_property(w, "WM_CLASS", X.AnyPropertyType, 64)) for w in candidates]
                     for top, candidates in level.items()}
            deeper = {}
            for top, replies in asked.items():
                hit = None
                for window, reply in replies:
                    value = self._reply(reply)
                    if _value(value) is not None:
                        hit = window
                        self._classes[window] = _wm_class(value)
                        break
                if hit is not None:
                    self._clients[top] = (hit, True)
                else:
                    deeper[top] = [w for w, _ in replies]
            trees = {top: [self._request.QueryTree(display=self._proto, defer=True, window=w) for w in windows]
                     for top, windows in deeper.items()}
            level = {}
            for top, replies in trees.items():
                below = []
                for reply in replies:
                    tree = self._reply(reply)
                    if tree is not None:
                        below.extend(child.id for child in tree.children)
                if below:
                    level[top] = below
                else:
                    self._clients[top] = (top, False)
        for top in level:
            self._clients.setdefault(top, (top, False))
        for top in tops:
            self._clients.setdefault(top, (top, False))

    def _watch(self, clients: Iterable[int]) -> None:
        """Be told when a client's title or class changes (before reading them, so no change slips between)."""
        catch = self._xerror.CatchError(self._xerror.BadWindow)
        for client in set(clients) - self._watched:
            window = self._display.create_resource_object("window", client)
            window.change_attributes(onerror=catch, event_mask=self._X.PropertyChangeMask)
            self._watched.add(client)

    def _get_property(self, window: int, name: str, kind: int, longs: int, defer: bool = True):
        request = self._request.GetProperty(
            display=self._proto, defer=True, delete=False, window=window, property=self._atoms[name], type=kind,
            long_offset=0, long_length=longs,
        )
        return request if defer else self._reply(request)

    def _reply(self, request):
        """The reply of a pipelined request, or None when its window has gone meanwhile."""
        try:
            request.reply()
        except (self._xerror.BadWindow, self._xerror.BadDrawable, self._xerror.BadMatch, self._xerror.BadValue):
            return None
        return request


def _value(reply):
    """A GetProperty reply's data (bytes or a sequence of numbers), or None when the property is not set."""
    if reply is None or not reply.property_type:
        return None
    value = reply.value
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], int):
        value = value[1]  # pipelined replies carry (format, data)
    return value if len(value) else None


def _first_int(reply) -> int | None:
    value = _value(reply)
    return None if value is None or isinstance(value, (bytes, str)) else int(value[0])


def _text(reply, encoding: str) -> str | None:
    value = _value(reply)
    if value is None:
        return None
    text = value.decode(encoding, "replace") if isinstance(value, (bytes, bytearray)) else str(value)
    return text or None


def _wm_class(reply) -> tuple[str | None, str | None]:
    """WM_CLASS is two NUL-terminated strings: the instance, then the class."""
    value = _value(reply)
    if value is None or not isinstance(value, (bytes, bytearray, str)):
        return None, None
    raw = value.decode("latin-1", "replace") if isinstance(value, (bytes, bytearray)) else value
    parts = raw.split("\0")
    instance = parts[0] or None
    app_class = parts[1] if len(parts) > 1 and parts[1] else None
    return instance, app_class


def _covers(rect: Rect, got: dict) -> Rect | None:
    """What a window hides below it: nothing if translucent, else its rectangle less any client-side shadow."""
    for key in ("opacity", "client_opacity"):
        opacity = _first_int(got.get(key))
        if opacity is not None and opacity < 0xFFFFFFFF:
            return None
    extents = _value(got.get("gtk_extents"))
    if extents is not None and not isinstance(extents, (bytes, str)) and len(extents) == 4:
        left, right, top, bottom = (int(v) for v in extents)
        inner = Rect(rect.x0 + left, rect.y0 + top, rect.x1 - right, rect.y1 - bottom)
        return inner if inner.width > 0 and inner.height > 0 else None
    return rect
