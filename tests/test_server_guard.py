"""What keeps the servers (``crm notebooks serve``, ``crm dashboards``, ``crm lab``) to the
user who started them, without starting one: the token's file, the host allow-list and
Voila's settings. The servers themselves are tried in a browser by tests/ui/test_voila.py and
tests/reporting/test_dashboards.py (``tests.servers.check_guard``)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from crmlib.cli import main
from crmlib.errors import ValidationError
from crmlib.reporting import voila
from crmlib.serving import (
    TOKEN_FILE_ENV,
    check_host_names,
    guard,
    read_token_file,
    voila_command,
)
from crmlib.ui.lab import lab


def test_a_fresh_token_lives_in_a_private_folder_never_on_the_command_line() -> None:
    with guard(["CRM.Example.com"]) as guarded:
        folder = guarded.folder
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE(guarded.token_file.stat().st_mode) == 0o600
        assert guarded.token_file.read_text() == guarded.token and len(guarded.token) >= 32
        env = guarded.environment({"JUPYTER_TOKEN": "old", "PATH": "/bin"})
        assert env == {"PATH": "/bin", TOKEN_FILE_ENV: str(guarded.token_file)}
        settings = json.loads((folder / "voila.json").read_text())
        assert settings["Voila"]["auto_token"] is True
        tornado = settings["Voila"]["tornado_settings"]
        assert tornado["allow_remote_access"] is False
        assert tornado["local_hostnames"] == ["localhost", "crm.example.com"]
        assert tornado["allow_origin"] == "" and tornado["allow_origin_pat"] == ""
        culling = settings["MappingKernelManager"]
        assert culling["cull_idle_timeout"] > 0 and culling["cull_connected"] is False
        for command in (
            voila_command(Path("notebooks"), 8867, guarded),
            voila.command(Path("notebooks/reports"), guarded),
        ):
            assert not [a for a in command if guarded.token in a or "token" in a.lower()]
            assert f"--Voila.config_file_paths={folder}" in command
        assert guarded.url("127.0.0.1", 8866) == f"http://127.0.0.1:8866/?token={guarded.token}"
    assert not folder.exists()
    with guard() as one, guard() as two:
        assert one.token != two.token


def test_jupyterlab_gets_its_token_the_same_way(tmp_path: Path) -> None:
    with lab(tmp_path, {"CRM_USER": "wang"}, port=8899) as server:
        token_file = Path(server.environment[TOKEN_FILE_ENV])
        token = token_file.read_text()
        assert server.url == f"http://127.0.0.1:8899/lab?token={token}"
        assert not [a for a in server.command if token in a]
    assert not token_file.exists()


def test_a_token_file_must_be_private_and_long_enough(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("a-token-of-twenty-chars\n")
    path.chmod(0o644)
    with pytest.raises(ValidationError) as shared:
        read_token_file(path)
    assert shared.value.errors[0].rule == "private" and "chmod 600" in str(shared.value)
    path.chmod(0o600)
    assert read_token_file(str(path)) == "a-token-of-twenty-chars"
    with guard(token_file=path) as guarded:
        assert guarded.token_file.read_text() == "a-token-of-twenty-chars"  # no newline
        assert guarded.url("127.0.0.1", 8867, "/x") == "http://127.0.0.1:8867/x?token=…"
    path.write_text("short\n")
    with pytest.raises(ValidationError) as short:
        read_token_file(path)
    assert short.value.errors[0].rule == "token"
    path.write_text("x" * 100_000)  # read only as far as a token can reach
    with pytest.raises(ValidationError) as long:
        read_token_file(path)
    assert long.value.errors[0].rule == "token" and "1024" in str(long.value)
    with pytest.raises(ValidationError) as missing:
        read_token_file(tmp_path / "nothing")
    assert missing.value.errors[0].rule == "readable"


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("192.168.1.5", "host_ip"),
        ("crm.example.com:8866", "host_name"),
        ("*", "host_name"),
        ("a b", "host_name"),
    ],
)
def test_the_host_allow_list_takes_names(name: str, rule: str) -> None:
    with pytest.raises(ValidationError) as refused:
        check_host_names([name])
    assert refused.value.errors[0].field == "allow_host"
    assert refused.value.errors[0].rule == rule
    assert check_host_names(["::1", "127.0.0.1", "Hub.Example.COM.", "hub.example.com"]) == (
        "hub.example.com",
    )


def test_the_dashboards_take_no_token_on_the_command_line() -> None:
    runner = CliRunner()
    done = runner.invoke(main, ["dashboards", "--token", "s3cret-s3cret-s3cret"])
    assert done.exit_code == 2 and "No such option" in done.output
    for command in (["dashboards"], ["notebooks", "serve"]):
        helped = runner.invoke(main, [*command, "--help"])
        assert "--token-file" in helped.output and "--allow-host" in helped.output
