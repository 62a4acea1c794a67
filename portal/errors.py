"""The one base class for refusals a user can act on: the message is shown as is."""

from __future__ import annotations


class UserError(ValueError):
    """Refused: `str(exc)` is shown to the user, `status` is the HTTP status to answer with.

    A ValueError, so callers that only need "was the input acceptable" can keep catching that.
    The message may be a lazy translation (flask_babel.lazy_gettext): it is rendered in the language of the
    moment it is raised, so `str(exc)` is plain text.
    Services that raise it after writing have already undone their own writes (a SAVEPOINT, `session.begin_nested()`).
    """

    status: int = 422

    def __init__(self, message: object, status: int | None = None) -> None:
        super().__init__(str(message))
        if status is not None:
            self.status = status
