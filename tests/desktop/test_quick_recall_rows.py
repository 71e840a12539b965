"""Quick recall rows: the snippet shows where the match is; one window's repeated frames are one row."""

from __future__ import annotations

from desktop.quick_recall import centred_snippet, collapse_near_identical

FILLER = " ".join(f"word{i}" for i in range(120))


def test_the_snippet_is_centred_on_the_match():
    text = f"{FILLER} the invoice from Contoso is due on Friday {FILLER}"
    snippet = centred_snippet(text, "contoso")
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "Contoso" in snippet[:60]  # within the part a row shows before eliding
    assert len(snippet) <= 162


def test_the_word_being_typed_and_stems_are_found():
    text = f"{FILLER} Atlas's budget was approved"
    assert "Atlas's" in centred_snippet(text, "atla")
    assert "approved" in centred_snippet(text, "approving")  # appro... as the index's stem would match


def test_a_match_at_the_start_or_none_shows_the_start():
    assert centred_snippet("Contoso invoice " + FILLER, "contoso").startswith("Contoso invoice")
    assert centred_snippet(FILLER, "zebra").startswith("word0 word1")


def _obs(id, text, title="Inbox — Mail", app="thunderbird"):
    return {"kind": "observation", "id": id, "type": "observation", "title": title, "app": app, "snippet": text[:160], "score": 1.0 - id / 100}


def test_near_identical_frames_of_one_window_fold_into_one_row():
    base = "Inbox 12 unread Contoso invoice due Friday Priya budget review moved Sam lunch"
    texts = {1: base + " 10:01", 2: base + " 10:02", 3: base + " 10:03", 4: "Contoso contract signed by legal today", 5: base + " 10:04"}
    results = [_obs(1, texts[1]), _obs(2, texts[2]), _obs(3, texts[3]), _obs(4, texts[4]), _obs(5, texts[5], title="Other window"),
               {"kind": "memory", "id": 9, "type": "semantic", "title": "Contoso", "snippet": "x", "score": 0.5}]
    rows = collapse_near_identical(results, texts)
    assert [r["id"] for r in rows] == [1, 4, 5, 9]
    assert rows[0]["similar"] == 3 and "similar" not in rows[1]


def test_the_window_shows_the_match_and_folds_repeated_frames(make_app, qtbot):
    app = make_app()
    observations = app.engine.observations
    observations.add(kind="screen", text=f"{FILLER} the zebrafish grant deadline is in May", app="firefox", window_title="Grants")
    base = "Inbox 12 unread zebrafish lab meeting moved Priya budget review Sam lunch order"
    for minute in range(4):
        observations.add(kind="screen", text=f"{base} 10:0{minute}", app="thunderbird", window_title="Inbox — Mail")
    recall = app.recall
    app.show_quick_recall()
    with qtbot.waitSignal(recall.results_shown, timeout=5_000):
        qtbot.keyClicks(recall.input, "zebrafish")
    qtbot.waitUntil(lambda: recall.searched_text == "zebrafish", timeout=5_000)
    lines = [recall.model.data(recall.model.index(r)) for r in range(recall.model.rowCount()) if recall.model.item(r)]
    assert len(lines) == 2, lines
    grants = next(line for line in lines if line.startswith("Grants"))
    assert "zebrafish grant deadline" in grants.split("\n")[1][:120]
    inbox = next(line for line in lines if line.startswith("Inbox"))
    assert "seen 4 times" in inbox
    recall.hide()


def test_a_match_already_in_view_keeps_the_start():
    text = "Ada is my sister; she lives in Porto and works as a nurse. " + FILLER
    assert centred_snippet(text, "porto").startswith("Ada is my sister")
