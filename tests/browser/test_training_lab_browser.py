"""The training lab in headless Chromium: ▶ play trains live (the loss chart grows while the page stays idle
between timer runs), ❚❚ pause stops it (the chart stops growing), and the page shows what happened."""
import re

from playwright.sync_api import expect
from test_browser import assert_no_problem, shot, wait_idle


def loss_points(pg) -> int:
    chart = pg.get_by_test_id("stPlotlyChart").first.locator(".js-plotly-plot").first
    return chart.evaluate("gd => gd.data[0].x.length")


def updates_done(pg) -> int:
    m = re.search(r"update (\d+)", pg.get_by_text(re.compile(r"update \d+")).first.inner_text())
    return int(m.group(1))


def test_play_trains_live_and_pause_stops_it(server, page):
    page.goto(f"{server}/Training_lab")
    wait_idle(page)
    assert_no_problem(page)
    expect(page.get_by_text("Ready.")).to_be_visible()
    page.get_by_role("button", name="▶ play").click()
    page.wait_for_timeout(4000)                                    # trains on the fragment's timer
    expect(page.get_by_text("▶ training")).to_be_visible()
    n_playing = updates_done(page)
    assert n_playing >= 10, f"only {n_playing} updates in 4 s"
    page.wait_for_timeout(1500)
    assert updates_done(page) > n_playing, "still training"
    page.get_by_role("button", name="❚❚ pause").click()
    wait_idle(page)
    page.wait_for_timeout(500)
    n_paused, pts = updates_done(page), loss_points(page)
    assert pts >= 10                                               # the loss chart grew ...
    page.wait_for_timeout(2000)
    assert updates_done(page) == n_paused and loss_points(page) == pts      # ... and stopped
    expect(page.get_by_text("❚❚ paused")).to_be_visible()
    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("updates")    # one sentence on the run
    assert_no_problem(page)
    shot(page, "20-training-lab-paused")


def test_downloads_hold_the_run_and_the_model_uploads_back(server, page, tmp_path):
    """Train, download the history and the model (real bytes, read back), upload the model and go on from it."""
    import io

    import numpy as np

    from explorer.persistence import load_model
    page.goto(f"{server}/Training_lab?lr=0.1&B=8")
    wait_idle(page)
    for _ in range(6):
        page.get_by_role("button", name="▶| step").click()
        wait_idle(page)
    assert updates_done(page) == 6

    def download(label):
        with page.expect_download() as d:
            page.get_by_role("button", name=label).click()
        path = tmp_path / d.value.suggested_filename
        d.value.save_as(path)
        return path.read_bytes()

    csv = download("⬇ training history (CSV)").decode()
    lines = csv.strip().splitlines()
    assert lines[0].startswith("step,loss,baseline") and len(lines) == 7, csv[:300]
    assert [int(r.split(",")[0]) for r in lines[1:]] == [1, 2, 3, 4, 5, 6]
    blob = download("⬇ trained model (.npz)")
    saved, extra = load_model(io.BytesIO(blob))
    assert extra == {"task": "copy", "updates": 6}

    page.get_by_text("Start from saved weights (.npz or .safetensors)").click()
    path = tmp_path / "saved.npz"
    path.write_bytes(blob)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    expect(page.get_by_text(re.compile("saved.{1,2}npz.{1,4}Started from the model saved by this lab after 6 updates"))
           ).to_be_visible(timeout=20_000)
    wait_idle(page)
    expect(page.get_by_text("Ready.")).to_be_visible()               # a new run: zero updates, from those weights
    page.get_by_role("button", name="▶| step").click()
    wait_idle(page)
    assert updates_done(page) == 1
    after, extra = load_model(io.BytesIO(download("⬇ trained model (.npz)")))
    assert extra["updates"] == 1
    # one Adam step (lr 0.1) moves each weight by at most ~0.1: the run went on from the uploaded weights
    step = np.abs(after.params["W_hh"] - saved.params["W_hh"]).max()
    assert 0 < step <= 0.11, step
    assert_no_problem(page)
    shot(page, "21-training-lab-round-trip")


def test_a_reload_continues_the_run(server, page):
    """A reload is a new Streamlit session: the address's run= finds the run kept on the server's disk."""
    page.goto(f"{server}/Training_lab?B=4")
    wait_idle(page)
    for _ in range(3):
        page.get_by_role("button", name="▶| step").click()
        wait_idle(page)
    assert re.search(r"[?&]run=r[0-9a-f]{16}", page.url), page.url
    before = page.get_by_text(re.compile(r"update \d+")).first.inner_text()
    page.reload()
    wait_idle(page)
    expect(page.get_by_text(re.compile("Continued the training run kept on this server: 3 updates"))).to_be_visible()
    assert updates_done(page) == 3 and loss_points(page) == 3
    assert page.get_by_text(re.compile(r"update \d+")).first.inner_text().split("·")[2:] == before.split("·")[2:]
    page.get_by_role("button", name="▶| step").click()
    wait_idle(page)
    assert updates_done(page) == 4
    assert_no_problem(page)


def test_at_the_maxima_the_lab_trains_a_bounded_batch_and_the_status_stays_up(server, page):
    """LSTM, H = 256, lag 200, B = 128 asked: a smaller batch, said; while it plays, the status line is there at
    every look and names the cost of an update."""
    page.goto(f"{server}/Training_lab?cell=lstm&H=256&size=200&B=128")
    wait_idle(page)
    expect(page.get_by_text(re.compile(r"Training with batch size \d+, not 128"))).to_be_visible()
    page.get_by_role("button", name="▶ play").click()
    # the first update's line (seconds on a loaded machine); from then on it must be there at every look
    page.get_by_text(re.compile(r"update \d+ · loss")).first.wait_for(timeout=30_000)
    seen = []
    for _ in range(5):
        page.wait_for_timeout(700)
        line = page.get_by_text(re.compile(r"update \d+ · loss"))
        seen.append(line.first.inner_text() if line.count() else "")
    assert all(s.startswith("▶ training") for s in seen), seen
    assert any("s per update (LSTM, H = 256" in s for s in seen), seen
    page.get_by_role("button", name="❚❚ pause").click()
    wait_idle(page)
    assert_no_problem(page)
    shot(page, "22-training-lab-at-its-maxima")
