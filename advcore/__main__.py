"""Entry point for `python -m advcore`."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from advcore import i18n  # noqa: E402
from advcore.settings import SettingsError, settings  # noqa: E402

with i18n.use_language(i18n.language_from_env()):  # the locale's language (advcore.cli.main sets it again)
    try:
        settings()  # every environment variable checked once, before any module sizes itself from one
    except SettingsError as exc:  # (docs/settings.md); one line in the locale's language
        print(i18n.gettext("error: {message}", message=exc), file=sys.stderr)
        sys.exit(2)

from advcore.cli import main  # noqa: E402

sys.exit(main())
