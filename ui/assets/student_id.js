// A per-browser student id for class questions, kept in localStorage: a reload (or another replica behind the
// class's proxy: same origin) is the same student. crypto.getRandomValues works on a plain-http classroom LAN,
// where crypto.randomUUID (secure contexts only) does not exist. Sent once, when the server does not know it yet.
export default function (component) {
  const { data, setStateValue } = component;
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
}
