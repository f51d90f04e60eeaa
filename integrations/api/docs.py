"""`/api/docs`: the OpenAPI document as a plain page, rendered here from the document
itself. No script, no CDN: it works under the app's strict CSP and on a closed network."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import HTMLResponse


def _schema_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return ref.rsplit("/", 1)[-1]
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return f"list of {_schema_name(schema['items'])}"
    if "anyOf" in schema:
        return " or ".join(_schema_name(s) for s in schema["anyOf"])
    return str(schema.get("type", "object"))


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    rows = []
    for param in op.get("parameters", []):
        rows.append(
            f"<tr><td><code>{escape(param['name'])}</code></td><td>{escape(param['in'])}</td>"
            f"<td>{escape(_schema_name(param.get('schema', {})))}</td>"
            f"<td>{'required' if param.get('required') else ''}</td></tr>"
        )
    params = (
        "<table><thead><tr><th>Parameter</th><th>In</th><th>Type</th><th></th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        if rows
        else ""
    )
    body = ""
    content = op.get("requestBody", {}).get("content", {})
    for media, spec in content.items():
        schema = _schema_name(spec.get("schema", {}))
        link = f"<a href='#schema-{escape(schema)}'>{escape(schema)}</a>"
        body += f"<p>Body ({escape(media)}): {link}</p>"
    answers = []
    for status, answer in op.get("responses", {}).items():
        shown = [
            _schema_name(spec.get("schema", {})) for spec in answer.get("content", {}).values()
        ]
        answers.append(
            f"<li><strong>{escape(status)}</strong> {escape(answer.get('description', ''))}"
            + (f" — {escape(', '.join(shown))}" if shown else "")
            + "</li>"
        )
    secured = " (bearer token)" if op.get("security") else ""
    anchor = escape(op.get("operationId", f"{method}-{path}"))
    return (
        f"<section class='op' id='{anchor}'><h3><span class='method'>{escape(method.upper())}"
        f"</span> <code>{escape(path)}</code>{escape(secured)}</h3>"
        f"<p>{escape(op.get('summary', ''))}</p>"
        f"<p>{escape(op.get('description', ''))}</p>{params}{body}"
        f"<ul>{''.join(answers)}</ul></section>"
    )


def render(document: dict[str, Any], root: str, stylesheet: str) -> str:
    """The page for `document`, served under `root` (where the API is mounted)."""
    info = document.get("info", {})
    openapi_url = f"{root}/openapi.json"
    ops = "".join(
        _operation(root + path, method, op)
        for path, methods in document.get("paths", {}).items()
        for method, op in methods.items()
    )
    schemas = "".join(
        f"<section id='schema-{escape(name)}'><h3>{escape(name)}</h3>"
        f"<pre>{escape(json.dumps(schema, indent=2, ensure_ascii=False))}</pre></section>"
        for name, schema in document.get("components", {}).get("schemas", {}).items()
    )
    title = escape(info.get("title", "API"))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{title}</title><link rel='stylesheet' href='{escape(stylesheet)}'></head>"
        f"<body><main><h1>{title} <small>{escape(info.get('version', ''))}</small></h1>"
        f"<p>{escape(info.get('description', ''))}</p>"
        f"<p>The machine-readable document: <a href='{escape(openapi_url)}'>"
        f"{escape(openapi_url)}</a>.</p><h2>Calls</h2>{ops}<h2>Models</h2>{schemas}"
        "</main></body></html>"
    )


def docs_page(request: Request) -> HTMLResponse:
    app: FastAPI = request.app
    root = request.scope.get("root_path", "")
    html = render(app.openapi(), root, "/static/shared/api-docs.css")
    return HTMLResponse(html)
