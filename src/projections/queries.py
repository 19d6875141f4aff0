"""Plain queries on the read-model tables: what the portals show. Never loads an aggregate."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from projections.view import ReadModelsView

GROUP_COLUMNS = """g.id, g.name, g.description, g.algorithm, g.time_zone, g.home_user_id,
    u.email AS home_user_email, u.status AS home_user_status, g.evse_ids, g.exclusion_windows,
    g.random_delay, g.priority_started_at, g.priority_ends_at, g.priority_started_by_role,
    g.created_at, g.updated_at, g.version"""


# E-mails sort by code point whatever the database's locale: a locale's collation skips
# punctuation, so "a_b@" would land between "aa@" and "ac@" and the list would look unsorted.
CODE_POINT_ORDER = 'COLLATE "C"'


# The autocomplete matches inside an address from this many typed characters on.
AUTOCOMPLETE_INFIX_FROM = 3


def like_prefix(text: str) -> str:
    """A LIKE pattern matching `text` literally at the start."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


STATUS_COLUMNS = (
    "connected",
    "protocol",
    "connector",
    "transaction_id",
    "session_started_at",
    "desired_profiles",
    "desired_version",
    "desired_at",
    "answers",
)


def with_status(row: dict[str, Any]) -> dict[str, Any]:
    """Fold the connection, session and profile columns into one `status` object."""
    status = {column: row.pop(column) for column in STATUS_COLUMNS}
    status["connected"] = bool(status["connected"])
    status["desired_profiles"] = status["desired_profiles"] or []
    status["answers"] = status["answers"] or {}
    row["status"] = status
    return row


class ReadModelQueries:
    def __init__(self, view: ReadModelsView):
        self.view = view
        self.t = view.tables

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self.view.datastore.get_connection() as conn:
            return [dict(row) for row in conn.execute(sql, params).fetchall()]

    def _one(self, sql: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
        rows = self._all(sql, params)
        return rows[0] if rows else None

    # --- groups ------------------------------------------------------------------------

    def groups(
        self, search: str = "", limit: int = 50, offset: int = 0, after: UUID | None = None
    ) -> list[dict[str, Any]]:
        """The operator's list, by name; `search` matches part of the name or the user's e-mail.

        `after` (the last group of the page before) pages by the (name, id) index,
        as fast on the thousandth page as on the first; `offset` counts rows.
        """
        conditions: list[str] = []
        params: list[Any] = []
        if search:
            pattern = "%" + like_prefix(search.lower())
            # Two indexable lookups rather than one OR across the join.
            conditions.append(
                f"g.id IN (SELECT id FROM {self.t.groups} WHERE lower(name) LIKE %s"
                f" UNION SELECT x.id FROM {self.t.groups} x JOIN {self.t.users} xu"
                " ON xu.id = x.home_user_id WHERE xu.email LIKE %s)"
            )
            params += [pattern, pattern]
        if after is not None:
            conditions.append(
                f"(lower(g.name), g.id) > (SELECT lower(name), id FROM {self.t.groups}"
                " WHERE id = %s)"
            )
            params.append(after)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        return self._all(
            f"SELECT {GROUP_COLUMNS} FROM {self.t.groups} g"
            f" LEFT JOIN {self.t.users} u ON u.id = g.home_user_id {where}"
            " ORDER BY lower(g.name), g.id LIMIT %s OFFSET %s",
            (*params, limit, offset),
        )

    def group_ids(self) -> list[UUID]:
        """Every group's id (the scheduler rebuilds its timers from these at start)."""
        return [row["id"] for row in self._all(f"SELECT id FROM {self.t.groups} ORDER BY id")]

    def evses_awaiting_acceptance(self) -> list[UUID]:
        """EVSEs whose charger answered a desired profile with anything but Accepted.

        (An offline charger gets every desired profile when it connects again.)"""
        rows = self._all(
            f"SELECT evse_id, desired_profiles, answers FROM {self.t.evse_status}"
            " WHERE jsonb_array_length(desired_profiles) > 0"
        )
        return [
            row["evse_id"]
            for row in rows
            if any(
                (row["answers"].get(str(p["profile_id"])) or {}).get("status")
                not in (None, "Accepted")
                for p in row["desired_profiles"]
            )
        ]

    def group(self, group_id: UUID) -> dict[str, Any] | None:
        return self._one(
            f"SELECT {GROUP_COLUMNS} FROM {self.t.groups} g"
            f" LEFT JOIN {self.t.users} u ON u.id = g.home_user_id WHERE g.id = %s",
            (group_id,),
        )

    def groups_by_id(self, group_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
        """The groups of `group_ids` that exist, by id; one query (the EVSE registry's page)."""
        rows = self._all(
            f"SELECT {GROUP_COLUMNS} FROM {self.t.groups} g"
            f" LEFT JOIN {self.t.users} u ON u.id = g.home_user_id WHERE g.id = ANY(%s)",
            (list(group_ids),),
        )
        return {row["id"]: row for row in rows}

    def groups_of_user(self, user_id: UUID) -> list[dict[str, Any]]:
        """The consumer's "my groups"."""
        return self._all(
            f"SELECT {GROUP_COLUMNS} FROM {self.t.groups} g"
            f" LEFT JOIN {self.t.users} u ON u.id = g.home_user_id"
            " WHERE g.home_user_id = %s ORDER BY lower(g.name), g.id",
            (user_id,),
        )

    # --- users -------------------------------------------------------------------------

    def users(
        self, role: str = "home_user", email_prefix: str = "", limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        return self._all(
            f"SELECT id, email, role, status, created_at, invited_at, invitation_expires_at,"
            f" activated_at FROM {self.t.users} WHERE role = %s AND email LIKE %s"
            f" ORDER BY email {CODE_POINT_ORDER} LIMIT %s OFFSET %s",
            (role, like_prefix(email_prefix.lower()), limit, offset),
        )

    def autocomplete(self, typed: str, limit: int = 10) -> list[dict[str, Any]]:
        """Home users (not revoked) whose e-mail holds `typed` anywhere, those that start
        with it first, for the wizard and the group page; each row also says how many
        match in all (`total`), so the list can say how many it leaves out.

        From three characters on, anywhere (the trigram index, rm_users_email_trgm);
        one or two match the start only (the prefix index): "an" inside every address
        would be no suggestion, and a trigram index cannot serve it.
        """
        typed = typed.strip().lower()
        prefix = like_prefix(typed)
        pattern = "%" + prefix if len(typed) >= AUTOCOMPLETE_INFIX_FROM else prefix
        return self._all(
            f"SELECT id, email, status, count(*) OVER () AS total FROM {self.t.users}"
            " WHERE role = 'home_user' AND status <> 'revoked' AND email LIKE %s"
            f" ORDER BY email LIKE %s DESC, email {CODE_POINT_ORDER} LIMIT %s",
            (pattern, prefix, limit),
        )

    def user(self, user_id: UUID) -> dict[str, Any] | None:
        return self._one(
            f"SELECT id, email, role, status, created_at, invited_at, invitation_expires_at,"
            f" activated_at FROM {self.t.users} WHERE id = %s",
            (user_id,),
        )

    # --- EVSEs -------------------------------------------------------------------------

    EVSE_SELECT = """SELECT e.*, g.name AS group_name, g.time_zone AS group_time_zone,
        c.connected, c.protocol,
        c.connector_status -> e.connector_id::text AS connector,
        c.max_periods AS charger_max_periods, c.rate_units AS charger_rate_units,
        c.max_stack_level AS charger_max_stack_level,
        c.supports_local_time AS charger_local_time,
        c.supports_randomized_delay AS charger_randomized_delay,
        c.supports_priority_charging AS charger_priority_charging,
        c.clock_zone AS charger_clock_zone, c.max_profiles AS charger_max_profiles,
        s.transaction_id,
        s.session_started_at, s.desired_profiles, s.desired_version, s.desired_at, s.answers
        FROM {evses} e
        LEFT JOIN {groups} g ON g.id = e.group_id
        LEFT JOIN {chargers} c ON c.charge_point_id = e.charge_point_id
        LEFT JOIN {status} s ON s.evse_id = e.id"""

    def _evse_select(self) -> str:
        return self.EVSE_SELECT.format(
            evses=self.t.evses,
            groups=self.t.groups,
            chargers=self.t.chargers,
            status=self.t.evse_status,
        )

    def evses(self, group_id: UUID | None = None, free_only: bool = False) -> list[dict[str, Any]]:
        return [
            with_status(row)
            for row in self._all(
                f"{self._evse_select()}"
                " WHERE (%s::uuid IS NULL OR e.group_id = %s) AND (NOT %s OR e.group_id IS NULL)"
                " ORDER BY e.charge_point_id, e.connector_id",
                (group_id, group_id, free_only),
            )
        ]

    def evse_limits_of_groups(self, group_ids: list[UUID]) -> dict[UUID, list[dict[str, Any]]]:
        """Per group, its EVSEs' limits and their chargers' capabilities (what the algorithm
        needs to say what each may do now), in the order of `evses`; one query for a page."""
        rows = self._all(
            "SELECT e.id, e.group_id, e.connector_id, e.max_current_a, e.phases, e.max_power_w,"
            " c.max_periods AS charger_max_periods, c.rate_units AS charger_rate_units,"
            " c.max_stack_level AS charger_max_stack_level,"
            " c.supports_local_time AS charger_local_time,"
            " c.supports_randomized_delay AS charger_randomized_delay,"
            " c.supports_priority_charging AS charger_priority_charging,"
            " c.clock_zone AS charger_clock_zone, c.max_profiles AS charger_max_profiles"
            f" FROM {self.t.evses} e"
            f" LEFT JOIN {self.t.chargers} c ON c.charge_point_id = e.charge_point_id"
            " WHERE e.group_id = ANY(%s) ORDER BY e.charge_point_id, e.connector_id",
            (list(group_ids),),
        )
        by_group: dict[UUID, list[dict[str, Any]]] = {group_id: [] for group_id in group_ids}
        for row in rows:
            by_group[row["group_id"]].append(row)
        return by_group

    def evse(self, evse_id: UUID) -> dict[str, Any] | None:
        row = self._one(f"{self._evse_select()} WHERE e.id = %s", (evse_id,))
        return with_status(row) if row else None

    def evses_of_charger(self, charge_point_id: str) -> list[dict[str, Any]]:
        return [
            with_status(row)
            for row in self._all(
                f"{self._evse_select()} WHERE e.charge_point_id = %s ORDER BY e.connector_id",
                (charge_point_id,),
            )
        ]

    def charger(self, charge_point_id: str) -> dict[str, Any] | None:
        return self._one(
            f"SELECT * FROM {self.t.chargers} WHERE charge_point_id = %s", (charge_point_id,)
        )

    def chargers(self) -> list[dict[str, Any]]:
        return self._all(f"SELECT * FROM {self.t.chargers} ORDER BY charge_point_id")

    # --- audit -------------------------------------------------------------------------

    def _audit(self, where: str, params: tuple[Any, ...], limit: int) -> list[dict[str, Any]]:
        return self._all(
            f"SELECT a.position, a.at, a.action, a.group_id, a.user_id, a.evse_id, a.actor_id,"
            f" a.actor_role, actor.email AS actor_email, a.old_value, a.new_value"
            f" FROM {self.t.audit} a LEFT JOIN {self.t.users} actor ON actor.id = a.actor_id"
            f" WHERE {where} ORDER BY a.position DESC LIMIT %s",
            (*params, limit),
        )

    def audit_for_group(
        self, group_id: UUID, limit: int = 200, home_user_id: UUID | None = None
    ) -> list[dict[str, Any]]:
        """The group's history; for its home user (`home_user_id`) only from the latest time
        they were added, so a new home user never sees the previous one's e-mail, priority
        charges and exclusion times. Without such an entry the home user sees nothing."""
        if home_user_id is None:
            return self._audit("a.group_id = %s", (group_id,), limit)
        since = (
            f"a.group_id = %s AND a.position >= (SELECT max(added.position) FROM {self.t.audit}"
            " added WHERE added.group_id = %s AND added.action = 'home_user_added'"
            " AND added.user_id = %s)"
        )
        return self._audit(since, (group_id, group_id, home_user_id), limit)

    def audit_for_user(self, user_id: UUID, limit: int = 200) -> list[dict[str, Any]]:
        """What the user did, and what was done to the user's account."""
        return self._audit("(a.user_id = %s OR a.actor_id = %s)", (user_id, user_id), limit)
