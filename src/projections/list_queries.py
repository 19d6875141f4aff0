"""The operator portal's long lists: groups, home users and EVSEs, each counted, filtered and
paged in SQL, so a page of 100,000 groups costs what a page of ten does.

Counts are per filter over everything the search matches (not over the page shown), so
"3 revoked" stays true while the list shows only the active ones. Groups page by their
(name, id) index (`after` / `before` name the group next to the page); users and EVSEs by
offset in a stable order, which their indexes (projections/tables.py) serve.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from projections.queries import (
    CODE_POINT_ORDER,
    GROUP_COLUMNS,
    ReadModelQueries,
    like_prefix,
    with_status,
)
from projections.view import ReadModelsView

GROUP_FLAGS = ("priority", "offline")
USER_STATUSES = ("invited", "active", "revoked")
EVSE_CONNECTIONS = ("online", "offline")
EVSE_PLACES = ("free", "grouped")


@dataclass(frozen=True)
class ListPage:
    """One page of a list: its rows, how many rows match the filters, and the counts of
    each filter over what the search matches."""

    rows: list[dict[str, Any]]
    total: int
    counts: dict[str, int]
    has_previous: bool
    has_next: bool


class ListQueries:
    def __init__(self, view: ReadModelsView):
        self.view = view
        self.t = view.tables

    def _all(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        with self.view.datastore.get_connection() as conn:
            return [dict(row) for row in conn.execute(sql, params).fetchall()]

    # --- groups ------------------------------------------------------------------------

    def _offline_groups(self) -> str:
        """Ids of groups with an EVSE whose charger is not connected now (or never was)."""
        t = self.t
        return (
            f"SELECT e.group_id FROM {t.evses} e WHERE e.group_id IS NOT NULL AND NOT EXISTS"
            f" (SELECT 1 FROM {t.chargers} c WHERE c.charge_point_id = e.charge_point_id"
            " AND c.connected)"
        )

    def _group_search(self, search: str) -> tuple[list[str], list[Any]]:
        if not search:
            return [], []
        pattern = "%" + like_prefix(search.lower())
        # Two indexable lookups (trigram indexes) rather than one OR across the join.
        return [
            f"g.id IN (SELECT id FROM {self.t.groups} WHERE lower(name) LIKE %s"
            f" UNION SELECT x.id FROM {self.t.groups} x JOIN {self.t.users} xu"
            " ON xu.id = x.home_user_id WHERE xu.email LIKE %s)"
        ], [pattern, pattern]

    def _group_flag(self, flag: str, now: datetime) -> tuple[list[str], list[Any]]:
        if flag == "priority":
            return ["g.priority_ends_at > %s"], [now]
        if flag == "offline":
            return [f"g.id IN ({self._offline_groups()})"], []
        return [], []

    def group_counts(self, search: str, now: datetime) -> dict[str, int]:
        """All groups the search matches, those with a priority charge running, and those
        with a charger offline; each by its own index."""
        where, params = self._group_search(search)
        matching = " AND ".join(where) or "true"
        t = self.t
        offline_matching = (
            f" AND EXISTS (SELECT 1 FROM {t.groups} g WHERE g.id = o.group_id AND {matching})"
            if where
            else ""
        )
        (row,) = self._all(
            f"SELECT (SELECT count(*) FROM {t.groups} g WHERE {matching}) AS all,"
            f" (SELECT count(*) FROM {t.groups} g WHERE {matching}"
            " AND g.priority_ends_at > %s) AS priority,"
            f" (SELECT count(DISTINCT o.group_id) FROM ({self._offline_groups()}) o"
            f" WHERE true{offline_matching}) AS offline",
            [*params, *params, now, *params],
        )
        return {name: int(value) for name, value in row.items()}

    def groups(
        self,
        search: str,
        flag: str,
        now: datetime,
        limit: int,
        after: UUID | None = None,
        before: UUID | None = None,
    ) -> ListPage:
        """A page of groups by name, after (or before) the group named, with each row's
        flags: a priority charge running, how many of its EVSEs' chargers are offline."""
        conditions, params = self._group_search(search)
        flag_conditions, flag_params = self._group_flag(flag, now)
        conditions, params = conditions + flag_conditions, params + flag_params
        anchor, backwards = (before, True) if before is not None else (after, False)
        key = "(lower(g.name), g.id)"
        anchor_key = f"(SELECT lower(name), id FROM {self.t.groups} WHERE id = %s)"
        paged = [*conditions, f"{key} {'<' if backwards else '>'} {anchor_key}"]
        rows = self._group_rows(
            paged if anchor else conditions,
            [*params, anchor] if anchor else params,
            now,
            "DESC" if backwards else "ASC",
            limit,
        )
        if backwards:
            rows.reverse()
        counts = self.group_counts(search, now)
        total = counts[flag] if flag in GROUP_FLAGS else counts["all"]
        has_previous = bool(rows) and self._group_beyond(conditions, params, rows[0]["id"], "<")
        has_next = bool(rows) and self._group_beyond(conditions, params, rows[-1]["id"], ">")
        return ListPage(rows, total, counts, has_previous, has_next)

    def _group_rows(
        self, conditions: list[str], params: list[Any], now: datetime, order: str, limit: int
    ) -> list[dict[str, Any]]:
        t = self.t
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        return self._all(
            f"SELECT {GROUP_COLUMNS}, coalesce(g.priority_ends_at > %s, false) AS priority_running,"
            f" (SELECT count(*) FROM {t.evses} e WHERE e.group_id = g.id AND NOT EXISTS"
            f" (SELECT 1 FROM {t.chargers} c WHERE c.charge_point_id = e.charge_point_id"
            " AND c.connected)) AS offline_evses"
            f" FROM {t.groups} g LEFT JOIN {t.users} u ON u.id = g.home_user_id {where}"
            f" ORDER BY lower(g.name) {order}, g.id {order} LIMIT %s",
            [now, *params, limit],
        )

    def _group_beyond(
        self, conditions: list[str], params: list[Any], group_id: UUID, direction: str
    ) -> bool:
        """Whether a group the filters match lies before ("<") or after (">") `group_id`."""
        where = " AND ".join(
            [
                *conditions,
                f"(lower(g.name), g.id) {direction} (SELECT lower(name), id FROM"
                f" {self.t.groups} WHERE id = %s)",
            ]
        )
        (row,) = self._all(
            f"SELECT EXISTS (SELECT 1 FROM {self.t.groups} g WHERE {where}) AS found",
            [*params, group_id],
        )
        return bool(row["found"])

    def group_exists(self, group_id: UUID) -> bool:
        rows = self._all(f"SELECT 1 FROM {self.t.groups} WHERE id = %s", [group_id])
        return bool(rows)

    # --- home users --------------------------------------------------------------------

    def home_users(self, email_prefix: str, status: str, limit: int, offset: int) -> ListPage:
        """Home users by e-mail; the counts per status are over every home user whose
        e-mail starts with `email_prefix`, whatever `status` shows."""
        pattern = like_prefix(email_prefix.lower())
        t = self.t
        counted = self._all(
            f"SELECT status, count(*) AS n FROM {t.users} WHERE role = 'home_user'"
            f" AND email {CODE_POINT_ORDER} LIKE %s GROUP BY status",
            [pattern],
        )
        counts = {name: 0 for name in USER_STATUSES}
        counts.update({row["status"]: int(row["n"]) for row in counted})
        counts["all"] = sum(int(row["n"]) for row in counted)
        shown = "AND status = %s" if status in USER_STATUSES else ""
        rows = self._all(
            f"SELECT id, email, role, status, created_at, invited_at, invitation_expires_at,"
            f" activated_at FROM {t.users} WHERE role = 'home_user'"
            f" AND email {CODE_POINT_ORDER} LIKE %s {shown}"
            f" ORDER BY email {CODE_POINT_ORDER} LIMIT %s OFFSET %s",
            [pattern, *([status] if shown else []), limit + 1, offset],
        )
        total = counts[status] if status in USER_STATUSES else counts["all"]
        return ListPage(rows[:limit], total, counts, offset > 0, len(rows) > limit)

    # --- EVSEs -------------------------------------------------------------------------

    @staticmethod
    def _evse_search(search: str) -> tuple[list[str], list[Any]]:
        """ "CP-1" finds charger ids starting so (any case); "CP-1/2" its connector 2 too."""
        charger, _, connector = search.partition("/")
        conditions: list[str] = []
        params: list[Any] = []
        if charger.strip():
            conditions.append(f"lower(e.charge_point_id) {CODE_POINT_ORDER} LIKE %s")
            params.append(like_prefix(charger.strip().lower()))
        if connector.strip():
            conditions.append("e.connector_id::text = %s")
            params.append(connector.strip())
        return conditions, params

    def evse_counts(self, search: str) -> dict[str, int]:
        where, params = self._evse_search(search)
        (row,) = self._all(
            "SELECT count(*) AS all, count(*) FILTER (WHERE c.connected) AS online,"
            " count(*) FILTER (WHERE c.connected IS NOT TRUE) AS offline,"
            " count(*) FILTER (WHERE e.group_id IS NULL) AS free,"
            " count(*) FILTER (WHERE e.group_id IS NOT NULL) AS grouped"
            f" FROM {self.t.evses} e"
            f" LEFT JOIN {self.t.chargers} c ON c.charge_point_id = e.charge_point_id"
            f" WHERE {' AND '.join(where) or 'true'}",
            params,
        )
        return {name: int(value) for name, value in row.items()}

    def evses(self, search: str, connection: str, place: str, limit: int, offset: int) -> ListPage:
        """EVSEs by charger id and connector, with their status (as `queries.evses`)."""
        conditions, params = self._evse_search(search)
        conditions += {
            "online": ["c.connected"],
            "offline": ["c.connected IS NOT TRUE"],
        }.get(connection, [])
        conditions += {
            "free": ["e.group_id IS NULL"],
            "grouped": ["e.group_id IS NOT NULL"],
        }.get(place, [])
        rows = self._evse_rows(conditions, params, limit + 1, offset)
        counts = self.evse_counts(search)
        chosen = [name for name in (connection, place) if name]
        if len(chosen) > 1:
            total = self._evse_total(conditions, params)
        else:
            total = counts[chosen[0] if chosen else "all"]
        return ListPage(rows[:limit], total, counts, offset > 0, len(rows) > limit)

    def _evse_rows(
        self, conditions: list[str], params: list[Any], limit: int, offset: int
    ) -> list[dict[str, Any]]:
        select = ReadModelQueries.EVSE_SELECT.format(
            evses=self.t.evses,
            groups=self.t.groups,
            chargers=self.t.chargers,
            status=self.t.evse_status,
        )
        where = " AND ".join(conditions) or "true"
        return [
            with_status(row)
            for row in self._all(
                f"{select} WHERE {where} ORDER BY lower(e.charge_point_id) {CODE_POINT_ORDER},"
                " e.charge_point_id, e.connector_id LIMIT %s OFFSET %s",
                [*params, limit, offset],
            )
        ]

    def _evse_total(self, conditions: list[str], params: list[Any]) -> int:
        (row,) = self._all(
            f"SELECT count(*) AS n FROM {self.t.evses} e LEFT JOIN {self.t.chargers} c"
            f" ON c.charge_point_id = e.charge_point_id WHERE {' AND '.join(conditions)}",
            params,
        )
        return int(row["n"])

    def free_evses(self, search: str, limit: int) -> ListPage:
        """Free EVSEs matching the search, at most `limit`, and how many match in all."""
        conditions, params = self._evse_search(search)
        conditions.append("e.group_id IS NULL")
        where = " AND ".join(conditions)
        rows = self._all(
            f"SELECT e.id, e.charge_point_id, e.connector_id, e.max_current_a, e.phases,"
            f" e.max_power_w, coalesce(c.connected, false) AS connected FROM {self.t.evses} e"
            f" LEFT JOIN {self.t.chargers} c ON c.charge_point_id = e.charge_point_id"
            f" WHERE {where} ORDER BY lower(e.charge_point_id) {CODE_POINT_ORDER},"
            " e.charge_point_id, e.connector_id LIMIT %s",
            [*params, limit],
        )
        total = len(rows) if len(rows) < limit else self._evse_total(conditions, params)
        return ListPage(rows, total, {}, False, total > len(rows))

    def free_evses_among(self, evse_ids: list[UUID]) -> list[dict[str, Any]]:
        """Those of `evse_ids` that are free, by charger id and connector."""
        return self._all(
            f"SELECT id, charge_point_id, connector_id FROM {self.t.evses}"
            " WHERE id = ANY(%s) AND group_id IS NULL"
            f" ORDER BY lower(charge_point_id) {CODE_POINT_ORDER}, charge_point_id, connector_id",
            [evse_ids],
        )
