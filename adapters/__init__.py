"""Adapters: one module per wire schema, translating to and from the canonical model."""

from adapters._errors import (
    AdapterError,
    MalformedMessage,
    SchemaViolations,
    TranslationRefused,
    Violation,
)
from adapters._registry import (
    Adapter,
    Encoded,
    UnknownSchema,
    adapter_for_media_type,
    adapter_for_schema,
    schema_names,
)

__all__ = [
    "Adapter",
    "AdapterError",
    "Encoded",
    "MalformedMessage",
    "SchemaViolations",
    "TranslationRefused",
    "UnknownSchema",
    "Violation",
    "adapter_for_media_type",
    "adapter_for_schema",
    "schema_names",
]
