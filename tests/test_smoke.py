from app.accounts.models import Permission
from tests.factories import make_person, make_unit, make_user


def test_home_redirects_anonymous_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_signed_in_learner_sees_their_home(client, login):
    unit = make_unit("Enterprise PMO")
    user = make_user(Permission.LEARNER, person=make_person("Priya", "Shah", unit=unit))
    login(user)
    page = client.get("/")
    assert page.status_code == 200
    assert "Welcome, Priya" in page.text
