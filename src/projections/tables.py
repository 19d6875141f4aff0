"""The read-model tables, and how their names are qualified with the configured schema."""

from __future__ import annotations

import re
from dataclasses import dataclass

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Tables:
    """Schema-qualified table names, safe to put in SQL text (the schema is validated)."""

    schema: str

    def __post_init__(self) -> None:
        if not _IDENTIFIER.match(self.schema):
            raise ValueError(f"not a valid schema name: {self.schema!r}")

    def _name(self, table: str) -> str:
        return f'"{self.schema}".{table}'

    @property
    def groups(self) -> str:
        return self._name("rm_groups")

    @property
    def users(self) -> str:
        return self._name("rm_users")

    @property
    def evses(self) -> str:
        return self._name("rm_evses")

    @property
    def audit(self) -> str:
        return self._name("rm_audit_log")

    @property
    def chargers(self) -> str:
        return self._name("rm_chargers")

    @property
    def evse_status(self) -> str:
        return self._name("rm_evse_status")

    @property
    def stuck_events(self) -> str:
        return self._name("stuck_events")

    @property
    def group_faults(self) -> str:
        return self._name("group_faults")

    def ddl(self) -> list[str]:
        return [
            f"""CREATE TABLE IF NOT EXISTS {self.users} (
                id uuid PRIMARY KEY,
                email text NOT NULL UNIQUE,
                role text NOT NULL,
                status text NOT NULL,
                created_at timestamptz NOT NULL,
                invited_at timestamptz,
                invitation_expires_at timestamptz,
                activated_at timestamptz
            )""",
            f"CREATE INDEX IF NOT EXISTS rm_users_email_prefix "
            f"ON {self.users} (email text_pattern_ops)",
            f"""CREATE TABLE IF NOT EXISTS {self.groups} (
                id uuid PRIMARY KEY,
                name text NOT NULL,
                description text NOT NULL,
                algorithm text NOT NULL,
                time_zone text NOT NULL,
                home_user_id uuid,
                evse_ids uuid[] NOT NULL DEFAULT '{{}}',
                exclusion_windows jsonb NOT NULL DEFAULT '[]',
                random_delay boolean NOT NULL DEFAULT false,
                priority_started_at timestamptz,
                priority_ends_at timestamptz,
                priority_started_by_role text,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                version integer NOT NULL
            )""",
            f"CREATE INDEX IF NOT EXISTS rm_groups_home_user ON {self.groups} (home_user_id)",
            f"CREATE INDEX IF NOT EXISTS rm_groups_name ON {self.groups} (lower(name), id)",
            f"""CREATE TABLE IF NOT EXISTS {self.evses} (
                id uuid PRIMARY KEY,
                charge_point_id text NOT NULL,
                connector_id integer NOT NULL,
                max_current_a double precision,
                phases integer,
                max_power_w double precision,
                group_id uuid,
                registered_at timestamptz NOT NULL,
                UNIQUE (charge_point_id, connector_id)
            )""",
            f"CREATE INDEX IF NOT EXISTS rm_evses_group ON {self.evses} (group_id)",
            f"""CREATE TABLE IF NOT EXISTS {self.audit} (
                position bigint NOT NULL,
                seq smallint NOT NULL,
                group_id uuid,
                user_id uuid,
                evse_id uuid,
                actor_id uuid,
                actor_role text NOT NULL,
                at timestamptz NOT NULL,
                action text NOT NULL,
                old_value jsonb,
                new_value jsonb,
                projected_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                PRIMARY KEY (position, seq)
            )""",
            f"CREATE INDEX IF NOT EXISTS rm_audit_group ON {self.audit} (group_id, position)",
            f"CREATE INDEX IF NOT EXISTS rm_audit_user ON {self.audit} (user_id, position)",
            f"CREATE INDEX IF NOT EXISTS rm_audit_actor ON {self.audit} (actor_id, position)",
        ]
