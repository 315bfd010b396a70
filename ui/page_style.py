"""Page-wide CSS that Streamlit's defaults miss for accessibility (contrast, focus outlines); one place for it."""
from __future__ import annotations

import streamlit as st

# Rules added as the axe-core browser test (tests/browser/test_axe_browser.py) finds what they fix.
CSS = ""


def page_css():
    """Inject the page-wide style once per run (a <style>-only st.html takes no space on the page)."""
    if CSS:
        st.html(f"<style>{CSS}</style>")
