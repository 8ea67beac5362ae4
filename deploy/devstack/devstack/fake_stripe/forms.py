"""Request parameters as the SDKs send them, and Stripe's rules for reading them.

Consumes form-encoded bodies (and query strings) with Stripe's nesting: ``metadata[order_id]=x``
is a mapping, ``expand[0]=a`` (or ``expand[]=a``) a list, ``items[0][price]=p`` a list of
mappings. ``Params`` reads them the way the API does: an unknown parameter is refused
(``parameter_unknown``), a missing required one is ``parameter_missing``, a malformed integer
or boolean names itself; nothing is guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from devstack.fake_stripe.errors import JSON, invalid_request

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")
METADATA_MAX_KEYS = 50
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_VALUE_LENGTH = 500


def decode_form(encoded: bytes | str) -> JSON:
    text = encoded.decode() if isinstance(encoded, bytes) else encoded
    root: JSON = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        match = _KEY.match(key)
        if match is None:
            raise invalid_request(f"Invalid parameter name: {key}", param=key)
        path = [match.group(1), *_PART.findall(match.group(2))]
        _insert(root, path, value, key)
    return _as_lists(root)  # type: ignore[no-any-return]


def _insert(node: JSON, path: list[str], value: str, key: str) -> None:
    for depth, part in enumerate(path):
        name = str(len(node)) if part == "" else part
        if depth == len(path) - 1:
            node[name] = value
            return
        child = node.setdefault(name, {})
        if not isinstance(child, dict):
            raise invalid_request(f"Invalid parameter nesting: {key}", param=key)
        node = child


def _as_lists(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {k: _as_lists(v) for k, v in value.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


class Params:
    """One request's parameters, checked against the names the endpoint accepts."""

    def __init__(self, values: JSON, accepted: Iterable[str]) -> None:
        allowed = {*accepted, "expand"}
        for name in values:
            if name not in allowed:
                raise invalid_request(
                    f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
                )
        self.values = values

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None:
            if required:
                raise invalid_request(
                    f"Missing required param: {name}.", param=name, code="parameter_missing"
                )
            return None
        if not isinstance(value, str):
            raise invalid_request(f"Invalid string: {name} must be a string", param=name)
        return value

    def integer(self, name: str, *, required: bool = False, minimum: int | None = None) -> int | None:
        text = self.text(name, required=required)
        if text is None:
            return None
        if not re.fullmatch(r"-?\d+", text):
            raise invalid_request(f"Invalid integer: {text}", param=name, code="parameter_invalid_integer")
        number = int(text)
        if minimum is not None and number < minimum:
            raise invalid_request(
                f"This value must be greater than or equal to {minimum}.",
                param=name,
                code="parameter_invalid_integer",
            )
        return number

    def boolean(self, name: str) -> bool | None:
        text = self.text(name)
        if text is None:
            return None
        if text not in ("true", "false"):
            raise invalid_request(f"Invalid boolean: {text}", param=name)
        return text == "true"

    def choice(self, name: str, options: Iterable[str]) -> str | None:
        text = self.text(name)
        allowed = list(options)
        if text is not None and text not in allowed:
            raise invalid_request(
                f"Invalid {name}: must be one of {', '.join(allowed)}",
                param=name,
                code="parameter_invalid_string",
            )
        return text

    def mapping(self, name: str, accepted: Iterable[str]) -> Params | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, dict):
            raise invalid_request(f"Invalid object: {name} must be a hash", param=name)
        allowed = set(accepted)
        for key in value:
            if key not in allowed:
                raise invalid_request(
                    f"Received unknown parameter: {name}[{key}]",
                    param=f"{name}[{key}]",
                    code="parameter_unknown",
                )
        return Params(value, allowed)

    def strings(self, name: str) -> list[str] | None:
        value = self.values.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise invalid_request(f"Invalid array: {name} must be an array of strings", param=name)
        return value

    def metadata(self, current: dict[str, str] | None = None) -> dict[str, str]:
        """The metadata after this request: given keys set, keys given as "" removed."""
        result = dict(current or {})
        given = self.values.get("metadata")
        if given is None or given == "":
            return {} if given == "" else result
        if not isinstance(given, dict):
            raise invalid_request("Invalid object: metadata must be a hash", param="metadata")
        for key, value in given.items():
            if not isinstance(value, str):
                raise invalid_request(f"Invalid string: metadata[{key}]", param=f"metadata[{key}]")
            if len(key) > METADATA_MAX_KEY_LENGTH or len(value) > METADATA_MAX_VALUE_LENGTH:
                raise invalid_request(
                    f"Metadata keys can be up to {METADATA_MAX_KEY_LENGTH} characters long and values up "
                    f"to {METADATA_MAX_VALUE_LENGTH}.",
                    param=f"metadata[{key}]",
                )
            if value == "":
                result.pop(key, None)
            else:
                result[key] = value
        if len(result) > METADATA_MAX_KEYS:
            raise invalid_request(
                f"You can only specify up to {METADATA_MAX_KEYS} metadata keys.", param="metadata"
            )
        return result

    def expand(self) -> list[str]:
        return self.strings("expand") or []
