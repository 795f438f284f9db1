"""A small server-wide store of finished results (sweeps, transfer matrices).

``advcore.ui.heavy_view`` computes a result once under a progress bar (``advcore.heavy``) and keeps it
here; a second view of the same request is a dictionary lookup. Bounded (least recently used entries go
first) so a classroom cannot fill the memory.
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
