"""A probe for a bug found and fixed in issue #15: N students save a prediction at once through HAProxy + 2 replicas;
a page whose "Saved: ..." confirmation does not stay up is reported with the alert history it drew and the websocket
messages it sent and received around the click (base64 protobufs: streamlit.proto.BackMsg_pb2 / ForwardMsg_pb2).

    python3 benchmarks/probe_class_saves.py [N=16] [OUT=/tmp/probe_class_saves.json]   # the failed pages, as JSON

What it found (session 10): a student page's reveal watch is a timer fragment (ui/predict.py). A timer run that the
browser sent while a save was on its way ran after the save's full run, and was applied at the place the fragment
had before it. That place had moved by one element (the "Saved" box drawn above it, or "Connecting…" gone), so the
timer's run replaced the "Saved" box (3 to 5 of 16 pages) or the whole form (the number input that could not be
filled, 1 of 16). With the panel in one container, the fragment keeps its place (a browser test checks it in every
state of the panel). Then a second race showed: a timer run that starts as a full run ends takes its place, and
the full run's last messages are dropped (the form half drawn, no timer left); the page now marks each run's start
and end, and a student's browser asks again for a run whose end it has not seen (ui/assets/student_id.js). Eight
runs after both: 124 of 128 pages kept their box (README, "Run it for a lecture hall").

Session 11, on a new machine: 2 to 15 of 16 pages failed, nearly all because the number box was not there 30 s
after the Save button. It comes last (its code, like the scale's Plotly and table code, loads on first use, and the
browser draws it after compiling the Plotly code fetched at the same moment: ~1 s on a page alone, 29 s median with 16 pages on 2 cores), so
the probe now waits up to 120 s for the box and counts the two failures apart.
"""
import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bench_class_scale as B  # noqa: E402
from playwright.async_api import async_playwright  # noqa: E402

WSLOG = r"""(() => {
  const L = window.__ws = [];
  const fields = (data) => { let b; if (data instanceof ArrayBuffer) b = new Uint8Array(data); else return [];
    let i = 0, out = [];
    const varint = () => { let x = 0, sh = 0, c; do { c = b[i++]; x += (c & 0x7f) * Math.pow(2, sh); sh += 7; } while ((c & 0x80) && i < b.length); return x; };
    while (i < b.length && out.length < 6) { const tag = varint(), f = Math.floor(tag / 8), w = tag % 8;
      if (w === 0) { const v = varint(); out.push(f + '=' + v); } else if (w === 2) { const n = varint(); out.push(f + ':' + n); i += n; }
      else if (w === 1) i += 8; else if (w === 5) i += 4; else break; }
    return out; };
  const NativeWS = window.WebSocket;
  window.WebSocket = class extends NativeWS {
    constructor(url, p) { super(url, p);
      if (!String(url).includes('_stcore/stream')) return;
      L.push([Math.round(performance.now()), 'open', String(url)]);
      this.addEventListener('close', (ev) => L.push([Math.round(performance.now()), 'close', String(ev.code)]));
      this.addEventListener('message', (ev) => { const f = fields(ev.data); if (!f.some(x => x.startsWith('3:'))) { const u = new Uint8Array(ev.data); L.push([Math.round(performance.now()), 'in', f.join(' '), u.length < 4000 ? btoa(String.fromCharCode(...u)) : '']); } });
      const send = this.send.bind(this);
      this.send = (d) => { let b = d instanceof ArrayBuffer ? new Uint8Array(d) : (ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : null);
        L.push([Math.round(performance.now()), 'out', b ? btoa(String.fromCharCode(...b)) : String(d).slice(0, 40)]); return send(d); };
    } };
})();
"""
WATCH = r"""
(() => { const H = window.__saves = [];
  new MutationObserver(() => { const t = [...document.querySelectorAll('[data-testid=stAlertContentSuccess], [data-testid=stAlertContentWarning], [data-testid=stAlertContentInfo], [data-testid=stAlertContentError]')].map(x => x.innerText.slice(0, 80)).join(' | ');
    if (!H.length || H[H.length - 1][1] !== t) H.push([Math.round(performance.now()), t]); })
  .observe(document, {subtree: true, childList: true, characterData: true});
})();
"""
N = int(sys.argv[1]) if len(sys.argv) > 1 else 16
OUT = sys.argv[2] if len(sys.argv) > 2 else "/tmp/probe_class_saves.json"
async def one(browser, url, name, out, run):
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    for script in (B.INSTRUMENT, WATCH, WSLOG):
        await ctx.add_init_script(script)
    page = await ctx.new_page()
    rec = dict(name=name, saves=0)
    await page.goto(url, wait_until="domcontentloaded")
    clicks = []
    try:
        await B.wait_for(page, "q => window.__b.asked(q)", 300, 120, 100)
        box = page.locator("[data-testid=stNumberInput] input")
        # The number box is drawn after the button: its code, like the scale's Plotly and table code, is loaded on
        # first use, and 16 starved pages compiling 4.7 MB of Plotly each take tens of seconds (one page: ~1 s).
        rec["stage"] = "form"
        t = asyncio.get_running_loop().time()
        await box.wait_for(timeout=120_000)
        rec["box_s"] = round(asyncio.get_running_loop().time() - t, 1)
        rec["stage"] = "save"
        for v in B.predictions(name):
            await box.fill(f"{v:g}")
            clicks.append((round(await page.evaluate("performance.now()")), v))
            await page.get_by_role("button", name="Save my prediction").click()
            await B.wait_for(page, "t => window.__b.saved(t)", f"Saved: {run.answer_text(v)}", 30, 100)
            rec["saves"] += 1
        rec["ok"] = True
    except Exception as e:
        rec["ok"] = False
        rec["err"] = str(e).splitlines()[0][:100]
        rec["call_log"] = str(e).splitlines()[1:40]
        rec["clicks"] = clicks
        rec["history"] = await page.evaluate("window.__saves")
        rec["page"] = await page.evaluate("""() => { const a = document.querySelector('[data-testid=stApp]');
          const i = [...document.querySelectorAll('[data-testid=stNumberInput] input')];
          return {inputs: i.map(x => ({disabled: x.disabled, w: x.getBoundingClientRect().width, value: x.value})),
                  connection: a && a.getAttribute('data-test-connection-state'), script: a && a.getAttribute('data-test-script-state'),
                  asks: window.__bpttAsks || 0, stale: document.querySelectorAll('[data-stale=true]').length}; }""")
        rec["ws"] = [x for x in await page.evaluate("window.__ws") if x[0] > (clicks[0][0] - 3000 if clicks else 0)][:400]
        pass
    out.append(rec)
    await ctx.close()

async def main():
    klass = B.Class(2)
    try:
        q = B.Question(klass, "explode-100")
        run = type("Run", (), {"answer_text": staticmethod(q.text)})()
        out = []
        async with async_playwright() as pw:
            b = await pw.chromium.launch(executable_path=B.CHROMIUM, args=B.CHROMIUM_ARGS)
            await asyncio.gather(*[one(b, q.students_url, i, out, run) for i in range(N)])
            await b.close()
        bad = [r for r in out if not r["ok"]]
        slow = sum(1 for r in bad if r.get("stage") == "form")
        print(f"{len(out) - len(bad)}/{len(out)} ok; {slow} without a number box within 120 s, "
              f"{len(bad) - slow} whose save was not confirmed")
        waits = sorted(r["box_s"] for r in out if "box_s" in r)
        if waits:
            print(f"number box drawn after the button: median {waits[len(waits) // 2]} s, max {waits[-1]} s")
        json.dump(bad, open(OUT, "w"))
        for r in bad:
            print(r["name"], r["err"], r.get("page"))
        print("rows", len(q.answers()))
    finally:
        klass.stop()
asyncio.run(main())
