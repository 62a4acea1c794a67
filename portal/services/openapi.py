"""The OpenAPI 3.1 description of /api/v1, as data (served at GET /api/v1/openapi.json).

The profile's schema is not repeated: it is profile_json_schema() itself, so the document and the
validator cannot drift apart. tests/test_api_contract.py checks that every /api/v1 route is described.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from portal.profile.schema import profile_json_schema
from portal.services.review_actions import REVIEW_ACTIONS
from portal.statuses import Visibility

JSON = "application/json"


def _json(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema or {"type": "object"}}}}


def _problem(description: str) -> dict[str, Any]:
    return _json(description, {"$ref": "#/components/schemas/Problem"})


def _param(name: str, where: str, description: str, schema: dict[str, Any], required: bool = False
           ) -> dict[str, Any]:
    return {"name": name, "in": where, "description": description, "required": required or where == "path",
            "schema": schema}


ID = {"type": "integer", "minimum": 1}
IF_MATCH = _param("If-Match", "header", 'The version the write is based on, e.g. "3" ("0" for a first answer).',
                  {"type": "string", "pattern": '^(W/)?"?[0-9]{1,9}"?$'}, required=True)
IDEMPOTENCY_KEY = _param("Idempotency-Key", "header", "A fresh key per intended write; a retry reuses it.",
                         {"type": "string", "minLength": 1, "maxLength": 200}, required=True)
WRITE_ERRORS = {
    "400": _problem("Malformed JSON (nesting, duplicate keys, NaN), no Idempotency-Key, or no CSRF token"),
    "401": _problem("Not signed in"),
    "403": _problem("Wrong role, or a read-only token"),
    "404": _problem("No such object for this account"),
    "412": _problem("If-Match is stale: someone else changed it; `current` holds their version"),
    "413": _problem("Body larger than the API reads"),
    "422": _problem("Invalid value, or an Idempotency-Key reused with another body"),
    "428": _problem("If-Match missing"),
}
READ_ERRORS = {"401": _problem("Not signed in"), "404": _problem("No such object for this account")}
FILE_HEADERS = {"X-Content-SHA256": {"description": "SHA-256 of the body", "schema": {"type": "string"}}}


def openapi_document(today: dt.date | None = None) -> dict[str, Any]:
    """OpenAPI 3.1.0 for /api/v1 (paths relative to the server URL /api/v1)."""
    measure_filters = [_param(k, "query", f"Filter by {k}", {"type": "string", "maxLength": 100})
                       for k in ("document", "sector", "benefit", "unit", "location", "audience", "q")]
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {"title": "吉林省医药产业政策自助服务平台 API", "version": "1",
                 "description": "Measures, units and stateless matching are public. The change feed and writes "
                                "need a signed-in session (cookie + X-CSRFToken) or a device token "
                                "(Authorization: Bearer). Errors are JSON {error, status, ...}."},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A device token from the account page"},
                                "cookie": {"type": "apiKey", "in": "cookie", "name": "session"}},
            "schemas": {
                "Profile": profile_json_schema(today),
                "Problem": {"type": "object", "required": ["error", "status"], "properties": {
                    "error": {"type": "string"}, "status": {"type": "integer"},
                    "problems": {"type": "array", "description": "At most 50, and never more than fit in the "
                                 "size of the request; problem_count then gives the full number",
                                 "items": {"type": "object", "properties": {"field": {"type": "string"},
                                                                            "message": {"type": "string"}}}},
                    "problem_count": {"type": "integer"}, "problems_truncated": {"type": "boolean"},
                    "current": {"description": "The server's version after a 409/412"}}},
                "MatchRequest": {"type": "object", "additionalProperties": False, "properties": {
                    "profile": {"$ref": "#/components/schemas/Profile"},
                    "date": {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                             "description": "Match as of this day (default: today)"}}},
            },
        },
        "paths": {
            "/measures": {"get": {"operationId": "measures", "summary": "All measures, filterable",
                                  "parameters": measure_filters,
                                  "responses": {"200": _json("Measures", {"type": "array",
                                                                          "items": {"type": "object"}})}}},
            "/measures/{measure_id}": {"get": {
                "operationId": "measure", "summary": "One measure",
                "parameters": [_param("measure_id", "path", "Measure id, e.g. d003-01", {"type": "string"})],
                "responses": {"200": _json("The measure"), "404": _problem("No such measure")}}},
            "/units": {"get": {"operationId": "units", "summary": "Units named by the documents, with contacts",
                               "responses": {"200": _json("Units", {"type": "array", "items": {"type": "object"}})}}},
            "/profile-schema": {"get": {"operationId": "profileSchema", "summary": "JSON Schema of the profile",
                                        "responses": {"200": _json("JSON Schema 2020-12",
                                                                   {"$ref": "#/components/schemas/Profile"})}}},
            "/openapi.json": {"get": {"operationId": "openapi", "summary": "This document",
                                      "responses": {"200": _json("OpenAPI 3.1")}}},
            "/match": {"post": {
                "operationId": "match", "summary": "Match a profile against every enterprise-facing measure",
                "requestBody": {"required": True, "content": {JSON: {"schema": {
                    "$ref": "#/components/schemas/MatchRequest"}}}},
                "responses": {"200": _json("Results and summary"),
                              "413": _problem("Body larger than the API reads"),
                              "422": _problem("Unreadable JSON or a profile that breaks the schema")}}},
            "/me": {"get": {"operationId": "me", "summary": "Who this request is signed in as",
                            "security": [{"bearer": []}, {"cookie": []}],
                            "responses": {"200": _json("The account"), "401": _problem("Not signed in")}}},
            "/changes": {"get": {
                "operationId": "changes", "summary": "Changes after a cursor that this account may see",
                "security": [{"bearer": []}, {"cookie": []}],
                "parameters": [_param("since", "query", "The last next_cursor (0 at first)",
                                      {"type": "string", "pattern": "^[0-9]{1,18}$"}),
                               _param("limit", "query", "Page size", {"type": "string", "pattern": "^[0-9]+$"}),
                               _param("entity", "query", "Comma-separated entity kinds", {"type": "string"})],
                "responses": {"200": _json("{changes, next_cursor, has_more}"),
                              "400": _problem("Bad since, limit or entity"), "401": _problem("Not signed in"),
                              "410": _problem("Cursor older than the retention period: resync from 0")}}},
            "/answers/{name}": {"put": {
                "operationId": "putAnswer", "summary": "Save one answer of the signed-in enterprise",
                "security": [{"bearer": []}, {"cookie": []}],
                "parameters": [_param("name", "path", "A property of the profile schema", {"type": "string"}),
                               IF_MATCH, IDEMPOTENCY_KEY],
                "requestBody": {"required": True, "content": {JSON: {"schema": {
                    "type": "object", "required": ["value"], "properties": {"value": {
                        "description": "The property's value as in the profile schema, or as a form posts it "
                                       "(a string); null clears the answer"}}}}}},
                "responses": {"200": _json("Saved: {field, value, version}; ETag is the version"),
                              **WRITE_ERRORS}}},
            "/submissions/{submission_id}/actions": {"post": {
                "operationId": "submissionAction", "summary": "A reviewer action on a queued application",
                "security": [{"bearer": []}, {"cookie": []}],
                "parameters": [_param("submission_id", "path", "Application id", ID), IF_MATCH, IDEMPOTENCY_KEY],
                "requestBody": {"required": True, "content": {JSON: {"schema": {"type": "object", "properties": {
                    "action": {"type": "string", "enum": list(REVIEW_ACTIONS)},
                    "comment": {"type": "string", "description": "Required for " + ", ".join(
                        a.code for a in REVIEW_ACTIONS.values() if a.needs_comment)},
                    "visibility": {"type": "string", "enum": [v.value for v in Visibility],
                                   "description": "Default enterprise; required for comment"},
                    "to_unit": {"type": "string"}}}}}},
                "responses": {"200": _json("The application after the action"),
                              "409": _problem("The action does not fit the application's state"), **WRITE_ERRORS}}},
            "/submissions/{submission_id}/application.pdf": {"get": {
                "operationId": "submissionPdf", "summary": "The application PDF frozen at submission",
                "security": [{"bearer": []}, {"cookie": []}],
                "parameters": [_param("submission_id", "path", "Application id", ID)],
                "responses": {"200": {"description": "PDF", "headers": FILE_HEADERS,
                                      "content": {"application/pdf": {"schema": {"type": "string",
                                                                                 "contentMediaType":
                                                                                 "application/pdf"}}}},
                              **READ_ERRORS}}},
            "/attachments/{attachment_id}": {"get": {
                "operationId": "attachment", "summary": "An attachment of an application this account may see",
                "security": [{"bearer": []}, {"cookie": []}],
                "parameters": [_param("attachment_id", "path", "Attachment id", ID)],
                "responses": {"200": {"description": "The file (PDF, PNG or JPEG)", "headers": FILE_HEADERS,
                                      "content": {"application/octet-stream": {"schema": {"type": "string"}}}},
                              **READ_ERRORS}}},
        },
    }
