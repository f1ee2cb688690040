"""The inbox and the round downloads in a real browser: the published round waits in the
reviewer's inbox and is marked read with the page's own form; the proposal downloads as .xlsx and
as CSV with a BOM."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.e2e.conftest import Server, login, shot

pytestmark = pytest.mark.browser

CLICK_LINK = """url => {
  const a = document.createElement('a');
  a.href = url;
  document.body.appendChild(a);
  a.click();
}"""


def test_inbox_shows_the_published_round_and_marks_it_read(page: Any, server: Server) -> None:
    login(page, server, server.reviewer_email)
    page.goto(f"{server.url}/berichten")
    unread = page.locator("tr.unread").filter(has_text="Ronde december 2026 gepubliceerd")
    assert unread.count() >= 1
    row_id = unread.first.get_attribute("id")
    text = unread.first.inner_text()
    assert "op jouw beslissing" in text and "nieuw" in text
    shot(page, "inbox-unread")
    unread.first.get_by_role("button", name="Gelezen").click()
    page.wait_for_load_state()
    assert page.url.endswith("/berichten")
    row = page.locator(f"#{row_id}")
    assert "unread" not in (row.get_attribute("class") or "")
    assert "gelezen" in row.inner_text()
    shot(page, "inbox-read")
    row.get_by_role("link", name="Bekijken").click()
    page.wait_for_load_state()
    assert f"/beoordelen?ronde={server.round_id}" in page.url


def test_reviewer_downloads_the_proposal_as_xlsx_and_csv(
    page: Any, server: Server, tmp_path: Path
) -> None:
    login(page, server, server.reviewer_email)
    page.goto(f"{server.url}/berichten")
    base = f"/beoordelen/rondes/{server.round_id}/export"
    with page.expect_download() as info:
        page.evaluate(CLICK_LINK, f"{base}/voorstel.xlsx")
    download = info.value
    assert download.suggested_filename.startswith(f"ronde-{server.round_id}-voorstel-v")
    assert download.suggested_filename.endswith(".xlsx")
    target = tmp_path / download.suggested_filename
    download.save_as(str(target))
    sheet = load_workbook(io.BytesIO(target.read_bytes())).active
    assert sheet is not None
    header = [c.value for c in next(sheet.iter_rows())]
    assert header[:3] == ["Versie", "Jongere", "Leeftijd"]
    assert sheet.max_row > 1  # the reviewer's gemeente has matches

    answer = page.request.get(f"{server.url}{base}/besluiten.csv")
    assert answer.ok
    assert answer.body().startswith(b"\xef\xbb\xbf")
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
