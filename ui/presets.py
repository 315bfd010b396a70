"""Preset scenarios: one click opens a lesson with exact settings, and each is a short story with a link.

A preset is a page plus the values of its settings (the same keys the URL uses). Opening one resets every other
setting to its default, so the view is exactly the one the story describes. The guided tour walks through the
presets marked `tour=True`, in lesson order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from explorer.architectures import contenders
from explorer.cost import AGREE_TOL, GRUSLYS_2016

from .page_registry import BY_PATH


@dataclass(frozen=True)
class Preset:
    slug: str
    title: str
    page: str                       # a lesson's path in ui.page_registry
    story: str                      # two or three sentences: what this view shows
    notice: str                     # the one thing to look at
    try_this: str                   # what to do with the controls
    params: dict = field(default_factory=dict)      # setting key → value (as its widget holds it)
    tour: bool = True

    def url_params(self) -> dict[str, str]:
        """The settings as the URL writes them."""
        def fmt(v):
            if isinstance(v, bool):
                return "1" if v else "0"
            if isinstance(v, float):
                return f"{v:g}"
            return str(v)
        return {k: fmt(v) for k, v in self.params.items()}

    def query(self) -> str:
        return urlencode(self.url_params())

    def path(self) -> str:
        """The page's URL path with the settings, e.g. "Vanishing_and_exploding?scale=0.9"."""
        q = self.query()
        return BY_PATH[self.page].slug + (f"?{q}" if q else "")


PRESETS = (
    Preset("backward-pass", "Watch δ_t travel back", "pages/1_Unrolled_graph.py",
           "A short tanh RNN with one loss, at the last step, unrolled over 20 steps. The backward pass starts at "
           "that loss and, at every step back, multiplies δ by J_tᵀ; with a loss at every step it would also add "
           "that step's own term.",
           "each node's colour is ‖δ_t‖ on a log scale: it fades going back, because ρ = 0.9 < 1.",
           "press ▶ on the live graph and step through both passes; then pick a loss at every step and see the "
           "fading stop.",
           dict(T=20, scale=0.9)),
    Preset("exploding", "Exploding gradients: ReLU with ρ = 1.5", "pages/2_Gradient_flow.py",
           "A ReLU RNN with ρ = 1.5 and a loss at every step. ReLU does not saturate, so nothing holds back the "
           "growth: ‖δ_t‖ multiplies by about 1.5 per step back.",
           "‖δ_t‖ rises steadily towards t = 0, by well over 10×; with T larger it overflows and the page says where.",
           "raise T to 1000 and read the overflow notice; then lower the scale below 1.",
           dict(act="relu", scale=1.5, T=100, target="every_squared")),
    Preset("irnn", "IRNN: ReLU with identity initialisation", "pages/2_Gradient_flow.py",
           "Le, Jaitly & Hinton (2015): a ReLU RNN whose W_hh starts as the identity. While a unit is active, "
           "its Jacobian is exactly 1 — the gradient neither vanishes nor explodes at the start of training.",
           "‖δ_t‖ stays within a factor of 3 over all 100 steps instead of fading by decades.",
           "switch the initialisation to orthogonal (ρ = 1) or gaussian and compare.",
           dict(act="relu", init="identity", scale=1.0)),
    Preset("depth-and-time", "Gradient through depth and time", "pages/2_Gradient_flow.py",
           "Three tanh layers stacked, each reading the one below, with one loss at the last step. The gradient "
           "reaches h_t^(l) through time inside each layer and down through depth at every step: the shortest path "
           "from the loss to h_0^(0) crosses (T − 1) + (L − 1) = 51 Jacobians, only 2 of them through depth.",
           "in the layer × time heatmap every layer fades by more than 3 decades going back to t = 0; in the lag "
           "chart the top layer holds the most gradient at lag 0, but the bottom layer holds the most at lag 49.",
           "set Layers to 1 and back to 3; raise the scale to 1.0 and watch every row fade less.",
           dict(layers=3, T=50, scale=0.9)),
    Preset("vanishing", "Vanishing gradients: tanh with ρ = 0.9", "pages/3_Vanishing_and_exploding.py",
           "A tanh RNN whose recurrent matrix has spectral radius 0.9. Every step back multiplies the gradient by "
           "diag(φ'(a_t)) W_hh, whose size is below 1 — so ∂h_t/∂h_(t−ℓ) shrinks geometrically with the lag.",
           "after 100 steps the gradient is many decades smaller: the network cannot learn from that far back.",
           "drag the scale slider towards 1 and watch the slope of the blue line flatten.",
           dict(act="tanh", scale=0.9, T=100)),
    Preset("pascanu-bound", "The Pascanu bound holds", "pages/3_Vanishing_and_exploding.py",
           "Scale W_hh by its largest singular value σ₁ instead of ρ. Pascanu, Mikolov & Bengio (2013) proved "
           "‖∂h_t/∂h_(t−ℓ)‖ ≤ (σ₁γ)^ℓ, with γ = 1 for tanh.",
           "the measured norm (blue) stays under the red dashed bound at every lag, for every seed.",
           "move σ₁ across 1 and change the seed: the blue line never crosses the red one.",
           dict(scale_kind="sigma1", scale=1.1, T=150)),
    Preset("clipping-cliff", "Clipping tames the cliff", "pages/3_Vanishing_and_exploding.py",
           "Pascanu's one-unit RNN has a cliff in its error surface: a wall where the final state jumps between "
           "attractors. A plain gradient step that hits the wall is thrown far away; a clipped one is not.",
           "the red path jumps off the map at the wall; the orange, clipped path keeps its step and walks down.",
           "move the start w and the learning rate; try a clip threshold of 0.1 and of 10.",
           dict(w0=4.5, b0=-2.6, cliff_lr=0.5, cliff_clip=1.0)),
    Preset("tbptt-bias", "What TBPTT cannot see", "pages/4_Truncation.py",
           "TBPTT(5, 10) on a sequence with a loss at every step: each loss is backpropagated at most 10 steps, "
           "so the G[t, k] terms further than that are simply missing from the gradient.",
           "the cosine with the full gradient rises towards 1 only as k2 grows past the gradient's reach.",
           "move k2 in the sidebar and watch the cut move on the unrolled graph and the G map.",
           dict(scheme="tbptt", k1=5, k2=10, target="every_squared", scale=1.0)),
    Preset("randomized-truncation", "Randomized truncation: unbiased but noisy", "pages/4_Truncation.py",
           "Tallec & Ollivier (2017): cut the backward pass at random (keep each step with probability π) and "
           "rescale the survivors by 1/π. Each draw is wrong, but their average is the exact gradient.",
           "the running mean's error falls like 1/√n while single draws stay far off.",
           "lower π: cheaper draws, larger noise; raise it to 1 and the noise disappears.",
           dict(scheme="randomized", keep=0.5, target="every_squared")),
    Preset("adaptive-k", "How long should K be?", "pages/4_Truncation.py",
           "Instead of guessing K, choose it from the bias you can tolerate (Aicher, Foti & Fox 2019): the decay of "
           "the last loss's gradient, fitted as geometric, bounds what truncating at K drops.",
           "on the last loss the measured bias of TBPTT(K, K) stays under the bound; on a loss at every step it "
           "can cross it, and the page says so.",
           "lower δ to 0.01 and watch K grow; raise the scale to 1.5: no K can be certified.",
           {"delta": 0.1}),
    Preset("tbptt-fails-copy", "TBPTT shorter than the lag fails the copy task", "pages/5_Training_lab.py",
           "An LSTM must repeat symbols it saw 15 steps ago, trained with TBPTT(10, 10): every backward pass "
           "stops after 10 steps, so no gradient ever links an output to the symbol it must copy.",
           "the loss stays on the dashed baseline, and the ‖δ_t‖ heatmap is dark more than 10 steps back.",
           "press ▶ play; then set k2 to 20 in the sidebar (the run restarts) and play again.",
           dict(cell="lstm", act="tanh", scheme="tbptt", k1=10, k2=10, task="copy", size=15)),
    Preset("adaptive-vs-fixed-k", "Adaptive K against fixed K", "pages/5_Training_lab.py",
           "Adaptive truncation (Aicher, Foti & Fox 2019) chooses TBPTT's K from the bias it may leave, δ, and "
           "estimates it again from the network as it trains. The race puts it against two fixed TBPTT(K, K) on "
           "the copy task: one K too short for the lag, one as long as the sequence.",
           "the short fixed K stays on the baseline; the K chart shows where the adaptive K sits against the lag + "
           "symbols + 1 line, and its loss whether that was long enough.",
           "press ▶ start the race; then lower δ or raise the lag and race again, or pick 'adaptive (δ)' for the "
           "lab's own run above and watch its K chart.",
           dict(cell="lstm", task="copy", size=15, lab_scheme="adaptive", kr_lag=15, kr_short=10, kr_long=25)),
    Preset("lstm-alive", "The LSTM keeps the gradient alive", "pages/6_Architectures.py",
           f"{len(contenders())} cells read the same sequence. The LSTM's cell state passes the gradient back "
           "through its forget gates only, and the race trains them all on the adding problem for the same budget.",
           "after the race, its verdict names the cells that got under the baseline; compare their gradient chart "
           "after training with the one before it.",
           "press ▶ start the race and compare the first and last charts.",
           dict(T=100)),
    Preset("rtrl-cost", "RTRL = BPTT, at n⁴ cost", "pages/7_Cost_of_a_gradient.py",
           "Real-time recurrent learning carries ∂h_t/∂θ forward instead of storing the past: no memory of the "
           "sequence, the same gradient to rounding — but O(H⁴) work per step.",
           f"the agreement table shows the gradients equal to float64 rounding (the tests demand ≤ {AGREE_TOL:.0e}); "
           "the time-vs-H chart shows RTRL's steep slope.",
           "read the fitted slopes in the legends of the log–log charts.",
           {}),
    Preset("checkpointing", "Checkpointing trades time for memory", "pages/7_Cost_of_a_gradient.py",
           "Keep only a few states on the forward pass and recompute the rest during the backward pass "
           "(Chen et al. 2016; Gruslys et al. 2016).",
           f"at T = {GRUSLYS_2016.T}, a budget near 2√T stores ~{GRUSLYS_2016.memory_saved:.0%} fewer floats for "
           f"about {GRUSLYS_2016.extra_time:.0%} more compute — Gruslys et al.'s headline.",
           "move the memory-budget slider and follow the point along the trade-off curve.",
           {}),
    Preset("optimal-checkpointing", "Fewest recomputations for your memory", "pages/7_Cost_of_a_gradient.py",
           "Gruslys et al. (2016) find by dynamic programming where to store hidden states so that backpropagating "
           "T steps with m slots recomputes as little as possible, and the gradient stays exactly BPTT's.",
           "with one slot the schedule is a staircase of forward sweeps; more slots shorten the sweeps, but never "
           "below two forward steps per step, since only hidden states are stored.",
           "move the slots slider from 1 up, then compare the optimal curve with the uniform scheme's points.",
           {"slots": 2}),
    Preset("online-race", "Unbiased is not the same as close", "pages/9_Online_learning.py",
           "RTRL's exact gradient costs n⁴ per step; UORO and KF-RTRL estimate it without bias for n² to n³, RFLO "
           "and SnAp-1 drop parts of it for n². On the copy task, who still learns across the lag?",
           "read each rule's per-step cosine with the exact gradient, then the race's verdict: a noisy unbiased "
           "estimate can learn what a closer but biased one cannot.",
           "set the leak α to 0.5, or raise the TBPTT window past the copy lag.",
           {}),
)
BY_SLUG = {p.slug: p for p in PRESETS}
TOUR = tuple(p for p in PRESETS if p.tour)
