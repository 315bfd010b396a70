"""The cost of a gradient (being built)."""
import streamlit as st

import ui  # noqa: F401
from ui.blocks import lesson

st.set_page_config(page_title="The cost of a gradient · BPTT Explorer", layout="wide")

with lesson("The cost of a gradient", "This page is being built.") as sc:
    pass
