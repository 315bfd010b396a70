"""Text that came from a user (a link's value, an uploaded file's name, a string inside an uploaded file) shown as
plain text inside Streamlit markdown (st.info, st.error, st.caption …): every character markdown, HTML or KaTeX
could act on is backslash-escaped, so `[x](http://…)`, `![](…)`, `**bold**`, `<b>` or `$\\int$` appear literally."""
from __future__ import annotations

import re

# CommonMark lets any ASCII punctuation be backslash-escaped; Streamlit's markdown also reads $…$ (KaTeX) and
# :emoji: / :color[…] directives, so ":" and "$" are escaped too.
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:&\"'=^%@])")
# Escapes are not enough for three rewrites Streamlit's front end makes on the *parsed* text (where "\:" is ":"
# again): GFM autolinks (http://…, www.…, a@b.c), emoji shortcodes (:smile:) and icons (:material/…:). An
# invisible word joiner after ":" and "@" and before "." breaks each of those patterns; the reader sees nothing.
_WJ = "\u2060"
_BREAKS = {"\\:": "\\:" + _WJ, "\\@": "\\@" + _WJ, "\\.": _WJ + "\\."}


def _visible(ch: str) -> str:
    """A control or format character (NUL, a right-to-left override, a zero-width space) as its code point, so what
    is shown is what was typed; every other character as itself."""
    return ch if ch.isprintable() else f"\\u{ord(ch):04x}"


def plain(text: object, limit: int = 200) -> str:
    """`text` as markdown that renders exactly as typed: escaped, one line, at most `limit` characters (…)."""
    s = str(text)
    s = " ".join(s.split())                    # no line breaks: a newline could start a heading or a list
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    s = _SPECIAL.sub(r"\\\1", "".join(map(_visible, s)))
    for escaped, broken in _BREAKS.items():
        s = s.replace(escaped, broken)
    return s
