"""The main window: a sidebar of pages, the pages, and the status bar."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QMainWindow, QStackedWidget, QVBoxLayout, QWidget

from desktop.icons import app_icon
from desktop.pages.activity import ActivityPage
from desktop.pages.backup_page import BackupPage
from desktop.pages.chat import ChatPage
from desktop.pages.memories import MemoriesPage
from desktop.pages.models_page import ModelsPage
from desktop.pages.settings_page import SettingsPage
from desktop.pages.timeline import TimelinePage
from desktop.status import EngramStatusBar

MEMORY_EVENTS = ("memory_did_add", "memory_did_update", "memory_did_delete", "memory_did_archive")
REFRESH_COALESCE_MS = 250

PAGES = ("chat", "memories", "timeline", "activity", "models", "backup", "settings")
PAGE_TITLES = {
    "chat": "Chat",
    "memories": "Memories",
    "timeline": "Timeline",
    "activity": "Activity",
    "models": "Models",
    "backup": "Backup & export",
    "settings": "Settings",
}


class MainWindow(QMainWindow):
    quick_recall_requested = Signal()
    quit_requested = Signal()  # Quit in the menu, Ctrl+Q, or closing the window where there is no tray
    hidden_to_tray = Signal()  # the window was closed but Engram keeps running in the tray
    shown = Signal()

    def __init__(self, bridge, *, hide_on_close: bool = True):
        super().__init__()
        self.hide_on_close = hide_on_close
        self.setWindowTitle("Engram")
        self.setWindowIcon(app_icon())
        self.resize(1180, 760)
        central = QWidget()
        root = QHBoxLayout(central)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)

        side = QWidget()
        side.setObjectName("sidebarBox")
        side.setFixedWidth(190)
        side.setStyleSheet("#sidebarBox { background: #1f2937; }")
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 8)
        side_layout.setSpacing(0)
        brand = QLabel("Engram")
        brand.setObjectName("brand")
        side_layout.addWidget(brand)
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        for name in PAGES:
            self.sidebar.addItem(PAGE_TITLES[name])
        side_layout.addWidget(self.sidebar, 1)
        hint = QLabel("Ctrl+K  Quick recall")
        hint.setStyleSheet("color: #9ca3af; padding: 8px 18px; font-size: 9pt;")
        side_layout.addWidget(hint)
        root.addWidget(side)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(0)
        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        banner_box = QWidget()
        banner_layout = QVBoxLayout(banner_box)
        banner_layout.setContentsMargins(24, 12, 24, 0)
        banner_layout.addWidget(self.banner)
        self.banner_box = banner_box
        banner_box.hide()
        right_layout.addWidget(banner_box)
        self.stack = QStackedWidget()
        right_layout.addWidget(self.stack, 1)
        root.addWidget(right, 1)
        self.setCentralWidget(central)

        # Pages are built when first shown (only Chat at launch): the window appears sooner.
        self._page_classes = {
            "chat": ChatPage,
            "memories": MemoriesPage,
            "timeline": TimelinePage,
            "activity": ActivityPage,
            "models": ModelsPage,
            "backup": BackupPage,
            "settings": SettingsPage,
        }
        self._pages: dict[str, QWidget] = {}
        for name in PAGES:
            self.stack.addWidget(QWidget())  # placeholder until the page is built
        self.sidebar.currentRowChanged.connect(self._page_changed)

        self.status = EngramStatusBar(bridge, self)
        self.setStatusBar(self.status)
        self.status.backup_label.clicked.connect(lambda: self.show_page("backup"))

        menu = self.menuBar().addMenu("&Engram")
        recall_action = menu.addAction("Quick recall…")
        recall_action.setShortcut(QKeySequence("Ctrl+K"))
        recall_action.triggered.connect(self.quick_recall_requested)
        menu.addSeparator()
        self.quit_action = menu.addAction("Quit Engram")
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.quit_action.triggered.connect(self.quit_requested)
        for number, name in enumerate(PAGES, 1):
            QShortcut(QKeySequence(f"Ctrl+{number}"), self, activated=lambda n=name: self.show_page(n))

        # Lists refresh when the data they show changes: every add, update and delete, wherever it came
        # from (this window, absorb, consolidation, the CLI in this process).  A burst of changes (an absorb
        # batch) becomes one reload.
        self._refresh_timers: dict[str, QTimer] = {}
        bridge.on(MEMORY_EVENTS, lambda _p: self._schedule_refresh("memories"), self)
        bridge.on("observation_did_add", lambda _p: self._timeline_grew(), self)  # appended in place
        bridge.on("observations_did_forget", lambda _p: self._schedule_refresh("timeline"), self)
        bridge.on(("download_did_finish", "download_did_fail", "model_did_load"), lambda _p: self._schedule_refresh("models"), self)
        bridge.on("backup_did_finish", lambda _p: self._schedule_refresh("backup"), self)
        # A restore, an import or a secrets re-check changes everything a page may show.
        bridge.on(("store_did_restore", "store_did_import", "secrets_did_recheck"),
                  lambda _p: self._refresh_if_current(self.current_page), self)
        self.sidebar.setCurrentRow(0)

    def page(self, name: str) -> QWidget:
        """The page called ``name``, built on first use."""
        page = self._pages.get(name)
        if page is None:
            page = self._page_classes[name]()
            index = PAGES.index(name)
            placeholder = self.stack.widget(index)
            current = self.stack.currentIndex()
            self.stack.insertWidget(index, page)
            self.stack.removeWidget(placeholder)
            placeholder.deleteLater()
            self.stack.setCurrentIndex(current)
            self._pages[name] = page
            if name == "chat":
                page.citation_opened.connect(self.open_source)
            elif name == "memories":
                page.observation_opened.connect(lambda oid: self.open_source("observation", oid))
        return page

    @property
    def pages(self) -> dict[str, QWidget]:
        return {name: self.page(name) for name in PAGES}

    chat = property(lambda self: self.page("chat"))
    memories = property(lambda self: self.page("memories"))
    timeline = property(lambda self: self.page("timeline"))
    activity = property(lambda self: self.page("activity"))
    models = property(lambda self: self.page("models"))
    backup = property(lambda self: self.page("backup"))
    settings = property(lambda self: self.page("settings"))

    @property
    def current_page(self) -> str:
        return PAGES[self.stack.currentIndex()]

    def show_page(self, name: str, *, activate: bool = True) -> None:
        index = PAGES.index(name)
        if self.sidebar.currentRow() != index:
            self.sidebar.blockSignals(True)
            self.sidebar.setCurrentRow(index)
            self.sidebar.blockSignals(False)
        page = self.page(name)
        self.stack.setCurrentIndex(index)
        if activate:
            page.activate()

    def _page_changed(self, row: int) -> None:
        if row >= 0:
            self.show_page(PAGES[row])

    def _schedule_refresh(self, name: str) -> None:
        timer = self._refresh_timers.get(name)
        if timer is None:
            timer = self._refresh_timers[name] = QTimer(self)
            timer.setSingleShot(True)
            timer.setInterval(REFRESH_COALESCE_MS)
            timer.timeout.connect(lambda n=name: self._refresh_if_current(n))
        if not timer.isActive():
            timer.start()

    def _refresh_if_current(self, name: str) -> None:
        if self.isVisible() and self.current_page == name and name in self._pages:
            page = self._pages[name]
            if name == "memories":
                page.reload()
            elif name == "timeline":
                page.show_day(page.date.date())
            else:
                page.activate()

    def _timeline_grew(self) -> None:
        # New moments are appended in place (the selection and the detail stay); a full reload would reset both.
        if self.isVisible() and self.current_page == "timeline" and "timeline" in self._pages:
            self._pages["timeline"].observation_added()

    def open_source(self, kind: str, ident: int) -> None:
        """Show a memory's detail or an observation's moment on the timeline."""
        self.bring_to_front()
        if kind == "memory":
            self.show_page("memories", activate=False)
            self.memories.open_memory(ident)
        else:
            self.show_page("timeline", activate=False)
            self.timeline.open_observation(ident)

    def open_recall_result(self, result: dict) -> None:
        self.open_source(result.get("kind", "memory"), int(result["id"]))

    def show_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.show()
        self.banner_box.show()

    def bring_to_front(self) -> None:
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.shown.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        # With a tray, closing hides the window and Engram keeps running there (the tray says so);
        # without one nothing would show that Engram still runs and records, so closing quits.
        if self.hide_on_close:
            event.ignore()
            self.hide()
            self.hidden_to_tray.emit()
        else:
            event.accept()
            self.quit_requested.emit()
