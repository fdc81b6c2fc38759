"""Secrets from files mounted as secrets, so none has to sit in an env file.

Two forms, both read before the ``RAMPART_…`` variables are:

- ``RAMPART_<NAME>_FILE=/run/secrets/x``: the file's text, its trailing line break dropped, is
  the value of ``RAMPART_<NAME>`` (``RAMPART_TELEGRAM_TOKEN_FILE``,
  ``RAMPART_STORE__PASSWORD_FILE``, ``RAMPART_VENUE__CREDENTIALS__ALICE__SECRET_FILE``…), the
  convention of the official PostgreSQL image. Setting both is refused: which one wins would
  be a guess.
- ``RAMPART_SECRETS_DIR=/run/secrets``: every file there named after a ``RAMPART_…`` variable
  (in any case: ``rampart_master_key``) is that variable's value; the files of other services
  beside them are left alone. A variable set in the environment (or by a ``_FILE``) wins.

A setting whose own name ends in ``_file`` (``RAMPART_ALERTS__RULES_FILE``) stays a setting.
A missing, unreadable or empty secret file is one sentence naming the variable; the CLI turns
it into exit code 2, as every configuration error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from rampart.domain.errors import ConfigError

PREFIX = "RAMPART_"
FILE_SUFFIX = "_FILE"
SECRETS_DIR = "RAMPART_SECRETS_DIR"

IsSetting = Callable[[str], bool]
"""Whether a ``RAMPART_…`` variable (upper case) names a setting itself."""


def read_secret(path: Path, variable: str) -> str:
    """The secret in ``path`` without its trailing line break (editors and ``echo`` add one);
    ConfigError naming ``variable`` when it cannot be had. The value is never quoted."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{variable} names {path}, which does not exist: mount the secret there or unset "
            f"{variable}."
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{variable} names {path}, which is a directory, not a file.") from None
    except PermissionError:
        raise ConfigError(
            f"{variable} names {path}, which this user may not read: give the service's user "
            "read access to it."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise ConfigError(f"{variable} names {path}, which cannot be read ({why}).") from None
    value = text.rstrip("\r\n")
    if not value:
        raise ConfigError(f"{variable} names {path}, which is empty: write the secret into it.")
    return value


def _from_directory(root: Path, is_setting: IsSetting) -> dict[str, str]:
    if not root.is_dir():
        raise ConfigError(
            f"{SECRETS_DIR} names {root}, which is not a directory: mount the secrets there "
            f"or unset {SECRETS_DIR}."
        )
    out: dict[str, str] = {}
    for entry in sorted(root.iterdir()):
        name = entry.name.upper()
        # Kubernetes keeps its own bookkeeping (..data) beside the files; others' secrets too.
        if not name.startswith(PREFIX) or name == SECRETS_DIR or not is_setting(name):
            continue
        out[name] = read_secret(entry, f"{name} (the file {entry.name} in {SECRETS_DIR})")
    return out


def file_variables(environ: Mapping[str, str], is_setting: IsSetting) -> list[str]:
    """The ``RAMPART_<NAME>_FILE`` variables (upper case) that name a secret's file: they are
    read here and are no setting themselves."""
    out = []
    for name in (k.upper() for k in environ):
        if not name.startswith(PREFIX) or not name.endswith(FILE_SUFFIX) or is_setting(name):
            continue
        target = name.removesuffix(FILE_SUFFIX)
        # RAMPART_X__FILE, or a _FILE for nothing Rampart reads: not a secret's file.
        if not target.endswith("_") and is_setting(target):
            out.append(name)
    return out


def secret_variables(environ: Mapping[str, str], is_setting: IsSetting) -> dict[str, str]:
    """``RAMPART_…`` variables (upper case) and their values read from secret files, for the
    ones the environment does not set itself."""
    env = {k.upper(): v for k, v in environ.items()}
    out: dict[str, str] = {}
    directory = env.get(SECRETS_DIR)
    if directory:
        found = _from_directory(Path(directory), is_setting)
        out.update({k: v for k, v in found.items() if k not in env})
    for name in file_variables(env, is_setting):
        path = env[name]
        target = name.removesuffix(FILE_SUFFIX)
        if target in env:
            raise ConfigError(f"Both {target} and {name} are set: set only one of them.")
        if not path.strip():
            raise ConfigError(f"{name} is empty: set it to the path of the secret's file.")
        out[target] = read_secret(Path(path), name)
    return out


__all__ = ["FILE_SUFFIX", "SECRETS_DIR", "file_variables", "read_secret", "secret_variables"]
