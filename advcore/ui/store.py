"""A small server-wide store of finished results (sweeps, transfer matrices).

Unlike ``st.cache_data`` it lets the page show a progress bar while computing the
first time; a second view of the same request is a dictionary lookup. Bounded
(least recently used entries go first) so a classroom cannot fill the memory.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

import streamlit as st

MAX_ENTRIES = 128


class ResultStore:
    def __init__(self, max_entries: int = MAX_ENTRIES):
        self._items: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    @staticmethod
    def key(**request) -> str:
        return json.dumps(request, sort_keys=True, default=str)

    def get(self, key: str):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: str, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._max:
                self._items.popitem(last=False)


@st.cache_resource
def results() -> ResultStore:
    return ResultStore()


class Progress:
    """Adapter from advcore's ``progress(done_now)`` callbacks to ``st.progress``."""

    def __init__(self, total: int, text: str):
        self.total, self.done, self.text = max(total, 1), 0, text
        self.bar = st.progress(0.0, text=text)

    def __call__(self, count: int) -> None:
        self.done += count
        self.bar.progress(min(self.done / self.total, 1.0), text=f"{self.text} {self.done:,}/{self.total:,}")

    def close(self) -> None:
        self.bar.empty()


def compute_once(request: str, compute, total: int, text: str):
    """The stored result of ``request`` (a ``ResultStore.key``), or ``compute(progress)`` run now under a
    progress bar of ``total`` steps and stored for the next viewer."""
    found = results().get(request)
    if found is not None:
        return found
    progress = Progress(total, text)
    try:
        value = compute(progress)
    finally:
        progress.close()
    results().put(request, value)
    return value
