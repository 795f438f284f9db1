"""Errors that carry a message meant for people (CLI stderr line, dashboard notice)."""


class AdvcoreError(ValueError):
    """Bad input or an unusable resource; the message is shown as is, no traceback."""


class DataError(AdvcoreError):
    """A data set file is missing, corrupt or not in the expected layout."""


class ModelError(AdvcoreError):
    """A model id is unknown, or its file is missing, tampered with or unsafe."""
