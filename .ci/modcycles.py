#!/usr/bin/env python3
"""Fail on an import cycle between the modules of a Rust crate.

Run it from the repository root, with one `src` directory per crate:

    python3 .ci/modcycles.py src crates/*/src
    python3 .ci/modcycles.py --edges src        # print the top-level graph
    python3 .ci/modcycles.py --self-test        # check the checker

Exit status: 0 when no module is on an import cycle; 1 otherwise (each edge
on a cycle is printed with its first `file:line`); 2 on a usage error.

What it checks, per crate:
* the top-level modules (`src/x.rs` and `src/x/` are one node; `main.rs` is
  left out when there is a `lib.rs`, since it is another crate);
* inside each directory module, its file submodules (`a::x -> a::y`).
A parent's edges to its own children are not edges: a `mod.rs` may
re-export its children.

Edges come from `use` trees, from paths starting with `crate::`, `super::`,
`self::`, a child module's name or a name a `use` bound to a module, and
they are followed through `use` re-exports to the module that defines the
item. Comments (doc comments too, so intra-doc links), string and char
literals and, unless `--tests`, `#[cfg(test)]` items are ignored. Paths
into other crates are ignored: Cargo already refuses cycles between crates.
Known blind spots: paths made by macros, and `#[path]` attributes.

There is no list of tolerated cycles: the 36 edges on cycles that issue 13
found were all cut, and a new one fails CI where it is written. Needs
python3 and nothing else.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
ROOT = "(root)"


# --- Reading Rust source ------------------------------------------------------


def clean(src):
    """Blanks comments, strings and char literals, keeping offsets and newlines."""
    out, i, n = list(src), 0, len(src)

    def blank(a, b):
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "

    def ident_before(k):
        return k > 0 and (src[k - 1].isalnum() or src[k - 1] == "_")

    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
        elif re.match(r'b?r#*"', src[i : i + 40]) and not ident_before(i):
            hashes = re.match(r'b?r(#*)"', src[i:])
            end = src.find('"' + hashes.group(1), i + hashes.end())
            j = n if end < 0 else end + 1 + len(hashes.group(1))
        elif c == '"' or (src.startswith('b"', i) and not ident_before(i)):
            j = i + (2 if c == "b" else 1)
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j += 1
        elif c == "'":
            if src.startswith("'\\", i):  # '\n', '\u{..}'
                j = src.find("'", i + 2) + 1
            elif i + 2 < n and src[i + 2] == "'":  # 'x'
                j = i + 3
            else:  # a lifetime
                i += 1
                continue
        else:
            i += 1
            continue
        blank(i, j)
        i = j
    return "".join(out)


def block_end(text, open_brace):
    """Offset of the brace closing the one at `open_brace`."""
    depth = 0
    for j in range(open_brace, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(text)


def item_end(text, start):
    """End of the item starting at `start`: its `;` or its closing brace."""
    depth = 0
    for j in range(start, len(text)):
        ch = text[j]
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == ";" and depth == 0:
            return j
        elif ch == "{" and depth == 0:
            return block_end(text, j)
    return len(text)


def parse_use_tree(tree):
    """Expands a use tree into (path, alias) pairs.

    'crate::a::{self, b::C as D}' ->
        [(['crate', 'a', 'self'], None), (['crate', 'a', 'b', 'C'], 'D')]
    """
    toks = re.findall(IDENT + r"|::|[{},*]", tree)
    pos = 0

    def subtree(prefix):
        nonlocal pos
        path, out = list(prefix), []
        while pos < len(toks):
            t = toks[pos]
            if t == "::":
                pos += 1
            elif t == "{":
                pos += 1
                while pos < len(toks) and toks[pos] != "}":
                    out += subtree(path)
                    if pos < len(toks) and toks[pos] == ",":
                        pos += 1
                pos += 1
                return out
            elif t == "*":
                pos += 1
                return out + [(path + ["*"], None)]
            elif t in (",", "}"):
                break
            elif t == "as":
                alias = toks[pos + 1]
                pos += 2
                return out + [(path, alias)]
            else:
                path.append(t)
                pos += 1
        return out + [(path, None)]

    return subtree([])


# --- One crate's graph --------------------------------------------------------


def package_name(src):
    """The `[package] name` of the Cargo.toml next to `src`, else the directory name."""
    manifest = os.path.join(os.path.dirname(os.path.abspath(src)), "Cargo.toml")
    try:
        text = open(manifest, encoding="utf-8").read()
    except OSError:
        return os.path.basename(os.path.dirname(os.path.abspath(src)))
    section = re.search(r"^\[package\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    name = section and re.search(r'^\s*name\s*=\s*"([^"]+)"', section.group(1), re.M)
    return name.group(1) if name else os.path.basename(os.path.dirname(os.path.abspath(src)))


class Crate:
    """The modules of one crate and every reference between them."""

    def __init__(self, src):
        self.src = src
        self.name = package_name(src)
        self.files = {}  # module path (tuple) -> file
        has_lib = os.path.exists(os.path.join(src, "lib.rs"))
        for dirpath, _, names in os.walk(src):
            for name in names:
                if not name.endswith(".rs"):
                    continue
                if has_lib and dirpath == src and name == "main.rs":
                    continue  # the binary is a crate of its own
                rel = os.path.relpath(os.path.join(dirpath, name), src)[:-3].split(os.sep)
                if rel[-1] == "mod":
                    rel = rel[:-1]
                if rel in (["lib"], ["main"]):
                    rel = []
                self.files[tuple(rel)] = os.path.join(dirpath, name)
        self.modules = set(self.files)  # inline `mod x { }` are added by scan()
        self.refs = []  # (from module, to path, file, line, under cfg(test))
        self.reexports = {}  # module path + bound name -> the path it names

    def children(self, mod):
        return {m[-1] for m in self.modules if len(m) == len(mod) + 1 and m[: len(mod)] == mod}

    def resolve(self, mod, path):
        """The absolute path of `path` written in module `mod`; None if it is outside the crate."""
        if not path:
            return None
        head = path[0]
        if head == "crate":
            return tuple(path[1:])
        if head in ("self", "super"):
            base = list(mod)
            while path and path[0] in ("self", "super"):
                if path[0] == "super":
                    base = base[:-1]
                path = path[1:]
            return tuple(base + list(path))
        if head in self.children(mod):
            return tuple(mod) + tuple(path)
        return None

    def canon(self, path, depth=0):
        """Follows `use` re-exports: `crate::Error` -> `error::Error`."""
        path = tuple(path)
        for k in range(len(path)):
            key = path[: k + 1]
            if key in self.reexports and key not in self.modules and depth < 8:
                return self.canon(self.reexports[key] + path[k + 1 :], depth + 1)
        return path

    def scan(self):
        for fmod, fname in sorted(self.files.items()):
            self.scan_file(fmod, fname)

    def scan_file(self, fmod, fname):
        raw = open(fname, encoding="utf-8").read()
        text = clean(raw)

        def line(off):
            return raw.count("\n", 0, off) + 1

        inline = []  # (start, end, name) of `mod name { ... }`
        for m in re.finditer(r"\bmod\s+(" + IDENT + r")\s*\{", text):
            inline.append((m.start(), block_end(text, m.end() - 1), m.group(1)))
            self.modules.add(fmod + (m.group(1),))
        tests = [
            (m.start(), item_end(text, m.end()))
            for m in re.finditer(r"#\[cfg\((?:all\()?test\b[^\]]*\]", text)
        ]

        def where(off):
            """The module an offset is in, and whether it is test-only code."""
            mod = list(fmod)
            for s, e, name in inline:
                if s < off < e:
                    mod.append(name)
            return tuple(mod), any(s < off < e for s, e in tests)

        uses, bound = [], {}  # spans of `use` items; names bound to modules
        for m in re.finditer(r"\buse\s+([^;]*);", text):
            uses.append((m.start(), m.end()))
            mod, test = where(m.start())
            for path, alias in parse_use_tree(m.group(1)):
                if path and path[-1] == "self":
                    path = path[:-1]
                target = self.resolve(mod, path)
                if target is None:
                    continue
                self.refs.append((mod, target, fname, line(m.start()), test))
                if target in self.modules:
                    bound[alias or target[-1]] = target
                if path[-1] != "*" and not test:
                    self.reexports[mod + (alias or target[-1],)] = target

        def in_use(off):
            return any(s <= off < e for s, e in uses)

        kids = self.children(fmod)
        heads = "|".join(["crate", "super", "self"] + sorted(set(bound) | kids))
        pattern = r"(?<![A-Za-z0-9_:])(" + heads + r")((?:\s*::\s*" + IDENT + r")+)"
        for m in re.finditer(pattern, text):
            if in_use(m.start()):
                continue
            mod, test = where(m.start())
            path = [m.group(1)] + re.findall(IDENT, m.group(2))
            if path[0] in kids and path[0] not in bound:
                target = self.resolve(mod, path) if mod == fmod else None
            elif path[0] in bound and path[0] not in ("crate", "super", "self"):
                target = bound[path[0]] + tuple(path[1:])
            else:
                target = self.resolve(mod, path)
            if target is not None:
                self.refs.append((mod, target, fname, line(m.start()), test))

    def edges(self, tests):
        """{scope: {(a, b): [(file, line, item)]}}: scope "" holds the
        top-level edges, scope "a" the edges between a's file submodules."""
        levels = defaultdict(lambda: defaultdict(list))
        for frm, to, fname, ln, test in self.refs:
            if test and not tests:
                continue
            to = self.canon(to)
            if not to or (to[0],) not in self.files:
                continue
            a, b = top(frm), top(to)
            where = (fname, ln, "::".join(to))
            if a != b:
                levels[""][(a, b)].append(where)
                continue
            x, y = self.submodule(frm), self.submodule(to)
            if x != y and "::" in x and "::" in y:
                levels[a][(x, y)].append(where)
        return levels

    def submodule(self, path):
        """`a::x` when `path` is in the file submodule x of directory module a, else `a`."""
        if not path:
            return ROOT
        if len(path) > 1 and (path[0], path[1]) in self.files:
            return path[0] + "::" + path[1]
        return path[0]


def top(path):
    return path[0] if path else ROOT


# --- Cycles ---------------------------------------------------------------------


def sccs(graph):
    """Tarjan's strongly connected components of {node: {successor}}."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph) + 100))

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def on_cycles(edges):
    """The components with a cycle, and the edges inside them (each is on some cycle)."""
    graph = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
        graph[b]
    comps = [set(c) for c in sccs(graph) if len(c) > 1]
    return comps, {(a, b) for a, b in edges for c in comps if a in c and b in c}


# --- Command line -----------------------------------------------------------------


def check(srcs, tests=False, show_edges=False, out=sys.stdout, err=sys.stderr):
    """Checks the crates; returns the exit status."""
    status = 0
    for src in srcs:
        if not os.path.isdir(src):
            print(f"{src}: not a directory", file=err)
            return 2
        crate = Crate(src)
        crate.scan()
        levels = crate.edges(tests)
        if show_edges:
            print(f"# {crate.name} ({src})", file=out)
            for (a, b), where in sorted(levels[""].items()):
                print(f"{a} -> {b}: " + ", ".join(sorted({w[2] for w in where})), file=out)
        for scope, edges in sorted(levels.items()):
            comps, cyclic = on_cycles(edges)
            for a, b in sorted(cyclic):
                status = 1
                fname, ln, item = sorted(edges[(a, b)])[0]
                comp = ", ".join(sorted(next(c for c in comps if a in c)))
                print(
                    f"{fname}:{ln}: import cycle in {crate.name}: {a} -> {b} "
                    f"({item}; {len(edges[(a, b)])} references); the cycle goes through {comp}",
                    file=err,
                )
    return status


def self_test():
    """Builds small crates in a temporary directory and checks the verdicts."""
    crate_files = {
        "Cargo.toml": '[package]\nname = "demo"\n',
        "src/lib.rs": "pub mod a;\npub mod b;\npub mod c;\npub mod d;\n",
        "src/a.rs": "use crate::b::B;\npub struct A;\n",
        "src/b.rs": "pub struct B;\npub fn f() -> super::a::A { crate::a::A }\n",
        # Neither a comment, a string nor test-only code makes an edge.
        "src/c.rs": '// crate::d::D\nconst S: &str = "crate::d::D";\n'
        "#[cfg(test)]\nmod tests { use crate::d::D; }\n",
        "src/d.rs": "pub struct D;\npub fn g() { let _ = crate::c::S; }\n",
        # A directory module whose files form a cycle.
        "src/e/mod.rs": "mod x;\nmod y;\npub use x::X;\n",
        "src/e/x.rs": "pub struct X;\nfn f() { let _ = super::y::Y; }\n",
        "src/e/y.rs": "pub struct Y;\nuse super::x::X;\n",
    }
    failures = []

    def expect(name, want, srcs, tests=False):
        nonlocal failures
        errs = open(os.devnull, "w")
        got = check(srcs, tests=tests, out=errs, err=errs)
        errs.close()
        if got != want:
            failures.append(f"{name}: exit {got}, expected {want}")

    with tempfile.TemporaryDirectory() as root:
        for rel, text in crate_files.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        src = os.path.join(root, "src")
        expect("a cycle fails", 1, [src])
        # Cut a <-> b and e::x <-> e::y: only test code still cycles (c <-> d).
        for rel, text in [("src/b.rs", "pub struct B;\n"), ("src/e/x.rs", "pub struct X;\n")]:
            with open(os.path.join(root, rel), "w") as f:
                f.write(text)
        expect("no cycle passes", 0, [src])
        expect("test code counts with --tests", 1, [src], tests=True)
        # The script runs as a program too, with its exit status.
        me = os.path.abspath(__file__)
        rc = subprocess.run([sys.executable, me, src], capture_output=True).returncode
        if rc != 0:
            failures.append(f"command line: exit {rc}, expected 0 (no cycle left)")
        with open(os.path.join(root, "src/e/x.rs"), "w") as f:
            f.write(crate_files["src/e/x.rs"])
        rc = subprocess.run([sys.executable, me, src], capture_output=True).returncode
        if rc != 1:
            failures.append(f"command line: exit {rc}, expected 1 (the e::x <-> e::y cycle)")
    for f in failures:
        print(f"modcycles self-test: {f}", file=sys.stderr)
    if not failures:
        print("modcycles self-test: ok")
    return 1 if failures else 0


def main(argv):
    parser = argparse.ArgumentParser(
        description="Fail on an import cycle between the modules of Rust crates.",
        epilog="Each SRC_DIR is one crate's src/ (with lib.rs or main.rs).",
    )
    parser.add_argument("srcs", nargs="*", metavar="SRC_DIR")
    parser.add_argument("--tests", action="store_true", help="count #[cfg(test)] code too")
    parser.add_argument("--edges", action="store_true", help="print each crate's top-level edges")
    parser.add_argument("--self-test", action="store_true", help="check the checker and exit")
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test()
    if not args.srcs:
        parser.error("give at least one SRC_DIR")
    try:
        return check(args.srcs, args.tests, args.edges)
    except (OSError, ValueError) as e:
        print(f"modcycles: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
