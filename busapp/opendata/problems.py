"""The answers the API refuses with: a status and what to change, as RFC 9457 problem details."""
from __future__ import annotations

from http import HTTPStatus


class ApiError(Exception):
    """A request the API cannot answer; becomes a problem-details JSON answer."""

    def __init__(self, status: int, detail: str, parameter: str | None = None):
        super().__init__(detail)
        self.status, self.detail, self.parameter = status, detail, parameter

    def facts(self) -> dict:
        # RFC 9457 4.2.1: with the type about:blank the title is the status code's own phrase, the same every time
        # (a program may show or compare it); what to change is in `detail`, in the language of Content-Language.
        return {"type": "about:blank", "title": status_phrase(self.status), "status": self.status,
                "detail": self.detail, "parameter": self.parameter}


def status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def bad(parameter: str | None, detail: str) -> ApiError:
    return ApiError(400, detail, parameter)


def not_found(detail: str) -> ApiError:
    return ApiError(404, detail)
