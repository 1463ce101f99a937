"""Sign-in: the credentials file (salted scrypt, constant-time checks), when the app asks, the form, the audit user."""

from __future__ import annotations

import json

import pytest
from _apptest import APP, TIMEOUT, chest_film
from _factories import png_bytes
from streamlit.testing.v1 import AppTest

from xray_core.cli.main import main as cli
from xray_core.inference import accounts

PASSWORD = "correct horse battery"


@pytest.fixture
def users(tmp_path, monkeypatch):
    path = tmp_path / "users.json"
    monkeypatch.setenv("XRAY_USERS", str(path))
    accounts.add_user("alice", PASSWORD)
    return path


def test_passwords_are_salted_hashes_checked_in_constant_time(users):
    stored = json.loads(users.read_text())["users"]["alice"]
    assert PASSWORD not in users.read_text() and stored.startswith("scrypt$16384$8$1$")
    assert accounts.hash_password(PASSWORD) != accounts.hash_password(PASSWORD)  # a fresh salt each time
    assert accounts.check("alice", PASSWORD) and not accounts.check("alice", PASSWORD + "x")
    assert not accounts.check("bob", PASSWORD) and not accounts.verify_password(PASSWORD, "garbage")
    assert users.stat().st_mode & 0o077 == 0  # readable by its owner only


def test_repeated_wrong_passwords_lock_the_name_for_a_while(users, monkeypatch):
    now = [1000.0]
    throttle = accounts.SignInThrottle(clock=lambda: now[0])
    checked = []
    real_check = accounts.check
    monkeypatch.setattr(accounts, "check", lambda *a, **k: checked.append(a[0]) or real_check(*a, **k))
    for _ in range(accounts.MAX_FAILURES - 1):
        assert not throttle.attempt("alice", "wrong password!")
    assert throttle.seconds_locked("alice") == 0  # one try left
    assert not throttle.attempt("alice", "wrong password!")
    assert throttle.seconds_locked("ALICE") == accounts.LOCKOUT_SECONDS  # names are not case-tricks
    calls = len(checked)
    assert not throttle.attempt("alice", PASSWORD)  # locked: even the right password is not checked
    assert len(checked) == calls
    assert throttle.attempt("bob", "x") is False and throttle.seconds_locked("bob") == 0  # other names unaffected
    now[0] += accounts.LOCKOUT_SECONDS
    assert throttle.attempt("alice", PASSWORD) and throttle.seconds_locked("alice") == 0


def test_bad_names_and_short_passwords_are_refused(users):
    with pytest.raises(accounts.AccountError, match="letters, digits"):
        accounts.add_user("a b<script>", PASSWORD)
    with pytest.raises(accounts.AccountError, match="at least"):
        accounts.add_user("carol", "short")


def test_users_command_adds_lists_and_removes(tmp_path, monkeypatch, capsys):
    path = tmp_path / "u.json"
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(PASSWORD + "\n"))
    assert cli(["users", "add", "dr.who", "--password-stdin", "--file", str(path)]) == 0
    assert accounts.check("dr.who", PASSWORD, path)
    assert cli(["users", "list", "--file", str(path)]) == 0 and "dr.who" in capsys.readouterr().out
    assert cli(["users", "remove", "dr.who", "--file", str(path)]) == 0 and accounts.load_users(path) == {}
    assert cli(["users", "remove", "nobody", "--file", str(path)]) == 2


@pytest.mark.parametrize(
    ("address", "required"),
    [
        ("127.0.0.1", False),
        ("localhost", False),
        ("::1", False),
        ("127.0.1.1", False),
        ("0.0.0.0", True),
        ("", True),
        (None, True),
        ("10.0.0.5", True),
        ("my-host", True),
        ("::", True),
    ],
)
def test_sign_in_is_needed_beyond_loopback(monkeypatch, address, required):
    monkeypatch.delenv("XRAY_REQUIRE_SIGN_IN", raising=False)
    assert accounts.sign_in_required(address) is required
    monkeypatch.setenv("XRAY_REQUIRE_SIGN_IN", "1")
    assert accounts.sign_in_required(address) is True
    monkeypatch.setenv("XRAY_REQUIRE_SIGN_IN", "0")
    assert accounts.sign_in_required(address) is False


def _signed_out(env) -> AppTest:
    env.setenv("XRAY_REQUIRE_SIGN_IN", "1")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    at.button[0].click().run()  # the form's submit button
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_form_hides_the_app_until_a_correct_password(env, users, tmp_path):
    env.setenv("XRAY_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    at = _signed_out(env)
    assert at.title[0].value == "Sign in"
    assert not [w for w in at.get("file_uploader")] and not [b for b in at.button if b.key == "notice_ack_button"]
    _sign_in(at, "alice", "wrong password!")
    assert any("Wrong user name or password" in e.value for e in at.error)
    assert not [w for w in at.get("file_uploader")]
    _sign_in(at, "mallory", PASSWORD)
    assert any("Wrong user name or password" in e.value for e in at.error)
    _sign_in(at, "alice", PASSWORD)
    at.button(key="notice_ack_button").click().run()
    assert at.title[0].value == "Diagnose" and at.file_uploader(key="dx_upload")
    assert any("Signed in as" in c.value and "alice" in c.value for c in at.caption)
    at.file_uploader(key="dx_upload").set_value(("Doe_Jane.png", png_bytes(chest_film(21, 96)), "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]
    line = (tmp_path / "audit.jsonl").read_text()
    assert json.loads(line.splitlines()[0])["user"] == "alice" and "Doe" not in line


def test_no_users_file_means_nobody_gets_in(env, tmp_path):
    env.setenv("XRAY_USERS", str(tmp_path / "missing.json"))
    at = _signed_out(env)
    assert any("no users are set up" in e.value for e in at.error)
    assert not [w for w in at.get("file_uploader")] and not at.text_input


def test_open_on_loopback_without_a_form(env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()  # XRAY_REQUIRE_SIGN_IN=0 (tests/dashboard/conftest)
    assert not at.text_input and [b for b in at.button if b.key == "notice_ack_button"]
