"""Search filters and order_by clauses of MLflow's search APIs, the subset the lab needs.

A filter is ``<clause> [AND <clause>]...``; a clause is ``<entity>.<key> <comparator> <value>``
with entity ``metrics``/``params``/``tags``/``attributes`` (and their singular forms), keys
quoted with backticks or double quotes when they contain dots or spaces, values quoted strings,
numbers or a parenthesised list for IN / NOT IN. Matching happens in Python on the rows.
"""

import base64
import json
import re

from errors import invalid

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<bt>`[^`]*`)
    | (?P<op><=|>=|!=|<>|=|<|>)
    | (?P<lp>\()|(?P<rp>\))|(?P<comma>,)
    | (?P<num>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)
    | (?P<word>[A-Za-z_][\w.]*)
    )""",
    re.X,
)

ENTITY = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
}


def _tokens(text):
    out = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise invalid(f"Invalid filter '{text}'. Could not be parsed.")
        pos = m.end()
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
    return out


def _unquote(tok):
    kind, val = tok
    if kind == "str":
        return val[1:-1].replace("\\'", "'").replace('\\"', '"')
    if kind == "bt":
        return val[1:-1]
    return val


def parse_filter(text, default_entity="attribute"):
    """-> list of (entity, key, comparator, value)"""
    if not text or not text.strip():
        return []
    toks = _tokens(text)
    clauses = []
    i = 0

    def need(cond, what):
        if not cond:
            raise invalid(f"Invalid filter '{text}'. Expected {what}.")

    while True:
        need(i < len(toks), "an identifier")
        kind, val = toks[i]
        if kind == "word" and val.endswith(".") and i + 1 < len(toks) and toks[i + 1][0] in ("str", "bt"):
            # tags.`a.b` / tags."a b"
            need(val[:-1].lower() in ENTITY, "a known entity type")
            entity, key = ENTITY[val[:-1].lower()], _unquote(toks[i + 1])
            i += 2
        elif kind == "word" and "." in val:
            head, _, rest = val.partition(".")
            need(head.lower() in ENTITY and rest, "a known entity type and a key")
            entity, key = ENTITY[head.lower()], rest
            i += 1
        elif kind in ("word", "bt", "str"):
            entity, key = default_entity, _unquote(toks[i])
            i += 1
        else:
            need(False, "an identifier")
        need(i < len(toks), "a comparator")
        kind, val = toks[i]
        if kind == "op":
            comp = "!=" if val == "<>" else val
            i += 1
        elif kind == "word" and val.upper() in ("LIKE", "ILIKE", "IN"):
            comp = val.upper()
            i += 1
        elif kind == "word" and val.upper() == "NOT" and i + 1 < len(toks) and toks[i + 1][1].upper() == "IN":
            comp = "NOT IN"
            i += 2
        else:
            need(False, "a comparator")
        if comp in ("IN", "NOT IN"):
            need(i < len(toks) and toks[i][0] == "lp", "'('")
            i += 1
            values = []
            while i < len(toks) and toks[i][0] != "rp":
                if toks[i][0] != "comma":
                    values.append(_unquote(toks[i]))
                i += 1
            need(i < len(toks), "')'")
            i += 1
            value = values
        else:
            need(i < len(toks) and toks[i][0] in ("str", "num", "word"), "a value")
            kind, raw = toks[i]
            if kind == "num":
                value = float(raw)
            else:
                value = _unquote(toks[i])
            i += 1
        clauses.append((entity, key, comp, value))
        if i == len(toks):
            return clauses
        need(toks[i][0] == "word" and toks[i][1].upper() == "AND", "AND")
        i += 1


def _like(pattern, value, ci):
    rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, re.S | (re.I if ci else 0)) is not None


def compare(actual, comp, expected):
    """One clause against a value (None = the run has no such key: never matches)."""
    if actual is None:
        return False
    if comp == "IN":
        return actual in expected
    if comp == "NOT IN":
        return actual not in expected
    if comp == "LIKE":
        return _like(str(expected), str(actual), False)
    if comp == "ILIKE":
        return _like(str(expected), str(actual), True)
    if isinstance(actual, (int, float)) and not isinstance(actual, bool):
        try:
            expected = float(expected)
        except (TypeError, ValueError):
            raise invalid(f"Expected numeric value for '{actual}' comparison, got '{expected}'") from None
    elif not isinstance(expected, str):
        raise invalid(f"Expected a quoted string value for the comparison, got '{expected}'")
    return {
        "=": actual == expected,
        "!=": actual != expected,
        "<": actual < expected,
        "<=": actual <= expected,
        ">": actual > expected,
        ">=": actual >= expected,
    }[comp]


def parse_order_by(clause, default_entity="attribute"):
    """'metrics.loss DESC' -> (entity, key, ascending)"""
    text = clause.strip()
    ascending = True
    m = re.match(r"^(.*?)\s+(ASC|DESC)$", text, re.I)
    if m:
        text, ascending = m.group(1).strip(), m.group(2).upper() == "ASC"
    parsed = parse_filter(f"{text} = 0", default_entity)
    if len(parsed) != 1:
        raise invalid(f"Invalid order_by clause '{clause}'. Could not be parsed.")
    entity, key, _, _ = parsed[0]
    return entity, key, ascending


def page_token(offset):
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def offset_of(token):
    if not token:
        return 0
    try:
        decoded = base64.b64decode(token, validate=False)
    except (ValueError, TypeError):
        raise invalid("Invalid page token, could not base64-decode") from None
    try:
        parsed = json.loads(decoded)
    except ValueError:
        raise invalid(f"Invalid page token, decoded value={decoded!r}") from None
    offset = parsed.get("offset") if isinstance(parsed, dict) else None
    if not offset:
        raise invalid(f"Invalid page token, parsed value={parsed}")
    try:
        return int(offset)
    except (TypeError, ValueError):
        raise invalid(f"Invalid page token, not stringable {offset}") from None
