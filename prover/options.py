"""Command-line options generated from the configuration models.

A knob has one definition: its pydantic field (name, type, default, bounds, description).
``model_options`` turns every field of a model into a ``click`` option and ``model_from``
builds the model back from what was given, so a field added to ``SearchConfig`` is on the
command line at once, with its default and help (vLLM's ``EngineArgs`` derives its CLI the same
way). A field may say how its option is spelled (``json_schema_extra={"cli": "timeout"}``),
which environment variable sets it (``"env"``), and a unit the option takes
(``"cli_unit": [1073741824, "GiB"]``: ``--memory-gb 4`` is 4 GiB in bytes).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

M = TypeVar("M", bound=BaseModel)
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _extra(field: FieldInfo) -> dict[str, Any]:
    extra = field.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def _flag(name: str, field: FieldInfo) -> str:
    return str(_extra(field).get("cli", name.replace("_", "-")))


def _base_type(annotation: Any) -> Any:
    """``Path`` for ``Path | None``: the type an option converts its text to."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        (inner,) = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return inner
    return annotation


def _click_type(annotation: Any) -> Any:
    kind = _base_type(annotation)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return click.Choice([member.value for member in kind])
    if kind is Path:
        return click.Path(path_type=Path)
    return kind


def _option(name: str, field: FieldInfo, only_changed: bool) -> Decorator:
    extra = _extra(field)
    flag = _flag(name, field)
    default = field.get_default(call_default_factory=True)
    if isinstance(default, Enum):
        default = default.value
    unit = extra.get("cli_unit")
    if unit is not None and default is not None:
        default = default / unit[0]
    help_text = field.description or name.replace("_", " ")
    if unit is not None:
        help_text += f" (in {unit[1]})"
    settings: dict[str, Any] = {"help": help_text, "envvar": extra.get("env")}
    if only_changed:
        # The model's default is shown, but nothing is passed unless the user gives a value.
        settings.update(default=None, help=f"{help_text} [default: {default}]")
    else:
        settings.update(default=default, show_default=True)
    if _base_type(field.annotation) is bool:
        declaration = f"--{flag}" if "/" not in flag else "--" + flag.replace("/", "/--")
        if "/" not in flag:
            declaration += f"/--no-{flag}"
        return click.option(declaration, name, **settings)
    kind = float if unit is not None else _click_type(field.annotation)
    return click.option(f"--{flag}", name, type=kind, **settings)


def model_options(
    model: type[BaseModel], *, skip: tuple[str, ...] = (), only_changed: bool = False
) -> Decorator:
    """Add one option per field of ``model`` (but ``skip``), each storing under the field's
    name. ``only_changed``: options default to None, so that ``model_from`` leaves the fields
    the user did not give unset (``ProverLimits``: Lean then fills them with its own)."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for name, field in reversed(model.model_fields.items()):
            if name not in skip:
                command = _option(name, field, only_changed)(command)
        return command

    return decorate


def given_options(model: type[BaseModel], options: dict[str, Any]) -> list[str]:
    """The options of ``model``'s fields that were given (for ``only_changed`` ones: set)."""
    return [
        f"--{_flag(name, field).split('/')[0]}"
        for name, field in model.model_fields.items()
        if options.get(name) is not None
    ]


def model_from(model: type[M], options: dict[str, Any], **overrides: Any) -> M:
    """``model`` from the options ``model_options`` added (None: not given), plus
    ``overrides``; an invalid value is a ``click.BadParameter`` naming the option."""
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        value = options.get(name)
        if value is None:
            continue
        unit = _extra(field).get("cli_unit")
        if unit is not None:
            value = value * unit[0]
            value = int(value) if _base_type(field.annotation) is int else value
        values[name] = value
    values.update(overrides)
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else ""
        field = model.model_fields.get(name)
        if field is None:
            raise click.BadParameter(f"{name}: {first['msg']}") from None
        unit = _extra(field).get("cli_unit")
        message = first["msg"] if unit is None else f"{first['msg']} (in bytes; give {unit[1]})"
        raise click.BadParameter(f"--{_flag(name, field).split('/')[0]}: {message}") from None
