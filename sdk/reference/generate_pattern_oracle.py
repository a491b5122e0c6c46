#!/usr/bin/env python3
"""Generates Tests/ShardlineCoreTests/Pattern/PatternOracleTable.swift.

Go is not available on the development machines, so Python's `re` stands in as the oracle for
Go's `regexp.FindSubmatchIndex` group 1. For the subset used here the two agree: both are
leftmost-first (Perl) engines, and this script removes the known differences before asking Python:

  * `$` and `\\z` become `\\Z` (Python's `$` also matches before a final newline; Go's does not).
  * `\\s`/`\\S` become explicit `[\\t\\n\\f\\r ]` classes (Python's ASCII `\\s` also has `\\v`).
  * POSIX classes like `[[:alpha:]]` are expanded (Python has none).
  * `(?<name>` becomes `(?P<name>`; a mid-pattern `(?i)` becomes a scoped `(?i:...)` group.
  * Paths are decoded the way Go decodes them (each invalid byte is one U+FFFD), and Python's
    code point offsets are mapped back to byte offsets.
  * Patterns whose loops can iterate on the empty string are not generated: Python and Go handle
    empty iterations differently. Those cases are hand-written in PatternSemanticsTests.swift.
  * Paths never contain U+017F or U+212A, which Go (and this engine) fold to s and k under (?i)
    while Python's ASCII mode does not.

Run from the repository root:  python3 sdk/reference/generate_pattern_oracle.py --output Tests/ShardlineCoreTests/Pattern/PatternOracleTable.swift
The output is deterministic (fixed random seed).
"""

import argparse
import random
import re
import sys

OUTPUT = "Tests/ShardlineCoreTests/Pattern/PatternOracleTable.swift"
SEED = 20240611
RANDOM_CASES = 4000

# Hand-picked (pattern, paths) pairs, Go syntax; a bytes path holds raw (possibly invalid) bytes.
# Expected results come from Python.
HAND_CASES = [
    (r"^\/users\/([^\/]*)\/.*", ["/users/alice/profile", "/users//x", "/users/alice", "/users/", "/Users/a/b", "x/users/a/b", "/users/日本/x", "/users/a\nb/c"]),
    (r"^/c/([^/]+)", ["/c/42", "/c/42/items", "/c/", "/c//x", "/cc/1", "/c/é/x"]),
    (r"/users/([^/]+)", ["/api/users/bob/x", "/users/", "/users/a/users/b", "users/a"]),
    (r"^/t/([a-z0-9-]{1,8})(?:/.*)?$", ["/t/abc", "/t/abc/", "/t/abc/def", "/t/abcdefghi", "/t/ABC", "/t/", "/t/ab-9/x\ny"]),
    (r"^/t/([a-z0-9-]{1,8})(/.*)?$", ["/t/abc", "/t/abcdefgh/x", "/t/abcdefghi/x"]),
    (r"^/([^/]+)/?$", ["/a", "/a/", "/a//", "/", "//"]),
    (r"^/(.*)/x$", ["/a/b/x", "/x", "//x", "/a/x/x"]),
    (r"^/(.*?)/", ["/a/b/c", "//", "/abc"]),
    (r"^/(.+?)(/.*)?$", ["/a/b/c", "/abc", "/"]),
    (r"(a|ab)(c|bcd)(d*)", ["abcd", "acd", "abcbcd"]),
    (r"(a+)(b+)?", ["aab", "aa", "b"]),
    (r"(a*)b", ["aaab", "b", "ac"]),
    (r"(a*?)b", ["aaab", "b"]),
    (r"(a{2,3})", ["a", "aa", "aaaa", "aaaaaaa"]),
    (r"(a{2,3}?)", ["aaaa"]),
    (r"(a{2,})", ["aaaaa", "a"]),
    (r"(a{3})", ["aaaa", "aa"]),
    (r"x(a{0,2})y", ["xy", "xaay", "xaaay"]),
    (r"(?:(a)|b)+", ["ab", "ba", "bb"]),
    (r"(?:(a)|(b))+", ["ab", "ba"]),
    (r"((a)|b)+", ["ab", "aab"]),
    (r"(a)?b", ["b", "ab", "c"]),
    (r"^/(a)?b", ["/b", "/ab"]),
    (r"(a)|b", ["b", "a", "c"]),
    (r"^(?:(x)|/y)$", ["/y", "x"]),
    (r"(?i)^/USERS/([^/]+)", ["/users/Bob", "/UsErS/x", "/users/"]),
    (r"^/(?i:USERS)/([a-z]+)", ["/users/abc", "/users/ABC", "/USERS/abc"]),
    (r"(?i)(a[bc]+)", ["xABCb", "Ac"]),
    (r"(?s)^/(.*)$", ["/a\nb", "/"]),
    (r"^/(.*)$", ["/a\nb", "/ab"]),
    (r"^/(.*)", ["/a\nb"]),
    (r"(\d+)", ["abc123def456", "x"]),
    (r"(\D+)", ["12ab34"]),
    (r"(\w+)", ["--ab_9--", "é"]),
    (r"(\W+)", ["ab--cd", "é"]),
    (r"(\s+)", ["a \t\n\f\rb", "a\vb"]),
    (r"(\S+)", [" ab ", "\v"]),
    (r"([[:alpha:]]+)", ["12abC3"]),
    (r"([[:digit:][:upper:]]+)", ["abC12d"]),
    (r"([[:punct:]]+)", ["ab!-/cd"]),
    (r"([[:space:]]+)", ["a\v\tb"]),
    (r"([[:xdigit:]]+)", ["xyzBEEFg"]),
    (r"([[:word:]]+)", ["--a_1--"]),
    (r"([^[:alnum:]]+)", ["ab-_-cd"]),
    (r"(\x41\x{42}\x{000043})", ["xABCx"]),
    (r"(\x{e9}+)", ["caféé!"]),
    (r"([à-ÿ]+)", ["abcéèz"]),
    (r"(日本)", ["こんにちは日本語"]),
    (r"(.)(.)", ["日a"]),
    (r"^(.)", [b"\xff", "é", b"\xe2\x82"]),
    (r"(\x{fffd})", [b"a\xffb", "a\ufffdb"]),
    (r"([^a]+)", [b"a\xff\xfea", b"a\xed\xa0\x80a"]),
    (r"(\.)", ["a.b"]),
    (r"(\/+)", ["a//b"]),
    (r"(\-\\)", ["a-\\b"]),
    (r"([\]a]+)", ["x]a]x"]),
    (r"([]a]+)", ["x]a]x"]),
    (r"([^]a]+)", ["]]bc]"]),
    (r"([a-]+)", ["--a-b"]),
    (r"([-a]+)", ["--a-b"]),
    (r"([a\-z]+)", ["b-az"]),
    (r"([\d-z]+)", ["a1-z2"]),
    (r"(a|b|c)+", ["xabcx"]),
    (r"(ab|a)(bc|c)?", ["abc"]),
    (r"(a|ab)(bc|c)?", ["abc"]),
    (r"((a)|(b))*c", ["abc"]),
    (r"(.*)(\d+)", ["abc123"]),
    (r"(.*?)(\d+)", ["abc123"]),
    (r"(.+)(.+)", ["ab"]),
    (r"^(a+)+$", ["aaaa", "aaab"]),
    (r"(a|a)*b", ["aaab", "aaa"]),
    (r"(.*a){3}", ["xaxaxa", "aa"]),
    (r"^/api/v(\d+)/", ["/api/v2/x", "/api/v/x"]),
    (r"^/(?P<tenant>[^/]+)/(?<id>\d+)$", ["/acme/42", "/acme/x"]),
    (r"^/((?:[^/]+/)*)$", ["/a/b/", "/a/b"]),
    (r"()", ["", "x"]),
    (r"(a*)*", ["b"]),
    (r"x*(y?)", ["xxy", "xx"]),
    (r"^$()", ["", "a"]),
    (r"\A/(x)\z", ["/x", "/x\n"]),
    (r"(a)$", ["a\n", "ba"]),
    (r"(a|b)*?c", ["abc"]),
    (r"(a+?)(a*)", ["aaa"]),
    (r"(a??)(a*)", ["aa"]),
    (r"(a*?)$", ["aa"]),
    (r"(?s)(.)", ["\n"]),
    (r"(.)", ["\n", "\na"]),
    (r"([^x])", ["\n"]),
    (r"(a.c)", ["a\nc", "abc"]),
    (r"(\t\n\r\f\v\a)", ["\t\n\r\f\v\a"]),
    (r"([\t\n]+)", ["a\t\nb"]),
    (r"(\!\#\%\&\,\:\;\<\=\>\@\_\~\`)", ["!#%&,:;<=>@_~`"]),
    (r"^/(\*)", ["/*x"]),
    (r"(\{a\})", ["x{a}"]),
    (r"(a})", ["a}"]),
    (r"(a])", ["a]"]),
]

ALPHABET = ["a", "b", "/", "-", ".", "x", "A", "1", "_", "é", "日", "\n", " "]
INVALID_PIECES = [b"\xff", b"\xe2\x82", b"\xc0\xaf", b"\xed\xa0\x80", b"\x80"]


class Unsupported(Exception):
    pass


POSIX = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~",
    "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\x0b\\f\\r ", "upper": "A-Z",
    "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f",
}


def translate(pattern):
    """Translates the Go syntax used in this file to an equivalent Python pattern."""
    out = []
    i = 0
    n = len(pattern)
    # One entry per open group: number of scoped flag groups to close at its `)`.
    pending = [0]
    while i < n:
        c = pattern[i]
        if c == "\\":
            i, text = translate_escape(pattern, i, in_class=False)
            out.append(text)
            continue
        if c == "$":
            out.append(r"\Z")
            i += 1
            continue
        if c == "[":
            i, text = translate_class(pattern, i)
            out.append(text)
            continue
        if c == "(":
            if pattern.startswith("(?<", i) and pattern[i + 3] not in "=!":
                out.append("(?P<")
                i += 3
                pending.append(0)
                continue
            m = re.match(r"\(\?([is]+)\)", pattern[i:])
            if m:
                at_start = i == 0
                if at_start:
                    out.append(m.group(0))
                else:
                    out.append("(?" + m.group(1) + ":")
                    pending[-1] += 1
                i += len(m.group(0))
                continue
            pending.append(0)
            out.append("(")
            i += 1
            continue
        if c == ")":
            out.append(")" * pending.pop())
            out.append(")")
            i += 1
            continue
        if c == "|" and pending[-1]:
            raise Unsupported("alternation after a mid-pattern flag group")
        out.append(c)
        i += 1
    out.append(")" * pending.pop())
    return "".join(out)


def translate_escape(pattern, i, in_class):
    e = pattern[i + 1]
    if e == "z":
        return i + 2, r"\Z"
    if e == "x" and pattern[i + 2] == "{":
        end = pattern.index("}", i)
        value = int(pattern[i + 3:end], 16)
        return end + 1, "\\U%08x" % value
    if e == "s":
        return i + 2, ("\\t\\n\\f\\r " if in_class else "[\\t\\n\\f\\r ]")
    if e == "S":
        if in_class:
            raise Unsupported("\\S in a class")
        return i + 2, "[^\\t\\n\\f\\r ]"
    return i + 2, pattern[i:i + 2]


def translate_class(pattern, i):
    out = ["["]
    i += 1
    if pattern[i] == "^":
        out.append("^")
        i += 1
    first = True
    after_class_escape = False
    while True:
        c = pattern[i]
        if c == "-" and after_class_escape:
            # Go reads [\d-z] as \d, '-', 'z'; Python rejects it unless the '-' is escaped.
            out.append("\\-")
            i += 1
            after_class_escape = False
            continue
        after_class_escape = c == "\\" and pattern[i + 1] in "dDwWsS"
        if c == "]" and not first:
            out.append("]")
            return i + 1, "".join(out)
        first = False
        if pattern.startswith("[:", i):
            end = pattern.index(":]", i)
            name = pattern[i + 2:end]
            if name.startswith("^"):
                raise Unsupported("negated POSIX class")
            out.append(POSIX[name])
            i = end + 2
            continue
        if c == "\\":
            i, text = translate_escape(pattern, i, in_class=True)
            out.append(text)
            continue
        if c in "[&~|" or (c == "]"):
            out.append("\\" + c)
        else:
            out.append(c)
        i += 1


def go_decode(data):
    """(code point, byte offset) for each step, as Go's utf8.DecodeRune steps through bytes."""
    steps = []
    i = 0
    while i < len(data):
        b0 = data[i]
        if b0 < 0x80:
            steps.append((b0, i))
            i += 1
            continue
        if 0xC2 <= b0 <= 0xDF:
            width, lo, hi = 2, 0x80, 0xBF
        elif b0 == 0xE0:
            width, lo, hi = 3, 0xA0, 0xBF
        elif 0xE1 <= b0 <= 0xEC or 0xEE <= b0 <= 0xEF:
            width, lo, hi = 3, 0x80, 0xBF
        elif b0 == 0xED:
            width, lo, hi = 3, 0x80, 0x9F
        elif b0 == 0xF0:
            width, lo, hi = 4, 0x90, 0xBF
        elif 0xF1 <= b0 <= 0xF3:
            width, lo, hi = 4, 0x80, 0xBF
        elif b0 == 0xF4:
            width, lo, hi = 4, 0x80, 0x8F
        else:
            steps.append((0xFFFD, i))
            i += 1
            continue
        chunk = data[i:i + width]
        ok = len(chunk) == width and lo <= chunk[1] <= hi and all(0x80 <= b <= 0xBF for b in chunk[2:])
        if not ok:
            steps.append((0xFFFD, i))
            i += 1
            continue
        steps.append((ord(chunk.decode("utf-8")), i))
        i += width
    return steps


def expected(pattern, path_bytes):
    python_pattern = translate(pattern)
    compiled = re.compile(python_pattern, re.ASCII)
    steps = go_decode(path_bytes)
    text = "".join(chr(cp) for cp, _ in steps)
    offsets = [offset for _, offset in steps] + [len(path_bytes)]
    m = compiled.search(text)
    if m is None:
        return "none"
    if compiled.groups < 1:
        raise Unsupported("no group")
    start, end = m.span(1)
    if start < 0:
        return "nogroup"
    return "%d-%d" % (offsets[start], offsets[end])


# --- Random patterns -------------------------------------------------------------------------

LITERALS = ["a", "b", "/", "\\/", "-", "\\.", "x", "A", "1", "_", "é"]
CLASSES = ["[^/]", "[a-c]", "[^a]", "\\d", "\\w", ".", "[[:alpha:]]", "[a-z0-9-]", "[^/.]",
           "[\\w.-]", "[ab]", "\\s", "\\S", "[^\\n]", "[/a]", "[^x/]", "\\W", "[é-ü]", "[^é]"]


LITERAL_TEXT = {"\\/": "/", "\\.": "."}
SAMPLE_ALPHABET = ALPHABET + ["c", "z", "9", "B", "ü", "\t", "]", "!"]


def class_members(text):
    compiled = re.compile(translate(text), re.ASCII)
    return [c for c in SAMPLE_ALPHABET if compiled.fullmatch(c)]


def gen_atom(r, depth):
    """Returns (text, nullable, sampler), where sampler(r) makes a string the atom matches."""
    roll = r.random()
    if depth > 2 or roll < 0.45:
        text = r.choice(LITERALS)
        char = LITERAL_TEXT.get(text, text)
        return text, False, lambda r: char
    if roll < 0.8:
        text = r.choice(CLASSES)
        members = class_members(text)
        return text, False, lambda r: r.choice(members)
    text, nullable, sampler = gen_alternation(r, depth + 1)
    if r.random() < 0.5:
        return "(" + text + ")", nullable, sampler
    return "(?:" + text + ")", nullable, sampler


def repeat_sampler(sampler, low, high):
    return lambda r: "".join(sampler(r) for _ in range(r.randint(low, high)))


def gen_piece(r, depth):
    text, nullable, sampler = gen_atom(r, depth)
    roll = r.random()
    lazy = "?" if r.random() < 0.25 else ""
    if roll < 0.55:
        return text, nullable, sampler
    if roll < 0.7:
        return text + "?" + lazy, True, repeat_sampler(sampler, 0, 1)
    if nullable:
        # Loops over empty-matching bodies behave differently in Python; not generated.
        return text, nullable, sampler
    if roll < 0.8:
        return text + "*" + lazy, True, repeat_sampler(sampler, 0, 4)
    if roll < 0.9:
        return text + "+" + lazy, False, repeat_sampler(sampler, 1, 4)
    low = r.randint(0, 2)
    high = low + r.randint(0, 2)
    form, top = r.choice([("{%d}" % low, low), ("{%d,}" % low, low + 3), ("{%d,%d}" % (low, high), high)])
    return text + form + lazy, low == 0, repeat_sampler(sampler, low, top)


def gen_concatenation(r, depth):
    pieces = [gen_piece(r, depth) for _ in range(r.randint(1, 3))]
    samplers = [p[2] for p in pieces]
    return ("".join(p[0] for p in pieces), all(p[1] for p in pieces),
            lambda r: "".join(sample(r) for sample in samplers))


def gen_alternation(r, depth):
    branches = [gen_concatenation(r, depth) for _ in range(1 if r.random() < 0.7 else r.randint(2, 3))]
    samplers = [b[2] for b in branches]
    return ("|".join(b[0] for b in branches), any(b[1] for b in branches),
            lambda r: r.choice(samplers)(r))


def gen_pattern(r):
    """Returns (pattern, sampler) with the sampler making paths the pattern (nearly) matches."""
    parts = []
    samplers = []
    if r.random() < 0.2:
        parts.append(r.choice(["(?i)", "(?s)"]))
    if r.random() < 0.6:
        parts.append("^")
    if r.random() < 0.6:
        prefix = "/" + "".join(r.choice(["a", "b", "x"]) for _ in range(r.randint(0, 2))) + "/"
        parts.append(prefix)
        samplers.append(lambda r: prefix)
    group, _, group_sampler = gen_alternation(r, 1)
    parts.append("(" + group + ")")
    samplers.append(group_sampler)
    if r.random() < 0.7:
        tail, _, tail_sampler = gen_concatenation(r, 1)
        parts.append(tail)
        samplers.append(tail_sampler)
    if r.random() < 0.3:
        parts.append("$")
    return "".join(parts), lambda r: "".join(sample(r) for sample in samplers)


def random_piece(r):
    if r.random() < 0.05:
        return r.choice(INVALID_PIECES)
    return r.choice(SAMPLE_ALPHABET).encode("utf-8")


def gen_path(r, sampler):
    roll = r.random()
    if roll < 0.2:
        return b"".join(random_piece(r) for _ in range(r.randint(0, 10)))
    pieces = [ch.encode("utf-8") for ch in sampler(r)]
    if roll < 0.6:
        for _ in range(r.randint(0, 2)):
            at = r.randint(0, len(pieces))
            edit = r.random()
            if edit < 0.4:
                pieces.insert(at, random_piece(r))
            elif edit < 0.7 and at < len(pieces):
                del pieces[at]
            elif at < len(pieces):
                pieces[at] = random_piece(r)
    elif roll < 0.8:
        pieces = [random_piece(r) for _ in range(r.randint(0, 3))] + pieces + [random_piece(r) for _ in range(r.randint(0, 3))]
    return b"".join(pieces)


def encode_field(data):
    """Printable ASCII as itself; everything else, and % and # (which would end or escape the Swift
    raw string), as %XX."""
    return "".join(chr(b) if 0x20 < b < 0x7F and b not in b"%#" else "%%%02X" % b for b in data)


def main():
    parser = argparse.ArgumentParser(description="Generate the pattern oracle test table.")
    parser.add_argument("--output", default=OUTPUT, help="Swift file to write (default: %(default)s)")
    output = parser.parse_args().output
    lines = []
    for pattern, paths in HAND_CASES:
        for path in paths:
            data = path.encode("utf-8") if isinstance(path, str) else path
            lines.append((pattern, data, expected(pattern, data)))
    r = random.Random(SEED)
    produced = 0
    while produced < RANDOM_CASES:
        try:
            pattern, sampler = gen_pattern(r)
            re.compile(translate(pattern), re.ASCII)
        except (Unsupported, re.error, IndexError):
            continue
        for _ in range(4):
            data = gen_path(r, sampler)
            lines.append((pattern, data, expected(pattern, data)))
            produced += 1
    with open(output, "w") as f:
        f.write("// Generated by sdk/reference/generate_pattern_oracle.py; do not edit. Expected group 1 results from\n")
        f.write("// Python's re standing in for Go's regexp (see the script for how differences are removed).\n")
        f.write("// Line format: pattern TAB path TAB expected, where path and pattern use %XX for bytes outside\n")
        f.write("// printable ASCII (and for %, # and space), and expected is none, nogroup or start-end byte offsets.\n\n")
        f.write("let patternOracleTable = #\"\"\"\n")
        for pattern, data, result in lines:
            f.write("%s\t%s\t%s\n" % (encode_field(pattern.encode("utf-8")), encode_field(data), result))
        f.write("\"\"\"#\n")
    print("wrote %d cases to %s" % (len(lines), output), file=sys.stderr)


if __name__ == "__main__":
    main()
