"""Learn: guided live lessons. Texts (``content``), their bibliography (``papers``), the glossary
(``glossary``) and the server-side checks of each lesson's "try it" task (``checks``)."""

from .content import CHECKLIST, GLOSSARY_LESSON, LESSONS, Lesson, get

__all__ = ["CHECKLIST", "GLOSSARY_LESSON", "LESSONS", "Lesson", "get"]
