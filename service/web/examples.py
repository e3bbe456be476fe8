"""Worked examples, one per operation: what an integrator sends and what the service answers.

They live as JSON in ``service/web/examples/<operationId>.json`` and nowhere else: the OpenAPI
document shows them, the README quotes the assessment one, and ``tests/test_examples.py``
replays every request against the app and compares the answer (ids apart), so none of them can
drift from what the service does. ``make openapi`` rewrites the recorded answers first.

A recorded answer may be *abridged* at the JSON paths listed in ``abridged`` (a long list cut to
its first items, a large object cut to some of its keys): the OpenAPI document would otherwise
carry the whole knowledge base twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXAMPLES_DIR = Path(__file__).parent / "examples"


@dataclass(frozen=True)
class Example:
    operation_id: str
    summary: str
    method: str
    path: str
    status: int
    response: Any  # a JSON document, or text for text/plain answers
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    media_type: str = "application/json"
    abridged: tuple[str, ...] = ()

    @property
    def file(self) -> Path:
        return EXAMPLES_DIR / f"{self.operation_id}.json"

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "summary": self.summary,
            "request": {
                "method": self.method,
                "path": self.path,
                **({"query": self.query} if self.query else {}),
                **({"body": self.body} if self.body is not None else {}),
            },
            "response": {"status": self.status, "media_type": self.media_type, "body": self.response},
        }
        if self.abridged:
            document["abridged"] = list(self.abridged)
        return document


def load_examples(directory: Path = EXAMPLES_DIR) -> dict[str, Example]:
    """Every example, keyed by the operationId its file is named after."""
    examples = {}
    for file in sorted(directory.glob("*.json")):
        data = json.loads(file.read_text())
        request, response = data["request"], data["response"]
        examples[file.stem] = Example(
            operation_id=file.stem,
            summary=data["summary"],
            method=request["method"],
            path=request["path"],
            query=request.get("query", {}),
            body=request.get("body"),
            status=response["status"],
            media_type=response.get("media_type", "application/json"),
            response=response["body"],
            abridged=tuple(data.get("abridged", ())),
        )
    return examples


def write_example(example: Example) -> None:
    example.file.write_text(json.dumps(example.to_json(), indent=2, ensure_ascii=False) + "\n")
