"""The Streamlit side of BPTT Explorer: shared settings in the sidebar and the URL, cached engine calls, and the
chart block every lesson uses. Pages import from here; the engine (explorer/) never imports Streamlit."""
import numpy  # noqa: F401  (loaded first: threadpool_limits only reaches BLAS libraries already loaded)
from threadpoolctl import threadpool_limits

# One BLAS thread: a classroom server runs many small sessions at once, and two threads per session collapse
# under that load (see benchmarks). Set once per process.
threadpool_limits(1)
