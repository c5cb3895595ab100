"""An option's text -> its value: a bad one is a SettingsError naming the option, or the variable it came from."""

from __future__ import annotations

from ..errors import SettingsError


class FromEnvironment(str):
    """An option's value taken from its environment variable, so a bad one is reported by the variable's name."""

    variable: str

    def __new__(cls, variable: str, value: str) -> FromEnvironment:
        self = super().__new__(cls, value)
        self.variable = variable
        return self


def option_name(option: str, value: object) -> str:
    return value.variable if isinstance(value, FromEnvironment) else option


def positive_float(option: str, text: str) -> float:
    name = option_name(option, text)
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(name, text, "a number") from None
    if not value > 0 or value == float("inf"):
        raise SettingsError(name, text, "a number greater than 0")
    return value


def whole_number(option: str, text: str, minimum: int, maximum: int | None = None) -> int:
    name = option_name(option, text)
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(name, text, "a whole number") from None
    if value < minimum or (maximum is not None and value > maximum):
        span = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
        raise SettingsError(name, text, f"a whole number {span}")
    return value


def choice(option: str, text: str, choices: tuple[str, ...]) -> str:
    if text.lower() not in choices:
        raise SettingsError(option_name(option, text), text, f"one of {', '.join(choices)}")
    return text.lower()


def non_negative_float(option: str, text: str) -> float:
    name = option_name(option, text)
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(name, text, "a number") from None
    if not value >= 0 or value == float("inf"):
        raise SettingsError(name, text, "a number of at least 0")
    return value
