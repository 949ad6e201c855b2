"""C2PA asset rubrics: what a validator reports about an asset, evaluated over its manifest report.

A rubric (the C2PA Asset Rubrics 1.0 YAML: a first document of metadata, variables and named expressions, then a
list of rules) holds rules like `inception:signal_fullyGenAIMedia`, each a json-formula expression
(`provenance.rubric.formula`) with a report text for its true and false outcomes. Rules are evaluated over
c2pa-rs's crJSON report (`Reader.crjson()`); a rubric that never names `manifests` is written over one
manifest and is evaluated over the active one. A `failIfMatched` (or `warnIfMatched`) rule passes when its
expression finds nothing, and its text lists what it found (`{{matches}}`). Variables a rubric uses but leaves to
the validator (the conformance rubric's `$expected_spec_version`) are given to `Rubric.load`.

    rubric = Rubric.load("asset-rubric-signals-local.yml")
    rubric.evaluate(json.loads(reader.crjson()))   # [Signal(id, value, text), ...]
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from provenance.errors import BadInput
from provenance.rubric.formula import Evaluator, FormulaError, Node, parse, truthy

LANGUAGE = "en"


@dataclass(frozen=True)
class Signal:
    """One rule's outcome: `value` is None when the rule could not be evaluated (`text` says why)."""

    id: str
    value: bool | None
    text: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Rule:
    id: str
    expression: Node
    fail_if_matched: bool
    texts: dict[bool, str]

    def outcome(self, result: Any) -> Signal:
        """The signal for the expression's result."""
        value = not truthy(result) if self.fail_if_matched else truthy(result)
        text = self.texts.get(value, f"{self.id}: {value}").replace("{{matches}}", _listed(result))
        return Signal(self.id, value, text)


@dataclass(frozen=True)
class Rubric:
    """A loaded rubric: its name, its rules and the variables and functions they use."""

    name: str
    version: str
    rules: tuple[Rule, ...]
    evaluator: Evaluator
    per_manifest: bool  # its expressions never name `manifests`: written over one manifest

    @classmethod
    def load(cls, path: str | os.PathLike, variables: Mapping[str, Any] | None = None) -> Rubric:
        """Read a rubric YAML file, with `variables` (names without the `$`) added to its own; raises BadInput
        for a missing, unreadable or malformed one."""
        import yaml

        path = Path(path)
        try:
            documents = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]
        except FileNotFoundError:
            raise BadInput(f"rubric {path}: no such file") from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise BadInput(f"rubric {path}: cannot be read ({_first_line(exc)})") from None
        try:
            return cls._from_documents(documents, {f"${name}": value for name, value in (variables or {}).items()})
        except (FormulaError, KeyError, TypeError, AttributeError, ValueError, RecursionError) as exc:
            raise BadInput(f"rubric {path}: not a C2PA asset rubric ({_first_line(exc)})") from None

    @classmethod
    def _from_documents(cls, documents: list, variables: dict[str, Any]) -> Rubric:
        if len(documents) < 2 or not isinstance(documents[0], dict) or not isinstance(documents[1], list):
            raise ValueError("expected a document of metadata, variables and expressions, then a list of rules")
        head, listed = documents[0], documents[1]
        metadata = head.get("rubric_metadata") or head.get("metadata") or {}
        functions = {name: parse(str(text)) for name, text in (head.get("expressions") or {}).items()}
        rules = tuple(_rule(entry) for entry in listed if isinstance(entry, dict) and "expression" in entry)
        if not rules:
            raise ValueError("no rules with an expression")
        trees = [*functions.values(), *(rule.expression for rule in rules)]
        return cls(
            name=str(metadata.get("name", "unnamed rubric")),
            version=str(metadata.get("version", "")),
            rules=rules,
            evaluator=Evaluator({**(head.get("variables") or {}), **variables}, functions),
            per_manifest=not any(_names_field(tree, "manifests") for tree in trees),
        )

    def evaluate(self, report: dict) -> list[Signal]:
        """Every rule's signal for a crJSON report (none when it holds no manifest); never raises."""
        manifests = report.get("manifests") or []
        if not manifests:
            return []
        data = manifests[0] if self.per_manifest else report
        return [self._evaluate(rule, data) for rule in self.rules]

    def _evaluate(self, rule: Rule, data: dict) -> Signal:
        try:
            return rule.outcome(self.evaluator.search(rule.expression, data))
        except (FormulaError, RecursionError) as exc:
            return Signal(rule.id, None, f"could not be evaluated: {exc}")


def _rule(entry: dict) -> Rule:
    texts = {}
    for key, by_language in (entry.get("reportText") or {}).items():
        if isinstance(by_language, dict) and by_language:
            text = by_language.get(LANGUAGE) or next(iter(by_language.values()))
            texts[str(key).lower() == "true"] = str(text).strip()
    matched_fails = bool(entry.get("failIfMatched") or entry.get("warnIfMatched"))
    return Rule(str(entry["id"]), parse(str(entry["expression"])), matched_fails, texts)


def _names_field(node: Node, name: str) -> bool:
    return (node.kind == "field" and node.value == name) or any(_names_field(child, name) for child in node.children)


def _listed(result: Any) -> str:
    items = result if isinstance(result, list) else [result]
    return ", ".join(item if isinstance(item, str) else json.dumps(item) for item in items)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def load_all(paths: Sequence[str | os.PathLike], variables: Mapping[str, Any] | None = None) -> tuple[Rubric, ...]:
    """The rubrics at `paths`, loaded with the same `variables`; raises BadInput for the first bad one."""
    return tuple(Rubric.load(path, variables) for path in paths)

