"""BPTT Explorer's engine: exact NumPy backpropagation through time, with what happens at every timestep.

    import numpy as np, explorer as ex
    model = ex.build_model("rnn", input_size=1, hidden_size=32, output_size=1, scale=0.9)   # ρ(W_hh) = 0.9
    X = np.random.default_rng(0).standard_normal((100, 1, 1))                              # (T, B, D)
    rec = ex.bptt(model, X, np.zeros((100, 1, 1)), loss="squared_error")
    rec.grads["W_hh"], rec.delta_norms                                                      # ∂L/∂W_hh, ‖δ_t‖

Models: `build_model` (cells "rnn", "lstm", "gru", "indrnn"; `num_layers=L`, `bidirectional=True` stack layers as
torch.nn.RNN/LSTM/GRU do, explorer.stacked), `model_from_params`, `build_bidirectional`, `layer_key`.
Passes: `forward` → `Trace`; `backward` / `bptt` → `GradientRecord` under a scheme `Full()`, `TBPTT(k1, k2)` or
`Randomized(keep_prob, seed)`; `all_losses_backward` (G[t,k] map, connectivity, any mask), `loss_connectivity`,
`rtrl`, `checkpointed_bptt`, `bidirectional_bptt`.
Stacked records: `Trace.caches` / `layer_output(l)` / `h_by_layer`, `GradientRecord.delta_by_layer` (δ_t^{(l)} =
∂L/∂h_t^{(l)}, (L, T, B, H·dirs)), `delta_norms_by_layer` (L, T), `layer_jacobians` (∂s_{t+1}^{(l)}/∂h_t^{(l−1)}),
`norms_by_layer`; the single-layer fields mean the top layer.
Diagnostics: `jacobian_products`, `step_jacobians`, `weight_spectrum`, `log_pascanu_bound`, `log_linear_rate`,
`phase_map`, `gradient_bias`, `tbptt_bias_sweep`, `randomized_error_curve`, `relative_errors`, `clip_by_global_norm`,
`clip_by_value`, `numerical_gradient`.
PyTorch names: `to_torch_state_dict`, `from_torch_state_dict`, `load_torch_npz`, `load_torch_model` (any
num_layers, .npz or .safetensors), `write_safetensors`; a real torch module's layer
from .npz or .safetensors: `load_recurrent_weights` → `RecurrentWeights` (`recurrent_weights` for arrays).
Loss convention: L = (1/B) Σ_b Σ_t m_{t,b} ℓ_t (sum over time, mean over batch); see explorer.losses.
"""
from . import tasks
from .adaptive_truncation import AdaptiveTruncation, adaptive_truncation  # noqa: F401 (ex.adaptive_truncation)
from .bidirectional import BidirectionalModel, BidirectionalRecord, bidirectional_bptt, build_bidirectional
from .bptt import (
                   AllLosses,
                   GradientRecord,
                   LayerBackward,
                   all_losses_backward,
                   backward,
                   bptt,
                   loss_connectivity,
                   masked_gradient,
                   randomized_draws,
)
from .cells import CELLS, constrain_recurrent
from .checkpointing import CheckpointResult, checkpointed_bptt, min_budget
from .clipping import ClipResult, clip_by_global_norm, clip_by_value, global_norm, norms_by_layer
from .forward import Trace, forward
from .gradcheck import numerical_gradient, relative_error
from .gradient_bias import Bias, gradient_bias, randomized_error_curve, relative_errors, tbptt_bias_sweep
from .jacobians import (
                   JacobianProducts,
                   Spectrum,
                   bound_crossing,
                   even_lags,
                   jacobian_products,
                   layer_jacobians,
                   log_linear_rate,
                   log_pascanu_bound,
                   phase_map,
                   step_jacobians,
                   weight_spectrum,
)
from .model import Model, build_model, layer_key, model_from_params
from .online import OnlineRun, online_compare, online_gradients  # noqa: F401 (ex.online_gradients)
from .optimal_checkpointing import OptimalCheckpointResult, optimal_checkpointed_bptt  # noqa: F401
from .rtrl import RTRLResult, rtrl
from .safetensors_files import read_safetensors, write_safetensors
from .torch_names import (
                   RecurrentWeights,
                   from_torch_state_dict,
                   load_recurrent_weights,
                   load_torch_model,
                   load_torch_npz,
                   recurrent_weights,
                   to_torch_state_dict,
)
from .truncation import TBPTT, Full, Randomized

__all__ = [
    "AllLosses", "Bias", "tasks", "BidirectionalModel", "BidirectionalRecord", "CELLS", "CheckpointResult", "ClipResult",
    "Full", "GradientRecord", "JacobianProducts", "Model", "RTRLResult", "Randomized", "RecurrentWeights",
    "Spectrum", "TBPTT", "load_recurrent_weights", "read_safetensors", "recurrent_weights",
    "Trace", "all_losses_backward", "backward", "bidirectional_bptt", "bptt", "build_bidirectional",
    "build_model", "checkpointed_bptt", "clip_by_global_norm", "clip_by_value", "constrain_recurrent",
    "forward", "from_torch_state_dict", "global_norm", "gradient_bias", "jacobian_products", "load_torch_npz",
    "bound_crossing", "log_linear_rate", "log_pascanu_bound", "loss_connectivity", "masked_gradient", "min_budget",
    "model_from_params", "numerical_gradient", "randomized_draws", "relative_error", "rtrl", "step_jacobians",
    "to_torch_state_dict", "weight_spectrum", "phase_map", "even_lags", "tbptt_bias_sweep", "randomized_error_curve",
    "relative_errors", "LayerBackward", "layer_jacobians", "layer_key", "load_torch_model", "norms_by_layer",
    "write_safetensors",
]
