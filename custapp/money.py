"""Money is integer fen (分) everywhere; this is how it is shown."""


def format_fen(fen: int | None) -> str:
    """12345 -> "¥123.45", with thousands separators; never through a float."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"
