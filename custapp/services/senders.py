"""Senders hand one decrypted outbox message to the outside world (SPEC §6 "Outbox").

Nothing here may write plaintext personal data to a log: the console sender prints the masked
address and the subject only, and exception texts never reach the outbox (only class names do).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

from custapp.security.masking import mask
from custapp.settings import get_settings
from custapp.vocab import MessageChannel

_MASK_KIND = {"sms": "phone", "email": "email"}


class SenderUnavailable(Exception):
    """This sender cannot deliver on this channel (e.g. no SMS gateway is configured)."""


@dataclass(frozen=True)
class OutgoingMessage:
    id: int
    channel: str  # sms | email | in_app
    # Kept out of repr so a traceback or a debug print cannot leak the address or the text.
    recipient: str = field(repr=False)
    subject: str
    body: str = field(repr=False)


class Sender(Protocol):
    def send(self, message: OutgoingMessage) -> None: ...


class ConsoleSender:
    """The default: one line per message on stdout, for development and trial runs."""

    def send(self, message: OutgoingMessage) -> None:
        shown = mask(_MASK_KIND.get(message.channel, "generic"), message.recipient)
        subject = " ".join(message.subject.split())
        print(f"outbox #{message.id} {message.channel} to {shown}: {subject}", flush=True)


class SmtpSender:
    """E-mail through an SMTP server; STARTTLS on 587, implicit TLS on 465."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        from_address: str,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 30,
    ) -> None:
        self.host, self.port, self.from_address = host, port, from_address
        self.user, self.password, self.timeout = user, password, timeout

    def send(self, message: OutgoingMessage) -> None:
        if message.channel != MessageChannel.EMAIL:
            raise SenderUnavailable(message.channel)
        email = EmailMessage()
        email["From"] = self.from_address
        email["To"] = message.recipient
        # A header may not hold line breaks; folding them keeps a typed subject deliverable.
        email["Subject"] = " ".join(message.subject.split())
        email.set_content(message.body)
        with self._connect() as smtp:
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(email)

    def _connect(self) -> smtplib.SMTP:
        if self.port == 465:
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.port == 587:
            try:
                smtp.starttls(context=ssl.create_default_context())
            except BaseException:
                smtp.close()
                raise
        return smtp


def sender_from_settings() -> Sender:
    settings = get_settings()
    if settings.mail_sender == "console":
        return ConsoleSender()
    if settings.mail_sender == "smtp":
        if not settings.smtp_host:
            raise ValueError("CUSTAPP_MAIL_SENDER=smtp needs CUSTAPP_SMTP_HOST")
        return SmtpSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            from_address=settings.smtp_from,
            user=settings.smtp_user,
            password=settings.smtp_password,
        )
    raise ValueError("CUSTAPP_MAIL_SENDER must be 'console' or 'smtp'")
