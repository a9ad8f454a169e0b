"""Long passphrases, emoji included, are kept whole (RELIABILITY.md A1; ASVS V2.1.2-V2.1.4).

A 64- and a 128-character passphrase with emoji are accepted by the change-password form
and log in; the same passphrase with its last character changed does not (nothing is
truncated, bytes or characters); a 129-character one is refused with the form's message
and the old password keeps working.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from app.accounts.models import Permission
from app.accounts.passwords import MAX_LENGTH
from app.extensions import db
from tests.accounts.test_auth import csrf_from, post_login
from tests.conftest import log_in
from tests.factories import PASSWORD, make_person, make_user

WORDS = "harbour 🌊 lighthouse 🗼 ferry ⛴ anchor ⚓ tide 🐚 "


def passphrase(length: int) -> str:
    """``length`` characters (code points) of words and emoji, ending in a letter."""
    text = (WORDS * (length // len(WORDS) + 1))[: length - 1] + "Q"
    assert len(text) == length
    return text


@pytest.fixture
def user(app):
    user = make_user(Permission.LEARNER, person=make_person("Pat", "Phrase"), email="pat@x.org")
    db.session.commit()
    return user


def change_password(client, new: str):
    page = client.get("/account/password")
    assert page.status_code == 200
    return client.post(
        "/account/password",
        data={
            "csrf_token": csrf_from(page.text),
            "current_password": PASSWORD,
            "new_password": new,
            "confirm": new,
        },
    )


def logs_in(app, email: str, password: str) -> bool:
    client = app.test_client()
    response = post_login(client, email, password)
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/"


@pytest.mark.parametrize("length", [64, 128])
def test_a_long_passphrase_with_emoji_is_accepted_and_kept_whole(app, client, user, length):
    new = passphrase(length)
    assert any(ord(c) > 0xFFFF for c in new)  # emoji outside the basic plane
    assert len(new.encode()) > 72  # longer than bcrypt's limit in bytes
    log_in(client, user)
    changed = change_password(client, new)
    assert changed.status_code == 302, changed.text
    assert logs_in(app, user.email, new)
    assert not logs_in(app, user.email, new[:-1] + "R")  # the last character counts
    assert not logs_in(app, user.email, new[:-1])
    assert not logs_in(app, user.email, PASSWORD)


def test_a_129_character_passphrase_is_refused_with_the_forms_message(app, client, user):
    log_in(client, user)
    too_long = passphrase(MAX_LENGTH + 1)
    refused = change_password(client, too_long)
    assert refused.status_code == 200
    assert "Use at most 128 characters." in refused.text
    assert logs_in(app, user.email, PASSWORD)
    assert not logs_in(app, user.email, too_long)
