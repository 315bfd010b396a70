"""No text the app shows relies on an emoji font: Debian's Chromium with only DejaVu draws emoji and the media
control symbols (⏭ ⏯ ⏹ …) as empty boxes. Icons are Streamlit's `:material/…:` names; arrows and play/pause use
glyphs DejaVu has (▶ ◀ ▶| ❚❚ ↺ ⇤ ⇥ ⬇)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "streamlit_app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").glob("*.py")),
           *sorted((ROOT / "ui" / "assets").glob("*.js"))]
# emoji and pictographs, the media-control block, the emoji presentation selector
BOXES = re.compile("[\U0001F000-\U0001FAFF\u23E9-\u23FA\uFE0F]")


def test_no_emoji_or_media_symbols_in_what_the_app_shows():
    found = [f"{p.relative_to(ROOT)}:{i}: {m.group()!r}" for p in SOURCES
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) for m in BOXES.finditer(line)]
    assert not found, found


def test_the_pattern_catches_what_rendered_as_a_box():
    assert BOXES.search("⏭ step") and BOXES.search("🔗 link") and not BOXES.search("▶| step ❚❚ pause ↺ ⬇")
