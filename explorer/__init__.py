"""BPTT Explorer's engine: exact NumPy backpropagation through time with per-timestep records."""
from .bptt import GradientRecord, all_losses_backward, backward, bptt, masked_gradient
from .forward import Trace, forward
from .model import Model, build_model, model_from_params
from .truncation import TBPTT, Full, Randomized
