"""Screenshots of every page at first open: as is, in projector mode, and as a person with deuteranopia or
protanopia sees it (Chromium's Emulation.setEmulatedVisionDeficiency), each page opened cold in its own context.

    python3 scripts/page_screenshots.py --out artifacts/pages [--url http://127.0.0.1:8501]

Without --url it starts the app on a free port and stops it afterwards. Each PNG is the whole page (the viewport
is grown to the height of Streamlit's scrolling main area), named <page>_<mode>.png.
"""
from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ui.page_registry import PAGES  # noqa: E402

MODES = {"plain": ("", None), "projector": ("?proj=1", None), "deuteranopia": ("", "deuteranopia"),
         "protanopia": ("", "protanopia")}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]


def start_app() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
                             "--server.port", str(port), "--server.headless", "true"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the app did not start")


def settle(pg, timeout=90_000):
    pg.wait_for_timeout(500)
    pg.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(state="attached",
                                                                                      timeout=timeout)
    pg.wait_for_timeout(2500)          # charts and live views draw after the run


def shoot(browser, url: str, out: Path, name: str, vision: str | None):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    if vision:
        pg.context.new_cdp_session(pg).send("Emulation.setEmulatedVisionDeficiency", {"type": vision})
    pg.goto(url)
    settle(pg)
    height = pg.evaluate("() => { const m = document.querySelector('[data-testid=stMain]') || document.body;"
                         " return Math.min(12000, m.scrollHeight + 100); }")
    pg.set_viewport_size({"width": 1400, "height": max(1000, int(height))})
    pg.wait_for_timeout(1500)          # re-laid out at the new height
    if vision:                         # the emulation is per page: set again after the resize, to be sure
        pg.context.new_cdp_session(pg).send("Emulation.setEmulatedVisionDeficiency", {"type": vision})
    path = out / f"{name}.png"
    pg.screenshot(path=str(path))
    ctx.close()
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--url")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--pages", default="", help="comma-separated slugs (default: every page; home is 'home')")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    proc, url = (None, a.url) if a.url else start_app()
    want = set(filter(None, a.pages.split(",")))
    from playwright.sync_api import sync_playwright
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for page in PAGES:
                slug = page.slug or "home"
                if want and slug not in want:
                    continue
                for mode in a.modes.split(","):
                    query, vision = MODES[mode]
                    path = shoot(b, f"{url}/{page.slug}{query}", a.out, f"{slug}_{mode}", vision)
                    print(path)
            b.close()
    finally:
        if proc:
            proc.terminate()


if __name__ == "__main__":
    main()
