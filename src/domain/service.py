"""The command side: every use case of both portals, the CLI, the scheduler and the gateway.

One application (`CommandApplication`: loading, atomic saves, retries, the clock) and
the commands of each concept beside it, each in its own module and reached by its
concept's name: `service.groups.create_group(...)`, `service.evses.move_evse(...)`,
`service.accounts.invite_home_user(...)`, `service.chargers.charger_connected(...)`,
`service.deliveries.desire_profiles(...)`. Loading (`service.group(id)`, ...) is the
application's own.
"""

from __future__ import annotations

from domain.account_commands import AccountCommands
from domain.application import Clock, CommandApplication
from domain.charger_commands import ChargerCommands
from domain.delivery_commands import DeliveryCommands
from domain.evse_commands import EvseCommands
from domain.group_commands import GroupCommands
from domain.operator_commands import OperatorCommands
from domain.password_reset_commands import PasswordResetCommands

__all__ = ["Clock", "SmartCharging"]


class SmartCharging(CommandApplication):
    """The application with its commands, one set per concept."""

    def __init__(self, env: dict[str, str] | None = None, *, clock: Clock | None = None):
        super().__init__(env, clock=clock)
        self.accounts = AccountCommands(self)
        self.groups = GroupCommands(self, self.accounts)
        self.evses = EvseCommands(self)
        self.chargers = ChargerCommands(self)
        self.deliveries = DeliveryCommands(self)
        self.operators = OperatorCommands(self)
        self.password_resets = PasswordResetCommands(self)
