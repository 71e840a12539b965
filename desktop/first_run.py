"""First run: what Engram does, consent to screen capture, model choice, encryption, the recovery code.

Capture stays off unless the user ticks the box; nothing is downloaded unless
the user picks the download.  The wizard only collects choices; the app
applies them in the background (``FirstRunChoices``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtWidgets import QCheckBox, QLabel, QRadioButton, QVBoxLayout, QWizard, QWizardPage

from desktop.icons import mark_pixmap
from desktop.qtmodels import human_size


@dataclass
class FirstRunChoices:
    capture: bool = False
    download: str | None = None
    recovery_code: bool = False
    start_at_login: bool = False


def first_run_facts(engine) -> dict:
    """What the wizard explains, read in the background before it opens."""
    recommended = None
    seed = None
    machine = ""
    if engine.models is not None:
        listing = engine.models.list()
        cores = listing.get("cpu_count")
        ram = listing.get("total_ram_bytes")
        machine = ", ".join(p for p in (f"{cores} cores" if cores else "", f"{human_size(ram)} of memory" if ram else "") if p)
        name = (listing.get("recommended") or {}).get("chat")
        for row in listing.get("models", []):
            if row.get("name") == name:
                recommended = row
            if row.get("role") == "chat" and row.get("seed"):
                seed = row
    info = engine.key_info
    return {
        "tray": False,  # the app says whether this desktop has a tray (Qt knows, the engine does not)
        "shortcut": engine.settings.get("app.quick_recall_shortcut"),
        "data_dir": str(engine.paths.data_dir),
        "key": {"storage": info.storage, "location": info.location, "warning": info.warning},
        "recommended": recommended,
        "seed": seed,
        "machine": machine,
    }


WIZARD_WIDTH = 660


def _text(body: str) -> QLabel:
    label = QLabel(body)
    label.setWordWrap(True)
    label.setOpenExternalLinks(False)
    return label


class FirstRunWizard(QWizard):
    def __init__(self, facts: dict, parent=None):
        super().__init__(parent)
        self.facts = facts
        self.setWindowTitle("Welcome to Engram")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setPixmap(QWizard.WizardPixmap.LogoPixmap, mark_pixmap(48))
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage)
        # One width for every step: a long line on one page must wrap, not widen the window.
        self.setFixedWidth(WIZARD_WIDTH)
        self.resize(WIZARD_WIDTH, 500)
        tray = bool(facts.get("tray"))
        shortcut = html.escape(str(facts.get("shortcut") or ""))
        if tray:
            recall_how = "click the Engram icon in the tray"
        else:
            recall_how = "press <b>Ctrl+K</b> in Engram's window"
        if shortcut:
            recall_how += f", or <b>{shortcut}</b> anywhere where your desktop allows a global shortcut"

        welcome = QWizardPage()
        welcome.setTitle("Engram remembers for you")
        welcome.setSubTitle("A private memory assistant that runs entirely on this computer.")
        layout = QVBoxLayout(welcome)
        layout.addWidget(_text(
            "<p>Engram builds memories from what you tell it and, if you allow it, from the text on your screen: "
            "people and facts, what you did and when, how-tos, documents you read, and exact details such as account numbers.</p>"
            f"<p>Ask it anything in <b>Chat</b>. For <b>Quick recall</b>, {recall_how}.</p>"
            f"<p><b>Your data stays here.</b> Everything is stored, encrypted, in <code>{html.escape(facts['data_dir'])}</code>. "
            "Nothing is sent anywhere; models run locally. You can edit or delete any memory, and forget any stretch of time.</p>"
        ))
        layout.addStretch(1)
        self.addPage(welcome)

        capture = QWizardPage()
        capture.setTitle("Screen capture")
        capture.setSubTitle("Engram can read the text on your screen every few seconds. It is off until you agree.")
        layout = QVBoxLayout(capture)
        layout.addWidget(_text(
            "<p>When on, Engram looks at the screen while it changes, reads its text on this computer (OCR) and keeps "
            "a small encrypted screenshot for the timeline. It never captures password managers, private browsing windows "
            "or itself, and masks card numbers and passwords it sees. "
            + ("You can pause it from the tray icon at any time.</p>" if tray else
               "You can turn it off at any time in Settings → Screen capture; quitting Engram stops it too.</p>")
        ))
        self.capture_box = QCheckBox("Yes, capture my screen")
        self.capture_box.setChecked(False)
        layout.addWidget(self.capture_box)
        if tray:
            layout.addWidget(_text('<p style="color:#6b7280">You can change this later in Settings → Screen capture.</p>'))
        self.login_box = QCheckBox("Start Engram when I log in")
        self.login_box.setChecked(False)
        layout.addWidget(self.login_box)
        where = ("starts in the tray without opening its window" if tray
                 else "opens its window")  # no tray: never running unseen
        self.login_box.setToolTip(f"When you log in, Engram {where}.")
        layout.addWidget(_text(
            f'<p style="color:#6b7280">Engram then {where} when you log in. '
            "You can change this later in Settings → Application.</p>"
        ))
        layout.addStretch(1)
        self.addPage(capture)

        models = QWizardPage()
        models.setTitle("Models")
        models.setSubTitle("Engram works offline from the start; a larger model builds better memories.")
        layout = QVBoxLayout(models)
        seed = facts.get("seed")
        seed_label = seed.get("label") if seed else "the offline seed model"
        self.seed_choice = QRadioButton(f"Start with {seed_label} (already here, works offline)")
        self.seed_choice.setChecked(True)
        layout.addWidget(self.seed_choice)
        recommended = facts.get("recommended")
        self.download_choice = QRadioButton()
        if recommended and not recommended.get("seed") and not recommended.get("installed") and recommended.get("downloadable"):
            size = human_size(recommended.get("size"))
            # A short button text; the explanation wraps below it, so the page keeps the wizard's width.
            self.download_choice.setText(f"Also download {recommended.get('label') or recommended['name']}")
            layout.addWidget(self.download_choice)
            layout.addWidget(_text(
                f'<p style="color:#6b7280">{size}, recommended for this computer ({html.escape(facts.get("machine") or "")}). '
                "The download runs in the background; Engram switches to it when you choose it in Models.</p>"
            ))
        else:
            self.download_choice.setVisible(False)
            layout.addWidget(_text('<p style="color:#6b7280">Larger models can be downloaded later from the Models page.</p>'))
        layout.addStretch(1)
        self.addPage(models)

        security = QWizardPage()
        security.setTitle("Encryption")
        security.setSubTitle("Your memories are encrypted on disk.")
        layout = QVBoxLayout(security)
        key = facts["key"]
        if key["storage"] == "file":
            where = (
                f"<p><b>The key is stored in a file</b>, <code>{html.escape(key['location'])}</code>, readable only by you, "
                "because no system keyring (GNOME Keyring, KWallet) is available. Anyone who can read your home folder "
                "can read the key: keep your disk encrypted, and back the key up — without it the database cannot be opened.</p>"
            )
        else:
            where = f"<p>The key is kept in your system keyring ({html.escape(key['location'])}), which unlocks when you log in.</p>"
        layout.addWidget(_text(
            "<p>Engram's database is encrypted with SQLCipher (AES-256) using a random key created on this computer.</p>" + where
        ))
        layout.addStretch(1)
        self.addPage(security)

        recovery = QWizardPage()
        recovery.setTitle("Recovery code")
        recovery.setSubTitle("So that losing this computer's keyring never means losing your memories.")
        layout = QVBoxLayout(recovery)
        layout.addWidget(_text(
            "<p>Engram's key lives only on this computer. If the keyring is lost (a reinstall, a broken home folder) "
            "the memories cannot be opened any more, and neither can their backups.</p>"
            "<p>A <b>recovery code</b> of 8 groups of 4 characters prevents that: with it, backups open on any "
            "computer and Engram can get its key back. It is shown once; you write it down, and Engram checks two "
            "of its groups.</p>"
        ))
        self.recovery_box = QCheckBox("Set up a recovery code now (recommended)")
        self.recovery_box.setChecked(True)
        layout.addWidget(self.recovery_box)
        layout.addWidget(_text('<p style="color:#6b7280">You can do it later in Backup &amp; export. Backups are made '
                               'daily either way; without a code they open only on this computer.</p>'))
        layout.addStretch(1)
        self.addPage(recovery)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Start Engram")

    def choices(self) -> FirstRunChoices:
        recommended = self.facts.get("recommended")
        download = recommended["name"] if recommended and self.download_choice.isVisible() and self.download_choice.isChecked() else None
        return FirstRunChoices(
            capture=self.capture_box.isChecked(), download=download, recovery_code=self.recovery_box.isChecked(),
            start_at_login=self.login_box.isChecked(),
        )
