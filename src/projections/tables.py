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

    @property
    def mail_outbox(self) -> str:
        return self._name("mail_outbox")

    @property
    def invitation_tokens(self) -> str:
        return self._name("invitation_tokens")

    @property
    def reset_tokens(self) -> str:
        return self._name("password_reset_tokens")

    @property
    def rate_limit_hits(self) -> str:
        return self._name("rate_limit_hits")

    @property
    def rate_limit_counters(self) -> str:
        return self._name("rate_limit_counters")

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
            *self._charger_ddl(),
            *self._fault_ddl(),
            *self._list_index_ddl(),
        ]

    def _list_index_ddl(self) -> list[str]:
        """What the operator's lists count, filter and page by (projections/list_queries.py),
        each served by an index at 100,000 groups, users and EVSEs."""
        t = self
        order = 'lower(charge_point_id) COLLATE "C", charge_point_id, connector_id'
        return [
            f"CREATE INDEX IF NOT EXISTS rm_groups_priority ON {t.groups} (priority_ends_at)"
            " WHERE priority_ends_at IS NOT NULL",
            f"CREATE INDEX IF NOT EXISTS rm_chargers_connected ON {t.chargers} (charge_point_id)"
            " WHERE connected",
            f"CREATE INDEX IF NOT EXISTS rm_users_role_email"
            f' ON {t.users} (role, email COLLATE "C")',
            f"CREATE INDEX IF NOT EXISTS rm_users_role_status_email"
            f' ON {t.users} (role, status, email COLLATE "C")',
            f"CREATE INDEX IF NOT EXISTS rm_evses_charger_order ON {t.evses} ({order})",
            f"CREATE INDEX IF NOT EXISTS rm_evses_free_order ON {t.evses} ({order})"
            " WHERE group_id IS NULL",
        ]

    def _charger_ddl(self) -> list[str]:
        t = self
        return [
            f"""CREATE TABLE IF NOT EXISTS {t.chargers} (
            id uuid PRIMARY KEY,
            charge_point_id text NOT NULL UNIQUE,
            connected boolean NOT NULL DEFAULT false,
            gateway_id text,
            protocol text,
            vendor text,
            model text,
            firmware text,
            max_periods integer,
            max_stack_level integer,
            rate_units text[] NOT NULL DEFAULT '{{}}',
            connector_status jsonb NOT NULL DEFAULT '{{}}',
            connected_at timestamptz,
            disconnected_at timestamptz
        )""",
            f"""CREATE TABLE IF NOT EXISTS {t.evse_status} (
            id uuid PRIMARY KEY,
            evse_id uuid NOT NULL UNIQUE,
            charge_point_id text NOT NULL,
            connector_id integer NOT NULL,
            transaction_id text,
            session_started_at timestamptz,
            desired_profiles jsonb NOT NULL DEFAULT '[]',
            desired_version integer NOT NULL DEFAULT 0,
            desired_at timestamptz,
            answers jsonb NOT NULL DEFAULT '{{}}'
        )""",
            f"CREATE INDEX IF NOT EXISTS rm_evse_status_cp ON {t.evse_status} (charge_point_id)",
            # Added later: databases made before it get the column too.
            f"ALTER TABLE {t.chargers} ADD COLUMN IF NOT EXISTS"
            " capability_notes text[] NOT NULL DEFAULT '{}'",
            # What an OCPP 2.1 station tells of 2.1's fields (domain.capabilities).
            f"ALTER TABLE {t.chargers} ADD COLUMN IF NOT EXISTS"
            " supports_local_time boolean NOT NULL DEFAULT false",
            f"ALTER TABLE {t.chargers} ADD COLUMN IF NOT EXISTS"
            " supports_randomized_delay boolean NOT NULL DEFAULT false",
            f"ALTER TABLE {t.chargers} ADD COLUMN IF NOT EXISTS"
            " supports_priority_charging boolean NOT NULL DEFAULT false",
            f"ALTER TABLE {t.chargers} ADD COLUMN IF NOT EXISTS clock_zone text",
            # MaxChargingProfilesInstalled; NULL where the charger did not say.
            f"ALTER TABLE {t.chargers} ADD COLUMN IF NOT EXISTS max_profiles integer",
        ]

    def _fault_ddl(self) -> list[str]:
        """What the followers could not do (projections/faults.py)."""
        t = self
        return [
            f"""CREATE TABLE IF NOT EXISTS {t.stuck_events} (
            follower text NOT NULL,
            position bigint NOT NULL,
            topic text NOT NULL,
            originator_id uuid,
            error text NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            handled_at timestamptz,
            handled_by uuid,
            PRIMARY KEY (follower, position)
        )""",
            f"CREATE INDEX IF NOT EXISTS stuck_events_open ON {t.stuck_events} (recorded_at)"
            " WHERE handled_at IS NULL",
            f"""CREATE TABLE IF NOT EXISTS {t.group_faults} (
            group_id uuid PRIMARY KEY,
            error text NOT NULL,
            reason text NOT NULL,
            first_at timestamptz NOT NULL DEFAULT now(),
            last_at timestamptz NOT NULL DEFAULT now(),
            attempts integer NOT NULL DEFAULT 1
        )""",
        ]

    def search_index_ddl(self) -> list[str]:
        """Trigram indexes make "part of a name or e-mail" searches fast at 100,000 groups.

        pg_trgm ships with PostgreSQL and is a trusted extension; the view makes these one
        by one, and where one cannot be made the searches still work, by scanning.
        """
        t = self
        return [
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            f"CREATE INDEX IF NOT EXISTS rm_groups_name_trgm ON {t.groups}"
            " USING gin (lower(name) gin_trgm_ops)",
            f"CREATE INDEX IF NOT EXISTS rm_users_email_trgm ON {t.users}"
            " USING gin (email gin_trgm_ops)",
        ]

    def invitation_tokens_ddl(self) -> str:
        """Invitations' one-time tokens until their mail is made (projections/mail_outbox.py)."""
        return f"""CREATE TABLE IF NOT EXISTS {self.invitation_tokens} (
            invitation_id uuid PRIMARY KEY,
            token text NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now()
        )"""

    def reset_tokens_ddl(self) -> str:
        """Password-reset links' one-time tokens until their mail is made, as invitations'."""
        return f"""CREATE TABLE IF NOT EXISTS {self.reset_tokens} (
            reset_id uuid PRIMARY KEY,
            token text NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now()
        )"""

    def rate_limit_ddl(self) -> list[str]:
        """The `limits` library's counters, shared by every API process and kept over a
        restart (smartcharge/limits_storage.py): one row per hit of a moving window, one
        row per fixed-window counter. Times are seconds since the epoch, as `limits` has them."""
        t = self
        return [
            f"""CREATE TABLE IF NOT EXISTS {t.rate_limit_hits} (
            key text NOT NULL,
            at double precision NOT NULL,
            expires_at double precision NOT NULL
        )""",
            f"CREATE INDEX IF NOT EXISTS rate_limit_hits_key ON {t.rate_limit_hits} (key, at)",
            f"CREATE INDEX IF NOT EXISTS rate_limit_hits_expiry"
            f" ON {t.rate_limit_hits} (expires_at)",
            f"""CREATE TABLE IF NOT EXISTS {t.rate_limit_counters} (
            key text PRIMARY KEY,
            count bigint NOT NULL,
            expires_at double precision NOT NULL
        )""",
        ]

    def mail_ddl(self) -> list[str]:
        """The mail outbox: one row per mail, keyed by its event's position."""
        t = self
        return [
            t.invitation_tokens_ddl(),
            t.reset_tokens_ddl(),
            f"""CREATE TABLE IF NOT EXISTS {t.mail_outbox} (
            position bigint PRIMARY KEY,
            recipient text NOT NULL,
            subject text NOT NULL,
            body text,
            created_at timestamptz NOT NULL DEFAULT now(),
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            last_error text,
            sent_at timestamptz
        )""",
            f"CREATE INDEX IF NOT EXISTS mail_outbox_due ON {t.mail_outbox} (next_attempt_at)"
            " WHERE sent_at IS NULL",
        ]
