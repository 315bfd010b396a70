"""Recurrent cells: each maps (X, s_0) to states and back-propagates one step at a time."""
from .base import Cell, CellCache
from .gru import GRU
from .indrnn import IndRNN, constrain_recurrent
from .lstm import LSTM
from .vanilla import VanillaRNN

CELLS = {"rnn": VanillaRNN, "lstm": LSTM, "gru": GRU, "indrnn": IndRNN}

__all__ = ["Cell", "CellCache", "VanillaRNN", "LSTM", "GRU", "IndRNN", "CELLS", "constrain_recurrent"]
