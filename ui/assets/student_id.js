// A per-browser student id for class questions, kept in localStorage: a reload (or another replica behind the
// class's proxy: same origin) is the same student. crypto.getRandomValues works on a plain-http classroom LAN,
// where crypto.randomUUID (secure contexts only) does not exist. Sent once, when the server does not know it yet.
//
// It also watches that each run of the page arrives to its end. Under load, a Streamlit race can drop the end of a
// full run: a timer's fragment run that starts just as the full run finishes takes its place, and the full run's
// last messages never reach the page (seen on 1 of 16 students' pages saving at once: the form half drawn, nothing
// to redraw it). The server draws an empty mark with the run's number first and last on the page (ui/predict.py,
// run_mark); when the page has been connected and idle for IDLE_S seconds with a run's start but not its end, the
// component asks for one full run again. A page asks at most MAX_ASKS times, so a page that never draws its end
// cannot loop.
const IDLE_S = 3;
const MAX_ASKS = 5;

function lastRunLacksItsEnd() {
  const start = document.querySelector(".bptt-run-start");
  const run = start && /bptt-run-start-(\d+)/.exec(start.className);
  return !!run && !document.querySelector(`.bptt-run-end-${run[1]}`);
}

function idle() {
  const app = document.querySelector("[data-testid=stApp]");
  return !!app && app.getAttribute("data-test-connection-state") === "CONNECTED"
    && app.getAttribute("data-test-script-state") === "notRunning";
}

export default function (component) {
  const { data, setStateValue, setTriggerValue } = component;
  const KEY = "bptt_student_id";
  let id = null;
  try {
    id = window.localStorage.getItem(KEY);
    if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
      const bytes = new Uint8Array(12);
      window.crypto.getRandomValues(bytes);
      id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      window.localStorage.setItem(KEY, id);
    }
  } catch (e) {                       // storage blocked (private mode): an id for this page's life only
    id = window.__bpttStudentId || (window.__bpttStudentId = "tab" + Math.random().toString(36).slice(2, 14));
  }
  if (data !== id) setStateValue("id", id);
  // one watch per page: each run mounts the component afresh, and a run cut before it leaves the last one running
  window.clearInterval(window.__bpttRunWatch);
  let idleFor = 0;
  const watch = window.setInterval(() => {
    idleFor = lastRunLacksItsEnd() && idle() ? idleFor + 1 : 0;
    if (idleFor >= IDLE_S) {
      idleFor = 0;
      window.__bpttAsks = (window.__bpttAsks || 0) + 1;
      if (window.__bpttAsks <= MAX_ASKS) setTriggerValue("redraw", Date.now());
    }
  }, 1000);
  window.__bpttRunWatch = watch;
  return () => window.clearInterval(watch);
}
