"""Entry point for `python -m advcore`."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from advcore.settings import SettingsError, settings  # noqa: E402

try:
    settings()  # every environment variable checked once, before any module sizes itself from one (docs/settings.md)
except SettingsError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)

from advcore.cli import main  # noqa: E402

sys.exit(main())
