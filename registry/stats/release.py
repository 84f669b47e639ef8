"""The public release: one perturbed table of month-end counts from which every anonymous
answer is added up (registry.stats.disclosure says what it promises and why).

Per category, the counts form a tree: the country; its two genders; each gender's
provinces, districts and communes; and under each province its sectors, channels and age
bands (three more ways of dividing the same people). For every month end, from the first
month with registrations to the last complete month, each node's published count is its
true count plus a difference `dev`, chosen from the top down:

- every node's dev stays within [-MAX_DIFFERENCE, MAX_DIFFERENCE] (the country count of a
  category within [-MAX_DIFFERENCE, 0], and exactly 0 where the headline rule holds on the
  figure drawn);
- the devs of a node's children add up to its own (so the table adds up everywhere);
- a node's published count never falls in a month without departures (dev may drop only
  by the month's arrivals; in a month where people left, net arrivals < 0, it is free within
  the bounds), is 0 where the true count is 0, and never goes below 0;
- a node with no arrivals keeps its dev unless its parent needs it to rise; a node with
  arrivals draws a fresh one from the secret key, its name, the month and its count.

Bounds computed from the bottom up (`_Allocator.settle`) tell each node how far its subtree
can move this month; they always contain last month's dev, so the allocation from the top
(`_Allocator.assign`) always succeeds, and the country's dev can always return to 0 because
it is never above 0.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from registry import vocab
from registry.stats.disclosure import MAX_DIFFERENCE, headline_exact

VALUE_DIMENSIONS = ("sector", "channel", "age")
# A fresh dev's distribution: triangular on -MAX_DIFFERENCE..MAX_DIFFERENCE (1, 2, 3, 2, 1 ninths).
_DRAWS = tuple(d for d in range(-MAX_DIFFERENCE, MAX_DIFFERENCE + 1) for _ in range(MAX_DIFFERENCE + 1 - abs(d)))


def month_index(day: date, first: date) -> int:
    """Months from `first` (a month's first day) to the month of `day`."""
    return (day.year - first.year) * 12 + day.month - first.month


def month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


@dataclass
class Release:
    """Published counts at each month end from `first`'s month to `last` (a month end)."""

    first: date
    last: date
    stocks: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)  # (area, category, gender)
    values: dict[tuple[str, str, str, str, str], list[int]] = field(default_factory=dict)  # (area, dimension, value, category, gender)
    exact: dict[str, list[bool]] = field(default_factory=dict)  # category -> country count exact at each month end

    def index(self, as_of: date) -> int:
        """The month end `as_of` as an index of the series (-1: before any registration)."""
        return month_index(as_of, self.first)

    @staticmethod
    def at(series: list[int] | None, t: int) -> int:
        return series[t] if series is not None and 0 <= t < len(series) else 0

    def is_exact(self, category: str, t: int) -> bool:
        series = self.exact.get(category)
        return series is not None and 0 <= t < len(series) and series[t]


class _Node:
    __slots__ = ("name", "families", "arrivals", "x", "dev", "lo", "hi", "series")

    def __init__(self, name: str) -> None:
        self.name = name
        self.families: list[list[_Node]] = []  # ways of dividing its people; each adds up to it
        self.arrivals: dict[int, int] = {}  # month index -> net arrivals, for every month with any below
        self.x = 0  # true count at the month end being allocated
        self.dev = 0  # published - true
        self.lo = 0
        self.hi = 0  # how far up this subtree can go (depends only on where people are)
        self.series: list[int] = []  # published count at each month end (filled forward)


class _Allocator:
    def __init__(self, key: bytes, bound: int = MAX_DIFFERENCE) -> None:
        self.key, self.bound = key, bound
        self.falling: set[int] = set()  # months of the tree being allocated in which people left

    def draw(self, node: _Node, t: int) -> tuple[int, int]:
        """(fresh dev, an ordering rank) for a node with arrivals, from the secret key."""
        digest = hashlib.blake2b(f"{node.name}|{t}|{node.x}".encode(), key=self.key, digest_size=8).digest()
        number = int.from_bytes(digest, "big")
        return _DRAWS[number % len(_DRAWS)], number >> 8

    def rank(self, node: _Node, t: int) -> int:
        digest = hashlib.blake2b(f"{node.name}|{t}|order".encode(), key=self.key, digest_size=8).digest()
        return int.from_bytes(digest, "big")

    def settle(self, node: _Node, t: int) -> None:
        """Take in the month's arrivals and bound the node's dev from its subtree (bottom up)."""
        a = node.arrivals[t]
        node.x += a
        # A month where people left anywhere in the tree (`falling`: every node is settled
        # then): every dev is free within the bounds and never below -x, so 0 is always
        # possible at every node and the allocation always succeeds. Otherwise the
        # published count may not fall: the dev drops by at most the month's arrivals.
        lo = max(-self.bound, -node.x) if t in self.falling else max(-self.bound, node.dev - max(a, 0), -node.x)
        hi = self.bound if node.x > 0 else 0
        for family in node.families:
            low = high = 0
            for child in family:
                if t in child.arrivals:
                    self.settle(child, t)
                else:
                    child.lo = child.dev  # no arrivals: it may rise (to child.hi) but not fall
                low += child.lo
                high += child.hi
            lo, hi = max(lo, low), min(hi, high)
        node.lo, node.hi = lo, max(hi, lo)

    def assign(self, node: _Node, dev: int, t: int) -> None:
        """Fix the node's dev for month t and share it among its children (top down)."""
        changed, node.dev = dev != node.dev, dev
        _record(node, t)
        if not changed and t not in node.arrivals:
            return  # nothing moved below: every child keeps its dev
        for family in node.families:
            wanted, fresh = [], []
            for i, child in enumerate(family):
                if t in child.arrivals:
                    dev_drawn, rank = self.draw(child, t)
                    wanted.append(min(max(dev_drawn, child.lo), child.hi))
                    fresh.append((rank, i))
                else:
                    wanted.append(child.dev)
            missing = dev - sum(wanted)
            if missing:  # children with arrivals first (in an order drawn from the key), then the others
                missing = self._spread(family, wanted, [i for _rank, i in sorted(fresh)], missing)
            if missing:
                stuck = [i for i, child in enumerate(family) if t not in child.arrivals]
                missing = self._spread(family, wanted, sorted(stuck, key=lambda i: self.rank(family[i], t)), missing)
            if missing:  # cannot happen while the tally adds up; never leave the table unbalanced
                wanted[0] += missing
            for child, child_dev in zip(family, wanted):
                if child_dev != child.dev or t in child.arrivals:
                    self.assign(child, child_dev, t)

    @staticmethod
    def _spread(family: list[_Node], wanted: list[int], order: list[int], missing: int) -> int:
        """Move children's devs within their bounds, in `order`, until they add up; returns what is left."""
        for i in order:
            child = family[i]
            room = child.hi - wanted[i] if missing > 0 else child.lo - wanted[i]
            step = min(missing, room) if missing > 0 else max(missing, room)
            wanted[i] += step
            missing -= step
            if not missing:
                break
        return missing


def _record(node: _Node, t: int) -> None:
    series = node.series
    if len(series) < t:
        series.extend([series[-1] if series else 0] * (t - len(series)))
    value = node.x + node.dev
    if len(series) == t:
        series.append(value)
    else:
        series[t] = value


def _sum_arrivals(node: _Node) -> dict[int, int]:
    """Fill an inner node's arrivals from its first family (its areas or genders)."""
    if node.families:
        total: defaultdict[int, int] = defaultdict(int)
        for child in node.families[0]:
            for t, n in _sum_arrivals(child).items():
                total[t] += n
        for family in node.families[1:]:
            for child in family:
                _sum_arrivals(child)
        node.arrivals = dict(total)  # zeros kept: the month still moved something below
    return node.arrivals


def build(communes: dict[tuple[str, str, str], dict[int, int]],
          values: dict[tuple[str, str, str, str, str], dict[int, int]],
          first: date, last: date, key: bytes) -> Release:
    """The release from true monthly arrivals: `communes` (commune, category, gender) -> {month
    index: arrivals}; `values` (province, dimension, value, category, gender) -> the same."""
    release = Release(first, last)
    months = month_index(last, first) + 1
    allocator = _Allocator(key)
    for category in vocab.CATEGORIES.stored_codes:
        root, nodes = _tree(category, communes, values)
        _sum_arrivals(root)
        if not root.arrivals:
            continue
        # Departures (deactivations, registry.actors.lifecycle) are negative arrivals: in
        # such a month every node is settled and may move (see _Allocator.settle).
        allocator.falling = {t for node in nodes.values() if not node.families for t, n in node.arrivals.items() if n < 0}
        for node in (root, *nodes.values()):
            for t in allocator.falling:
                node.arrivals.setdefault(t, 0)
        exact: list[bool] = []
        for t in range(months):
            if t not in root.arrivals:  # nothing changed: not exact (a change of 0), figure kept
                exact.append(False)
                continue
            previous = root.x + root.dev  # the figure published at the month end before
            allocator.settle(root, t)
            # The figure the table would publish, never above the truth, so that the next exact
            # month end is always reachable; the rule is judged on it, never on the truth.
            dev = min(max(allocator.draw(root, t)[0], root.lo), min(root.hi, 0))
            exact.append(headline_exact(root.x + dev, previous))
            allocator.assign(root, 0 if exact[t] else dev, t)
        release.exact[category] = exact
        for name, node in nodes.items():
            if len(node.series) < months:
                _record(node, months - 1)  # the last change carried to the last month end
            if len(name) == 3:
                release.stocks[name] = node.series  # type: ignore[index]
            else:
                release.values[name] = node.series  # type: ignore[index]
    _country_values(release, months)
    return release


def _tree(category: str, communes: dict[tuple[str, str, str], dict[int, int]],
          values: dict[tuple[str, str, str, str, str], dict[int, int]]) -> tuple[_Node, dict[tuple[str, ...], _Node]]:
    """The category's nodes (only those with people) by their release key."""
    root = _Node(category)
    root.families.append([])
    nodes: dict[tuple[str, ...], _Node] = {}

    def area(code: str, gender: str) -> _Node:
        key = (code, category, gender)
        node = nodes.get(key)
        if node is None:
            node = nodes[key] = _Node(f"{code}|{category}|{gender}")
            node.families.append([])
            if len(code) == 2:  # a province is also divided by sector, channel and age band
                node.families.extend([] for _ in VALUE_DIMENSIONS)
            parent = area(code[:-2], gender) if code else root
            parent.families[0].append(node)
        return node

    for (code, cat, gender), arrivals in sorted(communes.items()):
        if cat == category and arrivals:
            leaf = area(code, gender)
            leaf.families.clear()
            leaf.arrivals = dict(arrivals)
    for (province, dimension, value, cat, gender), arrivals in sorted(values.items()):
        if cat == category and arrivals and (province, category, gender) in nodes:
            leaf = _Node(f"{province}|{dimension}|{value}|{category}|{gender}")
            leaf.arrivals = dict(arrivals)
            nodes[(province, dimension, value, category, gender)] = leaf
            nodes[(province, category, gender)].families[1 + VALUE_DIMENSIONS.index(dimension)].append(leaf)
    for node in nodes.values():
        node.families = [family for family in node.families if family]
    return root, nodes


def _country_values(release: Release, months: int) -> None:
    """The country's breakdowns by sector, channel and age band: the provinces' added up."""
    country: defaultdict[tuple[str, str, str, str, str], list[int]] = defaultdict(lambda: [0] * months)
    for (_province, dimension, value, category, gender), series in list(release.values.items()):
        total = country[("", dimension, value, category, gender)]
        for t, n in enumerate(series):
            total[t] += n
    release.values.update(country)
