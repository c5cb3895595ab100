"""`mockgw serve`'s parsed options -> Settings, each checked before anything listens."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import SettingsError
from ..profiles import resolve_profile
from ..settings import Settings
from .values import choice, non_negative_float, option_name, positive_float, whole_number

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def _profile(text: str) -> str:
    try:
        return resolve_profile(text).name  # fails early, naming the choices
    except SettingsError as error:
        raise SettingsError(option_name("--profile", text), text, error.expected) from None


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        host=args.host,
        port=whole_number("--port", args.port, 0, 65535),
        contracts=args.contracts,
        profile=_profile(args.profile),
        token=args.token or None,
        admin_token=args.admin_token or None,
        speed=positive_float("--speed", args.speed),
        flows=tuple(args.flows) if args.flows else ("default",),
        backend_timeout_s=positive_float("--timeout", args.timeout),
        log_level=choice("--log-level", args.log_level, LOG_LEVELS),
        workers=whole_number("--workers", args.workers, 1),
        provider=Path(args.provider) if args.provider else None,
        provider_token_lifetime_s=positive_float("--provider-token-lifetime", args.provider_token_lifetime),
        journal=_journal(args.journal),
        journal_text_bytes=whole_number("--journal-text-bytes", args.journal_text_bytes, 1),
        journal_max_bytes=_journal_max_bytes(args),
        allow_dirs=tuple(args.allow_dirs or ()),
        max_body_bytes=whole_number("--max-body-bytes", args.max_body_bytes, 1),
        max_frame_bytes=whole_number("--max-frame-bytes", args.max_frame_bytes, 1),
        max_store_bytes=whole_number("--max-store-bytes", args.max_store_bytes, 1),
        header_timeout_s=positive_float("--header-timeout", args.header_timeout),
        drain_s=non_negative_float("--drain-s", args.drain_s),
    )


def _journal_max_bytes(args: argparse.Namespace) -> int:
    text_bytes = whole_number("--journal-text-bytes", args.journal_text_bytes, 1)
    max_bytes = whole_number("--journal-max-bytes", args.journal_max_bytes, 1)
    if max_bytes < text_bytes:  # one cut text would not fit: every message would evict the one before
        name = option_name("--journal-max-bytes", args.journal_max_bytes)
        raise SettingsError(
            name, args.journal_max_bytes, f"a whole number of at least --journal-text-bytes ({text_bytes})"
        )
    return max_bytes


def _journal(url: str) -> str:
    from ..journal.open import open_store

    open_store(url, option=option_name("--journal", url))  # fails early, naming the forms it takes
    return url


def check_admin_reachable(settings: Settings) -> None:
    """Listening beyond loopback needs an admin token: refused here rather than one made up and printed.

    A generated token would be printed into the CI log that captures the mock's output (a file other jobs can
    read), and a run that cannot be driven remotely is better stopped than discovered later.
    """
    if settings.admin_token is None and not _loopback_host(settings.host):
        raise SettingsError(
            "--host",
            settings.host,
            "a loopback address (127.0.0.1, ::1, localhost) unless --admin-token (or MOCKGW_ADMIN_TOKEN) is set: "
            "the admin API can replace every contract and read the journal, so off loopback it needs a token",
        )


def _loopback_host(host: str) -> bool:
    from ..protocol.auth import is_loopback

    return host == "localhost" or is_loopback(host)
