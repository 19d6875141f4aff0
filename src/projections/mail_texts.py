"""What the service's mails say: subject and body, from the event that calls for them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mail:
    """One mail to send, without its From: (the sender adds that)."""

    to: str
    subject: str
    body: str


@dataclass(frozen=True)
class MailTexts:
    """Builds the mails; `base_url` is where users reach the portals."""

    base_url: str

    def invitation_link(self, token: str) -> str:
        return f"{self.base_url}/invitation/{token}"

    def invitation(
        self, to: str, token: str, valid_days: float, group_name: str | None = None
    ) -> Mail:
        """The one mail a new home user gets: its link sets the password and logs him in."""
        group = (
            f"Your charger is in the smart charging group {group_name!r}. " if group_name else ""
        )
        return Mail(
            to,
            "You are invited to smart charging"
            + (f": your charger in {group_name!r}" if group_name else ""),
            "Hello,\n\n"
            f"{group}Your charge point operator invites you to the smart charging\n"
            "portal, where you see your charger, set when it must not charge, and start a\n"
            "priority charge.\n\n"
            "Choose your password here; that logs you in (the link works once, for "
            f"{valid_days:g} days):\n\n"
            f"    {self.invitation_link(token)}\n\n"
            f"Afterwards you log in at {self.base_url}/ with this e-mail and your password.\n\n"
            "If you did not expect this mail, you can ignore it.\n",
        )

    def password_reset_link(self, token: str) -> str:
        return f"{self.base_url}/password-reset/{token}"

    def password_reset(self, to: str, token: str, valid_minutes: float) -> Mail:
        return Mail(
            to,
            "Set a new smart charging password",
            "Hello,\n\n"
            "Someone (we hope you) asked to set a new password for your smart charging\n"
            "account. Set it here (the link works once, for "
            f"{valid_minutes:g} minutes):\n\n"
            f"    {self.password_reset_link(token)}\n\n"
            "Setting it logs you out everywhere else. If you did not ask, ignore this mail:\n"
            "your password stays as it is.\n",
        )

    def added_to_group(self, to: str, group_name: str) -> Mail:
        return Mail(
            to,
            f"Your charger is now in the smart charging group {group_name!r}",
            "Hello,\n\n"
            f"Your charge point operator added you to the smart charging group {group_name!r}.\n"
            "In the portal you can set the times your charger must not charge, and start a\n"
            "priority charge when you need a full battery now:\n\n"
            f"    {self.base_url}/\n",
        )
