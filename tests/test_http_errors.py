"""Domain errors carry no HTTP; app.http_errors gives each its status, body and headers."""

from __future__ import annotations

import pytest

from app import errors
from app.http_errors import error_body, headers_of, status_of


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.ApiError("x"), 400),
        (errors.NotAuthenticated("x"), 401),
        (errors.Forbidden("x"), 403),
        (errors.NotFound("x"), 404),
        (errors.Conflict("x", code="stale_version"), 409),
        (errors.Gone("x", code="invitation_expired"), 410),
        (errors.TooLarge("x"), 413),
        (errors.Invalid("x", code="too_large"), 413),  # a file beyond the size allowed, whichever class says it
        (errors.Invalid("x", code="import_refused"), 422),
        (errors.TooManyAttempts("x", retry_after=90), 429),
    ],
)
def test_every_domain_error_has_its_status(error, status):
    assert status_of(error) == status


def test_a_subclass_defined_elsewhere_gets_its_parents_status():
    class RoundClosed(errors.Conflict):
        code = "round_not_open"

    assert status_of(RoundClosed("x")) == 409


def test_body_and_headers_come_from_plain_data():
    error = errors.Conflict(
        "Otra persona guardó antes.",
        code="stale_version",
        details=[{"field": "version"}],
        extra={"current": {"version": 3}},
        current_version=3,
    )
    assert error_body(error) == {
        "error": {
            "code": "stale_version",
            "message": "Otra persona guardó antes.",
            "details": [{"field": "version"}],
            "current": {"version": 3},
        }
    }
    assert headers_of(error) == {"ETag": '"3"'}
    assert headers_of(errors.TooManyAttempts("Espere.", retry_after=120)) == {"Retry-After": "120"}
    assert headers_of(errors.NotFound("No existe.")) is None
    assert "retry_after" not in error_body(errors.TooManyAttempts("Espere.", retry_after=120))["error"]


def test_domain_errors_have_no_http_attributes():
    error = errors.Invalid("x", code="too_large")
    assert not hasattr(error, "status_code") and not hasattr(error, "headers")
