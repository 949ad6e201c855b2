"""The json-formula expressions C2PA asset rubrics are written in: a parser and evaluator of the part they use.

json-formula is JMESPath with spreadsheet habits: `"text"` is a string and `'name'` a quoted field name (the
other way round from JMESPath), `$name` reads a variable, `+ - * /` and `&` (joining strings) compute, strings
compare in order, and strings take part in arithmetic as numbers. Paths, projections (`[*]`, `[]`, `[?...]`,
`.*`), pipes, multi-selects and functions work as in JMESPath. A rubric's own functions
are expressions that see their call's arguments as `$args` and the caller's current value as `@`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn


class FormulaError(ValueError):
    """An expression that cannot be parsed or evaluated."""


# -- tokens --------------------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<space>\s+)
    |(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<variable>\$[A-Za-z_][A-Za-z0-9_]*)
    |(?P<string>"(?:[^"\\]|\\.)*")
    |(?P<quoted>'(?:[^'\\]|\\.)*')
    |(?P<literal>`(?:[^`\\]|\\.)*`)
    |(?P<op>\[\?|\[\]|\|\||&&|==|!=|<=|>=|[.\[\]{}(),:@|&!<>*+\-/])""",
    re.VERBOSE,
)
# How tightly each token binds to what is on its left (as in JMESPath; arithmetic between comparison and
# flatten). Tokens under PROJECTION_STOP end a projection's right-hand side.
_BINDING = {
    "eof": 0, "name": 0, "quoted": 0, "string": 0, "number": 0, "literal": 0, "variable": 0,
    ")": 0, "]": 0, "}": 0, ",": 0, ":": 0, "@": 0,
    "|": 1, "||": 2, "&&": 3,
    "==": 5, "!=": 5, "<": 5, "<=": 5, ">": 5, ">=": 5,
    "&": 6, "+": 6, "-": 6, "*": 7, "/": 7,
    "[]": 9, "[?": 21, ".": 40, "!": 45, "{": 50, "[": 55, "(": 60,
}
_PROJECTION_STOP = 10
_COMPARATORS = {"==", "!=", "<", "<=", ">", ">="}
_ARITHMETIC = {"+", "-", "*", "/", "&"}


@dataclass(frozen=True)
class Token:
    kind: str
    value: Any
    at: int


def tokenize(text: str) -> list[Token]:
    tokens, at = [], 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise FormulaError(f"unexpected {text[at]!r} at {at} in {text!r}")
        kind, raw = match.lastgroup, match.group()
        if kind == "op":
            tokens.append(Token(raw, raw, at))
        elif kind != "space":
            tokens.append(Token(kind, _token_value(kind, raw, text, at), at))
        at = match.end()
    return [*tokens, Token("eof", None, len(text))]


def _token_value(kind: str, raw: str, text: str, at: int) -> Any:
    try:
        if kind == "number":
            return float(raw) if any(c in raw for c in ".eE") else int(raw)
        if kind == "string":
            return json.loads(raw)
        if kind == "quoted":
            return json.loads('"' + raw[1:-1].replace("\\'", "'").replace('"', '\\"') + '"')
        if kind == "literal":
            return json.loads(raw[1:-1].replace("\\`", "`"))
    except json.JSONDecodeError as exc:
        raise FormulaError(f"bad {kind} {raw!r} at {at} in {text!r}: {exc.msg}") from None
    return raw


# -- syntax tree ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    kind: str
    children: tuple[Node, ...] = ()
    value: Any = None


_CURRENT = Node("current")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.at = 0

    def parse(self) -> Node:
        node = self.expression(0)
        if self.peek().kind != "eof":
            self.fail("unexpected")
        return node

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.at + ahead, len(self.tokens) - 1)]

    def take(self, kind: str | None = None) -> Token:
        token = self.peek()
        if kind is not None and token.kind != kind:
            self.fail(f"expected {kind!r}, found")
        self.at += 1
        return token

    def fail(self, what: str) -> NoReturn:
        token = self.peek()
        raise FormulaError(f"{what} {token.value!r} at {token.at} in {self.text!r}")

    def expression(self, binding: int) -> Node:
        left = self.nud(self.take())
        while binding < _BINDING.get(self.peek().kind, 0):
            left = self.led(self.take(), left)
        return left

    def nud(self, token: Token) -> Node:
        kind = token.kind
        if kind in ("string", "number", "literal"):
            return Node("literal", value=token.value)
        if kind in ("name", "quoted"):
            return Node("field", value=token.value)
        if kind == "variable":
            return Node("variable", value=token.value)
        if kind == "@":
            return _CURRENT
        if kind == "!":
            return Node("not", (self.expression(_BINDING["!"]),))
        if kind == "-":
            return Node("negate", (self.expression(_BINDING["!"]),))
        if kind == "(":
            inner = self.expression(0)
            self.take(")")
            return inner
        if kind == "*":
            return Node("values", (_CURRENT, self.projection_rhs(20)))
        if kind == "[]":
            return Node("project", (Node("flatten", (_CURRENT,)), self.projection_rhs(_BINDING["[]"])))
        if kind == "[?":
            return self.filter(_CURRENT)
        if kind == "[":
            return self.bracket(_CURRENT, leading=True)
        if kind == "{":
            return self.hash()
        self.fail("unexpected")

    def led(self, token: Token, left: Node) -> Node:
        kind = token.kind
        if kind == ".":
            if self.peek().kind == "*":
                self.take()
                return Node("values", (left, self.projection_rhs(_BINDING["."])))
            return Node("sub", (left, self.dot_rhs(_BINDING["."])))
        if kind == "|":
            return Node("pipe", (left, self.expression(_BINDING["|"])))
        if kind in ("||", "&&"):
            return Node("or" if kind == "||" else "and", (left, self.expression(_BINDING[kind])))
        if kind in _COMPARATORS or kind in _ARITHMETIC:
            return Node("binary", (left, self.expression(_BINDING[kind])), kind)
        if kind == "(":
            if left.kind != "field":
                self.fail("a function name must come before")
            return Node("call", tuple(self.arguments()), left.value)
        if kind == "[?":
            return self.filter(left)
        if kind == "[]":
            return Node("project", (Node("flatten", (left,)), self.projection_rhs(_BINDING["[]"])))
        if kind == "[":
            return self.bracket(left, leading=False)
        self.fail("unexpected")

    def arguments(self) -> list[Node]:
        found = []
        while self.peek().kind != ")":
            found.append(self.expression(0))
            if self.peek().kind == ",":
                self.take()
        self.take(")")
        return found

    def filter(self, left: Node) -> Node:
        condition = self.expression(0)
        self.take("]")
        return Node("filter", (left, self.projection_rhs(_BINDING["[?"]), condition))

    def bracket(self, left: Node, leading: bool) -> Node:
        """After `[`: an index, `[*]`, or (at the start of an expression) a multi-select list."""
        token = self.peek()
        if token.kind == "number" or (token.kind == "-" and self.peek(1).kind == "number"):
            sign = -1 if token.kind == "-" and self.take() else 1
            index = sign * self.take("number").value
            self.take("]")
            return Node("index", (left,), int(index))
        if token.kind == "*" and self.peek(1).kind == "]":
            self.take()
            self.take()
            return Node("project", (left, self.projection_rhs(20)))
        if not leading:
            self.fail("expected an index or * after [, found")
        items = [self.expression(0)]
        while self.peek().kind == ",":
            self.take()
            items.append(self.expression(0))
        self.take("]")
        return Node("list", tuple(items))

    def hash(self) -> Node:
        keys, values = [], []
        while True:
            if self.peek().kind not in ("name", "quoted", "string"):
                self.fail("expected a key, found")
            keys.append(self.take().value)
            self.take(":")
            values.append(self.expression(0))
            if self.peek().kind != ",":
                self.take("}")
                return Node("hash", tuple(values), tuple(keys))
            self.take()

    def projection_rhs(self, binding: int) -> Node:
        kind = self.peek().kind
        if _BINDING.get(kind, 0) < _PROJECTION_STOP:
            return _CURRENT
        if kind in ("[", "[?", "[]"):
            return self.expression(binding)
        if kind == ".":
            self.take()
            return self.dot_rhs(binding)
        self.fail("unexpected after a projection:")

    def dot_rhs(self, binding: int) -> Node:
        kind = self.peek().kind
        if kind in ("name", "quoted", "*"):
            return self.expression(binding)
        if kind == "[":
            self.take()
            return self.bracket(_CURRENT, leading=True)
        if kind == "{":
            self.take()
            return self.hash()
        self.fail("expected a field after '.', found")


def parse(text: str) -> Node:
    """The syntax tree of one expression; raises FormulaError."""
    return _Parser(text).parse()


# -- evaluation ----------------------------------------------------------------------------------------------------


def truthy(value: Any) -> bool:
    """json-formula's truth: null, false, 0, "" and empty lists and objects are false."""
    return not (value is None or value is False or value == 0 or value == "" or value == [] or value == {})


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if value is None:
        return 0
    if isinstance(value, str):
        try:
            return float(value) if value.strip() else 0
        except ValueError:
            return None
    return None


def _compare(op: str, left: Any, right: Any) -> bool | None:
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if not (isinstance(left, str) and isinstance(right, str)):
        left, right = _number(left), _number(right)
        if left is None or right is None:
            return None
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    if op == "&":
        return f"{_text(left)}{_text(right)}"
    a, b = _number(left), _number(right)
    if a is None or b is None or (op == "/" and b == 0):
        return None
    result = a + b if op == "+" else a - b if op == "-" else a * b if op == "*" else a / b
    return int(result) if isinstance(result, float) and result.is_integer() and math.isfinite(result) else result


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _type(value: Any) -> str:
    for name, kinds in (("null", type(None)), ("boolean", bool), ("number", int | float), ("string", str),
                        ("array", list), ("object", dict)):
        if isinstance(value, kinds):
            return name
    return "object"


def _contains(subject: Any, item: Any) -> bool:
    if isinstance(subject, str):
        return isinstance(item, str) and item in subject
    return isinstance(subject, list) and item in subject


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | list | dict) else 0


def _split(value: Any, separator: Any) -> list[str]:
    if not isinstance(value, str):
        return []
    return list(value) if separator == "" else value.split(_text(separator))


BUILTINS: dict[str, Callable[..., Any]] = {
    "contains": _contains,
    "length": _length,
    "split": _split,
    "startsWith": lambda s, prefix: isinstance(s, str) and isinstance(prefix, str) and s.startswith(prefix),
    "endsWith": lambda s, suffix: isinstance(s, str) and isinstance(suffix, str) and s.endswith(suffix),
    "if": lambda condition, then, otherwise=None: then if truthy(condition) else otherwise,
    "keys": lambda value: list(value) if isinstance(value, dict) else [],
    "values": lambda value: list(value.values()) if isinstance(value, dict) else [],
    "notNull": lambda *values: next((value for value in values if value is not None), None),
    "type": _type,
    "toString": _text,
    "toNumber": _number,
}


MAX_CALL_DEPTH = 64


class Evaluator:
    """Evaluates expressions against JSON data with variables (`$name`) and a rubric's own functions: each a
    syntax tree evaluated with `$args` bound to its call's arguments and `@` to the caller's current value."""

    def __init__(self, variables: Mapping[str, Any], functions: Mapping[str, Node]) -> None:
        self.variables = dict(variables)
        self.functions = dict(functions)
        self._frames: list[list[Any]] = []

    def search(self, expression: str | Node, data: Any) -> Any:
        node = parse(expression) if isinstance(expression, str) else expression
        return self.visit(node, data)

    def visit(self, node: Node, current: Any) -> Any:
        return getattr(self, f"_{node.kind}")(node, current)

    def _literal(self, node: Node, current: Any) -> Any:
        return node.value

    def _current(self, node: Node, current: Any) -> Any:
        return current

    def _field(self, node: Node, current: Any) -> Any:
        return current.get(node.value) if isinstance(current, dict) else None

    def _variable(self, node: Node, current: Any) -> Any:
        if node.value == "$args":
            if not self._frames:
                raise FormulaError("$args outside a rubric function")
            return self._frames[-1]
        if node.value not in self.variables:
            raise FormulaError(f"unknown variable {node.value}")
        return self.variables[node.value]

    def _sub(self, node: Node, current: Any) -> Any:
        left = self.visit(node.children[0], current)
        return None if left is None else self.visit(node.children[1], left)

    def _pipe(self, node: Node, current: Any) -> Any:
        return self.visit(node.children[1], self.visit(node.children[0], current))

    def _index(self, node: Node, current: Any) -> Any:
        base = self.visit(node.children[0], current)
        if not isinstance(base, list) or not -len(base) <= node.value < len(base):
            return None
        return base[node.value]

    def _flatten(self, node: Node, current: Any) -> Any:
        base = self.visit(node.children[0], current)
        if not isinstance(base, list):
            return None
        return [item for each in base for item in (each if isinstance(each, list) else [each])]

    def _project(self, node: Node, current: Any) -> Any:
        base = self.visit(node.children[0], current)
        return self._each(base, node.children[1]) if isinstance(base, list) else None

    def _values(self, node: Node, current: Any) -> Any:
        base = self.visit(node.children[0], current)
        return self._each(list(base.values()), node.children[1]) if isinstance(base, dict) else None

    def _filter(self, node: Node, current: Any) -> Any:
        base = self.visit(node.children[0], current)
        if not isinstance(base, list):
            return None
        kept = [item for item in base if truthy(self.visit(node.children[2], item))]
        return self._each(kept, node.children[1])

    def _each(self, items: list, right: Node) -> list:
        results = (self.visit(right, item) for item in items)
        return [result for result in results if result is not None]

    def _list(self, node: Node, current: Any) -> Any:
        return [self.visit(child, current) for child in node.children]

    def _hash(self, node: Node, current: Any) -> Any:
        return {key: self.visit(child, current) for key, child in zip(node.value, node.children, strict=True)}

    def _not(self, node: Node, current: Any) -> Any:
        return not truthy(self.visit(node.children[0], current))

    def _negate(self, node: Node, current: Any) -> Any:
        return _arithmetic("-", 0, self.visit(node.children[0], current))

    def _or(self, node: Node, current: Any) -> Any:
        left = self.visit(node.children[0], current)
        return left if truthy(left) else self.visit(node.children[1], current)

    def _and(self, node: Node, current: Any) -> Any:
        left = self.visit(node.children[0], current)
        return self.visit(node.children[1], current) if truthy(left) else left

    def _binary(self, node: Node, current: Any) -> Any:
        left, right = (self.visit(child, current) for child in node.children)
        if node.value in _COMPARATORS:
            return _compare(node.value, left, right)
        return _arithmetic(node.value, left, right)

    def _call(self, node: Node, current: Any) -> Any:
        arguments = [self.visit(child, current) for child in node.children]
        body = self.functions.get(node.value)
        if body is not None:
            if len(self._frames) >= MAX_CALL_DEPTH:
                raise FormulaError(f"{node.value}() calls itself too deeply")
            self._frames.append(arguments)
            try:
                return self.visit(body, current)
            finally:
                self._frames.pop()
        builtin = BUILTINS.get(node.value)
        if builtin is None:
            raise FormulaError(f"unknown function {node.value}()")
        try:
            return builtin(*arguments)
        except TypeError as exc:
            raise FormulaError(f"{node.value}(): {exc}") from None
