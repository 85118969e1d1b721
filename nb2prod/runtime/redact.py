"""Secret values (`secret:` environment variables) out of messages and out of the cache.

A secret reaches text in more shapes than its own: an exception built from a
URL shows it URL-quoted, a JSON log escaped, a repr() with its backslashes
doubled, an `Authorization` header base64-encoded. Messages get every such
form replaced by `***`; stored bytes are searched for the forms a serializer
writes (UTF-8 in pickle, parquet and JSON, UTF-16/32 in numpy string arrays),
so a value holding a secret is found whatever its Python type. A secret inside
a longer base64 text (`Basic base64(user:secret)`) is not found.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

REDACTED = "***"
ENCODINGS = ("utf-8", "utf-16-le", "utf-32-le")


def _text_forms(value: str) -> set[str]:
    return {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1],
            repr(value)[1:-1], base64.b64encode(value.encode("utf-8")).decode("ascii")}


@dataclasses.dataclass(frozen=True)
class Secrets:
    """The forms of the secret values set in the environment, longest first (a secret
    that contains another is replaced whole)."""

    text: tuple[str, ...] = ()
    data: tuple[bytes, ...] = ()

    @classmethod
    def from_environment(cls, names: Iterable[str]) -> Secrets:
        values = {os.environ.get(name, "") for name in names} - {""}
        text = {form for value in values for form in _text_forms(value)}
        data = {form.encode(encoding) for form in text for encoding in ENCODINGS}
        return cls(tuple(sorted(text, key=len, reverse=True)),
                   tuple(sorted(data, key=len, reverse=True)))

    def redact(self, message: str) -> str:
        for form in self.text:
            message = message.replace(form, REDACTED)
        return message

    def in_text(self, text: str) -> bool:
        return any(form in text for form in self.text)

    def in_bytes(self, data: object) -> bool:
        """Whether bytes-like `data` (a file's content) holds any form of a secret."""
        if not self.data:
            return False
        raw = data if isinstance(data, bytes) else memoryview(data).tobytes()
        return any(form in raw for form in self.data)
