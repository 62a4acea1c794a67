"""Errors raised while preparing or rendering a PDF; messages are shown to users, so they are Chinese."""

from __future__ import annotations


class PdfError(Exception):
    """The PDF could not be produced; str(exc) is a plain Chinese sentence for the user."""


class MeasureNotAvailable(PdfError, KeyError):
    """No application form exists for this measure id (unknown, or internal to government).

    Also a KeyError so callers that look measures up by id can treat both cases alike.
    """

    def __str__(self) -> str:
        # KeyError would print the message in quotes.
        return str(self.args[0]) if self.args else "措施不存在"
