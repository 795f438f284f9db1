"""One object per model (a compiled attack loop, a query counter, a gradient function), kept while it lives.

Attacks, defences and the loss landscape each compile TensorFlow functions for the model they are given;
``PerModel`` builds that once per model and holds it in a weak dictionary, so dropping a model (the zoo's
bounded cache) frees what was built for it.
"""

from __future__ import annotations

import threading
import weakref


class PerModel:
    """One compiled object per model, built on first use and kept while the model lives."""

    def __init__(self, build):
        self._build, self._cache, self._lock = build, weakref.WeakKeyDictionary(), threading.Lock()

    def __call__(self, model):
        with self._lock:
            if model not in self._cache:
                self._cache[model] = self._build(model)
            return self._cache[model]
