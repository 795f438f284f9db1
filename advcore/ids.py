"""Ids of models and user image sets: short lower-case names, never paths.

The one rule for every name that becomes a file name (``<id>.keras``, ``<id>.json``, ``<name>.npz``), so
that an id cannot point outside its folder. ``advcore.zoo`` (model ids) and ``advcore.data`` (user image
set names) both check with it.
"""

from __future__ import annotations

import re

from .errors import ModelError
from .i18n import _

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def check_id(model_id: str) -> str:
    """Model ids are short lower-case names; anything else (paths, dots) is refused."""
    if not isinstance(model_id, str) or not ID_PATTERN.match(model_id):
        raise ModelError(_("invalid model id {model_id!r}: use 1-64 of a-z, 0-9, '-' and '_'", model_id=model_id))
    return model_id
