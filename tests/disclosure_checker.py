"""What an attacker can work out from published counts: linear programming over the fine
cells of the registry (the people of one commune, category, gender and month of arrival,
and of one province, category, gender, month and sector / channel / age band).

Every published figure says its true count lies in an interval (exact: a point; perturbed:
the figure give or take the method's promise; suppressed: below the threshold give or take
the promise). With the linear relations between cells (an area is the sum of its parts, a
month end is the one before plus the month's arrivals, every person has one sector, one
channel and one age band), those intervals bound every group of fine cells. A group is
*pinned down* when its count is the same at every point the figures allow: the group's
count is then a fixed linear function of the published figures. `Attacker.pinned_space`
finds every such function at once: the equalities, and the inequalities that are tight at
every allowed point (found with one linear program per round, see `implicit_equalities`);
a group is pinned exactly when it is a combination of those.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable, Mapping

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, csr_matrix, vstack

Form = Mapping[Hashable, float]  # fine cell -> coefficient


@dataclass
class Attacker:
    cells: list[Hashable]  # the fine cells (variables), each a count >= 0
    index: dict[Hashable, int] = field(init=False)
    rows: list[tuple[dict[int, float], float, float]] = field(default_factory=list)  # form, lo, hi (lo == hi: exact)

    def __post_init__(self) -> None:
        self.index = {cell: i for i, cell in enumerate(self.cells)}

    def vector(self, form: Form) -> dict[int, float]:
        return {self.index[cell]: coef for cell, coef in form.items() if coef and cell in self.index}

    def learn(self, form: Form, lo: float, hi: float) -> None:
        """A published figure: the true count of `form` lies in [lo, hi] (-inf/inf: unbounded)."""
        self.rows.append((self.vector(form), lo, hi))

    def matrices(self) -> tuple[csr_matrix, np.ndarray, csr_matrix, np.ndarray]:
        """What was learnt, deduplicated: A_eq x = b_eq and A_ub x <= b_ub."""
        seen: dict[tuple, tuple[float, float]] = {}
        for form, lo, hi in self.rows:
            key = tuple(sorted(form.items()))
            if not key:
                continue
            old_lo, old_hi = seen.get(key, (-np.inf, np.inf))
            seen[key] = (max(old_lo, lo), min(old_hi, hi))
        eq, b_eq, ub, b_ub = [], [], [], []
        for key, (lo, hi) in seen.items():
            if lo == hi:
                eq.append(key), b_eq.append(lo)
                continue
            if hi < np.inf:
                ub.append(key), b_ub.append(hi)
            if lo > -np.inf and (lo > 0 or any(c < 0 for _, c in key)):
                ub.append(tuple((i, -c) for i, c in key)), b_ub.append(-lo)
        return self._sparse(eq), np.array(b_eq), self._sparse(ub), np.array(b_ub)

    def _sparse(self, rows: list[tuple]) -> csr_matrix:
        data, r, c = [], [], []
        for n, row in enumerate(rows):
            for i, coef in row:
                r.append(n), c.append(i), data.append(coef)
        return coo_matrix((data, (r, c)), shape=(len(rows), len(self.cells))).tocsr()

    def feasible(self, point: Mapping[Hashable, float]) -> list[str]:
        """The published rows a candidate truth breaks (none for the real truth)."""
        x = np.array([point.get(cell, 0) for cell in self.cells], dtype=float)
        broken = []
        for form, lo, hi in self.rows:
            value = sum(x[i] * c for i, c in form.items())
            if not lo - 1e-9 <= value <= hi + 1e-9:
                broken.append(f"{value} not in [{lo}, {hi}]")
        return broken

    def implicit_equalities(self) -> tuple[csr_matrix, list[int]]:
        """Rows of A_ub (and of x >= 0) that are tight wherever the figures allow.

        Maximise the sum of slacks t_i (0 <= t_i <= 1) of the rows not yet shown loose,
        subject to A_ub x + t <= b_ub and x - t >= 0: a row with t_i > 0 at the optimum can be
        loose; when the optimum is 0, each remaining row is tight everywhere (else the point
        where it is loose would give a positive objective)."""
        A_eq, b_eq, A_ub, b_ub = self.matrices()
        n, m = len(self.cells), A_ub.shape[0]
        # inequalities: A_ub x + t_ub <= b_ub ; -x + t_x <= 0
        ident_m, ident_n = _eye(m), _eye(n)
        A = vstack([_hstack(A_ub, ident_m, _zeros(m, n)), _hstack(-ident_n, _zeros(n, m), ident_n)]).tocsr()
        b = np.concatenate([b_ub, np.zeros(n)])
        A_e = _hstack(A_eq, _zeros(A_eq.shape[0], m), _zeros(A_eq.shape[0], n)) if A_eq.shape[0] else None
        loose = np.zeros(m + n, dtype=bool)
        while True:
            c = np.concatenate([np.zeros(n), -(~loose).astype(float)])
            bounds = [(0, None)] * n + [(0, 0) if l else (0, 1) for l in loose]
            result = linprog(c, A_ub=A, b_ub=b, A_eq=A_e, b_eq=b_eq if A_e is not None else None,
                             bounds=bounds, method="highs")
            assert result.status == 0, result.message
            found = (result.x[n:] > 1e-7) & ~loose
            if not found.any():
                break
            loose |= found
        tight_ub = [i for i in range(m) if not loose[i]]
        tight_x = [j for j in range(n) if not loose[m + j]]
        rows = [A_ub[tight_ub]] if tight_ub else []
        if tight_x:
            rows.append(_eye(n)[tight_x])
        if A_eq.shape[0]:
            rows.append(A_eq)
        return (vstack(rows).tocsr() if rows else csr_matrix((0, n))), tight_x

    def pinned_space(self) -> "Pinned":
        tight, zero_cells = self.implicit_equalities()
        dense = tight.toarray()
        if dense.shape[0] == 0:
            return Pinned(np.zeros((len(self.cells), 0)), zero_cells)
        u, s, vt = np.linalg.svd(dense, full_matrices=False)
        rank = int((s > 1e-8 * max(1.0, s[0])).sum())
        return Pinned(vt[:rank].T, zero_cells)

    def bounds(self, form: Form) -> tuple[float, float]:
        """The tightest interval the figures put on a group's count (two linear programs)."""
        A_eq, b_eq, A_ub, b_ub = self.matrices()
        c = np.zeros(len(self.cells))
        for i, coef in self.vector(form).items():
            c[i] = coef
        out = []
        for sign in (1, -1):
            result = linprog(sign * c, A_ub=A_ub if A_ub.shape[0] else None, b_ub=b_ub if A_ub.shape[0] else None,
                             A_eq=A_eq if A_eq.shape[0] else None, b_eq=b_eq if A_eq.shape[0] else None,
                             bounds=[(0, None)] * len(self.cells), method="highs")
            assert result.status in (0, 3), result.message
            out.append(sign * result.fun if result.status == 0 else sign * np.inf)
        return out[0], out[1]


@dataclass
class Pinned:
    basis: np.ndarray  # orthonormal columns spanning every pinned linear function
    zero_cells: list[int]  # cells forced to 0

    def contains(self, vector: np.ndarray) -> bool:
        if not vector.any():
            return True
        residual = vector - self.basis @ (self.basis.T @ vector) if self.basis.shape[1] else vector
        return float(np.abs(residual).max()) < 1e-6 * max(1.0, float(np.abs(vector).max()))


def _eye(n: int) -> csr_matrix:
    return coo_matrix((np.ones(n), (np.arange(n), np.arange(n))), shape=(n, n)).tocsr()


def _zeros(r: int, c: int) -> csr_matrix:
    return csr_matrix((r, c))


def _hstack(*blocks: csr_matrix) -> csr_matrix:
    from scipy.sparse import hstack
    return hstack(blocks).tocsr()


def as_vector(attacker: Attacker, form: Form) -> np.ndarray:
    v = np.zeros(len(attacker.cells))
    for i, coef in attacker.vector(form).items():
        v[i] = coef
    return v

