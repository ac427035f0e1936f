"""Pieces shared by the routers: documented error answers, CSV responses."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from service._schemas import ErrorPublic

_DESCRIPTIONS = {
    400: "The body could not be read (not UTF-8 JSON).",
    401: "Missing or wrong API token.",
    404: "Unknown session or athlete.",
    409: "Not possible in the session's state.",
    422: "The request is malformed or names a source that cannot run (says which field).",
    429: "Too many sessions running.",
}

#: Where error answers refer to for their body (FastAPI puts ErrorPublic there).
_ERROR_REF = {"$ref": "#/components/schemas/ErrorPublic"}


def errors(*codes: int, csv: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error answers (always JSON ``ErrorPublic`` bodies).

    `csv`: for routes whose success is a CSV document, the JSON content type of the
    errors is spelled out (FastAPI would otherwise document them as CSV too).
    """
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        if csv:
            out[code] = {
                "description": _DESCRIPTIONS[code],
                "content": {"application/json": {"schema": _ERROR_REF}},
            }
        else:
            out[code] = {"model": ErrorPublic, "description": _DESCRIPTIONS[code]}
    return out


#: Every /api route can answer these.
AUTH_RESPONSES = errors(401, 422)
#: Routes that name a session.
SESSION_RESPONSES = errors(401, 404, 422)


class CsvResponse(Response):
    """A CSV document (UTF-8), offered as a download."""

    media_type = "text/csv"


def csv_response(text: str, filename: str) -> CsvResponse:
    """`text` as a CSV download named `filename`."""
    return CsvResponse(text, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


#: OpenAPI ``responses`` of a CSV route: the document, and JSON errors.
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The CSV document (UTF-8, header row with units).",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    },
    **errors(401, 404, 422, csv=True),
}
