"""docs/translation.md is generated from adapters/field_map.py, and the table is complete:
every wire field of both models, every loss reason and refusal code the adapters produce."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel

from adapters import field_map
from schemas import gccpol, interpol

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "translation.md"


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The element type of a field annotation and whether it is a list or tuple."""
    repeated = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (list, tuple):
            annotation, repeated = typing.get_args(annotation)[0], True
        elif origin in (typing.Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        else:
            return annotation, repeated


def interpol_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every JSON path of the INTERPOL wire model (``notice.aliases[].name``)."""
    out: set[str] = set()
    for name, info in model.model_fields.items():
        key = info.alias or name
        inner, repeated = _unwrap(info.annotation)
        path = f"{prefix}{key}{'[]' if repeated else ''}"
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            out |= interpol_paths(inner, path + ".")
        else:
            out.add(path)
    return out


def gccpol_paths(model: type[BaseModel], prefix: str) -> set[str]:
    """Every XML path of the GCCPOL wire model; a date pair is one leaf (its children are
    checked by element name)."""
    out: set[str] = set()
    for name, info in model.model_fields.items():
        alias = info.alias or name
        inner, _ = _unwrap(info.annotation)
        path = prefix if alias == "#text" else f"{prefix}/{alias}"
        is_model = isinstance(inner, type) and issubclass(inner, BaseModel)
        if is_model and inner is not gccpol.DualDate:
            out |= gccpol_paths(inner, path)
        else:
            out.add(path)
    return out


def _bare(path: str) -> str:
    return re.sub(r"\[[^\]]*\]", "", path)


def test_the_document_is_what_the_table_renders() -> None:
    assert DOC.read_text("utf-8") == field_map.render(), (
        "docs/translation.md is stale: run .venv/bin/python -m adapters.field_map > "
        "docs/translation.md"
    )


def test_the_module_prints_the_document() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "adapters.field_map"],
        capture_output=True,
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    assert done.stdout.decode("utf-8") == field_map.render()


def test_every_interpol_wire_field_is_in_the_table() -> None:
    wire = interpol_paths(interpol.NoticeMessage) | interpol_paths(interpol.CancelMessage)
    listed = {_bare(p) for row in field_map.ROWS for p in row.interpol}
    assert {_bare(p) for p in wire} - listed == set()
    assert listed - {_bare(p) for p in wire} == set(), "the table names fields the model lacks"
    assert "notice.aliases.forename" in {_bare(p) for p in wire}  # the walk reaches lists


def test_every_gccpol_wire_field_is_in_the_table() -> None:
    wire = gccpol_paths(gccpol.Message, "/Message")
    listed = {_bare(p) for row in field_map.ROWS for p in row.gccpol}
    assert wire - listed == set()
    assert listed - wire - set(field_map.DATE_PAIR) == set()


def test_every_xsd_element_and_attribute_name_is_in_the_table() -> None:
    elements, attributes = gccpol.element_names()
    words: set[str] = set()
    for row in field_map.ROWS:
        for path in row.gccpol:
            words |= set(re.split(r"[/\[\]=@*]+", path))
    assert set(elements) - words == set()
    assert set(attributes) - words == set()
    assert "xml:lang" in attributes and "romanization" in attributes


# ---------------------------------------------------------------------------- adapters' source


def _fixed_text(node: ast.expr) -> str | None:
    """The first fixed piece (8+ characters) of a string or f-string argument."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        for part in node.values:
            if isinstance(part, ast.Constant) and len(str(part.value).strip()) >= 8:
                return str(part.value)
    return None


def _source_reasons(schema: str) -> tuple[set[str], set[str]]:
    """(loss reason fixed texts, refusal codes) written in adapters/<schema>.py."""
    tree = ast.parse((ROOT / "adapters" / f"{schema}.py").read_text("utf-8"))
    reasons: set[str] = set()
    codes: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name == "add" and len(node.args) == 3:
            text = _fixed_text(node.args[2])
            assert text is not None, f"{schema}.py:{node.lineno}: a loss reason with no fixed text"
            reasons.add(text.strip())
        elif name == "Loss":
            reason = next((k.value for k in node.keywords if k.arg == "reason"), None)
            text = _fixed_text(reason) if reason is not None else None
            if text is not None:
                reasons.add(text.strip())
        elif name == "TranslationRefused" and node.args:
            code = node.args[0]
            assert isinstance(code, ast.Constant), f"{schema}.py:{node.lineno}: code not fixed"
            codes.add(str(code.value))
    return reasons, codes


def test_every_loss_reason_in_the_adapters_is_listed() -> None:
    for schema in ("interpol", "gccpol"):
        reasons, _ = _source_reasons(schema)
        listed = [x.reason for x in field_map.LOSS_REASONS if x.target.startswith(schema)]
        missing = {r for r in reasons if not any(r.startswith(x) or x in r for x in listed)}
        assert missing == set(), f"adapters/{schema}.py reports reasons the table lacks"
        stale = {x for x in listed if not any(r.startswith(x) or x in r for r in reasons)}
        assert stale == set(), f"the table lists {schema} reasons the adapter no longer has"


def test_every_refusal_code_in_the_adapters_is_listed() -> None:
    for schema in ("interpol", "gccpol"):
        _, codes = _source_reasons(schema)
        listed = {x.code for x in field_map.REFUSALS if x.target == schema}
        assert codes == listed


def test_ids_are_unique() -> None:
    ids = [x.id for x in field_map.LOSS_REASONS] + [x.id for x in field_map.REFUSALS]
    assert len(ids) == len(set(ids))
