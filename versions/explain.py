"""Turn a PubGrub failure into words: a one-line summary plus the derivation, step by step.

    >>> # Used by versions.resolver; the output reads like:
    >>> # no version of a satisfies both ^1.0.0 (from app) and ^2.0.0 (from app > b 2.1.0)
    >>> # Because b 2.1.0 depends on a ^2.0.0 and app depends on a ^1.0.0, b 2.1.0 is forbidden.
    >>> # So, because app depends on b ^2.0.0, version solving failed.

The derivation follows Dart pub's reporting (``doc/solver.md``, "Error Reporting"): each
derived fact is explained from the two facts it came from; facts used more than once are
numbered and referred to by number. The summary names the package whose requirements clash
and the dependency path each requirement came through.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Callable

from versions.pubgrub import (
    Catalog,
    ConflictCause,
    DependencyCause,
    Incompatibility,
    RootCause,
    bits,
)

__all__ = ["Explainer"]

_MAX_DEPTH = 300  # deeper derivations are summarized, not printed (and not recursed into)
_MAX_LISTED = 4
_PLACEHOLDER = re.compile("\x00([0-9]+)\x00")
_COUNTED = re.compile(r"[0-9]+ versions of ")


class Explainer:
    """Words for terms, incompatibilities and whole failures of one solver run."""

    def __init__(
        self,
        catalog: Catalog,
        root: str,
        root_name: str,
        excluded_matches: Callable[[str, str], list[str]],
    ) -> None:
        self.catalog = catalog
        self.root = root
        self.root_name = root_name
        self._excluded_matches = excluded_matches

    # -- words for sets of versions ------------------------------------------------------------

    def name(self, package: str) -> str:
        return self.root_name if package == self.root else package

    def versions(self, package: str, mask: int) -> str:
        """``a ^1.0.0``, ``a 1.2.0``, ``every version of a``, ``a >=1.0.0 <=1.4.0`` ..."""
        if package == self.root:
            return self.root_name
        info = self.catalog.get(package)
        mask &= info.any_version
        found = list(bits(mask))
        if len(found) == 1:
            return f"{package} {info.versions[found[0]]}"
        if mask == info.any_version:
            return f"every version of {package}"
        if not found:
            return f"no version of {package}"
        for text, range_mask in info.range_masks.items():
            if range_mask == mask:
                return f"{package} {text}"
        low, high = info.versions[found[0]], info.versions[found[-1]]
        if found[-1] - found[0] + 1 == len(found):
            return f"{package} >={low} <={high}"
        if len(found) <= _MAX_LISTED:
            listed = [str(info.versions[i]) for i in found]
            return f"{package} {', '.join(listed[:-1])} or {listed[-1]}"
        return f"{len(found)} versions of {package} (from {low} to {high})"

    def _term(self, package: str, term: int) -> tuple[bool, str]:
        info = self.catalog.get(package)
        if term & info.absent:
            return False, self.versions(package, info.any_version & ~term)
        return True, self.versions(package, term)

    # -- words for incompatibilities -----------------------------------------------------------

    def describe(self, incompat: Incompatibility) -> str:
        cause = incompat.cause
        if isinstance(cause, RootCause):
            return f"{self.root_name} is required"
        if isinstance(cause, DependencyCause):
            return self._dependency(cause, incompat)
        terms = [(p, *self._term(p, t)) for p, t in incompat.terms.items()]
        if not terms or (len(terms) == 1 and terms[0][0] == self.root and terms[0][1]):
            return "version solving failed"
        if len(terms) > 1:  # the root is always selected: "root and X" reads as "X"
            terms = [t for t in terms if not (t[0] == self.root and t[1])] or terms
        if len(terms) == 1:
            _, positive, text = terms[0]
            if positive:
                return f"{text} {_verb(text, 'is', 'are')} forbidden"
            return f"{text} {_verb(text, 'is', 'are')} required"
        if len(terms) == 2:
            (_, pos1, t1), (_, pos2, t2) = terms
            if pos1 and pos2:
                return f"{t1} {_verb(t1, 'is', 'are')} incompatible with {t2}"
            if pos1 != pos2:
                (_, _, having), (_, _, needed) = (terms[0], terms[1]) if pos1 else (terms[1],
                                                                                     terms[0])
                return f"{having} {_verb(having, 'requires', 'require')} {needed}"
        positives = [t for _, pos, t in terms if pos]
        negatives = [t for _, pos, t in terms if not pos]
        if not negatives:
            return f"one of {', '.join(positives)} must be false"
        if not positives:
            return f"one of {', '.join(negatives)} must be true"
        return f"if {' and '.join(positives)} then {' or '.join(negatives)}"

    def _dependency(self, cause: DependencyCause, incompat: Incompatibility) -> str:
        who = self.versions(cause.package, cause.mask)
        verb = _verb(who, "depends on", "depend on")
        text = f"{who} {verb} {cause.dependency} {cause.range_text or '*'}"
        if cause.package == cause.dependency or len(incompat.terms) > 1:
            return text
        return f"{text}, which {self._why_nothing(cause.dependency, cause.range_text)}"

    def _why_nothing(self, package: str, range_text: str) -> str:
        info = self.catalog.get(package)
        if info.missing:
            return f"does not exist ({package} is not in the registry)"
        if range_text in info.range_errors:
            return f"is not a valid range ({info.range_errors[range_text]})"
        excluded = self._excluded_matches(package, range_text)
        if excluded:
            return f"matches only unusable versions ({'; '.join(excluded)})"
        return f"matches no version of {package}"

    # -- the whole failure ---------------------------------------------------------------------

    def explain(self, failure: Incompatibility) -> tuple[str | None, list[str]]:
        """(summary or None, derivation lines)."""
        summary = self._summary(failure)
        if not failure.derived:
            return summary, [f"Because {self.describe(failure)}, version solving failed."]
        if _depth(failure) > _MAX_DEPTH:
            return summary, ["(the derivation is too long to print)"]
        return summary, _Report(self, failure).lines()

    def _summary(self, failure: Incompatibility) -> str | None:
        facts = _leaf_dependencies(failure)
        by_target: dict[str, dict[str, DependencyCause]] = {}
        for fact in facts:
            if fact.dependency != fact.package:
                by_target.setdefault(fact.dependency, {}).setdefault(fact.range_text, fact)
        clashing = [(len(r), t) for t, r in by_target.items() if len(r) > 1]
        if not clashing:
            return None
        _, target = max(clashing, key=lambda item: (item[0], -_facts_order(facts, item[1])))
        parents = _paths(self.root, facts)
        # One entry per requiring package: its ranges on the target and the route to it.
        groups: dict[str, list[DependencyCause]] = {}
        for fact in by_target[target].values():
            groups.setdefault(fact.package, []).append(fact)
        entries = []
        for package, group in groups.items():
            group.sort(key=lambda f: _lowest(self.catalog.range_mask(target, f.range_text)))
            mask = 0
            allowed = 0
            for fact in group:
                mask |= fact.mask
                allowed |= self.catalog.range_mask(target, fact.range_text)
            route = self._route(parents, DependencyCause(package, mask, target, ""))
            entries.append((route.count(" > "), route, [f.range_text or "*" for f in group],
                            allowed))
        entries.sort(key=lambda e: (e[0], e[1]))
        parts = [f"{_ranges(texts)} (from {route})" for _, route, texts, _ in entries]
        if len(entries) == 2 and not entries[0][3] & entries[1][3]:
            return f"no version of {target} satisfies both {parts[0]} and {parts[1]}"
        return f"conflicting requirements on {target}: {'; '.join(parts)}"

    def _route(self, parents: dict[str, DependencyCause], fact: DependencyCause) -> str:
        hops = [self.versions(fact.package, fact.mask)]
        package, seen = fact.package, {fact.package}
        while package in parents and package != self.root:
            parent = parents[package]
            package = parent.package
            if package in seen:
                break
            seen.add(package)
            hops.append(self.name(package))
        return " > ".join(reversed(hops))


def _lowest(mask: int) -> int:
    return (mask & -mask).bit_length()


def _verb(subject: str, singular: str, plural: str) -> str:
    """"8 versions of a require", "a 1.0.0 requires"."""
    return plural if _COUNTED.match(subject) else singular


def _ranges(texts: list[str]) -> str:
    """``^1.0.0``, ``^1.0.0 or ^1.1.0``, or ``one of 10 ranges (^1.0.0 ... ^1.9.0)``."""
    if len(texts) == 1:
        return texts[0]
    if len(texts) <= 3:
        return " or ".join(texts)
    return f"one of {len(texts)} ranges ({texts[0]} ... {texts[-1]})"


def _facts_order(facts: list[DependencyCause], target: str) -> int:
    """Position of the first fact about ``target`` (earlier facts make better summaries)."""
    return next(i for i, f in enumerate(facts) if f.dependency == target)


def _leaf_dependencies(failure: Incompatibility) -> list[DependencyCause]:
    found: list[DependencyCause] = []
    seen: set[int] = set()
    stack = [failure]
    while stack:
        incompat = stack.pop()
        if id(incompat) in seen:
            continue
        seen.add(id(incompat))
        cause = incompat.cause
        if isinstance(cause, ConflictCause):
            stack.extend((cause.right, cause.left))
        elif isinstance(cause, DependencyCause):
            found.append(cause)
    return found


def _paths(root: str, facts: list[DependencyCause]) -> dict[str, DependencyCause]:
    """For each package, the fact through which a breadth-first walk from the root reached it."""
    edges: dict[str, list[DependencyCause]] = {}
    for fact in facts:
        edges.setdefault(fact.package, []).append(fact)
    parents: dict[str, DependencyCause] = {}
    queue = deque([root])
    while queue:
        package = queue.popleft()
        for fact in edges.get(package, ()):
            if fact.dependency not in parents and fact.dependency != root:
                parents[fact.dependency] = fact
                queue.append(fact.dependency)
    return parents


def _depth(failure: Incompatibility) -> int:
    depth, level = 0, [failure]
    seen: set[int] = set()
    while level:
        depth += 1
        following: list[Incompatibility] = []
        for incompat in level:
            cause = incompat.cause
            if isinstance(cause, ConflictCause) and id(incompat) not in seen:
                seen.add(id(incompat))
                following.extend((cause.left, cause.right))
        level = following
        if depth > _MAX_DEPTH:
            break
    return depth


class _Report:
    """Dart pub's derivation writer: numbered lines for facts that are used twice."""

    def __init__(self, explainer: Explainer, root: Incompatibility) -> None:
        self.x = explainer
        self.root = root
        self.derivations: Counter[int] = Counter()
        self.numbers: dict[int, int] = {}
        self.referenced: set[int] = set()
        self._lines: list[tuple[str, int | None]] = []
        self._count(root)

    def lines(self) -> list[str]:
        self._visit(self.root, conclusion=True)
        out = []
        # Number only the lines referred to later, 1, 2, 3... in order of appearance.
        renumber: dict[int, int] = {}
        for _, number in self._lines:
            if number in self.referenced:
                renumber[number] = len(renumber) + 1
        for text, number in self._lines:
            text = _PLACEHOLDER.sub(lambda m: str(renumber[int(m.group(1))]), text)
            out.append(f"{text} ({renumber[number]})" if number in renumber else text)
        return out

    def _count(self, incompat: Incompatibility) -> None:
        stack = [incompat]
        while stack:
            current = stack.pop()
            self.derivations[id(current)] += 1
            cause = current.cause
            if self.derivations[id(current)] == 1 and isinstance(cause, ConflictCause):
                stack.extend((cause.left, cause.right))

    def _s(self, incompat: Incompatibility) -> str:
        return self.x.describe(incompat)

    def _ref(self, incompat: Incompatibility) -> str:
        number = self.numbers[id(incompat)]
        self.referenced.add(number)
        return f"{self._s(incompat)} (\x00{number}\x00)"

    def _write(self, incompat: Incompatibility, text: str, numbered: bool) -> None:
        if numbered and id(incompat) not in self.numbers:
            self.numbers[id(incompat)] = len(self.numbers) + 1
            self._lines.append((text, self.numbers[id(incompat)]))
        else:
            self._lines.append((text, None))

    def _visit(self, incompat: Incompatibility, conclusion: bool = False) -> None:
        numbered = conclusion or self.derivations[id(incompat)] > 1
        conjunction = "So," if conclusion or incompat is self.root else "And"
        cause = incompat.cause
        assert isinstance(cause, ConflictCause)
        left, right = cause.left, cause.right
        said = self._s(incompat)
        if left.derived and right.derived:
            n1, n2 = self.numbers.get(id(left)), self.numbers.get(id(right))
            if n1 is not None and n2 is not None:
                text = f"Because {self._ref(left)} and {self._ref(right)}, {said}."
            elif n1 is not None or n2 is not None:
                known, other = (left, right) if n1 is not None else (right, left)
                self._visit(other)
                text = f"{conjunction} because {self._ref(known)}, {said}."
            elif _simple(left) or _simple(right):
                first, second = (left, right) if _simple(left) else (right, left)
                self._visit(first)
                self._visit(second)
                text = f"Thus, {said}."
            else:
                self._visit(left, conclusion=True)
                self._lines.append(("", None))
                self._visit(right)
                text = f"{conjunction} because {self._ref(left)}, {said}."
        elif left.derived or right.derived:
            derived, external = (left, right) if left.derived else (right, left)
            if id(derived) in self.numbers:
                text = f"Because {self._s(external)} and {self._ref(derived)}, {said}."
            elif self._collapsible(derived):
                inner = derived.cause
                assert isinstance(inner, ConflictCause)
                deeper, beside = ((inner.left, inner.right) if inner.left.derived
                                  else (inner.right, inner.left))
                self._visit(deeper)
                text = (f"{conjunction} because {self._s(beside)} and {self._s(external)}, "
                        f"{said}.")
            else:
                self._visit(derived)
                text = f"{conjunction} because {self._s(external)}, {said}."
        else:
            text = f"Because {self._s(left)} and {self._s(right)}, {said}."
        self._write(incompat, text, numbered)

    def _collapsible(self, incompat: Incompatibility) -> bool:
        if self.derivations[id(incompat)] > 1:
            return False
        cause = incompat.cause
        assert isinstance(cause, ConflictCause)
        if cause.left.derived == cause.right.derived:
            return False
        inner = cause.left if cause.left.derived else cause.right
        return id(inner) not in self.numbers


def _simple(incompat: Incompatibility) -> bool:
    """Derived directly from two external facts (fits on one line)."""
    cause = incompat.cause
    return (isinstance(cause, ConflictCause) and not cause.left.derived
            and not cause.right.derived)
