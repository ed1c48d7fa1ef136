"""Load and check a questionnaire: every rule of the format, every problem reported.

The loader never stops at the first problem: it walks the whole file, records
each broken rule with its place (dimension, subcategory, question, key), and
only builds the model when nothing is wrong. It takes text, not a path, so it
stays free of I/O; callers read the file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from . import expressions as ex
from .model import DEFAULT_GREEN, DEFAULT_RED, QUESTION_TYPES, Questionnaire

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
QUESTION_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
RESERVED_VALUES = frozenset({"na", "ns"})

TOP_KEYS = {"id", "version", "title", "language", "description", "thresholds", "dimensions", "checks"}
CHECK_KEYS = {"id", "expression", "message", "severity"}
CHECK_SEVERITIES = ("error", "warning")
DIMENSION_KEYS = {"id", "title", "weight", "thresholds", "subcategories"}
SUBCATEGORY_KEYS = {"id", "title", "weight", "thresholds", "questions"}
COMMON_QUESTION_KEYS = {"id", "text", "help", "type", "weight", "critical", "required", "na", "relevant"}
TYPE_KEYS = {
    "yes_no": {"good"},
    "choice": {"options"},
    "multi": {"options"},
    "number": {"min", "max", "unit", "integer", "bands"},
    "computed": {"formula", "bands", "unit"},
    "text": set(),
    "date": set(),
}
OPTION_KEYS = {"value", "label", "score"}
BAND_KEYS = {"min", "max", "score"}
THRESHOLD_KEYS = {"green", "red"}

TYPE_NAMES_ES = {
    "yes_no": "sí/no",
    "choice": "selección única",
    "multi": "selección múltiple",
    "number": "número",
    "computed": "calculada",
    "text": "texto",
    "date": "fecha",
}

_TRUE_WORDS = {"true", "yes", "on", "y"}
_FALSE_WORDS = {"false", "no", "off", "n"}


# --------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class Problem:
    """One broken rule: where (file, place, key) and what."""

    source: str
    place: str
    key: str | None
    message: str

    def __str__(self) -> str:
        where = self.place
        if self.key:
            where = f"{where} › clave '{self.key}'" if where else f"clave '{self.key}'"
        return f"{self.source}: {where}: {self.message}" if where else f"{self.source}: {self.message}"


class QuestionnaireError(Exception):
    """The questionnaire breaks one or more rules; ``problems`` lists them all."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        count = len(problems)
        header = f"{source}: el cuestionario tiene {count} problema{'s' if count != 1 else ''}"
        super().__init__(header + "\n" + "\n".join(f"  - {p}" for p in problems))


# --------------------------------------------------------------------------
# YAML: YAML 1.2 booleans (only true/false), dates kept as text, duplicate keys refused


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # libyaml when present
    pass


_StrictLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: object, mark: yaml.Mark) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key
        self.mark = mark


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    mapping: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(None, None, "clave no válida", key_node.start_mark) from None
        if key in mapping:
            raise _DuplicateKey(key, key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str, *, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as error:
        message = f"la clave '{error.key}' aparece dos veces en el mismo bloque"
        where = f"línea {error.mark.line + 1}, columna {error.mark.column + 1}"
        raise QuestionnaireError(source, [Problem(source, where, None, message)]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"línea {mark.line + 1}, columna {mark.column + 1}" if mark is not None else ""
        detail = getattr(error, "problem", None) or str(error)
        message = f"el archivo no es YAML/JSON válido ({detail})"
        raise QuestionnaireError(source, [Problem(source, where, None, message)]) from None


# --------------------------------------------------------------------------
# The checker


@dataclass
class _QuestionInfo:
    id: str
    type: str
    position: int
    place: str
    options: set[str] = field(default_factory=set)
    relevant: ex.Node | None = None
    formula: ex.Node | None = None


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.questions: dict[str, _QuestionInfo] = {}
        self.subcategory_places: dict[str, str] = {}

    # -- primitives ---------------------------------------------------------

    def problem(self, place: str, key: str | None, message: str) -> None:
        self.problems.append(Problem(self.source, place, key, message))

    def mapping(self, value: Any, place: str, what: str) -> dict | None:
        if isinstance(value, dict):
            return value
        self.problem(place, None, f"{what} debe ser un mapa de claves y valores, no {_describe(value)}")
        return None

    def unknown_keys(self, data: dict, allowed: set[str], place: str, hint: str = "") -> None:
        for key in data:
            if not isinstance(key, str):
                self.problem(place, str(key), "las claves deben ser texto")
            elif key not in allowed and not key.startswith(("x_", "x-")):
                allowed_text = ", ".join(sorted(allowed))
                self.problem(place, key, f"clave desconocida{hint}; las permitidas son: {allowed_text}")

    def text(self, data: dict, key: str, place: str, *, required: bool) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                self.problem(place, key, "falta este campo obligatorio")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.problem(place, key, f"debe ser un texto, no {_describe(value)}")
            return None
        value = str(value)
        if required and not value.strip():
            self.problem(place, key, "no puede estar vacío")
            return None
        return value

    def slug(self, data: dict, key: str, place: str, pattern: re.Pattern, rule: str) -> str | None:
        value = data.get(key)
        if value is None:
            self.problem(place, key, "falta este campo obligatorio")
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not pattern.match(value):
            self.problem(place, key, f"{value!r} no es un id válido: {rule}")
            return None
        return value

    def number(self, data: dict, key: str, place: str) -> float | None:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.problem(place, key, f"debe ser un número, no {_describe(value)}")
            return None
        return value

    def weight(self, data: dict, place: str) -> float:
        if "weight" not in data:
            return 1.0
        value = self.number(data, "weight", place)
        if value is None:
            return 1.0
        if value <= 0:
            self.problem(place, "weight", f"el peso debe ser un número mayor que 0, no {value}")
            return 1.0
        return float(value)

    def boolean(self, data: dict, key: str, place: str, default: bool) -> bool:
        if key not in data or data[key] is None:
            return default
        value = data[key]
        parsed = _as_bool(value)
        if parsed is None:
            self.problem(place, key, f"debe ser true o false (o yes/no), no {_describe(value)}")
            return default
        return parsed

    def thresholds(self, data: dict, place: str, inherited: dict) -> dict:
        if "thresholds" not in data:
            return dict(inherited)
        raw = self.mapping(data["thresholds"], _join(place, "umbrales"), "thresholds")
        if raw is None:
            return dict(inherited)
        self.unknown_keys(raw, THRESHOLD_KEYS, _join(place, "umbrales"))
        merged = dict(inherited)
        for key in ("green", "red"):
            if key in raw:
                value = self.number(raw, key, _join(place, "umbrales"))
                if value is None:
                    continue
                if not 0 <= value <= 1:
                    self.problem(_join(place, "umbrales"), key, f"debe estar entre 0 y 1, no {value}")
                    continue
                merged[key] = float(value)
        if merged["red"] > merged["green"]:
            self.problem(
                _join(place, "umbrales"),
                None,
                f"el umbral rojo ({merged['red']}) no puede ser mayor que el verde ({merged['green']}); "
                "debe cumplirse 0 <= red <= green <= 1",
            )
        return merged

    # -- structure ----------------------------------------------------------

    def check(self, data: Any) -> dict | None:
        top = self.mapping(data, "", "el cuestionario")
        if top is None:
            return None
        self.unknown_keys(top, TOP_KEYS, "")
        built: dict[str, Any] = {
            "id": self.slug(top, "id", "", SLUG_RE, "use minúsculas, dígitos, '_' o '-', empezando por letra o dígito"),
            "title": self.text(top, "title", "", required=True),
        }
        version = top.get("version")
        if version is None:
            self.problem("", "version", "falta este campo obligatorio")
        elif isinstance(version, float):
            # YAML reads 2026.10 as the number 2026.1: refuse rather than change the version
            self.problem(
                "",
                "version",
                f'escriba la versión entre comillas (por ejemplo "2026.1"): sin comillas '
                f"se lee como el número {version} y podría cambiar (2026.10 se leería 2026.1)",
            )
        elif isinstance(version, bool) or not isinstance(version, (str, int)) or not str(version).strip():
            self.problem("", "version", f'debe ser un texto como "2026.1", no {_describe(version)}')
        else:
            built["version"] = str(version)
        language = top.get("language", "es-CL")
        if not isinstance(language, str) or not LANGUAGE_RE.match(language):
            self.problem("", "language", f"{language!r} no es una etiqueta de idioma BCP 47 (por ejemplo es-CL)")
        else:
            built["language"] = language
        built["description"] = self.text(top, "description", "", required=False)
        file_thresholds = self.thresholds(top, "", {"green": DEFAULT_GREEN, "red": DEFAULT_RED})
        built["thresholds"] = file_thresholds

        dimensions = top.get("dimensions")
        built["dimensions"] = []
        if dimensions is None:
            self.problem("", "dimensions", "falta este campo obligatorio")
        elif not isinstance(dimensions, list) or not dimensions:
            self.problem("", "dimensions", "debe ser una lista con al menos una dimensión")
        else:
            seen: dict[str, int] = {}
            for index, raw in enumerate(dimensions, start=1):
                dimension = self.dimension(raw, index, file_thresholds)
                if dimension is None:
                    continue
                dim_id = dimension["id"]
                if dim_id is not None:
                    if dim_id in seen:
                        self.problem(
                            f"dimensión n.º {index}",
                            "id",
                            f"el id '{dim_id}' ya lo usa la dimensión n.º {seen[dim_id]}; debe ser único entre las dimensiones",
                        )
                    else:
                        seen[dim_id] = index
                built["dimensions"].append(dimension)
        self.check_expressions()
        built["checks"] = self.consistency_checks(top.get("checks"))
        return built

    def consistency_checks(self, raw: Any) -> list[dict]:
        """Questionnaire-level consistency checks (an extension of the format, see
        docs/format-decisions.md): each names any questions, in any position."""
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problem("", "checks", f"debe ser una lista de verificaciones, no {_describe(raw)}")
            return []
        checks: list[dict] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(raw, start=1):
            provisional = f"verificación n.º {index}"
            data = self.mapping(item, provisional, "una verificación")
            if data is None:
                continue
            check_id = self.slug(
                data, "id", provisional, QUESTION_ID_RE, "use minúsculas, dígitos o '_', empezando por una letra"
            )
            place = f"verificación '{check_id}'" if check_id else provisional
            self.unknown_keys(data, CHECK_KEYS, place)
            if check_id is not None:
                if check_id in seen:
                    self.problem(
                        place,
                        "id",
                        f"el id '{check_id}' ya lo usa la verificación n.º {seen[check_id]}; "
                        "debe ser único entre las verificaciones",
                    )
                else:
                    seen[check_id] = index
            message = self.text(data, "message", place, required=True)
            severity = data.get("severity", "error")
            if severity not in CHECK_SEVERITIES:
                self.problem(place, "severity", f"debe ser error o warning, no {_describe(severity)}")
            source = _expression_text(data.get("expression"))
            if source is None:
                self.problem(place, "expression", "falta la expresión (un texto como 'a + b == total')")
                continue
            node = self.parse_expression(source, place, "expression")
            if node is None:
                continue
            names = self.check_names(node, place)
            if not names:
                self.problem(place, "expression", "la expresión no usa ninguna pregunta: siempre daría lo mismo")
            checks.append(
                {"id": check_id, "expression": source, "message": message, "severity": severity, "questions": names}
            )
        return checks

    def check_names(self, node: ex.Node, place: str) -> list[str]:
        """The question ids a check's expression names, each known (selected() on a choice or
        multi question with that option); a problem for each that is not."""
        names: list[str] = []
        for part in ex.walk(node):
            if isinstance(part, ex.Name):
                qid = part.id
            elif isinstance(part, ex.Selected):
                qid = part.question_id
            else:
                continue
            target = self.questions.get(qid)
            if target is None:
                self.problem(place, "expression", f"'{qid}' no es el id de ninguna pregunta del cuestionario")
                continue
            if isinstance(part, ex.Selected):
                if target.type not in ("choice", "multi"):
                    self.problem(
                        place,
                        "expression",
                        f"selected() solo se aplica a preguntas de selección; '{qid}' es de tipo {target.type}",
                    )
                    continue
                if part.value not in target.options:
                    self.problem(
                        place,
                        "expression",
                        f"selected({qid}, '{part.value}'): '{part.value}' no es una "
                        f"opción de '{qid}' (opciones: {', '.join(sorted(target.options))})",
                    )
                    continue
            if qid not in names:
                names.append(qid)
        return names

    def dimension(self, raw: Any, index: int, inherited: dict) -> dict | None:
        provisional = f"dimensión n.º {index}"
        data = self.mapping(raw, provisional, "una dimensión")
        if data is None:
            return None
        dim_id = self.slug(data, "id", provisional, SLUG_RE, "use minúsculas, dígitos, '_' o '-'")
        place = f"dimensión '{dim_id}'" if dim_id else provisional
        self.unknown_keys(data, DIMENSION_KEYS, place)
        thresholds = self.thresholds(data, place, inherited)
        built: dict[str, Any] = {
            "id": dim_id,
            "title": self.text(data, "title", place, required=True),
            "weight": self.weight(data, place),
            "thresholds": thresholds,
            "subcategories": [],
        }
        subcategories = data.get("subcategories")
        if subcategories is None:
            self.problem(place, "subcategories", "falta este campo obligatorio")
        elif not isinstance(subcategories, list) or not subcategories:
            self.problem(place, "subcategories", "debe ser una lista con al menos una subcategoría")
        else:
            for sub_index, raw_sub in enumerate(subcategories, start=1):
                subcategory = self.subcategory(raw_sub, sub_index, place, thresholds)
                if subcategory is not None:
                    built["subcategories"].append(subcategory)
        return built

    def subcategory(self, raw: Any, index: int, parent: str, inherited: dict) -> dict | None:
        provisional = f"{parent} › subcategoría n.º {index}"
        data = self.mapping(raw, provisional, "una subcategoría")
        if data is None:
            return None
        sub_id = self.slug(data, "id", provisional, SLUG_RE, "use minúsculas, dígitos, '_' o '-'")
        place = f"{parent} › subcategoría '{sub_id}'" if sub_id else provisional
        if sub_id is not None:
            if sub_id in self.subcategory_places:
                self.problem(
                    place,
                    "id",
                    f"el id '{sub_id}' ya lo usa {self.subcategory_places[sub_id]}; debe ser único en todo el archivo",
                )
            else:
                self.subcategory_places[sub_id] = place
        self.unknown_keys(data, SUBCATEGORY_KEYS, place)
        built: dict[str, Any] = {
            "id": sub_id,
            "title": self.text(data, "title", place, required=True),
            "weight": self.weight(data, place),
            "thresholds": self.thresholds(data, place, inherited),
            "questions": [],
        }
        questions = data.get("questions")
        if questions is None:
            self.problem(place, "questions", "falta este campo obligatorio")
        elif not isinstance(questions, list) or not questions:
            self.problem(place, "questions", "debe ser una lista con al menos una pregunta")
        else:
            for q_index, raw_q in enumerate(questions, start=1):
                question = self.question(raw_q, q_index, place)
                if question is not None:
                    built["questions"].append(question)
        return built

    def question(self, raw: Any, index: int, parent: str) -> dict | None:
        provisional = f"{parent} › pregunta n.º {index}"
        data = self.mapping(raw, provisional, "una pregunta")
        if data is None:
            return None
        qid = self.slug(
            data,
            "id",
            provisional,
            QUESTION_ID_RE,
            "use minúsculas, dígitos o '_', empezando por una letra (es un nombre de variable)",
        )
        place = f"{parent} › pregunta '{qid}'" if qid else provisional
        qtype = data.get("type")
        if qtype is None:
            self.problem(place, "type", "falta este campo obligatorio")
        elif qtype not in QUESTION_TYPES:
            self.problem(place, "type", f"tipo desconocido {qtype!r}; los tipos son: {', '.join(QUESTION_TYPES)}")
            qtype = None
        allowed = COMMON_QUESTION_KEYS | (TYPE_KEYS[qtype] if qtype else set().union(*TYPE_KEYS.values()))
        hint = f" para una pregunta de tipo {qtype}" if qtype else ""
        self.unknown_keys(data, allowed, place, hint)

        built: dict[str, Any] = {
            "id": qid,
            "type": qtype,
            "text": self.text(data, "text", place, required=True),
            "help": self.text(data, "help", place, required=False),
            "weight": self.weight(data, place),
            "critical": self.boolean(data, "critical", place, False),
            "required": self.boolean(data, "required", place, qtype not in ("text", "date", "computed")),
            "na": self.boolean(data, "na", place, False),
        }
        info = _QuestionInfo(id=qid or "", type=qtype or "", position=0, place=place)

        if data.get("relevant") is not None:
            source = _expression_text(data["relevant"])
            if source is None:
                self.problem(place, "relevant", f"debe ser una expresión (texto), no {_describe(data['relevant'])}")
            else:
                built["relevant"] = source
                info.relevant = self.parse_expression(source, place, "relevant")

        if qtype == "yes_no":
            good = data.get("good", "yes")
            parsed = _as_bool(good)
            if parsed is None:
                self.problem(place, "good", f"debe ser yes o no, no {_describe(good)}")
            built["good"] = "no" if parsed is False else "yes"
        elif qtype in ("choice", "multi"):
            built["options"] = self.options(data, place, info)
        elif qtype == "number":
            bounds: dict[str, Any] = {}
            for key in ("min", "max"):
                if data.get(key) is not None:
                    bounds[key] = self.number(data, key, place)
                    built[key] = bounds[key]
            if bounds.get("min") is not None and bounds.get("max") is not None and bounds["min"] > bounds["max"]:
                self.problem(place, "max", f"max ({bounds['max']}) no puede ser menor que min ({bounds['min']})")
            built["integer"] = self.boolean(data, "integer", place, False)
            built["unit"] = self.text(data, "unit", place, required=False)
            built["bands"] = self.bands(data, place)
        elif qtype == "computed":
            built["unit"] = self.text(data, "unit", place, required=False)
            built["bands"] = self.bands(data, place)
            formula = data.get("formula")
            if formula is None:
                self.problem(place, "formula", "falta la fórmula, obligatoria en una pregunta calculada")
            else:
                source = _expression_text(formula)
                if source is None:
                    self.problem(place, "formula", f"debe ser una expresión aritmética, no {_describe(formula)}")
                else:
                    built["formula"] = source
                    info.formula = self.parse_expression(source, place, "formula")
                    if info.formula is not None:
                        for bad in ex.non_arithmetic_parts(info.formula):
                            self.problem(
                                place,
                                "formula",
                                f"una fórmula solo admite números, ids de preguntas numéricas o calculadas, "
                                f"+ - * / y paréntesis (posición {bad.position + 1})",
                            )
                            break

        if qid is not None:
            if qid in self.questions:
                self.problem(
                    place,
                    "id",
                    f"el id '{qid}' ya lo usa {self.questions[qid].place}; debe ser único en todo el archivo",
                )
            elif qtype is not None:
                info.position = len(self.questions)
                self.questions[qid] = info
        return built

    def parse_expression(self, source: str, place: str, key: str) -> ex.Node | None:
        try:
            return ex.parse(source)
        except ex.ExpressionSyntaxError as error:
            self.problem(
                place, key, f"expresión no válida en la posición {error.position + 1}: {error.message} (en {source!r})"
            )
            return None

    def options(self, data: dict, place: str, info: _QuestionInfo) -> list[dict]:
        raw = data.get("options")
        if raw is None:
            self.problem(place, "options", "falta la lista de opciones")
            return []
        if not isinstance(raw, list) or not raw:
            self.problem(place, "options", "debe ser una lista con al menos una opción")
            return []
        options: list[dict] = []
        with_score = 0
        for index, item in enumerate(raw, start=1):
            oplace = f"{place} › opción n.º {index}"
            option = self.mapping(item, oplace, "una opción")
            if option is None:
                continue
            self.unknown_keys(option, OPTION_KEYS, oplace)
            value = option.get("value")
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)  # numeric codes, as in XLSForm choice names
            if value is None:
                self.problem(oplace, "value", "falta este campo obligatorio")
                continue
            if not isinstance(value, str) or not value:
                self.problem(oplace, "value", f"debe ser un texto no vacío, no {_describe(value)}")
                continue
            if value in RESERVED_VALUES:
                self.problem(
                    oplace, "value", f"'{value}' está reservado (no aplica / no sabe) y no puede ser una opción"
                )
            elif value in info.options:
                self.problem(
                    oplace, "value", f"el valor '{value}' está repetido; cada opción debe tener un valor único"
                )
            info.options.add(value)
            label = self.text(option, "label", oplace, required=False)
            entry: dict[str, Any] = {"value": value, "label": label if label is not None else value}
            if option.get("score") is not None:
                score = self.number(option, "score", oplace)
                with_score += 1
                if score is not None and not 0 <= score <= 1:
                    self.problem(oplace, "score", f"el puntaje debe estar entre 0 y 1, no {score}")
                entry["score"] = score
            options.append(entry)
        if 0 < with_score < len(raw):
            self.problem(
                place,
                "options",
                f"{with_score} de {len(raw)} opciones tienen puntaje: o todas tienen 'score' (pregunta puntuada) o ninguna",
            )
        return options

    def bands(self, data: dict, place: str) -> list[dict]:
        raw = data.get("bands")
        if raw is None:
            return []
        if not isinstance(raw, list) or not raw:
            self.problem(place, "bands", "debe ser una lista con al menos un tramo")
            return []
        bands: list[dict] = []
        previous_max: float | None = None
        last = len(raw)
        for index, item in enumerate(raw, start=1):
            bplace = f"{place} › tramo n.º {index}"
            band = self.mapping(item, bplace, "un tramo")
            if band is None:
                previous_max = None
                continue
            self.unknown_keys(band, BAND_KEYS, bplace)
            low = self.number(band, "min", bplace) if band.get("min") is not None else None
            high = self.number(band, "max", bplace) if band.get("max") is not None else None
            if index == 1 and band.get("min") is not None:
                self.problem(bplace, "min", "el primer tramo no lleva 'min': cubre todos los números hasta su 'max'")
            if index > 1:
                if band.get("min") is None:
                    self.problem(
                        bplace, "min", "falta 'min': todo tramo salvo el primero empieza donde termina el anterior"
                    )
                elif low is not None and previous_max is not None and low != previous_max:
                    self.problem(
                        bplace,
                        "min",
                        f"'min' ({low}) debe ser igual al 'max' del tramo anterior ({previous_max}), sin huecos ni solapes",
                    )
            if index == last and band.get("max") is not None:
                self.problem(bplace, "max", "el último tramo no lleva 'max': cubre todos los números desde su 'min'")
            if index < last and band.get("max") is None:
                self.problem(
                    bplace, "max", "falta 'max': todo tramo salvo el último termina donde empieza el siguiente"
                )
            if low is not None and high is not None and not low < high:
                self.problem(
                    bplace, "max", f"'max' ({high}) debe ser mayor que 'min' ({low}); los tramos van en orden creciente"
                )
            score = None
            if band.get("score") is None:
                self.problem(bplace, "score", "falta el puntaje del tramo")
            else:
                score = self.number(band, "score", bplace)
                if score is not None and not 0 <= score <= 1:
                    self.problem(bplace, "score", f"el puntaje debe estar entre 0 y 1, no {score}")
            bands.append({"min": low, "max": high, "score": score})
            previous_max = high
        return bands

    # -- expressions across the file -----------------------------------------

    def check_expressions(self) -> None:
        formula_refs: dict[str, list[str]] = {}
        relevant_refs: dict[str, list[str]] = {}
        for info in self.questions.values():
            if info.relevant is not None:
                relevant_refs[info.id] = self.check_relevant(info)
            if info.formula is not None:
                formula_refs[info.id] = self.check_formula(info)
        self.check_cycles(formula_refs, relevant_refs)

    def check_relevant(self, info: _QuestionInfo) -> list[str]:
        assert info.relevant is not None  # called for a question with a condition
        valid: list[str] = []
        for node in ex.walk(info.relevant):
            if isinstance(node, ex.Name):
                target = self.known(node.id, info, "relevant")
                if target is None:
                    continue
                if target.position >= info.position:
                    what = "a sí misma" if target.id == info.id else f"a '{node.id}', que viene después en el archivo"
                    self.problem(
                        info.place,
                        "relevant",
                        f"la condición se refiere {what}; solo puede usar preguntas anteriores",
                    )
                    continue
                valid.append(node.id)
            elif isinstance(node, ex.Selected):
                target = self.known(node.question_id, info, "relevant")
                if target is None:
                    continue
                if target.position >= info.position:
                    self.problem(
                        info.place,
                        "relevant",
                        f"selected() se refiere a '{node.question_id}', que no viene antes en el archivo",
                    )
                    continue
                if target.type not in ("choice", "multi"):
                    self.problem(
                        info.place,
                        "relevant",
                        f"selected() solo se aplica a preguntas de selección (choice o multi); "
                        f"'{node.question_id}' es de tipo {target.type}",
                    )
                    continue
                if node.value not in target.options:
                    self.problem(
                        info.place,
                        "relevant",
                        f"selected({node.question_id}, '{node.value}'): '{node.value}' no es una opción de "
                        f"'{node.question_id}' (opciones: {', '.join(sorted(target.options))})",
                    )
                    continue
                valid.append(node.question_id)
        return valid

    def check_formula(self, info: _QuestionInfo) -> list[str]:
        assert info.formula is not None  # called for a question with a formula
        valid: list[str] = []
        for node in ex.walk(info.formula):
            if isinstance(node, ex.Name):
                target = self.known(node.id, info, "formula")
                if target is None:
                    continue
                if target.type not in ("number", "computed"):
                    self.problem(
                        info.place,
                        "formula",
                        f"'{node.id}' es de tipo {target.type}; una fórmula solo usa preguntas number o computed",
                    )
                    continue
                valid.append(node.id)
        return valid

    def known(self, qid: str, info: _QuestionInfo, key: str) -> _QuestionInfo | None:
        target = self.questions.get(qid)
        if target is None:
            self.problem(info.place, key, f"'{qid}' no es el id de ninguna pregunta del cuestionario")
        return target

    def check_cycles(self, formula_refs: dict[str, list[str]], relevant_refs: dict[str, list[str]]) -> None:
        # A question's value depends on its own relevance and, when computed, on its
        # formula's inputs; its relevance depends on the questions it names. Formulas may
        # name later questions, so a loop can close through formulas alone or through a
        # formula plus a relevance condition.
        graph = {
            qid: list(dict.fromkeys(formula_refs.get(qid, []) + relevant_refs.get(qid, []))) for qid in self.questions
        }
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done
        reported: set[frozenset[str]] = set()
        for start in graph:
            if state.get(start):
                continue
            stack: list[tuple[str, int]] = [(start, 0)]
            path: list[str] = []
            state[start] = 1
            path.append(start)
            while stack:
                node, next_index = stack[-1]
                children = graph[node]
                if next_index < len(children):
                    stack[-1] = (node, next_index + 1)
                    child = children[next_index]
                    if state.get(child) == 1:
                        cycle = path[path.index(child) :] + [child]
                        key = frozenset(cycle)
                        if key not in reported:
                            reported.add(key)
                            self.report_cycle(cycle, formula_refs)
                    elif not state.get(child):
                        state[child] = 1
                        path.append(child)
                        stack.append((child, 0))
                else:
                    state[node] = 2
                    path.pop()
                    stack.pop()

    def report_cycle(self, cycle: list[str], formula_refs: dict[str, list[str]]) -> None:
        chain = " → ".join(cycle)
        only_formulas = all(b in formula_refs.get(a, []) for a, b in zip(cycle, cycle[1:]))
        first = self.questions[cycle[0]]
        if only_formulas:
            message = f"las fórmulas forman un ciclo: {chain}"
        else:
            message = f"dependencia circular entre fórmulas y condiciones de relevancia: {chain}"
        self.problem(first.place, "formula" if cycle[0] in formula_refs else "relevant", message)


# --------------------------------------------------------------------------
# Helpers


def _join(place: str, part: str) -> str:
    return f"{place} › {part}" if place else part


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE_WORDS:
            return True
        if lowered in _FALSE_WORDS:
            return False
    return None


def _expression_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return value
    return None


def _describe(value: Any) -> str:
    if value is None:
        return "un valor vacío"
    if isinstance(value, bool):
        return f"el booleano {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"el número {value}"
    if isinstance(value, str):
        return f"el texto {value!r}"
    if isinstance(value, list):
        return "una lista"
    if isinstance(value, dict):
        return "un mapa"
    return type(value).__name__


# --------------------------------------------------------------------------
# Public entry points


def questionnaire_from_data(data: Any, *, source: str = "<cuestionario>") -> Questionnaire:
    """Build a questionnaire from parsed YAML/JSON data, or raise QuestionnaireError with every problem."""
    from .engine import build_plan  # the engine compiles the evaluation plan once per questionnaire

    checker = _Checker(source)
    built = checker.check(data)
    if checker.problems or built is None:
        raise QuestionnaireError(source, checker.problems)
    questionnaire = Questionnaire.model_validate(built)
    questionnaire._plan = build_plan(questionnaire)
    return questionnaire


def load_questionnaire(text: str, *, source: str = "<cuestionario>") -> Questionnaire:
    """Parse YAML (or JSON) text and build the questionnaire; raise QuestionnaireError on any problem."""
    return questionnaire_from_data(parse_yaml(text, source=source), source=source)
