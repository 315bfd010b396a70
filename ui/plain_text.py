"""Text that came from a user (a link's value, an uploaded file's name, a string inside an uploaded file) shown as
plain text inside Streamlit markdown (st.info, st.error, st.caption …): every character markdown, HTML or KaTeX
could act on is backslash-escaped, so `[x](http://…)`, `![](…)`, `**bold**`, `<b>` or `$\\int$` appear literally."""
from __future__ import annotations

import re

# CommonMark lets any ASCII punctuation be backslash-escaped; Streamlit's markdown also reads $…$ (KaTeX) and
# :emoji: / :color[…] directives, so ":" and "$" are escaped too.
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:&\"'=^%@])")


def plain(text: object, limit: int = 200) -> str:
    """`text` as markdown that renders exactly as typed: escaped, one line, at most `limit` characters (…)."""
    s = str(text)
    s = " ".join(s.split())                    # no line breaks: a newline could start a heading or a list
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return _SPECIAL.sub(r"\\\1", s)
