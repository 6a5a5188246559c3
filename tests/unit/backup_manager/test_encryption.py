"""backup.encryption: recipients (inline and from a file) are checked, and the identity
file must be named, present and private before any backup is read."""

from __future__ import annotations

import pytest

from faber_db.backup_manager.encryption import (
    EncryptionSettings,
    encryption_settings,
    identity_path,
    write_recipients,
)
from faber_db.config import Config
from faber_db.errors import ConfigInvalidError, IdentityMissingError

KEY = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
OTHER = "age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg"


def config(tmp_path, encryption: dict | None) -> Config:
    backup = {"encryption": encryption} if encryption is not None else {}
    return Config(path=None, project_root=tmp_path, data={"backup": backup})


def test_not_configured_means_no_encryption(tmp_path):
    assert encryption_settings(config(tmp_path, None)) is None


def test_recipients_inline_and_from_a_file_deduplicated(tmp_path):
    (tmp_path / "keys.txt").write_text(f"# team\n{OTHER}\n\n{KEY}\n")
    settings = encryption_settings(
        config(tmp_path, {"recipients": [KEY], "recipients_file": "keys.txt"})
    )
    assert settings == EncryptionSettings((KEY, OTHER), "FABER_DB_AGE_IDENTITY")
    assert write_recipients(settings, tmp_path).read_text() == f"{KEY}\n{OTHER}\n"


@pytest.mark.parametrize(
    "encryption, wanted",
    [
        ({"recipients": []}, "names no recipient"),
        ({"recipients_file": "missing.txt"}, "cannot be read"),
        ({"recipients_file": "bad.txt"}, "is not an age X25519 recipient"),
    ],
)
def test_bad_recipients_are_config_errors(tmp_path, encryption, wanted):
    (tmp_path / "bad.txt").write_text("ssh-ed25519 AAAA...\n")
    with pytest.raises(ConfigInvalidError, match=wanted):
        encryption_settings(config(tmp_path, encryption))


def test_the_identity_must_be_named_present_and_private(tmp_path, monkeypatch):
    cfg = config(tmp_path, {"recipients": [KEY], "identity_file_env": "MY_AGE_KEY"})
    monkeypatch.delenv("MY_AGE_KEY", raising=False)
    assert identity_path(cfg, required=False) is None
    with pytest.raises(IdentityMissingError, match="MY_AGE_KEY, which is not set"):
        identity_path(cfg)
    key = tmp_path / "key.txt"
    monkeypatch.setenv("MY_AGE_KEY", str(key))
    with pytest.raises(IdentityMissingError, match="cannot be read"):
        identity_path(cfg)
    key.write_text("AGE-SECRET-KEY-1...\n")
    for mode in (0o644, 0o640, 0o604):
        key.chmod(mode)
        with pytest.raises(IdentityMissingError, match="readable by other users"):
            identity_path(cfg, required=False)
    key.chmod(0o600)
    assert identity_path(cfg) == key
    monkeypatch.setenv("MY_AGE_KEY", str(tmp_path))
    with pytest.raises(IdentityMissingError, match="not a regular file"):
        identity_path(cfg)
