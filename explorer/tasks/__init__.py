"""Tasks with known trivial baselines, for training lessons (see each module for the generator and baseline)."""
from .adding import AddingTask
from .base import Batch, memoryless_baseline, one_hot
from .copy_memory import CopyTask
from .reber import ReberTask
from .series import SeriesTask
from .temporal_order import TemporalOrderTask
from .text import (
                   BUILTIN_CORPORA,
                   MAX_UPLOAD_BYTES,
                   MAX_VOCAB,
                   Corpus,
                   CorpusError,
                   TextTask,
                   Vocabulary,
                   builtin_corpus,
                   corpus_from_upload,
)

TASKS = {"copy": CopyTask, "adding": AddingTask, "temporal_order": TemporalOrderTask, "reber": ReberTask,
         "series": SeriesTask}

__all__ = ["AddingTask", "BUILTIN_CORPORA", "Batch", "Corpus", "CorpusError", "CopyTask", "MAX_UPLOAD_BYTES",
           "MAX_VOCAB", "ReberTask", "SeriesTask", "TASKS", "TemporalOrderTask", "TextTask", "Vocabulary",
           "builtin_corpus", "corpus_from_upload", "memoryless_baseline", "one_hot"]
